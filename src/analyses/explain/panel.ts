// The host side of the explain view, for every panel that shows it (the attention panel's "Why this
// class", the DPT panel's "Why this depth", the gates panel's "Why this class" by pixel fill): one explanation at a time per panel, of the result on
// screen; the engine's progress and partial maps are relayed to the webview as they come, the last
// result is kept for a reloaded webview. Host side: imports the host's services, never engine code.
import path from 'node:path';
import type { ExplainHostMessage, ExplainRequest } from './messages';
import type { ExplainParams, ExplainPartial } from './types';
import { asVitLensError, describeError } from '../../shared/errors';
import type { HostServices, PanelObservation } from '../../host/panelBase';
import { maxPixels, topK } from '../../host/settings';

export class ExplainRunner {
  /** The result on screen and the model it came from: an explanation is of that model. */
  private shown: { resultId: number; modelPath: string | null } | undefined;
  private abort: AbortController | undefined;
  private last: Extract<ExplainHostMessage, { type: 'explainResult' }> | undefined;

  constructor(
    private readonly services: HostServices,
    private readonly imagePath: string,
    private readonly observation: PanelObservation,
    private readonly reply: (m: ExplainHostMessage) => void,
  ) {}

  /** A new result is on screen: an explanation of the previous one is of no use now. */
  shownResult(resultId: number, modelPath: string | null): void {
    this.abort?.abort();
    this.last = undefined;
    this.shown = { resultId, modelPath };
  }

  cancel(): void {
    this.abort?.abort();
  }

  /** Re-sends the last explanation to a reloaded webview (when it is of the result on screen). */
  resend(): void {
    if (this.last && this.last.resultId === this.shown?.resultId) this.reply(this.last);
  }

  /** Runs the engine's `explain` on the shown result; `extra` are the panel's own params (rollout settings…). */
  async run(resultId: number, q: ExplainRequest, extra: Partial<ExplainParams> = {}): Promise<void> {
    const shown = this.shown;
    if (!shown || shown.resultId !== resultId) return; // a stale request
    const fail = (message: string, cancelled = false) => this.reply({ type: 'explainError', resultId, message, cancelled });
    if (!shown.modelPath)
      return fail('Class-specific maps need a classifier: this result has none (raw attention, or a model without class logits).');
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    const name = path.basename(this.imagePath);
    const what = q.region ? `region [${q.region.join(', ')}]` : `class ${q.target ?? 'top-1'}`;
    this.services.log(`Explain ${name}: ${q.methods.join(' + ')}, ${what}, window ${q.window}, ${q.samples} samples`);
    let partials = 0;
    try {
      const { view: _view, ...result } = await this.services.engine().request(
        'explain',
        {
          ...extra,
          imagePath: this.imagePath,
          modelPath: shown.modelPath,
          maxPixels: maxPixels(),
          topK: topK(),
          ...(q.target !== undefined ? { target: q.target } : {}),
          ...(q.region ? { region: q.region } : {}),
          methods: q.methods,
          window: q.window,
          samples: q.samples,
          seed: q.seed,
          score: q.score,
          ...(q.steps ? { stepCurves: true } : {}),
          ...(q.layer !== undefined ? { attentionView: { layer: q.layer, head: q.head ?? 'mean' } } : {}),
        },
        {
          signal: abort.signal,
          timeoutMs: 3600_000,
          onProgress: (message, fraction) => this.reply({ type: 'explainProgress', resultId, message, fraction }),
          onPartial: (partial) => {
            partials++;
            this.reply({ type: 'explainPartial', resultId, partial: partial as ExplainPartial });
          },
        },
      );
      if (abort.signal.aborted) return;
      this.last = { type: 'explainResult', resultId, result };
      this.observation.explained = {
        target: result.target.index,
        label: result.target.label,
        runs: result.runs,
        removalExact: result.removalExact,
        partials,
        totalMs: result.timingsMs.total,
      };
      this.reply(this.last);
      this.services.log(
        `Explain ${name}: ${result.runs} masked runs in ${result.timingsMs.total.toFixed(0)} ms (target ${result.target.label})`,
      );
    } catch (e) {
      const err = asVitLensError(e);
      this.services.log(`Explain ${name}: ${err.code}: ${err.message}`);
      fail(err.code === 'CANCELLED' ? 'Stopped: the maps so far stay on screen.' : describeError(err), err.code === 'CANCELLED');
    } finally {
      if (this.abort === abort) this.abort = undefined;
    }
  }
}
