// The attention panel of a ViT (or of raw attention when no model is configured): one per image. The
// engine keeps the run's [L, H, N, N] tensor and the panel asks for one query's slice at a time.
// Host side: imports vscode and the host's panel base, never the engine's code.
import path from 'node:path';
import * as vscode from 'vscode';
import { parseWebviewMessage, type ExplainRequest, type HostMessage, type WebviewMessage } from './messages';
import type { ExplainPartial } from '../explain/types';
import { VitLensError } from '../../shared/errors';
import { HostFacet, HostServices, VitLensPanel } from '../../host/panelBase';
import { maxPixels, panelSettings, topK } from '../../host/settings';
import type { PanelDescriptor } from '../registry';

const RAW_NOTICE =
  'No model configured: showing raw attention, softmax(X·Xᵀ/√d) over pixel patches (colour and texture similarity, no training). Choose or download a ViT ONNX model to see what a trained model attends to.';

export class AttentionPanel extends VitLensPanel<HostMessage, WebviewMessage> {
  /** Date.now() at the start of the run: the webview reports `painted` in wall-clock time. */
  private runStartedAt = 0;
  /** The result on screen and the model it came from: an explanation is of that model. */
  private shown: { resultId: number; modelPath: string | null } | undefined;
  /** The running explanation, and the last finished one (re-sent to a reloaded webview). */
  private explainAbort: AbortController | undefined;
  private lastExplain: Extract<HostMessage, { type: 'explainResult' }> | undefined;

  constructor(services: HostServices, kind: PanelDescriptor, panel: vscode.WebviewPanel, imagePath: string) {
    super(services, kind, panel, imagePath);
  }

  protected parse(raw: unknown): WebviewMessage | undefined {
    return parseWebviewMessage(raw);
  }

  protected async execute(signal: AbortSignal, onProgress: (stage: string, fraction: number) => void): Promise<HostMessage> {
    this.runStartedAt = Date.now();
    const modelPath = this.modelPath();
    const settings = panelSettings();
    // The engine keeps the full tensor and sends its shape plus query 0's slice: posting 22 MB (ViT-B)
    // through the extension host to a webview took seconds and blocked this thread.
    const run = await this.request(
      'attentionPanel',
      {
        imagePath: this.imagePath,
        modelPath,
        topK: topK(),
        maxPixels: maxPixels(),
        rollout: { fusion: settings.fusion, discardRatio: settings.discardRatio, startLayer: 0 },
      },
      signal,
      onProgress,
    );
    const { result, slice } = run;
    this.noteTimings(result.timingsMs, `${result.model.numLayers}×${result.model.numHeads} attention (${result.model.attentionSource})`);
    const resultId = this.nextResult(run.attentionKey);
    this.explainAbort?.abort(); // an explanation of the previous result is of no use now
    this.lastExplain = undefined;
    this.shown = { resultId, modelPath };
    return {
      type: 'result',
      resultId,
      result,
      slice,
      settings,
      notice: modelPath ? undefined : { message: RAW_NOTICE, actions: ['chooseModel', 'downloadModel', 'openSettings'] },
    };
  }

  protected afterSnapshot(): void {
    if (this.lastExplain && this.lastExplain.resultId === this.shown?.resultId) this.reply(this.lastExplain);
  }

  /** "Why this class": the explain analysis on the shown result's image and model, streamed to the webview. */
  private async explain(resultId: number, q: ExplainRequest): Promise<void> {
    const shown = this.shown;
    if (!shown || shown.resultId !== resultId) return; // a stale request
    const fail = (message: string, cancelled = false) => this.reply({ type: 'explainError', resultId, message, cancelled });
    if (!shown.modelPath) return fail('Class-specific maps need a classifier: choose a ViT model (this run shows raw attention).');
    this.explainAbort?.abort();
    const abort = (this.explainAbort = new AbortController());
    const settings = panelSettings();
    const name = path.basename(this.imagePath);
    this.services.log(`Explain ${name}: ${q.methods.join(' + ')}, class ${q.target ?? 'top-1'}, window ${q.window}, ${q.samples} samples`);
    let partials = 0;
    try {
      const { view: _view, ...result } = await this.services.engine().request(
        'explain',
        {
          imagePath: this.imagePath,
          modelPath: shown.modelPath,
          maxPixels: maxPixels(),
          topK: topK(),
          ...(q.target !== undefined ? { target: q.target } : {}),
          methods: q.methods,
          window: q.window,
          samples: q.samples,
          seed: q.seed,
          score: q.score,
          rollout: { fusion: settings.fusion, discardRatio: settings.discardRatio },
          attentionView: { layer: q.layer, head: q.head },
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
      this.lastExplain = { type: 'explainResult', resultId, result };
      this.observation.explained = {
        target: result.target.index,
        label: result.target.label,
        runs: result.runs,
        removalExact: result.removalExact,
        partials,
        totalMs: result.timingsMs.total,
      };
      this.reply(this.lastExplain);
      this.services.log(
        `Explain ${name}: ${result.runs} masked runs in ${result.timingsMs.total.toFixed(0)} ms (target ${result.target.label})`,
      );
    } catch (e) {
      const err = e instanceof VitLensError ? e : new VitLensError('INTERNAL', (e as Error).message);
      this.services.log(`Explain ${name}: ${err.code}: ${err.message}`);
      fail(
        err.code === 'CANCELLED' ? 'Stopped: the maps so far stay on screen.' : `${err.message}${err.hint ? ` ${err.hint}` : ''}`,
        err.code === 'CANCELLED',
      );
    } finally {
      if (this.explainAbort === abort) this.explainAbort = undefined;
    }
  }

  protected async onMessage(m: WebviewMessage): Promise<void> {
    const o = this.observation;
    const name = path.basename(this.imagePath);
    switch (m.type) {
      case 'explain':
        return this.explain(m.resultId, m.request);
      case 'cancelExplain':
        this.explainAbort?.abort();
        return;
      case 'painted':
        if (o.firstPaintMs === undefined && this.runStartedAt) {
          o.firstPaintMs = Math.max(0, m.at - this.runStartedAt);
          this.services.log(`Attention ${name}: main map on screen ${o.firstPaintMs.toFixed(0)} ms after the run started`);
        }
        return;
      case 'rendered':
        if (o.renderedMs === undefined && this.runStarted) {
          o.renderedMs = performance.now() - this.runStarted;
          this.services.log(
            `Attention ${name}: everything painted after ${o.renderedMs.toFixed(0)} ms (${m.thumbnails} head thumbnails, view ${m.view})`,
          );
        }
        return;
    }
  }

  /** Settings changed: a new model re-runs, display settings go to the webview. */
  onSettingsChanged(rerun: boolean): void {
    if (rerun) void this.run('model setting changed');
    else this.reply({ type: 'settings', settings: panelSettings() });
  }
}

export const attentionHost: HostFacet = {
  open: (services, kind, imagePath) =>
    VitLensPanel.open(services, kind, imagePath, (wp, image) => new AttentionPanel(services, kind, wp, image)),
  revive: (services, kind, webviewPanel, state) =>
    VitLensPanel.revive(kind, webviewPanel, state, (wp, image) => new AttentionPanel(services, kind, wp, image)),
};
