// Messages between the extension host and the gates panel (SE-Net / CBAM channel and spatial gates of a
// CNN), and the settings it starts from. Shared by src/host and webview/panels/gates. Types plus one validator;
// its only runtime import is the attention protocol's field checks, which import nothing themselves, so
// both the host and the webview bundle can include it. Must not import vscode, Node or DOM code.
import type { GateKind, GatesResult } from './types';
import type { ColormapName, PanelActionId, BasicHostMessage, BasicWebviewMessage, ExportMessage } from '../../shared/panelProtocol';
import { isIndex, parseExport, parsePanelMessage } from '../../shared/panelProtocol';
import { parseExplainMessage, type ExplainHostMessage, type ExplainWebviewMessage } from '../explain/messages';

/** User settings the panel starts from (the host reads the attention panel's `vitLens.colormap` / `vitLens.overlayOpacity`). */
export interface GatesPanelSettings {
  colormap: ColormapName;
  /** Opacity 0..1 of spatial gates and activation maps over the image. */
  opacity: number;
}

/** Host → webview. */
export type GatesHostMessage =
  /** A finished run: render everything. `notice` is an inline hint with buttons (e.g. "this model has no attention: showing its gates"). */
  | {
      type: 'result';
      /** The result's id: "Why this class" explains this result (explain messages carry it). */
      resultId: number;
      result: GatesResult;
      settings: GatesPanelSettings;
      notice?: { message: string; actions: PanelActionId[] };
    }
  /** "Why this class" by pixel-fill occlusion (src/analyses/explain/messages.ts). */
  | ExplainHostMessage
  /** The messages every panel has (src/shared/panelProtocol.ts). */
  | BasicHostMessage;

/** Webview → host. */
export type GatesWebviewMessage =
  /** A gate is painted (after a result, and whenever the user picks another block): how many gates, which one (0-based, depth order), its kind. */
  | { type: 'rendered'; gates: number; block: number; kind: GateKind }
  /** Save a file the panel produced (PNG of the shown gate, JSON of its numbers); the host asks where and answers `exported`. */
  | ExportMessage<'png' | 'json'>
  | ExplainWebviewMessage
  /** The messages every panel has (src/shared/panelProtocol.ts). */
  | BasicWebviewMessage;

/** Returns the message if it is a well-formed GatesWebviewMessage, else undefined. Never trust a webview. */
export const parseGatesWebviewMessage = (m: unknown): GatesWebviewMessage | undefined =>
  parsePanelMessage<GatesWebviewMessage>(m, {
    rendered: (o) =>
      isIndex(o.gates) && o.gates > 0 && isIndex(o.block) && o.block < o.gates && (o.kind === 'channel' || o.kind === 'spatial')
        ? { type: 'rendered', gates: o.gates, block: o.block, kind: o.kind }
        : undefined,
    export: (o) => parseExport(o, ['png', 'json'] as const, (f) => f),
    explain: (o) => parseExplainMessage(o) ?? undefined,
    cancelExplain: (o) => parseExplainMessage(o) ?? undefined,
  });

/** The data-testids of the gates panel (integration tests and the preview script use them). */
export const gatesTestIds = {
  block: 'gate-block',
  channelChart: 'channel-chart',
  spatialMap: 'spatial-map',
  blockSelect: 'block-select',
  predictions: 'predictions',
  error: 'error',
  busy: 'busy',
} as const;
