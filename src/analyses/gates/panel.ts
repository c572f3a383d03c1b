// The gates panel: SE-Net / CBAM channel and spatial gates of a CNN, opened by Show Attention when the
// configured model has gates instead of self-attention. One per image. Host side: imports vscode and the
// host's panel base only.
import path from 'node:path';
import * as vscode from 'vscode';
import { parseGatesWebviewMessage, type GatesHostMessage, type GatesWebviewMessage } from './messages';
import { HostFacet, HostServices, VitLensPanel } from '../../host/panelBase';
import { maxPixels, panelSettings, topK } from '../../host/settings';
import type { PanelDescriptor } from '../registry';
import { ExplainRunner } from '../explain/panel';

export class GatesPanel extends VitLensPanel<GatesHostMessage, GatesWebviewMessage> {
  /** "Why this class": the explain analysis with pixel-fill removal (a CNN has no tokens). */
  private readonly explainer: ExplainRunner;

  constructor(services: HostServices, kind: PanelDescriptor, panel: vscode.WebviewPanel, imagePath: string) {
    super(services, kind, panel, imagePath);
    this.explainer = new ExplainRunner(services, imagePath, this.observation, (m) => this.reply(m));
  }

  protected afterSnapshot(): void {
    this.explainer.resend();
  }

  protected modelPath(): string {
    return this.requiredModel(
      'No model is configured any more: this panel shows the SE/CBAM gates of a CNN model.',
      'Choose a model, or run Show Attention again for raw attention.',
    );
  }

  protected parse(raw: unknown): GatesWebviewMessage | undefined {
    return parseGatesWebviewMessage(raw);
  }

  protected async execute(signal: AbortSignal, onProgress: (stage: string, fraction: number) => void): Promise<GatesHostMessage> {
    const result = await this.request(
      'gates',
      { imagePath: this.imagePath, modelPath: this.modelPath(), topK: topK(), maxPixels: maxPixels() },
      signal,
      onProgress,
    );
    this.noteTimings(result.timingsMs, `${result.gates.length} gates (${result.gates.filter((g) => g.kind === 'spatial').length} spatial)`);
    const { colormap, opacity } = panelSettings();
    const resultId = this.nextResult();
    this.explainer.shownResult(resultId, result.predictions?.length ? result.model.path : null);
    return {
      type: 'result',
      resultId,
      result,
      settings: { colormap, opacity },
      notice: {
        message: 'This model is a CNN without self-attention: showing its SE/CBAM gates, the attention it has.',
        actions: ['chooseModel'],
      },
    };
  }

  protected onMessage(m: GatesWebviewMessage): void | Promise<void> {
    if (m.type === 'explain') return this.explainer.run(m.resultId, m.request, { removal: 'pixel-fill' });
    if (m.type === 'cancelExplain') return this.explainer.cancel();
    if (m.type === 'rendered' && this.observation.renderedMs === undefined) {
      this.observation.renderedMs = performance.now() - this.runStarted;
      this.services.log(
        `Gates ${path.basename(this.imagePath)}: painted after ${this.observation.renderedMs.toFixed(0)} ms (${m.gates} gates)`,
      );
    }
  }
}

export const gatesHost: HostFacet = {
  open: (services, kind, imagePath) =>
    VitLensPanel.open(services, kind, imagePath, (wp, image) => new GatesPanel(services, kind, wp, image)),
  revive: (services, kind, webviewPanel, state) =>
    VitLensPanel.revive(kind, webviewPanel, state, (wp, image) => new GatesPanel(services, kind, wp, image)),
};
