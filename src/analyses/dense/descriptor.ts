// The dense-prediction analysis in the registry: DPT depth and segmentation with the neck's feature
// levels and the backbone's attention. Pure data.
import type { AnalysisDescriptor } from '../registry';

const rerunOn = ['maxImageMegapixels'];

export const dense = {
  id: 'dense',
  panels: [
    {
      viewType: 'vitLens.depth',
      title: 'Depth',
      bundle: 'denseWebview',
      task: 'depth',
      command: 'vitLens.runDptDepth',
      rerunOn: ['depthModel', ...rerunOn],
    },
    {
      viewType: 'vitLens.segmentation',
      title: 'Segmentation',
      bundle: 'denseWebview',
      task: 'segmentation',
      command: 'vitLens.runDptSegmentation',
      rerunOn: ['segmentationModel', ...rerunOn],
    },
  ],
  cli: [
    {
      name: 'depth',
      usage: `  vit-lens depth <image> --model <file.onnx|hf-folder|model-id> [--cache <dir>] [--png <out.png>]
                 [--png16 <out16.png>] [--npy <out.npy>] [--json <out.json>] [--html <out.html>]
      DPT / Depth Anything depth: --png inferno colours and --png16 16-bit grayscale (min–max) at
      the image's size, --npy the raw predicted_depth (float32, C order) at the model's resolution,
      --html the self-contained page of the DPT panel.`,
    },
    {
      name: 'segment',
      usage: `  vit-lens segment <image> --model <file.onnx|hf-folder|model-id> [--cache <dir>] [--png <out.png>] [--json <out.json>]
                   [--html <out.html>]
      DPT semantic segmentation (e.g. ADE20K, 150 classes): --png the ADE20K-palette class map at
      the image's size; the classes with their area share on stdout and in --json.`,
    },
  ],
  engineCalls: ['dense', 'densePanel', 'denseShapes'],
} as const satisfies AnalysisDescriptor;
