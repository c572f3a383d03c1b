// The messages every panel and its webview exchange alike (each analysis's own messages are in its
// folder, src/analyses/<name>/messages.ts), the field checks their validators share, and the action
// buttons. Shared by the host and every webview page; imports nothing at run time, so the webview bundles
// can include it. The host validates every message from a webview before acting on it.
import type { AttentionSlice, HeadFusion, RolloutSettings } from './attentionTypes';

export const colormapNames = ['viridis', 'inferno', 'magma', 'turbo', 'jet'] as const;
export type ColormapName = (typeof colormapNames)[number];

/**
 * Runs shorter than this stay quiet: no progress notification (one that flashed up and vanished would
 * only distract) and no animation in the panel's busy line. In a software-rendered workbench (no GPU)
 * each animation frame re-composites the window on the cores the run needs: measured, a ViT-B run took
 * twice as long under the old notification and spinner.
 */
export const QUIET_RUN_MS = 800;

/** Buttons the panel can show in an error or prompt; the host carries them out. */
export type PanelActionId = 'chooseModel' | 'downloadModel' | 'openSettings' | 'rerun' | 'showLog';

const actionIds: readonly string[] = ['chooseModel', 'downloadModel', 'openSettings', 'rerun', 'showLog'];

// Field checks shared by every panel's validator.
/** A non-negative integer (request ids, counts, indices). */
export const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
/** A file name the host may offer in a save dialog: letters, digits, `_ . - ` and space only (no path separators). */
export const isExportName = (v: unknown): v is string => typeof v === 'string' && /^[\w.\- ]{1,120}$/.test(v);

/** A Save request of a page whose exports come in the formats F. */
export type ExportMessage<F extends string = string> = {
  type: 'export';
  requestId: number;
  format: F;
  suggestedName: string;
  bytes: Uint8Array;
};

/** A page's own message types, each with the parser of its fields (undefined: malformed). */
export type MessageParsers<M> = Partial<Record<string, (o: Record<string, unknown>) => M | undefined>>;

/**
 * A webview message of a page: its own types through `parsers`, else the common ones; undefined for
 * anything malformed or unknown. Never trust a webview.
 */
export function parsePanelMessage<M>(m: unknown, parsers: MessageParsers<M>): M | BasicWebviewMessage | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const o = m as Record<string, unknown>;
  const own = typeof o.type === 'string' && Object.prototype.hasOwnProperty.call(parsers, o.type) ? parsers[o.type] : undefined;
  return own ? own(o) : parseCommonMessage(o);
}

/** The messages every panel sends alike (`ready`, `action`, `log`), validated; undefined for anything else. */
export function parseCommonMessage(
  o: Record<string, unknown>,
): Extract<CommonWebviewMessage, { type: 'ready' | 'action' | 'log' }> | undefined {
  switch (o.type) {
    case 'ready':
      return { type: 'ready' };
    case 'action':
      return typeof o.action === 'string' && actionIds.includes(o.action)
        ? { type: 'action', action: o.action as PanelActionId }
        : undefined;
    case 'log':
      return (o.level === 'info' || o.level === 'warn' || o.level === 'error') && typeof o.message === 'string'
        ? { type: 'log', level: o.level, message: o.message.slice(0, 2000) }
        : undefined;
    default:
      return undefined;
  }
}

/** Host → webview messages every panel has; the panel base in the host builds them. */
export type CommonHostMessage =
  /** A run started or advanced: show a busy state (data-testid="busy") with this text (progress 0..1 when known). */
  | { type: 'running'; message: string; progress?: number }
  /** A run failed: show the message (data-testid="error") with these buttons; a previous result stays visible. */
  | { type: 'error'; message: string; actions: PanelActionId[] }
  /** Reply to an `export` request: where it was saved, or why not (neither: the user cancelled). */
  | { type: 'exported'; requestId: number; savedTo?: string; error?: string }
  /** Reply to `needSlice` (panels whose attention the engine keeps): one query's rows and rollout of the result `resultId`. */
  | { type: 'slice'; resultId: number; slice: AttentionSlice };

/** Webview → host messages every panel has. */
export type CommonWebviewMessage =
  /** The script loaded and listens: the host answers with the current state (a `result`, `running` or `error`). */
  | { type: 'ready' }
  /** The user pressed one of the action buttons. */
  | { type: 'action'; action: PanelActionId }
  /** A line for the extension's output channel. */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  /** Save a file the panel produced; the host asks where and answers with `exported`. */
  | ExportMessage
  /** The panel needs a query's attention rows and rollout (of the result `resultId`): answered by `slice`. */
  | { type: 'needSlice'; resultId: number; query: number; rollout: RolloutSettings };

/** The host → webview messages of every page, its analysis's own beside them (a page whose attention the engine keeps adds `slice`). */
export type BasicHostMessage = Extract<CommonHostMessage, { type: 'running' | 'error' | 'exported' }>;

/** The webview → host messages of every page, its own exports and requests beside them. */
export type BasicWebviewMessage = Extract<CommonWebviewMessage, { type: 'ready' | 'action' | 'log' }>;

/** A well-formed `needSlice`, else undefined. */
export function parseNeedSlice(o: Record<string, unknown>): Extract<CommonWebviewMessage, { type: 'needSlice' }> | undefined {
  const r = o.rollout as Record<string, unknown> | null;
  const okRollout =
    typeof r === 'object' &&
    r !== null &&
    (r.fusion === 'mean' || r.fusion === 'max' || r.fusion === 'min') &&
    typeof r.discardRatio === 'number' &&
    r.discardRatio >= 0 &&
    r.discardRatio < 1 &&
    isIndex(r.startLayer);
  return o.type === 'needSlice' && isIndex(o.resultId) && isIndex(o.query) && okRollout
    ? {
        type: 'needSlice',
        resultId: o.resultId,
        query: o.query,
        rollout: { fusion: r!.fusion as HeadFusion, discardRatio: r!.discardRatio as number, startLayer: r!.startLayer as number },
      }
    : undefined;
}

/** A well-formed `export` whose format is one of `formats` (and, given `extension`, whose name ends with its extension), else undefined. */
export function parseExport<F extends string>(
  o: Record<string, unknown>,
  formats: readonly F[],
  extension?: (f: F) => string,
): ExportMessage<F> | undefined {
  const format = typeof o.format === 'string' && (formats as readonly string[]).includes(o.format) ? (o.format as F) : undefined;
  return o.type === 'export' &&
    format &&
    isIndex(o.requestId) &&
    isExportName(o.suggestedName) &&
    (!extension || o.suggestedName.toLowerCase().endsWith(`.${extension(format)}`)) &&
    o.bytes instanceof Uint8Array
    ? { type: 'export', requestId: o.requestId, format, suggestedName: o.suggestedName, bytes: o.bytes }
    : undefined;
}
