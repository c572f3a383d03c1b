// The gates panel: SE-Net / CBAM channel and spatial gates of a CNN, opened by Show Attention when the
// configured model has gates instead of self-attention. One per image.
import path from 'node:path';
import * as vscode from 'vscode';
import { VitLensError } from '../../shared/errors';
import { parseGatesWebviewMessage, type GatesHostMessage, type GatesWebviewMessage } from './messages';
import type { PanelActionId } from '../../shared/panelProtocol';
import { HostServices, PanelKind, VitLensPanel } from '../../host/panelBase';
import { configuredModel, maxPixels, panelSettings, topK } from '../../host/settings';

export class GatesPanel extends VitLensPanel<GatesHostMessage, GatesWebviewMessage> {
  static readonly kind: PanelKind = { viewType: 'vitLens.gates', bundle: 'gatesWebview', title: 'Gates' };

  static async show(services: HostServices, imagePath: string): Promise<GatesPanel> {
    const { existing, created } = VitLensPanel.openWebview(services, GatesPanel.kind, imagePath);
    const panel = (existing as GatesPanel | undefined) ?? new GatesPanel(services, created!, path.resolve(imagePath));
    await panel.run('command');
    return panel;
  }

  static async revive(services: HostServices, webviewPanel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const imagePath = (state as { imagePath?: unknown } | undefined)?.imagePath;
    if (typeof imagePath !== 'string' || GatesPanel.get(imagePath)) {
      webviewPanel.dispose();
      return;
    }
    await new GatesPanel(services, webviewPanel, path.resolve(imagePath)).run('restore');
  }

  static get(imagePath: string): GatesPanel | undefined {
    return VitLensPanel.find(GatesPanel.kind.viewType, imagePath) as GatesPanel | undefined;
  }

  private constructor(services: HostServices, panel: vscode.WebviewPanel, imagePath: string) {
    super(services, GatesPanel.kind, panel, imagePath);
  }

  protected modelPath(): string | null {
    const model = configuredModel();
    if (!model) throw new VitLensError('MODEL_NOT_CONFIGURED', 'No model is configured any more: this panel shows the SE/CBAM gates of a CNN model.', 'Choose a model, or run Show Attention again for raw attention.');
    return model;
  }

  protected parse(raw: unknown): GatesWebviewMessage | undefined {
    return parseGatesWebviewMessage(raw);
  }

  protected async execute(signal: AbortSignal, onProgress: (stage: string, fraction: number) => void): Promise<GatesHostMessage> {
    const modelPath = this.modelPath()!;
    const result = await this.request('gates', { imagePath: this.imagePath, modelPath, topK: topK(), maxPixels: maxPixels() }, signal, onProgress);
    this.noteTimings(result.timingsMs, `${result.gates.length} gates (${result.gates.filter((g) => g.kind === 'spatial').length} spatial)`);
    const { colormap, opacity } = panelSettings();
    return {
      type: 'result', result, settings: { colormap, opacity },
      notice: { message: 'This model is a CNN without self-attention: showing its SE/CBAM gates, the attention it has.', actions: ['chooseModel'] },
    };
  }

  protected errorMessage(message: string, actions: PanelActionId[]): GatesHostMessage {
    return { type: 'error', message, actions };
  }

  protected runningMessage(message: string, progress?: number): GatesHostMessage {
    return { type: 'running', message, progress };
  }

  protected exportedMessage(requestId: number, savedTo?: string, error?: string): GatesHostMessage {
    return { type: 'exported', requestId, savedTo, error };
  }

  protected onMessage(m: GatesWebviewMessage): void {
    if (m.type === 'rendered' && this.observation.renderedMs === undefined) {
      this.observation.renderedMs = performance.now() - this.runStarted;
      this.services.log(`Gates ${path.basename(this.imagePath)}: painted after ${this.observation.renderedMs.toFixed(0)} ms (${m.gates} gates)`);
    }
  }

  onSettingsChanged(modelChanged: boolean): void {
    if (modelChanged) void this.run('model setting changed');
  }
}
