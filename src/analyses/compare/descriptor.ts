// The compare analysis in the registry: two models (or two checkpoints of one) on one image, side by
// side, their rollout difference, per-head deltas and the layers that changed most. Pure data.
import type { AnalysisDescriptor } from '../registry';

export const compare = {
  id: 'compare',
  panels: [
    {
      viewType: 'vitLens.compare',
      title: 'Compare',
      bundle: 'compareWebview',
      task: 'classification',
      command: 'vitLens.compareWithModel',
      rerunOn: ['model', 'topK', 'maxImageMegapixels', 'rolloutFusion', 'discardRatio'],
    },
  ],
  cli: [
    {
      name: 'compare',
      usage: `  vit-lens compare <image> --model <a> --model-b <b> [--json <out.json>] [--html <out.html>] [--top 5]
                   [--fusion mean|max|min] [--discard <0..1>]
      Two models on one image: both attention results, rollout(a) − rollout(b), per-head deltas of
      mean distance and entropy (a − b), and per layer the mean total-variation distance of their rows.`,
    },
  ],
  engineCalls: ['compare'],
} as const satisfies AnalysisDescriptor;
