// The attention analysis in the registry: per-layer/per-head attention, rollout, the raw baseline and
// predictions of a ViT (or raw attention without a model). Pure data.
import type { AnalysisDescriptor } from '../registry';

export const attention = {
  id: 'attention',
  panels: [
    { viewType: 'vitLens.attention', title: 'Attention', bundle: 'webview', task: 'classification', command: 'vitLens.showAttention', rerunOn: ['model', 'topK', 'maxImageMegapixels'] },
  ],
  cli: [
    {
      name: 'attention',
      usage: `  vit-lens attention <image> [--model <file.onnx|hf-folder|model-id>] [--cache <dir>] [--json <out.json>]
                     [--html <out.html>] [--top 5] [--fusion mean|max|min] [--discard <0..1>]
      Per-layer/per-head attention, rollout, raw-attention baseline and predictions.
      Without --model: raw attention (softmax(X·Xᵀ/√d) over pixel patches), no download needed.
      A model id (vit-lens models list) must be in the cache first: vit-lens models pull <id>.`,
    },
  ],
  engineCalls: ['attention', 'attentionPanel'],
} as const satisfies AnalysisDescriptor;
