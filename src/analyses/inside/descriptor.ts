// "Inside the ViT" in the registry: the model's anatomy (patch-embedding filters, position-embedding
// similarity), its tokens (residual-stream norms, high-norm outliers, registers, attention received)
// and its patch features (PCA, foreground cut); hard attention (classify the crop that holds τ of a
// map's mass) for the panel and `vit-lens attention --hard-attention`. Pure data.
import type { AnalysisDescriptor } from '../registry';

export const inside = {
  id: 'inside',
  panels: [
    {
      viewType: 'vitLens.inside',
      title: 'Inside',
      bundle: 'insideWebview',
      task: 'classification',
      command: 'vitLens.showInside',
      rerunOn: ['model', 'topK', 'maxImageMegapixels'],
    },
  ],
  cli: [
    {
      name: 'anatomy',
      usage: `  vit-lens anatomy --model <file.onnx|hf-folder> [--json <out.json>] [--html <out.html>]
      From the weights alone (no image): the patch-embedding filters' principal components and the
      cosine similarity of the learned position embeddings on the table's own grid.`,
    },
    {
      name: 'tokens',
      usage: `  vit-lens tokens <image> --model <file.onnx|hf-folder> [--json <out.json>]
      The residual stream's L2 norm of every token after the embeddings and every block, high-norm
      outlier patches of the later blocks (Darcet et al. 2023), registers, attention received.`,
    },
    {
      name: 'features',
      usage: `  vit-lens features <image>… --model <file.onnx|hf-folder> --layer <l> [--json <out.json>] [--png <out.png>]
      PCA of the patch features at layer l (0 = embeddings … L = last block, -1 = last), jointly over
      the images: three components as RGB, explained variance, the DINOv2-style foreground cut.`,
    },
  ],
  engineCalls: ['insideAnatomy', 'insideTokens', 'insideFeatures', 'insideHardAttention'],
} as const satisfies AnalysisDescriptor;
