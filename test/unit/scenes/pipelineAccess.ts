// The one place where the scene tests reach into ViT Lens's internals: the attention and dense
// pipelines (run in-process, with the engine's model cache) and the rollout / attention-map maths.
// Everything else in test/unit/scenes/ uses only what this file returns.
import { patchMap, rolloutMap } from '../../../src/maths/attention';
import { runAttentionPipeline } from '../../../src/analyses/attention/pipeline';
import { runDensePipeline } from '../../../src/analyses/dense/pipeline';
import { ModelCache } from '../../../src/core/engine/modelCache';

export interface ClassifiedScene {
  /** Class indices by probability, most probable first, with their probabilities. */
  predictions: { index: number; label: string; probability: number }[];
  attentionSource: string;
  grid: [number, number];
  /** Attention rollout (mean fusion, no discarding) from CLS over the patches, row-major, summing to 1. */
  rollout: Float32Array;
  /** Rollout with other settings (vit-explain's head fusion and discard ratio), summing to 1. */
  rolloutWith(opts: { fusion: 'mean' | 'max' | 'min'; discardRatio: number }): Float32Array;
  /** The raw-attention baseline's map (its mean-patch query) over the patches, summing to 1. */
  baseline: Float32Array;
}

export interface DepthRun {
  /** predicted_depth of batch 0 at the model's resolution. */
  raw: Float32Array;
  height: number;
  width: number;
  attentionSource: string;
  neckLevels: number;
}

const unitSum = (a: Float32Array) => {
  let s = 0;
  for (const v of a) s += v;
  return a.map((v) => v / s);
};

/** Runs the real pipelines on image files, sessions cached per model as in the engine. */
export class ScenePipelines {
  private readonly cache = new ModelCache();

  async classify(imagePath: string, modelPath: string): Promise<ClassifiedScene> {
    const r = await runAttentionPipeline({ imagePath, modelPath, topK: 50 }, (p) => this.cache.get(p));
    return {
      predictions: r.predictions ?? [],
      attentionSource: r.model.attentionSource,
      grid: r.grid,
      rollout: unitSum(rolloutMap(r.attention, r.firstPatchToken, { fusion: 'mean', discardRatio: 0 })),
      rolloutWith: (opts) => unitSum(rolloutMap(r.attention, r.firstPatchToken, opts)),
      baseline: unitSum(patchMap(r.baseline, 0, 0, 0, 1)),
    };
  }

  async depth(imagePath: string, modelPath: string): Promise<DepthRun> {
    const r = await runDensePipeline({ imagePath, modelPath, task: 'depth' }, (p) => this.cache.get(p));
    if (!r.depth) throw new Error('no depth in the dense result');
    return {
      raw: r.depth.raw,
      height: r.depth.rawHeight,
      width: r.depth.rawWidth,
      attentionSource: r.model.attentionSource,
      neckLevels: r.features.length,
    };
  }

  dispose(): Promise<void> {
    return this.cache.clear();
  }
}
