// The dense analysis's engine requests: `dense` (the whole DPT result) and `densePanel` (the backbone's
// attention, when any, stays in the engine for slicing). Engine side; DPT models share the ViT cache
// (the loader adds the neck outputs to DPT graphs).
import { requireFields, type EngineHandlers } from '../../core/engine/handlers';
import { runDensePipeline } from './pipeline';

export const denseEngine: EngineHandlers<'dense' | 'densePanel'> = {
  dense: (params, { models, ctl, recycleAfterSend }) => {
    requireFields('dense', params, ['imagePath', 'modelPath']);
    return runDensePipeline(params, (p) => models.get(p), ctl).then((r) => {
      if (r.attention) recycleAfterSend(r.attention.data);
      return r;
    });
  },
  densePanel: async (params, { models, ctl, attentions }) => {
    requireFields('densePanel', params, ['imagePath', 'modelPath'], ['rollout']);
    const { attention, ...rest } = await runDensePipeline(params, (p) => models.get(p), ctl);
    if (!attention) return { result: rest };
    const kept = attentions.keep(attention, rest.firstPatchToken, 0, params.rollout);
    return { result: { ...rest, attention: kept.shape }, slice: kept.slice, attentionKey: kept.key };
  },
};
