// What a model is for, and the setting that names it. Shared contract (the registry's panel descriptors
// name a task; the host reads the setting): no runtime imports.
import type { DenseTask } from '../analyses/dense/types';

/** What a model is for: the settings `vitLens.model`, `vitLens.depthModel`, `vitLens.segmentationModel`. */
export type ModelTask = 'classification' | DenseTask;

export const modelSettingKey: Record<ModelTask, string> = {
  classification: 'model',
  depth: 'depthModel',
  segmentation: 'segmentationModel',
};

export const isModelTask = (t: unknown): t is ModelTask => t === 'classification' || t === 'depth' || t === 'segmentation';
