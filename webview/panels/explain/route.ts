// The explain messages a page receives, routed to its explain view (the attention panel's "Why this
// class", the explain card of the DPT and gates panels) when they are of the result on screen. DOM-free.
import type { ExplainHostMessage } from '../../../src/analyses/explain/messages';
import type { ExplainPartial, PanelExplainResult } from '../../../src/analyses/explain/types';

/** What a page's explain view does with the host's messages. */
export interface ExplainSink {
  progress(message: string): void;
  partial(p: ExplainPartial): void;
  result(r: PanelExplainResult): void;
  error(message: string, cancelled?: boolean): void;
}

/** True when `m` was an explain message (handled, or dropped as one of an older result). */
export function routeExplainMessage(m: { type: string }, shownResultId: number, sink: ExplainSink): boolean {
  const e = m as ExplainHostMessage;
  if (e.type !== 'explainProgress' && e.type !== 'explainPartial' && e.type !== 'explainResult' && e.type !== 'explainError') return false;
  if (e.resultId !== shownResultId) return true; // an explanation of a result no longer shown
  if (e.type === 'explainProgress') sink.progress(e.message);
  else if (e.type === 'explainPartial') sink.partial(e.partial);
  else if (e.type === 'explainResult') sink.result(e.result);
  else sink.error(e.message, e.cancelled);
  return true;
}
