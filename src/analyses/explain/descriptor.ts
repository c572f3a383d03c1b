// The explain analysis in the registry: class-specific maps (occlusion, RISE) by exact token removal,
// and the perturbation test of every map. Its view lives in the attention panel ("Why this class"), so it
// opens no panel of its own. Pure data.
import type { AnalysisDescriptor } from '../registry';

export const explain = {
  id: 'explain',
  panels: [],
  cli: [
    {
      name: 'explain',
      usage: `  vit-lens explain <image> --model <m> [--class <index|label> | --region x0,y0,x1,y1] [--method occlusion|rise|all] [--window 2]
                   [--samples 500] [--seed 0] [--score probability|log-odds] [--steps true] [--hard-attention <τ>] [--removal key-mask|pixel-fill] [--json <out.json>] [--html <out.html>]
      Why this class: occlusion sensitivity (w×w windows of patches) and RISE over tokens, each removal
      exact (the tokens' keys masked before every Softmax), and the perturbation test (Chefer et al.)
      of rollout, attention, raw attention, occlusion, RISE and a random map. --steps true adds RISE's
      deletion / insertion curves at one-patch steps. With a DPT depth model: why the mean depth inside
      --region (image pixels; default the whole image) is what it is. --hard-attention τ: crop to the
      smallest box holding τ of the class-specific map's positive mass and classify the crop.
      --removal pixel-fill: a CNN (no tokens), its 16-pixel cells filled with the mean colour (approximate).`,
    },
  ],
  engineCalls: ['explain'],
} as const satisfies AnalysisDescriptor;
