// Messages between the extension host and the attention panel (webview), and the settings the panel
// shows. Shared by src/host and webview/. Types plus one validator that imports nothing, so the
// webview bundle can include it; the host validates every message from a webview before acting on it.
import type { AttentionSlice, HeadFusion, PanelResult, RolloutSettings } from './attentionTypes';

export const colormapNames = ['viridis', 'inferno', 'magma', 'turbo', 'jet'] as const;
export type ColormapName = (typeof colormapNames)[number];

/** User settings the panel starts from (the `vitLens.*` configuration). */
export interface PanelSettings {
  colormap: ColormapName;
  /** Overlay opacity 0..1. */
  opacity: number;
  fusion: HeadFusion;
  /** Rollout discard ratio 0 ≤ r < 1. */
  discardRatio: number;
}

/**
 * Runs shorter than this stay quiet: no progress notification (one that flashed up and vanished would
 * only distract) and no animation in the panel's busy line. In a software-rendered workbench (no GPU)
 * each animation frame re-composites the window on the cores the run needs: measured, a ViT-B run took
 * twice as long under the old notification and spinner.
 */
export const QUIET_RUN_MS = 800;

/** Buttons the panel can show in an error or prompt; the host carries them out. */
export type PanelActionId = 'chooseModel' | 'downloadModel' | 'openSettings' | 'rerun' | 'showLog';

/** Host → webview. */
export type HostMessage =
  /** A run started or advanced: show a busy state with this text (progress 0..1 when known). */
  | { type: 'running'; message: string; progress?: number }
  /**
   * A finished run: render everything. The full attention tensor stays in the host; `slice` holds the
   * default query's rows and rollout so the first paint needs no round trip. `notice` is an inline hint
   * (e.g. "raw attention: no model configured").
   */
  | { type: 'result'; resultId: number; result: PanelResult; slice: AttentionSlice; settings: PanelSettings; notice?: { message: string; actions: PanelActionId[] } }
  /** Reply to `needSlice`: another query's rows and rollout, of the result `resultId`. */
  | { type: 'slice'; resultId: number; slice: AttentionSlice }
  /** A run failed: show the message in the panel (data-testid="error"), keep any previous result visible. */
  | { type: 'error'; message: string; actions: PanelActionId[] }
  /** Settings changed in VS Code while the panel is open. */
  | { type: 'settings'; settings: PanelSettings }
  /** Reply to an `export` request: where it was saved, or why not. */
  | { type: 'exported'; requestId: number; savedTo?: string; error?: string };

/** Webview → host. */
export type WebviewMessage =
  /** The script loaded and listens: the host answers with the current state. */
  | { type: 'ready' }
  /** A new result's main map is on screen (before the thumbnails). Wall-clock times (ms since the epoch): `at` now, `receivedAt` when the result arrived. */
  | { type: 'painted'; view: string; at: number; receivedAt: number }
  /** A result was painted: how many layer×head thumbnails, and which view is shown. */
  | { type: 'rendered'; thumbnails: number; view: string }
  /** The panel needs a query's rows and rollout (of the `result` with this `resultId`): answered by `slice`. */
  | { type: 'needSlice'; resultId: number; query: number; rollout: RolloutSettings }
  /** The query token changed (click/keyboard on a patch); the host logs it and tests read it. */
  | { type: 'queryChanged'; query: number; layer: number; head: number | 'mean' }
  /** Save a file the panel produced (PNG of the view, JSON of the numbers); the host asks where. */
  | { type: 'export'; requestId: number; format: 'png' | 'json'; suggestedName: string; bytes: Uint8Array }
  /** The user pressed one of the action buttons. */
  | { type: 'action'; action: PanelActionId }
  /** A line for the extension's output channel. */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

const actionIds: readonly string[] = ['chooseModel', 'downloadModel', 'openSettings', 'rerun', 'showLog'];

// Field checks shared by every panel's validator (this one and densePanelProtocol's).
/** A non-negative integer (request ids, counts, indices). */
export const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
/** A file name the host may offer in a save dialog: letters, digits, `_ . - ` and space only (no path separators). */
export const isExportName = (v: unknown): v is string => typeof v === 'string' && /^[\w.\- ]{1,120}$/.test(v);

/** The messages every panel sends alike (`ready`, `action`, `log`), validated; undefined for anything else. */
export function parseCommonMessage(o: Record<string, unknown>): Extract<WebviewMessage, { type: 'ready' | 'action' | 'log' }> | undefined {
  switch (o.type) {
    case 'ready':
      return { type: 'ready' };
    case 'action':
      return typeof o.action === 'string' && actionIds.includes(o.action) ? { type: 'action', action: o.action as PanelActionId } : undefined;
    case 'log':
      return (o.level === 'info' || o.level === 'warn' || o.level === 'error') && typeof o.message === 'string'
        ? { type: 'log', level: o.level, message: o.message.slice(0, 2000) } : undefined;
    default:
      return undefined;
  }
}

/** Returns the message if it is a well-formed WebviewMessage, else undefined. Never trust a webview. */
export function parseWebviewMessage(m: unknown): WebviewMessage | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const o = m as Record<string, unknown>;
  switch (o.type) {
    case 'needSlice': {
      const r = o.rollout as Record<string, unknown> | null;
      const okRollout = typeof r === 'object' && r !== null && (r.fusion === 'mean' || r.fusion === 'max' || r.fusion === 'min')
        && typeof r.discardRatio === 'number' && r.discardRatio >= 0 && r.discardRatio < 1 && isIndex(r.startLayer);
      return isIndex(o.resultId) && isIndex(o.query) && okRollout
        ? { type: 'needSlice', resultId: o.resultId as number, query: o.query as number, rollout: { fusion: r!.fusion as HeadFusion, discardRatio: r!.discardRatio as number, startLayer: r!.startLayer as number } } : undefined;
    }
    case 'painted':
      return typeof o.view === 'string' && Number.isFinite(o.at) && Number.isFinite(o.receivedAt)
        ? { type: 'painted', view: o.view, at: o.at as number, receivedAt: o.receivedAt as number } : undefined;
    case 'rendered':
      return isIndex(o.thumbnails) && typeof o.view === 'string' ? { type: 'rendered', thumbnails: o.thumbnails as number, view: o.view } : undefined;
    case 'queryChanged':
      return isIndex(o.query) && isIndex(o.layer) && (isIndex(o.head) || o.head === 'mean')
        ? { type: 'queryChanged', query: o.query as number, layer: o.layer as number, head: o.head as number | 'mean' } : undefined;
    case 'export': {
      const okFormat = o.format === 'png' || o.format === 'json';
      return isIndex(o.requestId) && okFormat && isExportName(o.suggestedName) && o.bytes instanceof Uint8Array
        ? { type: 'export', requestId: o.requestId as number, format: o.format as 'png' | 'json', suggestedName: o.suggestedName as string, bytes: o.bytes } : undefined;
    }
    default:
      return parseCommonMessage(o);
  }
}
