// The attention analysis in the registry: per-layer/per-head attention, rollout, the raw baseline and
// predictions of a ViT (or raw attention without a model). Pure data.
import type { AnalysisDescriptor } from '../registry';

export const attention = {
  id: 'attention',
  panels: [
    {
      viewType: 'vitLens.attention',
      title: 'Attention',
      bundle: 'webview',
      task: 'classification',
      command: 'vitLens.showAttention',
      rerunOn: ['model', 'topK', 'maxImageMegapixels'],
    },
  ],
  cli: [
    {
      name: 'attention',
      usage: `  vit-lens attention <image> [--model <file.onnx|hf-folder|model-id>] [--cache <dir>] [--json <out.json>]
                     [--html <out.html>] [--top 5] [--fusion mean|max|min] [--discard <0..1>] [--hard-attention <τ>]
      Per-layer/per-head attention, rollout, raw-attention baseline and predictions.
      --hard-attention τ: also crop to the smallest box holding τ of the rollout's mass and classify the crop.
      Without --model: raw attention (softmax(X·Xᵀ/√d) over pixel patches), no download needed.
      A model id (vit-lens models list) must be in the cache first: vit-lens models pull <id>.
  vit-lens attention <dir|glob> [--model <m>] [--json <out.json>] [--html <gallery.html>] [--jobs 8] [--top 5]
      One entry per image (sorted): top-k, rollout, prediction entropy, timings; failed images are
      listed with their error. --jobs: images per batch when the model's batch axis is dynamic.`,
    },
  ],
  engineCalls: ['attention', 'attentionPanel', 'attentionSummary'],
} as const satisfies AnalysisDescriptor;
