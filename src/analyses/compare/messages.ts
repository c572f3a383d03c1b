// Messages between the extension host and the compare panel, and their validator. Shared by src/host and
// webview/panels/compare; must not import vscode, Node or DOM code.
import type { CompareResult } from './types';
import type { PanelSettings } from '../attention/messages';
import { parseCommonMessage, parseExport, type PanelActionId } from '../../shared/panelProtocol';

/** Host → webview. */
export type CompareHostMessage =
  | { type: 'running'; message: string; progress?: number }
  /** `modelB`: the file of model B (null when B is A's previous checkpoint). */
  | { type: 'result'; compare: CompareResult; settings: PanelSettings; modelB: string | null }
  | { type: 'error'; message: string; actions: PanelActionId[] }
  | { type: 'exported'; requestId: number; savedTo?: string; error?: string };

/** Webview → host. */
export type CompareWebviewMessage =
  | { type: 'ready' }
  | { type: 'export'; requestId: number; format: 'json'; suggestedName: string; bytes: Uint8Array }
  | { type: 'action'; action: PanelActionId }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export function parseCompareWebviewMessage(m: unknown): CompareWebviewMessage | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const o = m as Record<string, unknown>;
  return o.type === 'export' ? parseExport(o, ['json'] as const, (f) => f) : parseCommonMessage(o);
}

export const compareTestIds = {
  a: 'compare-a',
  b: 'compare-b',
  diff: 'compare-diff',
  layerChange: 'layer-change',
  headDeltas: 'head-deltas',
  note: 'compare-note',
} as const;
