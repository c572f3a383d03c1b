// The attention analysis's engine requests: `attention` (the whole result, for the CLI's report and tests),
// `attentionSummary` (what the CLI's JSON writes: no tensor, baseline or view) and `attentionPanel` (the
// engine keeps the [L, H, N, N] tensor and answers with its shape and query 0's slice; the first map and
// then its rollout go ahead as partial messages). Engine side.
import { requireFields, type EngineHandlers } from '../../core/engine/handlers';
import { runAttentionPipeline, type FirstMapResult } from './pipeline';
import type { AttentionMapPartial } from './types';
import { attentionSlice, queryRows, shapeOf } from '../../maths/attention';
import { recycleAttention } from '../../core/placedOutputs';
import { rolloutRowWasm } from '../../core/pipeline/rolloutWasm';

export const attentionEngine: EngineHandlers<'attention' | 'attentionPanel' | 'attentionSummary'> = {
  attention: (params, { models, ctl, recycleAfterSend }) => {
    requireFields('attention', params, ['imagePath']);
    return runAttentionPipeline(params, (p) => models.get(p), ctl).then((r) => {
      recycleAfterSend(r.attention.data);
      return r;
    });
  },
  attentionSummary: async (params, { models, ctl }) => {
    requireFields('attentionSummary', params, ['imagePath'], ['rollout']);
    const { attention, ...result } = await runAttentionPipeline(params, (p) => models.get(p), ctl, { extras: false });
    const slice = attentionSlice(attention, result.firstPatchToken, 0, params.rollout, rolloutRowWasm);
    recycleAttention(attention.data); // nothing holds it: the next run's outputs go into it
    return { result: { ...result, attention: shapeOf(attention) }, slice };
  },
  attentionPanel: async (params, { models, ctl, attentions }) => {
    requireFields('attentionPanel', params, ['imagePath'], ['rollout']);
    // The map leaves with the predictions and query 0's rows (L·H·N values, the attention view) as soon
    // as the tensor is checked; then query 0's rollout (a pass over the whole tensor), with the tensor
    // kept; then the raw baseline and the head statistics (first map first).
    let kept: ReturnType<typeof attentions.keep> | undefined;
    const onFirstMap = async ({ attention, ...first }: FirstMapResult) => {
      await ctl.emit?.({
        kind: 'map',
        result: { ...first, attention: shapeOf(attention) },
        rows: queryRows(attention, 0),
      } satisfies AttentionMapPartial);
      ctl.checkCancelled();
      kept = attentions.keep(attention, first.firstPatchToken, 0, params.rollout);
      await ctl.emit?.({ kind: 'rollout', slice: kept.slice } satisfies AttentionMapPartial);
    };
    try {
      const { attention, ...rest } = await runAttentionPipeline(params, (p) => models.get(p), ctl, { onFirstMap });
      kept ??= attentions.keep(attention, rest.firstPatchToken, 0, params.rollout);
      ctl.checkCancelled(); // synchronous up to the engine's own check: no cancel slips in between
      return { result: { ...rest, attention: kept.shape }, slice: kept.slice, attentionKey: kept.key };
    } catch (e) {
      // Cancelled (or failed) after the map went: the key never reached the client, nothing else frees it.
      if (kept) attentions.release(kept.key);
      throw e;
    }
  },
};
