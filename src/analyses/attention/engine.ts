// The attention analysis's engine requests: `attention` (the whole result, for the CLI and tests) and
// `attentionPanel` (the engine keeps the [L, H, N, N] tensor and answers with its shape and query 0's
// slice). Engine side.
import { requireFields, type EngineHandlers } from '../../core/engine/handlers';
import { runAttentionPipeline } from './pipeline';

export const attentionEngine: EngineHandlers<'attention' | 'attentionPanel'> = {
  attention: (params, { models, ctl, recycleAfterSend }) => {
    requireFields('attention', params, ['imagePath']);
    return runAttentionPipeline(params, (p) => models.get(p), ctl).then((r) => {
      recycleAfterSend(r.attention.data);
      return r;
    });
  },
  attentionPanel: async (params, { models, ctl, attentions }) => {
    requireFields('attentionPanel', params, ['imagePath'], ['rollout']);
    const { attention, ...rest } = await runAttentionPipeline(params, (p) => models.get(p), ctl);
    const kept = attentions.keep(attention, rest.firstPatchToken, 0, params.rollout);
    return { result: { ...rest, attention: kept.shape }, slice: kept.slice, attentionKey: kept.key };
  },
};
