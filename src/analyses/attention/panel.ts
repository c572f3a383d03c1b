// The attention panel of a ViT (or of raw attention when no model is configured): one per image. The
// engine keeps the run's [L, H, N, N] tensor and the panel asks for one query's slice at a time.
// Host side: imports vscode and the host's panel base, never the engine's code.
import path from 'node:path';
import * as vscode from 'vscode';
import { parseWebviewMessage, type HostMessage, type WebviewMessage } from './messages';
import type { AttentionMapPartial } from './types';
import type { PanelActionId } from '../../shared/panelProtocol';
import { ExplainRunner } from '../explain/panel';
import { HostFacet, HostServices, VitLensPanel } from '../../host/panelBase';
import { maxPixels, panelSettings, topK } from '../../host/settings';
import type { PanelDescriptor } from '../registry';

const RAW_NOTICE =
  'No model configured: showing raw attention, softmax(X·Xᵀ/√d) over pixel patches (colour and texture similarity, no training). Choose or download a ViT ONNX model to see what a trained model attends to.';

export class AttentionPanel extends VitLensPanel<HostMessage, WebviewMessage> {
  /** Date.now() at the start of the run: the webview reports `painted` in wall-clock time. */
  private runStartedAt = 0;
  /** "Why this class": the explain analysis on the shown result. */
  private readonly explainer: ExplainRunner;

  constructor(services: HostServices, kind: PanelDescriptor, panel: vscode.WebviewPanel, imagePath: string) {
    super(services, kind, panel, imagePath);
    this.explainer = new ExplainRunner(services, imagePath, this.observation, (m) => this.reply(m));
  }

  protected parse(raw: unknown): WebviewMessage | undefined {
    return parseWebviewMessage(raw);
  }

  protected async execute(signal: AbortSignal, onProgress: (stage: string, fraction: number) => void): Promise<HostMessage> {
    this.runStartedAt = Date.now();
    const modelPath = this.modelPath();
    const settings = panelSettings();
    const notice = modelPath
      ? undefined
      : { message: RAW_NOTICE, actions: ['chooseModel', 'downloadModel', 'openSettings'] as PanelActionId[] };
    // The first map: the engine sends it (predictions and query 0's rows) ahead of the raw baseline and
    // the head statistics, and it is posted at once (a `partial` result); query 0's rollout follows as a
    // `slice`, the whole result under the same id.
    let resultId: number | undefined;
    const onPartial = (data: unknown) => {
      const p = data as AttentionMapPartial | undefined;
      if (signal.aborted || this.isDisposed) return;
      if (p?.kind === 'map' && resultId === undefined) {
        resultId = this.nextResult();
        this.explainer.shownResult(resultId, modelPath);
        this.observation.mapPostedMs = performance.now() - this.runStarted;
        this.post({ type: 'result', resultId, result: p.result, rows: p.rows, settings, notice, partial: true });
      } else if (p?.kind === 'rollout' && resultId !== undefined) this.reply({ type: 'slice', resultId, slice: p.slice });
    };
    // The engine keeps the full tensor and sends its shape plus query 0's slice: posting 22 MB (ViT-B)
    // through the extension host to a webview took seconds and blocked this thread.
    const run = await this.services.engine().request(
      'attentionPanel',
      {
        imagePath: this.imagePath,
        modelPath,
        topK: topK(),
        maxPixels: maxPixels(),
        rollout: { fusion: settings.fusion, discardRatio: settings.discardRatio, startLayer: 0 },
      },
      { signal, onProgress, onPartial },
    );
    const { result, slice } = run;
    this.noteTimings(result.timingsMs, `${result.model.numLayers}×${result.model.numHeads} attention (${result.model.attentionSource})`);
    const wholeId = this.wholeResult(resultId, run.attentionKey);
    if (wholeId !== resultId) this.explainer.shownResult(wholeId, modelPath); // no first map came
    return { type: 'result', resultId: wholeId, result, slice, settings, notice };
  }

  protected afterSnapshot(): void {
    this.explainer.resend();
  }

  protected async onMessage(m: WebviewMessage): Promise<void> {
    const o = this.observation;
    const name = path.basename(this.imagePath);
    switch (m.type) {
      case 'explain': {
        const settings = panelSettings();
        return this.explainer.run(m.resultId, m.request, { rollout: { fusion: settings.fusion, discardRatio: settings.discardRatio } });
      }
      case 'cancelExplain':
        this.explainer.cancel();
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
