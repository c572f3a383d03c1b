// The compare analysis's engine request: `compare` (model A against model B, or against A's previous
// checkpoint). Engine side.
import { requireFields, type EngineHandlers } from '../../core/engine/handlers';
import { runComparePipeline } from './pipeline';

export const compareEngine: EngineHandlers<'compare'> = {
  compare: (params, { models, ctl }) => {
    requireFields('compare', params, ['imagePath'], ['rollout']);
    return runComparePipeline(params, (p) => models.get(p), ctl);
  },
};
