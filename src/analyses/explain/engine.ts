// The explain analysis's engine request: the pipeline with the engine's ViT sessions (for the attention
// run) and its own cache of key-masked sessions. Engine side.
import { requireFields, type EngineHandlers } from '../../core/engine/handlers';
import { ModelCache } from '../../core/engine/modelCache';
import { loadMaskedModel, loadPixelFillModel, type MaskedModel } from './maskedModel';
import { runExplainPipeline } from './pipeline';

export const explainEngine: EngineHandlers<'explain'> = {
  explain: (params, { models, ctl, cache }) => {
    requireFields('explain', params, ['imagePath', 'modelPath']);
    const masked = cache<MaskedModel>('explain', () => new ModelCache<MaskedModel>(2, loadMaskedModel));
    // A CNN's plain session for pixel-fill removal (on request only: key masking is the exact removal).
    const pixel = cache<MaskedModel>('explainPixelFill', () => new ModelCache<MaskedModel>(1, loadPixelFillModel));
    return runExplainPipeline(
      params,
      (p) => models.get(p),
      (p) => (params.removal === 'pixel-fill' ? pixel.get(p) : masked.get(p)),
      ctl,
    );
  },
};
