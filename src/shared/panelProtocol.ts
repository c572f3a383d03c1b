// Messages between the extension host and the attention panel (webview), and the settings the panel
// shows. Shared by src/host and webview/. Types plus one validator that imports nothing, so the
// webview bundle can include it; the host validates every message from a webview before acting on it.
import type { AttentionResult, HeadFusion } from './attentionTypes';

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

/** Buttons the panel can show in an error or prompt; the host carries them out. */
export type PanelActionId = 'chooseModel' | 'downloadModel' | 'openSettings' | 'rerun' | 'showLog';

/** Host → webview. */
export type HostMessage =
  /** A run started or advanced: show a busy state with this text (progress 0..1 when known). */
  | { type: 'running'; message: string; progress?: number }
  /** A finished run: render everything. `notice` is an inline hint (e.g. "raw attention: no model configured"). */
  | { type: 'result'; result: AttentionResult; settings: PanelSettings; notice?: { message: string; actions: PanelActionId[] } }
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
  /** A result was painted: how many layer×head thumbnails, and which view is shown. */
  | { type: 'rendered'; thumbnails: number; view: string }
  /** The query token changed (click/keyboard on a patch); the host logs it and tests read it. */
  | { type: 'queryChanged'; query: number; layer: number; head: number | 'mean' }
  /** Save a file the panel produced (PNG of the view, JSON of the numbers); the host asks where. */
  | { type: 'export'; requestId: number; format: 'png' | 'json'; suggestedName: string; bytes: Uint8Array }
  /** The user pressed one of the action buttons. */
  | { type: 'action'; action: PanelActionId }
  /** A line for the extension's output channel. */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

const actionIds: readonly string[] = ['chooseModel', 'downloadModel', 'openSettings', 'rerun', 'showLog'];

/** Returns the message if it is a well-formed WebviewMessage, else undefined. Never trust a webview. */
export function parseWebviewMessage(m: unknown): WebviewMessage | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const o = m as Record<string, unknown>;
  const int = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  switch (o.type) {
    case 'ready':
      return { type: 'ready' };
    case 'rendered':
      return int(o.thumbnails) && typeof o.view === 'string' ? { type: 'rendered', thumbnails: o.thumbnails as number, view: o.view } : undefined;
    case 'queryChanged':
      return int(o.query) && int(o.layer) && (int(o.head) || o.head === 'mean')
        ? { type: 'queryChanged', query: o.query as number, layer: o.layer as number, head: o.head as number | 'mean' } : undefined;
    case 'export': {
      const okFormat = o.format === 'png' || o.format === 'json';
      const okName = typeof o.suggestedName === 'string' && /^[\w.\- ]{1,120}$/.test(o.suggestedName);
      return int(o.requestId) && okFormat && okName && o.bytes instanceof Uint8Array
        ? { type: 'export', requestId: o.requestId as number, format: o.format as 'png' | 'json', suggestedName: o.suggestedName as string, bytes: o.bytes } : undefined;
    }
    case 'action':
      return typeof o.action === 'string' && actionIds.includes(o.action) ? { type: 'action', action: o.action as PanelActionId } : undefined;
    case 'log':
      return (o.level === 'info' || o.level === 'warn' || o.level === 'error') && typeof o.message === 'string'
        ? { type: 'log', level: o.level, message: o.message.slice(0, 2000) } : undefined;
    default:
      return undefined;
  }
}
