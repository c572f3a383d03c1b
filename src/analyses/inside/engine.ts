// The inside analysis's engine requests: anatomy (weights only), tokens (one run), features (one run per
// image) and hard attention (a crop classified). Its sessions carry the residual-stream and attention
// taps, so they have their own cache. Engine side.
import { requireFields, type EngineHandlers } from '../../core/engine/handlers';
import { ModelCache } from '../../core/engine/modelCache';
import { VitLensError } from '../../shared/errors';
import { computeAnatomy } from './anatomy';
import { loadInsideModel } from './insideModel';
import { runFeaturesPipeline, runHardAttention, runTokensPipeline } from './pipeline';

type Calls = 'insideAnatomy' | 'insideTokens' | 'insideFeatures' | 'insideHardAttention';

export const insideEngine: EngineHandlers<Calls> = {
  insideAnatomy: (params) => {
    requireFields('insideAnatomy', params, ['modelPath']);
    return computeAnatomy(params.modelPath);
  },
  insideTokens: (params, { cache, ctl }) => {
    requireFields('insideTokens', params, ['imagePath', 'modelPath']);
    const models = cache('inside', () => new ModelCache(2, loadInsideModel));
    return runTokensPipeline(params, (p) => models.get(p), ctl);
  },
  insideFeatures: (params, { cache, ctl }) => {
    requireFields('insideFeatures', params, ['modelPath']);
    if (!Number.isInteger(params.layer)) throw new VitLensError('BAD_REQUEST', 'insideFeatures: layer must be a whole number');
    const models = cache('inside', () => new ModelCache(2, loadInsideModel));
    return runFeaturesPipeline(params, (p) => models.get(p), ctl);
  },
  insideHardAttention: (params, { cache, ctl }) => {
    requireFields('insideHardAttention', params, ['imagePath', 'modelPath', 'mapName']);
    if (!Array.isArray(params.map) || params.map.some((v) => typeof v !== 'number' || !Number.isFinite(v)))
      throw new VitLensError('BAD_REQUEST', 'insideHardAttention: map must be a list of finite numbers');
    if (typeof params.tau !== 'number') throw new VitLensError('BAD_REQUEST', 'insideHardAttention: tau must be a number');
    const models = cache('inside', () => new ModelCache(2, loadInsideModel));
    return runHardAttention(params, (p) => models.get(p), ctl);
  },
};
