// The gates analysis in the registry: SE-Net / CBAM channel and spatial gates of a CNN. Its panel opens
// from Show Attention when the configured model has gates instead of self-attention. Pure data.
import type { AnalysisDescriptor } from '../registry';

export const gates = {
  id: 'gates',
  panels: [
    {
      viewType: 'vitLens.gates',
      title: 'Gates',
      bundle: 'gatesWebview',
      task: 'classification',
      command: 'vitLens.showAttention',
      modelKinds: ['gates'],
      rerunOn: ['model', 'topK', 'maxImageMegapixels'],
    },
  ],
  cli: [
    {
      name: 'gates',
      usage: `  vit-lens gates <image> --model <file.onnx|hf-folder> [--json <out.json>] [--top 5] [--channels 6]
      Channel and spatial gates of a CNN (SE-Net, EfficientNet, MobileNetV3, CBAM): per gate its
      node, kind (channel | spatial), shape and values, and the predictions.`,
    },
  ],
  engineCalls: ['gates', 'modelKind'],
} as const satisfies AnalysisDescriptor;
