// The dense analysis's engine requests: `dense` (the whole DPT result), `densePanel` (the backbone's
// attention, when any, stays in the engine for slicing; the map goes ahead as a partial message) and
// `denseShapes` (what the CLI writes: the attention's shape only). Engine side; DPT models share the ViT
// cache (the loader adds the neck outputs to DPT graphs).
import { requireFields, type EngineHandlers } from '../../core/engine/handlers';
import { ModelCache } from '../../core/engine/modelCache';
import { loadVitModel } from '../../core/model/vitModel';
import { runDensePipeline, runDenseShapes } from './pipeline';
import type { DenseMapPartial } from './types';

export const denseEngine: EngineHandlers<'dense' | 'densePanel' | 'denseShapes'> = {
  dense: (params, { models, ctl, recycleAfterSend }) => {
    requireFields('dense', params, ['imagePath', 'modelPath']);
    return runDensePipeline(params, (p) => models.get(p), ctl).then((r) => {
      if (r.attention) recycleAfterSend(r.attention.data);
      return r;
    });
  },
  densePanel: async (params, { models, ctl, attentions }) => {
    requireFields('densePanel', params, ['imagePath', 'modelPath'], ['rollout']);
    // The map leaves before the neck's PCA and the attention's checks and slicing (first map first).
    const onMap = (first: DenseMapPartial['result']) => ctl.emit?.({ kind: 'map', result: first } satisfies DenseMapPartial);
    const { attention, ...rest } = await runDensePipeline(params, (p) => models.get(p), ctl, { onMap });
    if (!attention) return { result: rest };
    const kept = attentions.keep(attention, rest.firstPatchToken, 0, params.rollout);
    return { result: { ...rest, attention: kept.shape }, slice: kept.slice, attentionKey: kept.key };
  },
  denseShapes: (params, { cache, ctl }) => {
    requireFields('denseShapes', params, ['imagePath', 'modelPath']);
    // Its own sessions, with the last attention layer tapped only: onnxruntime allocates every graph
    // output of a run, fetched or not, and the other layers would cost 176 MB on DPT-B at 384². Only the
    // CLI asks for this, and its engine process holds no other session of the model.
    const models = cache('dense-shapes', () => new ModelCache(1, (p) => loadVitModel(p, { taps: 'last' })));
    return runDenseShapes(params, (p) => models.get(p), ctl);
  },
};
