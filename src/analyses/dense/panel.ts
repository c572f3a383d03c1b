// The DPT panel (Run DPT Depth / Run DPT Segmentation): one per (task, image). The depth or class map,
// the neck's feature levels, and the backbone's attention, whose tensor the engine keeps and slices on
// request as for the attention panel. Host side: imports vscode and the host's panel base only.
import path from 'node:path';
import * as vscode from 'vscode';
import { VitLensError } from '../../shared/errors';
import { modelSettingKey } from '../../shared/modelTasks';
import type { DenseMapPartial, DenseTask } from './types';
import { parseDenseWebviewMessage, type DenseHostMessage, type DenseWebviewMessage } from './messages';
import { HostFacet, HostServices, VitLensPanel } from '../../host/panelBase';
import { configuredModel, densePanelSettings, maxPixels } from '../../host/settings';
import type { PanelDescriptor } from '../registry';
import { ExplainRunner } from '../explain/panel';

export class DensePanel extends VitLensPanel<DenseHostMessage, DenseWebviewMessage> {
  readonly task: DenseTask;
  /** Date.now() at the start of the run: the webview reports `painted` in wall-clock time. */
  private runStartedAt = 0;

  /** "Why this depth": the explain analysis on the shown depth result. */
  private readonly explainer: ExplainRunner;

  constructor(services: HostServices, kind: PanelDescriptor, panel: vscode.WebviewPanel, imagePath: string) {
    super(services, kind, panel, imagePath);
    this.task = kind.task as DenseTask;
    this.explainer = new ExplainRunner(services, imagePath, this.observation, (m) => this.reply(m));
  }

  protected afterSnapshot(): void {
    this.explainer.resend();
  }

  protected modelPath(): string {
    const model = configuredModel(this.task);
    if (!model) {
      throw new VitLensError(
        'MODEL_NOT_CONFIGURED',
        `No DPT ${this.task} model is configured.`,
        `Choose an ONNX file or Hugging Face folder (setting vitLens.${modelSettingKey[this.task]}), or download one from the catalogue.`,
      );
    }
    return model;
  }

  protected parse(raw: unknown): DenseWebviewMessage | undefined {
    return parseDenseWebviewMessage(raw);
  }

  protected async execute(signal: AbortSignal, onProgress: (stage: string, fraction: number) => void): Promise<DenseHostMessage> {
    const settings = densePanelSettings();
    this.runStartedAt = Date.now();
    // The map first: the engine sends it ahead of the neck's PCA and the attention, and it is posted at
    // once (a `partial` result); the whole result follows under the same id.
    const modelPath = this.modelPath();
    let resultId: number | undefined;
    const onPartial = (data: unknown) => {
      const p = data as DenseMapPartial | undefined;
      if (signal.aborted || this.isDisposed || p?.kind !== 'map' || resultId !== undefined) return;
      resultId = this.nextResult();
      this.explainer.shownResult(resultId, modelPath);
      this.post({ type: 'result', resultId, result: p.result, settings, partial: true });
    };
    const run = await this.services.engine().request(
      'densePanel',
      {
        imagePath: this.imagePath,
        modelPath,
        task: this.task,
        maxPixels: maxPixels(),
        rollout: { fusion: settings.fusion, discardRatio: settings.discardRatio, startLayer: 0 },
      },
      { signal, onProgress, onPartial },
    );
    const r = run.result;
    this.noteTimings(
      r.timingsMs,
      `${this.task} ${r.view.width}×${r.view.height}${r.attention ? `, backbone ${r.attention.layers}×${r.attention.heads} attention` : ''}, ${r.features.length} feature levels`,
    );
    const wholeId = this.wholeResult(resultId, run.attentionKey);
    if (wholeId !== resultId) this.explainer.shownResult(wholeId, modelPath); // no map came first
    return { type: 'result', resultId: wholeId, result: r, settings, slice: run.slice };
  }

  protected async onMessage(m: DenseWebviewMessage): Promise<void> {
    if (m.type === 'explain') return this.explainer.run(m.resultId, m.request);
    if (m.type === 'cancelExplain') return this.explainer.cancel();
    const o = this.observation;
    if (m.type === 'painted' && o.firstPaintMs === undefined && this.runStartedAt) {
      o.firstPaintMs = Math.max(0, m.at - this.runStartedAt);
      this.services.log(
        `${this.kind.title} ${path.basename(this.imagePath)}: map on screen ${o.firstPaintMs.toFixed(0)} ms after the run started`,
      );
    }
    if (m.type === 'rendered' && o.renderedMs === undefined) {
      o.renderedMs = performance.now() - this.runStarted;
      this.services.log(
        `${this.kind.title} ${path.basename(this.imagePath)}: painted after ${o.renderedMs.toFixed(0)} ms (view ${m.view}${m.classes !== undefined ? `, ${m.classes} classes` : ''}, ${m.features} feature levels)`,
      );
    }
  }
}

export const denseHost: HostFacet = {
  open: (services, kind, imagePath) =>
    VitLensPanel.open(services, kind, imagePath, (wp, image) => new DensePanel(services, kind, wp, image)),
  revive: (services, kind, webviewPanel, state) =>
    VitLensPanel.revive(kind, webviewPanel, state, (wp, image) => new DensePanel(services, kind, wp, image)),
};
