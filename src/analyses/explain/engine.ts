// The explain analysis's engine request: the pipeline with the engine's ViT sessions (for the attention
// run) and its own cache of key-masked sessions. Engine side.
import { requireFields, type EngineHandlers } from '../../core/engine/handlers';
import { ModelCache } from '../../core/engine/modelCache';
import { loadMaskedModel, type MaskedModel } from './maskedModel';
import { runExplainPipeline } from './pipeline';

export const explainEngine: EngineHandlers<'explain'> = {
  explain: (params, { models, ctl, cache }) => {
    requireFields('explain', params, ['imagePath', 'modelPath']);
    const masked = cache<MaskedModel>('explain', () => new ModelCache<MaskedModel>(2, loadMaskedModel));
    return runExplainPipeline(
      params,
      (p) => models.get(p),
      (p) => masked.get(p),
      ctl,
    );
  },
};
