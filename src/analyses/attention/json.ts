// The JSON contract of an attention run (`vit-lens attention --json`, and the panel's Save JSON): one
// builder for both, from the result without its full tensor plus the CLS query's slice, which is all the
// document needs and all a panel holds. Maps are raw probabilities, not rescaled. Pure: runs in Node and
// in the webview.
import { slicePatchMap } from '../../maths/attention';
import type { AttentionSlice, HeadFusion, ModelSummary } from '../../shared/attentionTypes';
import type { SummaryResult } from './types';
import { round7All } from '../../shared/jsonNumbers';

/** The model fields every JSON document of a ViT or DPT run starts its `model` with. */
export const modelJson = (m: ModelSummary) => ({
  path: m.path,
  inputSize: m.inputSize,
  patchSize: m.patchSize,
  numLayers: m.numLayers,
  numHeads: m.numHeads,
});

export interface AttentionJsonOptions {
  fusion: HeadFusion;
  discardRatio: number;
}

/**
 * `cls` is the slice of query 0 (CLS, or the first special token) with these rollout settings:
 * clsAttention[l][h] = A_l[h, 0, patches], rollout.map = R[0, patches].
 */
export function attentionJson(r: SummaryResult, cls: AttentionSlice, opts: AttentionJsonOptions): Record<string, unknown> {
  const shape = r.attention;
  return {
    image: r.image,
    model: {
      ...modelJson(r.model),
      specialTokens: r.model.specialTokens,
      attentionSource: r.model.attentionSource,
    },
    grid: r.grid,
    ...(r.predictions ? { predictions: r.predictions } : {}),
    clsAttention: Array.from({ length: shape.layers }, (_, l) =>
      Array.from({ length: shape.heads }, (_, h) => round7All(slicePatchMap(cls.rows, shape, l, h, r.firstPatchToken))),
    ),
    rollout: { fusion: opts.fusion, discardRatio: opts.discardRatio, map: round7All(cls.rollout.map) },
    headStats: r.headStats,
    timingsMs: r.timingsMs,
  };
}
