// The DPT panel (Run DPT Depth / Run DPT Segmentation): one per (task, image). The depth or class map,
// the neck's feature levels, and the backbone's attention, whose tensor the engine keeps and slices on
// request as for the attention panel.
import path from 'node:path';
import * as vscode from 'vscode';
import { VitLensError } from '../../shared/errors';
import type { AttentionSlice } from '../../shared/attentionTypes';
import type { DenseTask } from './types';
import { parseDenseWebviewMessage, type DenseHostMessage, type DenseWebviewMessage } from './messages';
import type { PanelActionId } from '../../shared/panelProtocol';
import { HostServices, PanelKind, VitLensPanel } from '../../host/panelBase';
import { configuredModel, densePanelSettings, maxPixels, modelSettingKey } from '../../host/settings';

const kinds: Record<DenseTask, PanelKind> = {
  depth: { viewType: 'vitLens.depth', bundle: 'denseWebview', title: 'Depth' },
  segmentation: { viewType: 'vitLens.segmentation', bundle: 'denseWebview', title: 'Segmentation' },
};

export class DensePanel extends VitLensPanel<DenseHostMessage, DenseWebviewMessage> {
  static readonly kinds = kinds;

  static async show(services: HostServices, task: DenseTask, imagePath: string): Promise<DensePanel> {
    const { existing, created } = VitLensPanel.openWebview(services, kinds[task], imagePath);
    const panel = (existing as DensePanel | undefined) ?? new DensePanel(services, task, created!, path.resolve(imagePath));
    await panel.run('command');
    return panel;
  }

  static async revive(services: HostServices, task: DenseTask, webviewPanel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const imagePath = (state as { imagePath?: unknown } | undefined)?.imagePath;
    if (typeof imagePath !== 'string' || DensePanel.get(task, imagePath)) {
      webviewPanel.dispose();
      return;
    }
    await new DensePanel(services, task, webviewPanel, path.resolve(imagePath)).run('restore');
  }

  static get(task: DenseTask, imagePath: string): DensePanel | undefined {
    return VitLensPanel.find(kinds[task].viewType, imagePath) as DensePanel | undefined;
  }

  static allDense(): DensePanel[] {
    return VitLensPanel.all().filter((p): p is DensePanel => p instanceof DensePanel);
  }

  private constructor(services: HostServices, readonly task: DenseTask, panel: vscode.WebviewPanel, imagePath: string) {
    super(services, kinds[task], panel, imagePath);
  }

  protected modelPath(): string | null {
    const model = configuredModel(this.task);
    if (!model) {
      throw new VitLensError('MODEL_NOT_CONFIGURED', `No DPT ${this.task} model is configured.`,
        `Choose an ONNX file or Hugging Face folder (setting vitLens.${modelSettingKey[this.task]}), or download one from the catalogue.`);
    }
    return model;
  }

  protected modelTask(): DenseTask {
    return this.task;
  }

  protected parse(raw: unknown): DenseWebviewMessage | undefined {
    return parseDenseWebviewMessage(raw);
  }

  protected async execute(signal: AbortSignal, onProgress: (stage: string, fraction: number) => void): Promise<DenseHostMessage> {
    const settings = densePanelSettings();
    const run = await this.request('densePanel', {
      imagePath: this.imagePath, modelPath: this.modelPath()!, task: this.task, maxPixels: maxPixels(),
      rollout: { fusion: settings.fusion, discardRatio: settings.discardRatio, startLayer: 0 },
    }, signal, onProgress);
    const r = run.result;
    this.noteTimings(r.timingsMs, `${this.task} ${r.view.width}×${r.view.height}${r.attention ? `, backbone ${r.attention.layers}×${r.attention.heads} attention` : ''}, ${r.features.length} feature levels`);
    const resultId = this.nextResult(run.attentionKey);
    return { type: 'result', resultId, result: r, settings, slice: run.slice };
  }

  protected sliceMessage(resultId: number, slice: AttentionSlice): DenseHostMessage {
    return { type: 'slice', resultId, slice };
  }

  protected errorMessage(message: string, actions: PanelActionId[]): DenseHostMessage {
    return { type: 'error', message, actions };
  }

  protected runningMessage(message: string, progress?: number): DenseHostMessage {
    return { type: 'running', message, progress };
  }

  protected exportedMessage(requestId: number, savedTo?: string, error?: string): DenseHostMessage {
    return { type: 'exported', requestId, savedTo, error };
  }

  protected async onMessage(m: DenseWebviewMessage): Promise<void> {
    if (m.type === 'needSlice') return this.sendSlice(m.resultId, m.query, m.rollout);
    if (m.type === 'rendered' && this.observation.renderedMs === undefined) {
      this.observation.renderedMs = performance.now() - this.runStarted;
      this.services.log(`${this.kind.title} ${path.basename(this.imagePath)}: painted after ${this.observation.renderedMs.toFixed(0)} ms (view ${m.view}${m.classes !== undefined ? `, ${m.classes} classes` : ''}, ${m.features} feature levels)`);
    }
  }

  onSettingsChanged(modelChanged: boolean): void {
    if (modelChanged) void this.run('model setting changed');
  }
}
