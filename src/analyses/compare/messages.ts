// Messages between the extension host and the compare panel, and their validator. Shared by src/host and
// webview/panels/compare; must not import vscode, Node or DOM code.
import type { CompareResult } from './types';
import type { PanelSettings } from '../attention/messages';
import type { BasicHostMessage, BasicWebviewMessage, ExportMessage } from '../../shared/panelProtocol';
import { parsePanelMessage, parseExport } from '../../shared/panelProtocol';

/** Host → webview. */
export type CompareHostMessage =
  /** `modelB`: the file of model B (null when B is A's previous checkpoint). */
  | { type: 'result'; compare: CompareResult; settings: PanelSettings; modelB: string | null }
  /** Progress of the class-specific view (an `explainBoth` request). */
  | { type: 'explainStatus'; message: string }
  /**
   * The class-specific view: the occlusion map (src/analyses/explain) of A's top-1 class in A and in B
   * (B: the same label, when B has it); `b` is null when B cannot be explained (a previous checkpoint's
   * file is gone). `note` says what differs from that plan.
   */
  | {
      type: 'explained';
      label: string;
      a: Float32Array;
      b: Float32Array | null;
      gridA: [number, number];
      gridB: [number, number];
      note?: string;
    }
  | { type: 'explainFailed'; message: string }
  /** The messages every panel has (src/shared/panelProtocol.ts). */
  | BasicHostMessage;

/** Webview → host. */
export type CompareWebviewMessage =
  /** Compute the class-specific view (answered by explainStatus, then explained or explainFailed). */
  | { type: 'explainBoth' }
  | ExportMessage<'json'>
  /** The messages every panel has (src/shared/panelProtocol.ts). */
  | BasicWebviewMessage;

export const parseCompareWebviewMessage = (m: unknown): CompareWebviewMessage | undefined =>
  parsePanelMessage<CompareWebviewMessage>(m, {
    explainBoth: () => ({ type: 'explainBoth' }),
    export: (o) => parseExport(o, ['json'] as const, (f) => f),
  });

export const compareTestIds = {
  a: 'compare-a',
  b: 'compare-b',
  diff: 'compare-diff',
  layerChange: 'layer-change',
  headDeltas: 'head-deltas',
  note: 'compare-note',
  explain: 'compare-explain',
} as const;
