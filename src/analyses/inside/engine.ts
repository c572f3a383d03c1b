// The inside analysis's engine requests: anatomy (weights only), tokens (one run), features (one run per
// image) and hard attention (a crop classified). Its sessions carry the residual-stream and attention
// taps, so they have their own cache. Engine side.
import fs from 'node:fs';
import { requireFields, type EngineHandlers } from '../../core/engine/handlers';
import { resolveModelFiles } from '../../core/model/vitModel';
import { ModelCache } from '../../core/engine/modelCache';
import { VitLensError } from '../../shared/errors';
import { computeAnatomy } from './anatomy';
import { loadInsideModel } from './insideModel';
import { runFeaturesPipeline, runHardAttention, runTokensPipeline } from './pipeline';

/**
 * Anatomy results by model file and modification time: the filters' PCA is an eigen-decomposition of a
 * D×D covariance (about 3 s at D = 768 on one core), and a panel asks again on every re-run.
 */
const anatomyCache = new Map<string, { mtimeMs: number; result: ReturnType<typeof computeAnatomy> }>();
const ANATOMY_CACHE_SIZE = 4;

function cachedAnatomy(modelPath: string): ReturnType<typeof computeAnatomy> {
  const onnx = resolveModelFiles(modelPath).onnxPath;
  const mtimeMs = fs.statSync(onnx).mtimeMs;
  const hit = anatomyCache.get(onnx);
  if (hit && hit.mtimeMs === mtimeMs) return hit.result;
  const result = computeAnatomy(modelPath);
  anatomyCache.delete(onnx);
  anatomyCache.set(onnx, { mtimeMs, result });
  while (anatomyCache.size > ANATOMY_CACHE_SIZE) anatomyCache.delete(anatomyCache.keys().next().value as string);
  return result;
}

type Calls = 'insideAnatomy' | 'insideTokens' | 'insideFeatures' | 'insideHardAttention';

export const insideEngine: EngineHandlers<Calls> = {
  insideAnatomy: (params) => {
    requireFields('insideAnatomy', params, ['modelPath']);
    return cachedAnatomy(params.modelPath);
  },
  insideTokens: (params, { cache, ctl }) => {
    requireFields('insideTokens', params, ['imagePath', 'modelPath']);
    const models = cache('inside', () => new ModelCache(2, loadInsideModel));
    return runTokensPipeline(params, (p) => models.get(p), ctl);
  },
  insideFeatures: (params, { cache, ctl }) => {
    requireFields('insideFeatures', params, ['modelPath']);
    if (!Number.isInteger(params.layer)) throw new VitLensError('BAD_REQUEST', 'insideFeatures: layer must be a whole number');
    const models = cache('inside', () => new ModelCache(2, loadInsideModel));
    return runFeaturesPipeline(params, (p) => models.get(p), ctl);
  },
  insideHardAttention: (params, { cache, ctl }) => {
    requireFields('insideHardAttention', params, ['imagePath', 'modelPath', 'mapName']);
    if (!Array.isArray(params.map) || params.map.some((v) => typeof v !== 'number' || !Number.isFinite(v)))
      throw new VitLensError('BAD_REQUEST', 'insideHardAttention: map must be a list of finite numbers');
    if (typeof params.tau !== 'number') throw new VitLensError('BAD_REQUEST', 'insideHardAttention: tau must be a number');
    const models = cache('inside', () => new ModelCache(2, loadInsideModel));
    return runHardAttention(params, (p) => models.get(p), ctl);
  },
};
