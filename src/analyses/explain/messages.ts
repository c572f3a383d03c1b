// The messages of the explain analysis's view, shared by the panels that show it (the attention panel's
// "Why this class", the DPT panel's "Why this depth", the gates panel's pixel-fill "Why this class"): the webview asks to explain its shown result, the
// host streams progress, partial maps and the result back. Types plus one validator whose only runtime
// import is the shared field check, so webview bundles can include it. No vscode, Node or DOM code.
import { isIndex } from '../../shared/panelProtocol';
import type { ExplainMethod, ExplainPartial, PanelExplainResult } from './types';

/** Host → webview. */
export type ExplainHostMessage =
  | { type: 'explainProgress'; resultId: number; message: string; fraction: number }
  | { type: 'explainPartial'; resultId: number; partial: ExplainPartial }
  | { type: 'explainResult'; resultId: number; result: PanelExplainResult }
  | { type: 'explainError'; resultId: number; message: string; cancelled: boolean };

/** What a panel asks to explain: its shown result's image and model, with these choices. */
export interface ExplainRequest {
  /** A classifier's class index; absent: the top-1. */
  target?: number;
  /** A depth model's region, [x0, y0, x1, y1] in image pixels; absent: the whole image. */
  region?: [number, number, number, number];
  methods: ExplainMethod[];
  window: number;
  samples: number;
  seed: number;
  score: 'probability' | 'logOdds';
  /** Also RISE's deletion / insertion curves at one-patch steps (P + 1 runs per map and direction). */
  steps?: boolean;
  /** The shown layer and head: the 'attention' map the perturbation test scores (default: the last layer's mean). */
  layer?: number;
  head?: number | 'mean';
}

/** Webview → host. */
export type ExplainWebviewMessage =
  /** Explain the result `resultId` (answered by explainProgress / explainPartial / explainResult / explainError). */
  | { type: 'explain'; resultId: number; request: ExplainRequest }
  /** Stop the running explanation (what was computed stays on screen). */
  | { type: 'cancelExplain' };

/** An explain message of a webview, checked (undefined when malformed); null when `o` is no explain message. */
export function parseExplainMessage(o: Record<string, unknown>): ExplainWebviewMessage | undefined | null {
  if (o.type === 'cancelExplain') return { type: 'cancelExplain' };
  if (o.type !== 'explain') return null;
  const q = (typeof o.request === 'object' && o.request !== null ? o.request : {}) as Record<string, unknown>;
  const methods = Array.isArray(q.methods) ? q.methods.filter((x): x is ExplainMethod => x === 'occlusion' || x === 'rise') : [];
  const region = q.region;
  const regionOk =
    region === undefined ||
    (Array.isArray(region) && region.length === 4 && region.every((v) => typeof v === 'number' && Number.isFinite(v)));
  const ok =
    isIndex(o.resultId) &&
    methods.length > 0 &&
    methods.length === (q.methods as unknown[]).length &&
    (q.target === undefined || isIndex(q.target)) &&
    regionOk &&
    isIndex(q.window) &&
    isIndex(q.samples) &&
    isIndex(q.seed) &&
    (q.score === 'probability' || q.score === 'logOdds') &&
    (q.steps === undefined || typeof q.steps === 'boolean') &&
    (q.layer === undefined || isIndex(q.layer)) &&
    (q.head === undefined || isIndex(q.head) || q.head === 'mean');
  if (!ok) return undefined;
  const request: ExplainRequest = {
    ...(q.target !== undefined ? { target: q.target as number } : {}),
    ...(region !== undefined ? { region: region as ExplainRequest['region'] } : {}),
    methods,
    window: q.window as number,
    samples: q.samples as number,
    seed: q.seed as number,
    score: q.score as ExplainRequest['score'],
    ...(q.steps ? { steps: true } : {}),
    ...(q.layer !== undefined ? { layer: q.layer as number } : {}),
    ...(q.head !== undefined ? { head: q.head as number | 'mean' } : {}),
  };
  return { type: 'explain', resultId: o.resultId as number, request };
}
