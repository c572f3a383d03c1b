// Messages between the extension host and the attention panel (webview), and the settings the panel
// starts from. Shared by the host (src/analyses/attention/panel.ts) and webview/panels/attention; types
// plus one validator whose only runtime imports are the shared field checks, so the webview bundle can
// include it. Must not import vscode, Node or DOM code.
import type { AttentionSlice, HeadFusion, PanelResult } from '../../shared/attentionTypes';
import type { PanelMapResult } from './types';
import { parseExplainMessage, type ExplainHostMessage, type ExplainWebviewMessage } from '../explain/messages';
export type { ExplainRequest } from '../explain/messages';
import type {
  ColormapName,
  PanelActionId,
  BasicHostMessage,
  BasicWebviewMessage,
  CommonHostMessage,
  CommonWebviewMessage,
  ExportMessage,
} from '../../shared/panelProtocol';
import { isIndex, parseExport, parseNeedSlice, parsePanelMessage } from '../../shared/panelProtocol';

/** User settings the panel starts from (the `vitLens.*` configuration). */
export interface PanelSettings {
  colormap: ColormapName;
  /** Overlay opacity 0..1. */
  opacity: number;
  fusion: HeadFusion;
  /** Rollout discard ratio 0 ≤ r < 1. */
  discardRatio: number;
}

/** Host → webview. */
export type HostMessage =
  /**
   * A finished run: render everything. The full attention tensor stays in the host; `slice` holds the
   * default query's rows and rollout so the first paint needs no round trip. `notice` is an inline hint
   * (e.g. "raw attention: no model configured").
   */
  | {
      type: 'result';
      resultId: number;
      result: PanelResult;
      slice: AttentionSlice;
      settings: PanelSettings;
      notice?: { message: string; actions: PanelActionId[] };
      partial?: false;
    }
  /**
   * The first map: `result` has the predictions, the view and the timings so far, no raw baseline and no
   * head statistics; `rows` is query 0's row of every layer and head ([L, H, N]). Query 0's rollout
   * follows as a `slice`, the whole result as a second `result` with the same `resultId`, and the page
   * then adds the baseline, the statistics and the thumbnails beside the map it painted.
   */
  | {
      type: 'result';
      resultId: number;
      result: PanelMapResult;
      rows: Float32Array;
      settings: PanelSettings;
      notice?: { message: string; actions: PanelActionId[] };
      partial: true;
    }
  /** Settings changed in VS Code while the panel is open. */
  | { type: 'settings'; settings: PanelSettings }
  /** "Why this class" (src/analyses/explain/messages.ts). */
  | ExplainHostMessage
  /** The messages every panel has (src/shared/panelProtocol.ts). */
  | BasicHostMessage
  | Extract<CommonHostMessage, { type: 'slice' }>;

/** Webview → host. */
export type WebviewMessage =
  /**
   * A new result's main map is on screen (before the thumbnails; from the first map when the rest follows).
   * Wall-clock times (ms since the epoch): `at` now, `receivedAt` when the result arrived.
   */
  | { type: 'painted'; view: string; at: number; receivedAt: number }
  /** Everything of a result is painted (the whole result, after a first map): how many layer×head thumbnails, and which view is shown. */
  | { type: 'rendered'; thumbnails: number; view: string }
  /** The query token changed (click/keyboard on a patch); the host logs it and tests read it. */
  | { type: 'queryChanged'; query: number; layer: number; head: number | 'mean' }
  /** Save a file the panel produced (PNG of the view, JSON of the numbers); the host asks where. */
  | ExportMessage<'png' | 'json'>
  | ExplainWebviewMessage
  /** The messages every panel has (src/shared/panelProtocol.ts). */
  | BasicWebviewMessage
  | Extract<CommonWebviewMessage, { type: 'needSlice' }>;

/** Returns the message if it is a well-formed WebviewMessage, else undefined. Never trust a webview. */
export const parseWebviewMessage = (m: unknown): WebviewMessage | undefined =>
  parsePanelMessage<WebviewMessage>(m, {
    needSlice: parseNeedSlice,
    painted: (o) =>
      typeof o.view === 'string' && Number.isFinite(o.at) && Number.isFinite(o.receivedAt)
        ? { type: 'painted', view: o.view, at: o.at as number, receivedAt: o.receivedAt as number }
        : undefined,
    rendered: (o) =>
      isIndex(o.thumbnails) && typeof o.view === 'string'
        ? { type: 'rendered', thumbnails: o.thumbnails as number, view: o.view }
        : undefined,
    queryChanged: (o) =>
      isIndex(o.query) && isIndex(o.layer) && (isIndex(o.head) || o.head === 'mean')
        ? { type: 'queryChanged', query: o.query as number, layer: o.layer as number, head: o.head as number | 'mean' }
        : undefined,
    export: (o) => parseExport(o, ['png', 'json'] as const),
    explain: (o) => parseExplainMessage(o) ?? undefined,
    cancelExplain: (o) => parseExplainMessage(o) ?? undefined,
  });
