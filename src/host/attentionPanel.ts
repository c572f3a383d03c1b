// The attention panel: one webview per image, reused when the same image is inspected again, re-run
// when the image or the model changes on disk. Runs go to the engine process (never inference on this
// thread) with a cancellable progress notification; the last state is kept so a webview that reloads
// (hidden tab, window reload) gets it again when it says `ready`.
import path from 'node:path';
import * as vscode from 'vscode';
import { EngineClient, EngineError } from '../client/engineClient';
import { attentionSlice } from '../analysis/attention';
import type { AttentionResult, RolloutSettings } from '../shared/attentionTypes';
import type { HostMessage, PanelActionId, WebviewMessage } from '../shared/panelProtocol';
import { parseWebviewMessage } from '../shared/panelProtocol';
import { panelHtml } from './panelHtml';
import { configuredModel, maxPixels, panelSettings, topK } from './settings';

export interface HostServices {
  extensionUri: vscode.Uri;
  engine(): EngineClient;
  log(line: string): void;
}

/** What tests (and the output channel) can observe about a panel. */
export interface PanelObservation {
  runs: number;
  /** Messages received from the webview, validated. */
  received: WebviewMessage[];
  /** Messages sent to the webview (results summarised as `result`). */
  sent: string[];
  lastError?: string;
  /** Milliseconds from the start of the last run to its main map on screen (the webview's `painted`). */
  firstPaintMs?: number;
  /** Milliseconds from the start of the last run to everything painted (thumbnails, chart: `rendered`). */
  renderedMs?: number;
  inferenceMs?: number;
  /** Milliseconds from the start of the last run to its result leaving for the webview (engine + IPC). */
  resultPostedMs?: number;
  /** performance.now() when the last run started (benchmarks relate the times above to their own clock). */
  runStartedMs?: number;
  /** performance.now() when the webview first said `ready` (its page and script loaded). */
  readyAtMs?: number;
  /** The engine's stage timings of the last result. */
  timingsMs?: Record<string, number>;
}

const RAW_NOTICE = 'No model configured: showing raw attention, softmax(X·Xᵀ/√d) over pixel patches (colour and texture similarity, no training). Choose a ViT ONNX model to see what a trained model attends to.';

function actionsFor(code: string): PanelActionId[] {
  if (code.startsWith('MODEL_')) return ['chooseModel', 'openSettings', 'showLog'];
  if (code === 'CANCELLED') return ['rerun'];
  return ['rerun', 'showLog'];
}

export class AttentionPanel {
  static readonly viewType = 'vitLens.attention';
  private static readonly panels = new Map<string, AttentionPanel>();

  readonly observation: PanelObservation = { runs: 0, received: [], sent: [] };
  private snapshot: HostMessage | undefined;
  /** The last result with its full [L, H, N, N] tensor: the panel gets slices of it (`needSlice`). */
  private current: { id: number; result: AttentionResult } | undefined;
  private static resultIds = 0;
  private runAbort: AbortController | undefined;
  private runStarted = 0;
  /** Date.now() at the start of the run: the webview reports `painted` in wall-clock time. */
  private runStartedAt = 0;
  private disposed = false;
  private readonly disposables: vscode.Disposable[] = [];
  private modelWatcher: vscode.Disposable | undefined;
  private rerunTimer: NodeJS.Timeout | undefined;

  /** Opens (or reveals) the panel of an image and runs it. */
  static async show(services: HostServices, imagePath: string): Promise<AttentionPanel> {
    const key = path.resolve(imagePath);
    let panel = AttentionPanel.panels.get(key);
    if (panel) {
      panel.panel.reveal(vscode.ViewColumn.Beside, false);
    } else {
      const webviewPanel = vscode.window.createWebviewPanel(AttentionPanel.viewType, AttentionPanel.title(key), { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false }, AttentionPanel.options(services.extensionUri));
      panel = new AttentionPanel(services, webviewPanel, key);
    }
    await panel.run('command');
    return panel;
  }

  /** Restores a panel after a window reload (WebviewPanelSerializer). */
  static async revive(services: HostServices, webviewPanel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const imagePath = (state as { imagePath?: unknown } | undefined)?.imagePath;
    webviewPanel.webview.options = AttentionPanel.options(services.extensionUri);
    if (typeof imagePath !== 'string' || AttentionPanel.panels.has(path.resolve(imagePath))) {
      webviewPanel.dispose(); // nothing to restore, or the image already has a panel
      return;
    }
    const panel = new AttentionPanel(services, webviewPanel, path.resolve(imagePath));
    await panel.run('restore');
  }

  /** Cancels every run in flight (the "ViT Lens: Cancel" command). Returns how many were running. */
  static cancelAll(): number {
    let n = 0;
    for (const p of AttentionPanel.panels.values()) if (p.runAbort) { p.runAbort.abort(); n++; }
    return n;
  }

  static get(imagePath: string): AttentionPanel | undefined {
    return AttentionPanel.panels.get(path.resolve(imagePath));
  }

  static all(): AttentionPanel[] {
    return [...AttentionPanel.panels.values()];
  }

  private static title(imagePath: string): string {
    return `Attention: ${path.basename(imagePath)}`;
  }

  private static options(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    // No retainContextWhenHidden: the webview is rebuilt from the host's snapshot when shown again.
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')] };
  }

  private constructor(private readonly services: HostServices, readonly panel: vscode.WebviewPanel, readonly imagePath: string) {
    AttentionPanel.panels.set(imagePath, this);
    panel.webview.html = panelHtml(panel.webview, vscode.Uri.joinPath(services.extensionUri, 'dist'), AttentionPanel.title(imagePath));
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m) => this.onMessage(m)),
      this.watch(imagePath, () => this.scheduleRerun('image changed on disk'), () => this.showError('IMAGE_NOT_FOUND', `${path.basename(imagePath)} was deleted.`)),
    );
  }

  /** Watches one file; `onChange` also fires when it is re-created. */
  private watch(file: string, onChange: () => void, onDelete?: () => void): vscode.Disposable {
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(file)), path.basename(file)));
    watcher.onDidChange(onChange);
    watcher.onDidCreate(onChange);
    if (onDelete) watcher.onDidDelete(onDelete);
    return watcher;
  }

  private scheduleRerun(why: string): void {
    if (this.disposed) return;
    clearTimeout(this.rerunTimer);
    this.rerunTimer = setTimeout(() => {
      this.services.log(`${path.basename(this.imagePath)}: ${why}, running again`);
      void this.run('file change');
    }, 300);
  }

  /** Runs the engine on this panel's image with the configured model. A new run cancels the previous one. */
  async run(reason: string): Promise<void> {
    if (this.disposed) return;
    this.runAbort?.abort();
    const abort = (this.runAbort = new AbortController());
    const modelPath = configuredModel();
    this.watchModel(modelPath);
    const name = path.basename(this.imagePath);
    this.observation.runs++;
    this.observation.firstPaintMs = undefined;
    this.observation.renderedMs = undefined;
    this.runStarted = performance.now();
    this.runStartedAt = Date.now();
    this.observation.runStartedMs = this.runStarted;
    this.observation.timingsMs = undefined;
    this.services.log(`${name}: run (${reason}) with ${modelPath ?? 'raw attention'}`);
    this.post({ type: 'running', message: `Running ${modelPath ? path.basename(path.dirname(modelPath)) === 'onnx' ? path.basename(path.dirname(path.dirname(modelPath))) : path.basename(modelPath) : 'raw attention'} on ${name}…`, progress: 0 });
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `ViT Lens: ${name}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          let last = 0;
          return this.services.engine().request('attention', { imagePath: this.imagePath, modelPath, topK: topK(), maxPixels: maxPixels() }, {
            signal: abort.signal,
            onProgress: (stage, fraction) => {
              progress.report({ message: stage, increment: Math.max(0, (fraction - last) * 100) });
              last = fraction;
              if (!abort.signal.aborted) this.post({ type: 'running', message: `${stage}…`, progress: fraction });
            },
          });
        },
      );
      if (this.disposed || abort.signal.aborted) return;
      const t = result.timingsMs;
      this.observation.inferenceMs = t.inference;
      this.services.log(`${name}: ${result.model.numLayers}×${result.model.numHeads} attention (${result.model.attentionSource}), decode ${t.decode.toFixed(0)} ms, model load ${t.modelLoad.toFixed(0)} ms, preprocess ${t.preprocess.toFixed(0)} ms, inference ${t.inference.toFixed(0)} ms, analysis ${t.analysis.toFixed(0)} ms`);
      this.observation.resultPostedMs = performance.now() - this.runStarted;
      this.observation.timingsMs = { ...t };
      const settings = panelSettings();
      const resultId = ++AttentionPanel.resultIds;
      this.current = { id: resultId, result };
      const { attention, ...rest } = result;
      // Only the tensor's shape and the default query's slice cross to the webview; postMessage of the
      // whole tensor took seconds on ViT-B (22 MB) and blocked the extension host while serialising.
      const slice = attentionSlice(attention, result.firstPatchToken, 0, { fusion: settings.fusion, discardRatio: settings.discardRatio, startLayer: 0 });
      this.post({
        type: 'result',
        resultId,
        result: { ...rest, attention: { layers: attention.layers, heads: attention.heads, tokens: attention.tokens } },
        slice,
        settings,
        notice: modelPath ? undefined : { message: RAW_NOTICE, actions: ['chooseModel', 'openSettings'] },
      });
    } catch (e) {
      if (this.disposed) return;
      const err = e instanceof EngineError ? e : new EngineError('INTERNAL', (e as Error).message);
      if (err.code === 'CANCELLED' && abort !== this.runAbort) return; // superseded by a newer run
      this.services.log(`${name}: ${err.code}: ${err.message}${err.hint ? ` (${err.hint})` : ''}`);
      this.showError(err.code, err.code === 'CANCELLED' ? 'Run cancelled. Press Re-run to start again.' : `${err.message}${err.hint ? ` ${err.hint}` : ''}`);
      if (err.code === 'ENGINE_CRASHED') void vscode.window.showErrorMessage(`ViT Lens: ${err.message}`, 'Show Log').then((c) => c && vscode.commands.executeCommand('vitLens.showLog'));
    } finally {
      if (this.runAbort === abort) this.runAbort = undefined;
    }
  }

  private showError(code: string, message: string): void {
    this.observation.lastError = `${code}: ${message}`;
    this.post({ type: 'error', message, actions: actionsFor(code) });
  }

  private watchModel(modelPath: string | null): void {
    this.modelWatcher?.dispose();
    this.modelWatcher = modelPath ? this.watch(modelPath, () => this.scheduleRerun('model changed on disk'), () => this.scheduleRerun('model removed')) : undefined;
  }

  /** Settings changed: a new model re-runs, display settings go to the webview. */
  onSettingsChanged(modelChanged: boolean): void {
    if (modelChanged) void this.run('model setting changed');
    else this.post({ type: 'settings', settings: panelSettings() });
  }

  private post(m: HostMessage): void {
    if (m.type !== 'settings' && m.type !== 'exported') this.snapshot = m;
    if (this.disposed) return;
    this.observation.sent.push(m.type);
    void this.panel.webview.postMessage(m).then(undefined, () => { /* webview gone */ });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m = parseWebviewMessage(raw);
    if (!m) { this.services.log(`ignored an invalid message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`); return; }
    this.observation.received.push(m.type === 'export' ? { ...m, bytes: new Uint8Array(0) } : m);
    switch (m.type) {
      case 'ready':
        this.observation.readyAtMs ??= performance.now();
        // A (re)loaded webview: send the current state.
        if (this.snapshot) this.post(this.snapshot);
        break;
      case 'painted':
        if (this.observation.firstPaintMs === undefined && this.runStartedAt) {
          this.observation.firstPaintMs = Math.max(0, m.at - this.runStartedAt);
          this.services.log(`${path.basename(this.imagePath)}: main map on screen ${this.observation.firstPaintMs.toFixed(0)} ms after the run started`);
        }
        break;
      case 'rendered':
        if (this.observation.renderedMs === undefined && this.runStarted) {
          this.observation.renderedMs = performance.now() - this.runStarted;
          this.services.log(`${path.basename(this.imagePath)}: everything painted after ${this.observation.renderedMs.toFixed(0)} ms (${m.thumbnails} head thumbnails, view ${m.view})`);
        }
        break;
      case 'needSlice':
        this.sendSlice(m.resultId, m.query, m.rollout);
        break;
      case 'queryChanged':
        break;
      case 'log':
        this.services.log(`[panel ${m.level}] ${m.message}`);
        break;
      case 'action':
        await this.onAction(m.action);
        break;
      case 'export':
        await this.export(m.requestId, m.format, m.suggestedName, m.bytes);
        break;
    }
  }

  /** Answers a slice request of the current result (a stale result id or an out-of-range query is ignored). */
  private sendSlice(resultId: number, query: number, rollout: RolloutSettings): void {
    const c = this.current;
    if (!c || c.id !== resultId || query >= c.result.attention.tokens || rollout.startLayer >= c.result.attention.layers) return;
    const slice = attentionSlice(c.result.attention, c.result.firstPatchToken, query, rollout);
    if (!this.disposed) void this.panel.webview.postMessage({ type: 'slice', resultId, slice } satisfies HostMessage).then(undefined, () => {});
  }

  private async onAction(action: PanelActionId): Promise<void> {
    switch (action) {
      case 'chooseModel': await vscode.commands.executeCommand('vitLens.useModelFromFile'); break;
      case 'openSettings': await vscode.commands.executeCommand('workbench.action.openSettings', 'vitLens'); break;
      case 'rerun': await this.run('re-run'); break;
      case 'showLog': await vscode.commands.executeCommand('vitLens.showLog'); break;
      case 'downloadModel': await vscode.commands.executeCommand('vitLens.useModelFromFile'); break;
    }
  }

  private async export(requestId: number, format: 'png' | 'json', suggestedName: string, bytes: Uint8Array): Promise<void> {
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(path.join(path.dirname(this.imagePath), suggestedName)),
      filters: format === 'png' ? { 'PNG image': ['png'] } : { JSON: ['json'] },
    });
    if (!target) { this.post({ type: 'exported', requestId, error: 'cancelled' }); return; }
    try {
      await vscode.workspace.fs.writeFile(target, bytes);
      this.services.log(`exported ${target.fsPath}`);
      this.post({ type: 'exported', requestId, savedTo: target.fsPath });
    } catch (e) {
      this.post({ type: 'exported', requestId, error: (e as Error).message });
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.runAbort?.abort(); // a run in flight is cancelled in the engine; its result is dropped
    clearTimeout(this.rerunTimer);
    AttentionPanel.panels.delete(this.imagePath);
    this.modelWatcher?.dispose();
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}
