// The JSON contract of an explain run (`vit-lens explain --json`, and the panel's Save JSON of the "Why
// this class" view): one builder for both. Maps are row-major over the patch grid, values not rescaled.
// Pure: runs in Node and in the webview.
import { round7, round7All } from '../../shared/jsonNumbers';
import type { FaithfulnessCurves, PanelExplainResult } from './types';

const curves = (f: FaithfulnessCurves) => ({
  fractions: f.fractions,
  positive: round7All(f.positive),
  negative: round7All(f.negative),
  positiveAuc: round7(f.positiveAuc),
  negativeAuc: round7(f.negativeAuc),
  ...(f.deletion && f.insertion
    ? {
        deletion: round7All(f.deletion),
        insertion: round7All(f.insertion),
        deletionAuc: round7(f.deletionAuc ?? NaN),
        insertionAuc: round7(f.insertionAuc ?? NaN),
      }
    : {}),
});

export function explainJson(r: PanelExplainResult): Record<string, unknown> {
  const maps: Record<string, number[]> = {};
  if (r.maps.occlusion) maps.occlusion = round7All(r.maps.occlusion);
  if (r.maps.rise) maps.rise = round7All(r.maps.rise);
  return {
    image: r.image,
    model: {
      path: r.model.path,
      name: r.model.name,
      inputSize: r.model.inputSize,
      patchSize: r.model.patchSize,
      specialTokens: r.model.specialTokens,
    },
    grid: r.grid,
    target: r.target,
    removal: r.removal,
    removalExact: r.removalExact,
    ...(r.removalNote ? { removalNote: r.removalNote } : {}),
    ...(r.region ? { region: r.region } : {}),
    score: r.score,
    window: r.window,
    samples: r.samples,
    seed: r.seed,
    maps,
    faithfulness: Object.fromEntries(Object.entries(r.faithfulness).map(([k, f]) => [k, curves(f)])),
    predictions: r.predictions,
    runs: r.runs,
    timingsMs: r.timingsMs,
  };
}
