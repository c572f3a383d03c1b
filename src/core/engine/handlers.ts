// What an engine request handler is and what it gets: the engine dispatches every request kind through
// one table of handlers (src/core/engine/engine.ts), each analysis contributing its own
// (src/analyses/<name>/engine.ts). Engine side only.
import type { EngineCalls, EngineKind } from '../../shared/engineProtocol';
import { VitLensError } from '../../shared/errors';
import type { LoadedModel } from '../model/vitModel';
import type { RunControl } from '../pipeline/control';
import type { AttentionStore } from './attentionStore';
import type { ModelCache } from './modelCache';

/** What the engine lends a handler for one request. */
export interface EngineContext {
  /** Progress and cancellation of this request. */
  ctl: RunControl;
  /** ViT and DPT sessions (the loader adds the attention and neck taps). */
  models: ModelCache<LoadedModel>;
  /**
   * A cache of an analysis's own kind of sessions (e.g. gates models with their gate taps), made on
   * first use; the engine clears and evicts it with the others.
   */
  cache<M extends { mtimeMs: number; session: { release(): Promise<void> } }>(id: string, create: () => ModelCache<M>): ModelCache<M>;
  /** Attention tensors kept for panels, sliced on request. */
  attentions: AttentionStore;
  /** Recycle this attention array once the result has been sent (the client has its copy then; see placedOutputs). */
  recycleAfterSend(data: Float32Array): void;
}

export type Handler<K extends EngineKind> = (
  params: EngineCalls[K]['params'],
  ctx: EngineContext,
) => Promise<EngineCalls[K]['result']> | EngineCalls[K]['result'];

/** The handlers of some request kinds. */
export type EngineHandlers<K extends EngineKind> = { [P in K]: Handler<P> };

/**
 * Checks that a request's params have these fields as strings (and `objects` as objects): a request
 * comes from another process and is validated before use. Throws BAD_REQUEST naming what is missing.
 */
export function requireFields(kind: string, params: unknown, strings: readonly string[], objects: readonly string[] = []): void {
  const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
  const missing = [...strings.filter((k) => typeof p[k] !== 'string'), ...objects.filter((k) => typeof p[k] !== 'object' || p[k] === null)];
  if (missing.length)
    throw new VitLensError('BAD_REQUEST', `${kind}: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required`);
}
