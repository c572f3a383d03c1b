// The gates analysis's engine requests: `gates` (SE/CBAM gates of a CNN) and `modelKind` (which panel a
// model needs, from its graph: ViT attention, gates, or neither). Engine side; gates sessions carry the
// gate taps, so they have their own cache.
import { requireFields, type EngineHandlers } from '../../core/engine/handlers';
import { ModelCache } from '../../core/engine/modelCache';
import { detectModelKind, loadGatesModel } from './gatesModel';
import { runGatesPipeline } from './pipeline';

export const gatesEngine: EngineHandlers<'gates' | 'modelKind'> = {
  gates: (params, { cache, ctl }) => {
    requireFields('gates', params, ['imagePath', 'modelPath']);
    const models = cache('gates', () => new ModelCache(2, loadGatesModel));
    return runGatesPipeline(params, (p) => models.get(p), ctl);
  },
  modelKind: (params) => {
    requireFields('modelKind', params, ['modelPath']);
    return detectModelKind(params.modelPath);
  },
};
