// Messages between an engine client (extension host, CLI) and the engine process, which owns the
// onnxruntime sessions. Types, and the thread-count constant and check; imports nothing at run time.
// Tensors travel as typed arrays (the IPC channel uses structured-clone "advanced" serialization).
import type { AttentionSlice, RolloutSettings } from './attentionTypes';
import type { AttentionCalls } from '../analyses/attention/types';
import type { DenseCalls } from '../analyses/dense/types';
import type { GatesCalls } from '../analyses/gates/types';
import type { GalleryCalls } from '../analyses/gallery/types';
import type { CompareCalls } from '../analyses/compare/types';
import type { ExplainCalls } from '../analyses/explain/types';
import type { InsideCalls } from '../analyses/inside/types';
import type { ErrorInfo } from './errors';

/** The engine's own request kinds (each analysis declares its own in its types.ts). */
export interface EngineOwnCalls {
  /** One query's rows and rollout of a tensor kept by a panel run (RESULT_EXPIRED once dropped). */
  slice: { params: { attentionKey: string; query: number; rollout: RolloutSettings }; result: AttentionSlice };
  /** Drop a cached session (the model file changed or was removed). */
  evict: { params: { modelPath: string }; result: { evicted: boolean } };
  /** A kept attention result is no longer needed (its panel has a newer one, or closed). */
  release: { params: { attentionKey: string }; result: { released: boolean } };
  /**
   * onnxruntime's intra-op threads per model run from now on (0: one per usable physical core); loaded
   * models are reloaded with it at their next run. `retainedResultsMB`: the budget of attention results
   * kept for panels (least recently used dropped first). Returns the count sessions will use and the budget.
   */
  configure: {
    params: { threads?: number; retainedResultsMB?: number; provider?: string };
    result: { threads: number; retainedResultsMB: number };
  };
  /** Liveness check; returns the engine's process id, versions and onnxruntime's threads per run. */
  ping: {
    params: Record<string, never>;
    result: { pid: number; node: string; ort: string; threads: number; provider?: { name: string; note?: string } };
  };
}

/** Parameters and result of each request kind: the engine's own and every analysis's. */
export interface EngineCalls
  extends EngineOwnCalls, AttentionCalls, DenseCalls, GatesCalls, GalleryCalls, CompareCalls, ExplainCalls, InsideCalls {}

export type EngineKind = keyof EngineCalls;

/** Environment variable the engine process reads its thread count from (0 or unset: automatic). */
export const THREADS_ENV = 'VITLENS_THREADS';

/** Environment variable the engine process reads its execution provider from (unset: cpu). */
export const PROVIDER_ENV = 'VITLENS_PROVIDER';

/** A thread count the engine takes: a whole number from 0 (automatic) to 256. */
export const isThreadCount = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 256;

/** Client → engine. */
export type ToEngine =
  | { type: 'request'; id: number; kind: EngineKind; params: unknown }
  /** Stop request `id`: dropped if queued; if running, it stops at the next stage boundary. */
  | { type: 'cancel'; id: number };

/** Engine → client. */
export type FromEngine =
  | { type: 'progress'; id: number; stage: string; fraction: number }
  /** A piece of a streaming request's result (e.g. one gallery entry), sent as soon as it is done. */
  | { type: 'partial'; id: number; data: unknown }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: ErrorInfo }
  /** Sent once when the engine is ready for requests, with onnxruntime's threads per model run. */
  | { type: 'ready'; pid: number; threads: number };
