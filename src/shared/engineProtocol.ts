// Messages between an engine client (extension host, CLI) and the engine process, which owns the
// onnxruntime sessions. Types, and the thread-count constant and check; imports nothing at runtime. Tensors travel as typed arrays
// (the IPC channel uses structured-clone "advanced" serialization).
import type { AttentionResult, AttentionSlice, PanelResult, RolloutSettings } from './attentionTypes';
import type { DenseResult, DenseTask } from '../analyses/dense/types';
import type { DensePanelResult } from '../analyses/dense/messages';
import type { ErrorInfo } from './errors';
import type { GatesResult, ModelKindInfo } from '../analyses/gates/types';


/** Parameters and result of each request kind. */
export interface EngineCalls {
  /** Attention of a ViT (or raw attention when modelPath is null) on one image. */
  attention: {
    params: { imagePath: string; modelPath: string | null; topK?: number; maxPixels?: number };
    result: AttentionResult;
  };
  /** A DPT depth or segmentation run, with the backbone's attention and the neck's feature levels. */
  dense: {
    params: { imagePath: string; modelPath: string; task: DenseTask; maxPixels?: number };
    result: DenseResult;
  };
  /** SE-Net / CBAM channel and spatial gates of a CNN on one image (MODEL_NO_GATES when it has none). */
  gates: {
    params: { imagePath: string; modelPath: string; topK?: number; topChannels?: number; maxPixels?: number };
    result: GatesResult;
  };
  /** Which pipeline a model needs, from its graph alone: 'vit' (attention), 'gates' (SE/CBAM) or 'none' (with the message to show). */
  modelKind: { params: { modelPath: string }; result: ModelKindInfo };
  /**
   * `attention` for a panel: the engine keeps the full tensor (key `attentionKey`) and returns its shape
   * and the slice of query 0 with these rollout settings; later slices come from `slice`.
   */
  attentionPanel: {
    params: EngineCalls['attention']['params'] & { rollout: RolloutSettings };
    result: { result: PanelResult; slice: AttentionSlice; attentionKey: string };
  };
  /** `dense` for a panel: like attentionPanel, the backbone's attention (when any) stays in the engine. */
  densePanel: {
    params: EngineCalls['dense']['params'] & { rollout: RolloutSettings };
    result: { result: DensePanelResult; slice?: AttentionSlice; attentionKey?: string };
  };
  /** One query's rows and rollout of a tensor kept by `attentionPanel` / `densePanel` (RESULT_EXPIRED once dropped). */
  slice: { params: { attentionKey: string; query: number; rollout: RolloutSettings }; result: AttentionSlice };
  /** Drop a cached session (the model file changed or was removed). */
  evict: { params: { modelPath: string }; result: { evicted: boolean } };
  /** A kept attention result is no longer needed (its panel has a newer one, or closed). */
  release: { params: { attentionKey: string }; result: { released: boolean } };
  /**
   * onnxruntime's intra-op threads per model run from now on (0: one per usable physical core); loaded
   * models are reloaded with it at their next run. Returns the count sessions will use.
   */
  configure: { params: { threads: number }; result: { threads: number } };
  /** Liveness check; returns the engine's process id, versions and onnxruntime's threads per run. */
  ping: { params: Record<string, never>; result: { pid: number; node: string; ort: string; threads: number } };
}

export type EngineKind = keyof EngineCalls;

/** Environment variable the engine process reads its thread count from (0 or unset: automatic). */
export const THREADS_ENV = 'VITLENS_THREADS';

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
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: ErrorInfo }
  /** Sent once when the engine is ready for requests, with onnxruntime's threads per model run. */
  | { type: 'ready'; pid: number; threads: number };
