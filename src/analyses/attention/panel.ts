// The attention panel of a ViT (or of raw attention when no model is configured): one per image. The
// engine keeps the run's [L, H, N, N] tensor and the panel asks for one query's slice at a time.
import path from 'node:path';
import * as vscode from 'vscode';
import type { AttentionSlice } from '../../shared/attentionTypes';
import type { PanelActionId } from '../../shared/panelProtocol';
import type { HostMessage, WebviewMessage } from './messages';
import { parseWebviewMessage } from './messages';
import { HostServices, PanelKind, VitLensPanel } from '../../host/panelBase';
import { configuredModel, maxPixels, panelSettings, topK } from '../../host/settings';

export type { HostServices, PanelObservation } from '../../host/panelBase';

const RAW_NOTICE = 'No model configured: showing raw attention, softmax(X·Xᵀ/√d) over pixel patches (colour and texture similarity, no training). Choose or download a ViT ONNX model to see what a trained model attends to.';

export class AttentionPanel extends VitLensPanel<HostMessage, WebviewMessage> {
  static readonly kind: PanelKind = { viewType: 'vitLens.attention', bundle: 'webview', title: 'Attention' };
  static readonly viewType = AttentionPanel.kind.viewType;
  /** Date.now() at the start of the run: the webview reports `painted` in wall-clock time. */
  private runStartedAt = 0;

  /** Opens (or reveals) the panel of an image and runs it. */
  static async show(services: HostServices, imagePath: string): Promise<AttentionPanel> {
    const { existing, created } = VitLensPanel.openWebview(services, AttentionPanel.kind, imagePath);
    const panel = (existing as AttentionPanel | undefined) ?? new AttentionPanel(services, created!, path.resolve(imagePath));
    await panel.run('command');
    return panel;
  }

  /** Restores a panel after a window reload (WebviewPanelSerializer). */
  static async revive(services: HostServices, webviewPanel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const imagePath = (state as { imagePath?: unknown } | undefined)?.imagePath;
    if (typeof imagePath !== 'string' || AttentionPanel.get(imagePath)) {
      webviewPanel.dispose(); // nothing to restore, or the image already has a panel
      return;
    }
    await new AttentionPanel(services, webviewPanel, path.resolve(imagePath)).run('restore');
  }

  static get(imagePath: string): AttentionPanel | undefined {
    return VitLensPanel.find(AttentionPanel.viewType, imagePath) as AttentionPanel | undefined;
  }

  static allAttention(): AttentionPanel[] {
    return VitLensPanel.all().filter((p): p is AttentionPanel => p instanceof AttentionPanel);
  }

  private constructor(services: HostServices, panel: vscode.WebviewPanel, imagePath: string) {
    super(services, AttentionPanel.kind, panel, imagePath);
  }

  protected modelPath(): string | null {
    return configuredModel();
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
    const run = await this.request('attentionPanel', {
      imagePath: this.imagePath, modelPath, topK: topK(), maxPixels: maxPixels(),
      rollout: { fusion: settings.fusion, discardRatio: settings.discardRatio, startLayer: 0 },
    }, signal, onProgress);
    const { result, slice } = run;
    this.noteTimings(result.timingsMs, `${result.model.numLayers}×${result.model.numHeads} attention (${result.model.attentionSource})`);
    const resultId = this.nextResult(run.attentionKey);
    return {
      type: 'result', resultId, result, slice, settings,
      notice: modelPath ? undefined : { message: RAW_NOTICE, actions: ['chooseModel', 'downloadModel', 'openSettings'] },
    };
  }

  protected sliceMessage(resultId: number, slice: AttentionSlice): HostMessage {
    return { type: 'slice', resultId, slice };
  }

  protected errorMessage(message: string, actions: PanelActionId[]): HostMessage {
    return { type: 'error', message, actions };
  }

  protected runningMessage(message: string, progress?: number): HostMessage {
    return { type: 'running', message, progress };
  }

  protected exportedMessage(requestId: number, savedTo?: string, error?: string): HostMessage {
    return { type: 'exported', requestId, savedTo, error };
  }

  protected async onMessage(m: WebviewMessage): Promise<void> {
    const o = this.observation;
    const name = path.basename(this.imagePath);
    switch (m.type) {
      case 'needSlice':
        return this.sendSlice(m.resultId, m.query, m.rollout);
      case 'painted':
        if (o.firstPaintMs === undefined && this.runStartedAt) {
          o.firstPaintMs = Math.max(0, m.at - this.runStartedAt);
          this.services.log(`Attention ${name}: main map on screen ${o.firstPaintMs.toFixed(0)} ms after the run started`);
        }
        return;
      case 'rendered':
        if (o.renderedMs === undefined && this.runStarted) {
          o.renderedMs = performance.now() - this.runStarted;
          this.services.log(`Attention ${name}: everything painted after ${o.renderedMs.toFixed(0)} ms (${m.thumbnails} head thumbnails, view ${m.view})`);
        }
        return;
    }
  }

  /** Settings changed: a new model re-runs, display settings go to the webview. */
  onSettingsChanged(modelChanged: boolean): void {
    if (modelChanged) void this.run('model setting changed');
    else this.reply({ type: 'settings', settings: panelSettings() });
  }
}
