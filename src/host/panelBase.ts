// What every ViT Lens panel (attention, DPT depth/segmentation, CNN gates) does the same way: one
// webview per (kind, image), reused when shown again; a run goes to the engine with a cancellable
// progress notification (once it has lasted QUIET_RUN_MS) and a new run cancels the previous one;
// re-runs when the image or the model changes on disk; the last state is re-sent when a webview
// (re)loads and says `ready`; exports go through a save dialog; panel buttons run commands.
// Subclasses say what to run and how to show it.
// Host only: imports vscode and the engine client, never onnxruntime-node or sharp.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { EngineClient } from '../client/engineClient';
import { VitLensError } from '../shared/errors';
import type { RolloutSettings } from '../shared/attentionTypes';
import type { EngineCalls } from '../shared/engineProtocol';
import type { CommonHostMessage, CommonWebviewMessage, PanelActionId } from '../shared/panelProtocol';
import type { ModelTask } from '../shared/modelTasks';
import type { PanelDescriptor } from '../analyses/registry';
import { panelHtml } from './panelHtml';
import { delayedRunNotification } from './runNotification';
import { configuredModel } from './settings';

export interface HostServices {
  extensionUri: vscode.Uri;
  engine(): EngineClient;
  log(line: string): void;
}

/** What tests (and the output channel) can observe about a panel. */
export interface PanelObservation {
  runs: number;
  /** Messages received from the webview, validated (export bytes dropped). */
  received: { type: string; [k: string]: unknown }[];
  /** Types of the messages sent to the webview. */
  sent: string[];
  lastError?: string;
  /** Milliseconds from the start of the last run to its main map on screen (the webview's `painted`). */
  firstPaintMs?: number;
  /** Milliseconds from the start of the last run to everything painted (`rendered`). */
  renderedMs?: number;
  inferenceMs?: number;
  /** Milliseconds from the start of the last run to its result leaving for the webview (engine + IPC). */
  resultPostedMs?: number;
  /** Milliseconds from the start of the last run to its first map leaving for the webview (a partial result). */
  mapPostedMs?: number;
  /** performance.now() when the last run started (benchmarks relate the times above to their own clock). */
  runStartedMs?: number;
  /** performance.now() when the webview first said `ready` (its page and script loaded). */
  readyAtMs?: number;
  /** The engine's stage timings of the last result. */
  timingsMs?: Record<string, number>;
  /** The last "Why this class" explanation sent to the webview (attention panels). */
  explained?: { target: number; label: string; runs: number; removalExact: boolean; partials: number; totalMs: number };
}

/** The host side of an analysis (src/analyses/<name>/panel.ts): opens and restores its panels. */
export interface HostFacet {
  /** Opens (or reveals) the panel of an image and runs it; `arg` is the command's second argument (compare: model B). */
  open(services: HostServices, panel: PanelDescriptor, imagePath: string, arg?: unknown): Promise<unknown>;
  /** Restores a panel after a window reload (WebviewPanelSerializer). */
  revive(services: HostServices, panel: PanelDescriptor, webviewPanel: vscode.WebviewPanel, state: unknown): Promise<void>;
}

/** Buttons offered with an error of this code. */
export function actionsFor(code: string): PanelActionId[] {
  if (code === 'MODEL_NOT_CONFIGURED') return ['chooseModel', 'downloadModel', 'openSettings'];
  if (code.startsWith('MODEL_')) return ['chooseModel', 'downloadModel', 'openSettings', 'showLog'];
  if (code === 'CANCELLED') return ['rerun'];
  return ['rerun', 'showLog'];
}

/** Short model name for messages: the HF folder of `…/onnx/model.onnx`, else the file name. */
export function modelLabel(modelPath: string | null): string {
  if (!modelPath) return 'raw attention';
  return path.basename(path.dirname(modelPath)) === 'onnx'
    ? path.basename(path.dirname(path.dirname(modelPath)))
    : path.basename(modelPath);
}

const exportFilters: Record<string, Record<string, string[]>> = {
  png: { 'PNG image': ['png'] },
  json: { JSON: ['json'] },
  npy: { 'NumPy array': ['npy'] },
};

/** A panel of any analysis. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPanel = VitLensPanel<any, any>;

export abstract class VitLensPanel<HostMsg extends { type: string }, WebviewMsg extends { type: string }> {
  private static readonly panels = new Map<string, AnyPanel>();

  readonly observation: PanelObservation = { runs: 0, received: [], sent: [] };
  private snapshot: HostMsg | CommonHostMessage | undefined;
  private runAbort: AbortController | undefined;
  protected runStarted = 0;
  private disposed = false;
  private readonly disposables: vscode.Disposable[] = [];
  private modelWatcher: vscode.Disposable | undefined;
  private rerunTimer: NodeJS.Timeout | undefined;
  /** Size and mtime of the image and model files when the last run started: change events that leave them as they were are ignored. */
  private readonly stamps = new Map<string, string>();
  /** The shown result's attention, kept by the engine under `attentionKey` and sliced on request. */
  protected kept: { resultId: number; attentionKey: string } | undefined;
  private static resultIds = 0;

  /** The webview panel shown now (replaced when a new webview never loads, see `attachWebview`). */
  private webviewPanel: vscode.WebviewPanel;
  /** Listeners on the current webview panel. */
  private webviewListeners: vscode.Disposable[] = [];

  protected constructor(
    protected readonly services: HostServices,
    readonly kind: PanelDescriptor,
    panel: vscode.WebviewPanel,
    readonly imagePath: string,
  ) {
    VitLensPanel.panels.set(VitLensPanel.key(kind.viewType, imagePath), this);
    this.webviewPanel = panel;
    this.attachWebview(panel, 0);
    this.disposables.push(
      this.watch(
        imagePath,
        () => this.scheduleRerun('image changed on disk'),
        () => this.showError('IMAGE_NOT_FOUND', `${path.basename(imagePath)} was deleted.`),
      ),
    );
  }

  get panel(): vscode.WebviewPanel {
    return this.webviewPanel;
  }

  /**
   * Shows this panel in a webview panel and loads its page. A web workbench sometimes leaves a new
   * webview blank for good (its service worker never takes control; setting the page again does not
   * help): a page that has not said `ready` after 8 s is replaced by a new webview panel in the same
   * place, twice at most. The host's snapshot then reaches the new page when it says `ready`.
   */
  private attachWebview(panel: vscode.WebviewPanel, attempt: number): void {
    panel.webview.options = VitLensPanel.options(this.services.extensionUri);
    panel.webview.html = panelHtml(
      panel.webview,
      vscode.Uri.joinPath(this.services.extensionUri, 'dist'),
      VitLensPanel.title(this.kind, this.imagePath),
      this.kind.bundle,
    );
    const timer =
      attempt < 2
        ? setTimeout(() => {
            if (this.disposed || this.observation.readyAtMs !== undefined) return;
            this.services.log(`${this.kind.title} ${path.basename(this.imagePath)}: the panel did not load within 8 s; opening it again`);
            const fresh = vscode.window.createWebviewPanel(
              this.kind.viewType,
              VitLensPanel.title(this.kind, this.imagePath),
              { viewColumn: panel.viewColumn ?? vscode.ViewColumn.Beside, preserveFocus: true },
              VitLensPanel.options(this.services.extensionUri),
            );
            for (const d of this.webviewListeners) d.dispose(); // the old panel's disposal must not dispose this panel
            this.webviewPanel = fresh;
            panel.dispose();
            this.attachWebview(fresh, attempt + 1);
          }, 8000)
        : undefined;
    this.webviewListeners = [
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m) => this.receive(m)),
      { dispose: () => clearTimeout(timer) },
    ];
  }

  private static key(viewType: string, imagePath: string): string {
    return `${viewType}\n${path.resolve(imagePath)}`;
  }

  protected static title(kind: PanelDescriptor, imagePath: string): string {
    return `${kind.title}: ${path.basename(imagePath)}`;
  }

  /** No retainContextWhenHidden: a hidden webview is rebuilt from the snapshot when shown again. */
  protected static options(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')] };
  }

  /** The open panel of this kind for an image, if any. */
  static find(viewType: string, imagePath: string): AnyPanel | undefined {
    return VitLensPanel.panels.get(VitLensPanel.key(viewType, imagePath));
  }

  static all(): AnyPanel[] {
    return [...VitLensPanel.panels.values()];
  }

  /** The open panel of this kind for an image, revealed; else a new webview panel beside the editor for it. */
  protected static openWebview(
    services: HostServices,
    kind: PanelDescriptor,
    imagePath: string,
  ): { existing?: AnyPanel; created?: vscode.WebviewPanel } {
    const existing = VitLensPanel.find(kind.viewType, imagePath);
    if (existing) {
      // Revealing the active panel again changes nothing on screen, yet the workbench re-rendered for
      // it during the run (measured: 100+ ms of renderer CPU on the cores the inference needs).
      if (!existing.panel.active) existing.panel.reveal(vscode.ViewColumn.Beside, false);
      return { existing };
    }
    return {
      created: vscode.window.createWebviewPanel(
        kind.viewType,
        VitLensPanel.title(kind, imagePath),
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false },
        VitLensPanel.options(services.extensionUri),
      ),
    };
  }

  /**
   * Opens (or reveals) the panel of a kind for an image and runs it; `create` makes a new panel on a new
   * webview. The `open` of every analysis's HostFacet.
   */
  static async open<P extends AnyPanel>(
    services: HostServices,
    kind: PanelDescriptor,
    imagePath: string,
    create: (webview: vscode.WebviewPanel, imagePath: string) => P,
  ): Promise<P> {
    const { existing, created } = VitLensPanel.openWebview(services, kind, imagePath);
    const panel = (existing as P | undefined) ?? create(created!, path.resolve(imagePath));
    await panel.run('command');
    return panel;
  }

  /** Restores a panel after a window reload, unless its state names no image or the image has a panel already. */
  static async revive(
    kind: PanelDescriptor,
    webviewPanel: vscode.WebviewPanel,
    state: unknown,
    create: (webview: vscode.WebviewPanel, imagePath: string) => AnyPanel,
  ): Promise<void> {
    const imagePath = (state as { imagePath?: unknown } | undefined)?.imagePath;
    if (typeof imagePath !== 'string' || VitLensPanel.find(kind.viewType, imagePath)) {
      webviewPanel.dispose(); // nothing to restore, or the image already has a panel
      return;
    }
    await create(webviewPanel, path.resolve(imagePath)).run('restore');
  }

  /** Cancels every run in flight (the "ViT Lens: Cancel" command). Returns how many were running. */
  static cancelAll(): number {
    let n = 0;
    for (const p of VitLensPanel.panels.values())
      if (p.runAbort) {
        p.runAbort.abort();
        n++;
      }
    return n;
  }

  // ---------------------------------------------------------------- what a kind of panel supplies

  /** The model this panel runs (watched for changes): the configured model of its task, or null (none configured). */
  protected modelPath(): string | null {
    return configuredModel(this.kind.task);
  }
  /** The configured model of a panel that cannot run without one; else MODEL_NOT_CONFIGURED saying why and what to do. */
  protected requiredModel(why: string, hint: string): string {
    const model = configuredModel(this.kind.task);
    if (!model) throw new VitLensError('MODEL_NOT_CONFIGURED', why, hint);
    return model;
  }
  /** Validates a message from the webview (never trust a webview). */
  protected abstract parse(raw: unknown): WebviewMsg | undefined;
  /**
   * Runs the engine and returns the message that shows the result. Throw an VitLensError (e.g.
   * MODEL_NOT_CONFIGURED) for a run that cannot start.
   */
  protected abstract execute(signal: AbortSignal, onProgress: (stage: string, fraction: number) => void): Promise<HostMsg>;
  /** What the panel's model is for: the model buttons pick or download one for this task. */
  protected modelTask(): ModelTask {
    return this.kind.task;
  }
  /** Messages beyond the common ones (ready/action/log/export/needSlice). */
  protected onMessage(_m: WebviewMsg): void | Promise<void> {}

  /** A (re)loaded webview has had the snapshot: re-send what else it showed (e.g. an explanation). */
  protected afterSnapshot(): void {}
  /** A setting changed: re-run when it is one the panel's descriptor names (`rerun`); panels may also redisplay. */
  onSettingsChanged(rerun: boolean): void {
    if (rerun) void this.run('setting changed');
  }

  // ---------------------------------------------------------------- runs

  /** Runs this panel's image. A new run cancels the previous one; the result (or error) goes to the webview. */
  async run(reason: string): Promise<void> {
    if (this.disposed) return;
    this.runAbort?.abort();
    const abort = (this.runAbort = new AbortController());
    let modelPath: string | null;
    try {
      modelPath = this.modelPath();
    } catch (e) {
      return this.fail(e, abort);
    }
    this.watchModel(modelPath);
    // A file written just before the command (a script's output, a test's copy) reports its creation
    // after the run has started: without these stamps that late event would cancel and restart the run.
    this.stamps.clear();
    for (const f of [this.imagePath, modelPath]) if (f) this.stamps.set(f, VitLensPanel.stamp(f));
    const name = path.basename(this.imagePath);
    const o = this.observation;
    o.runs++;
    o.firstPaintMs = o.renderedMs = o.timingsMs = o.mapPostedMs = undefined;
    this.runStarted = o.runStartedMs = performance.now();
    this.services.log(`${this.kind.title} ${name}: run (${reason}) with ${modelPath ?? 'raw attention'}`);
    this.post({ type: 'running', message: `Running ${modelLabel(modelPath)} on ${name}…`, progress: 0 });
    const notification = delayedRunNotification(`ViT Lens: ${name}`, () => abort.abort());
    try {
      const message = await this.execute(abort.signal, (stage, fraction) => {
        notification.report(stage, fraction);
        if (!abort.signal.aborted) this.post({ type: 'running', message: `${stage}…`, progress: fraction });
      });
      if (this.disposed || abort.signal.aborted) return;
      o.resultPostedMs = performance.now() - this.runStarted;
      this.post(message);
    } catch (e) {
      this.fail(e, abort);
    } finally {
      notification.done();
      if (this.runAbort === abort) this.runAbort = undefined;
    }
  }

  /** Records the engine's timings of a result and logs them (subclasses call this from execute). */
  protected noteTimings(timings: object, summary: string): void {
    const t = timings as Record<string, number>;
    this.observation.timingsMs = { ...t };
    this.observation.inferenceMs = t.inference;
    const parts = Object.entries(t)
      .filter(([k]) => k !== 'total')
      .map(([k, v]) => `${k} ${v.toFixed(0)} ms`);
    this.services.log(`${this.kind.title} ${path.basename(this.imagePath)}: ${summary}; ${parts.join(', ')}`);
  }

  /** Sends an engine request tied to this run's abort signal and progress. */
  protected request<K extends keyof EngineCalls>(
    kind: K,
    params: EngineCalls[K]['params'],
    signal: AbortSignal,
    onProgress: (stage: string, fraction: number) => void,
  ): Promise<EngineCalls[K]['result']> {
    return this.services.engine().request(kind, params, { signal, onProgress });
  }

  /** A new result id; with an engine key, its attention can be sliced (`sendSlice`). */
  protected nextResult(attentionKey?: string): number {
    const resultId = ++VitLensPanel.resultIds;
    this.releaseKept();
    this.kept = attentionKey ? { resultId, attentionKey } : undefined;
    return resultId;
  }

  /**
   * The whole result's id after a run: `partialId` when its first part (a partial result, the map first)
   * is on screen already, now with the engine's key of its attention; else a new id, as nextResult.
   */
  protected wholeResult(partialId: number | undefined, attentionKey?: string): number {
    if (partialId === undefined) return this.nextResult(attentionKey);
    this.kept = attentionKey ? { resultId: partialId, attentionKey } : undefined;
    return partialId;
  }

  /** The engine may drop the shown result's attention (a newer result replaces it, or the panel closed). */
  private releaseKept(): void {
    if (this.kept)
      this.services
        .engine()
        .request('release', { attentionKey: this.kept.attentionKey })
        .catch(() => {
          /* engine gone: nothing kept */
        });
    this.kept = undefined;
  }

  /** Answers the webview's `needSlice` from the engine (a stale result id is ignored). */
  protected async sendSlice(resultId: number, query: number, rollout: RolloutSettings): Promise<void> {
    const k = this.kept;
    if (!k || k.resultId !== resultId) return;
    try {
      const slice = await this.services.engine().request('slice', { attentionKey: k.attentionKey, query, rollout });
      if (this.kept === k) this.reply({ type: 'slice', resultId, slice });
    } catch (e) {
      // The engine dropped this result to stay within its retained-result budget: run again (on demand).
      if (e instanceof VitLensError && e.code === 'RESULT_EXPIRED' && this.kept === k) {
        this.services.log(
          `${this.kind.title} ${path.basename(this.imagePath)}: the engine no longer holds this result (retained-result budget); re-running`,
        );
        this.kept = undefined; // nothing to release
        void this.run('result dropped by the retained-result budget');
        return;
      }
      this.services.log(`${this.kind.title} ${path.basename(this.imagePath)}: slice of query ${query} failed: ${(e as Error).message}`);
    }
  }

  private fail(e: unknown, abort: AbortController): void {
    if (this.disposed) return;
    const err = e instanceof VitLensError ? e : new VitLensError('INTERNAL', (e as Error).message);
    if (err.code === 'CANCELLED' && abort !== this.runAbort) return; // superseded by a newer run
    this.services.log(
      `${this.kind.title} ${path.basename(this.imagePath)}: ${err.code}: ${err.message}${err.hint ? ` (${err.hint})` : ''}`,
    );
    this.showError(
      err.code,
      err.code === 'CANCELLED' ? 'Run cancelled. Press Run again to start again.' : `${err.message}${err.hint ? ` ${err.hint}` : ''}`,
    );
    if (err.code === 'ENGINE_CRASHED')
      void vscode.window
        .showErrorMessage(`ViT Lens: ${err.message}`, 'Show Log')
        .then((c) => c && vscode.commands.executeCommand('vitLens.showLog'));
  }

  protected showError(code: string, message: string): void {
    this.observation.lastError = `${code}: ${message}`;
    this.post({ type: 'error', message, actions: actionsFor(code) });
  }

  // ---------------------------------------------------------------- files on disk

  private static stamp(file: string): string {
    try {
      const st = fs.statSync(file);
      return `${st.size}:${st.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }

  /**
   * Watches one file by polling its stats once a second: VS Code's file watcher missed events in the
   * workspace in some environments (a restarting recursive watcher), and two stats a second per panel
   * cost nothing. `onChange` fires when the file differs from what the last run saw (also when it
   * comes back after a deletion); `onDelete` when it disappears.
   */
  private watch(file: string, onChange: () => void, onDelete?: () => void): vscode.Disposable {
    const listener = (cur: fs.Stats, prev: fs.Stats) => {
      const gone = cur.mtimeMs === 0 && cur.size === 0 && cur.nlink === 0;
      if (gone) {
        if (prev.mtimeMs !== 0) (onDelete ?? onChange)();
        return;
      }
      if (this.stamps.get(file) !== VitLensPanel.stamp(file)) onChange();
    };
    fs.watchFile(file, { interval: 1000, persistent: false }, listener);
    return { dispose: () => fs.unwatchFile(file, listener) };
  }

  private watchModel(modelPath: string | null): void {
    this.modelWatcher?.dispose();
    this.modelWatcher = modelPath
      ? this.watch(
          modelPath,
          () => this.scheduleRerun('model changed on disk'),
          () => this.scheduleRerun('model removed'),
        )
      : undefined;
  }

  protected scheduleRerun(why: string): void {
    if (this.disposed) return;
    clearTimeout(this.rerunTimer);
    this.rerunTimer = setTimeout(() => {
      this.services.log(`${this.kind.title} ${path.basename(this.imagePath)}: ${why}, running again`);
      void this.run('file change');
    }, 300);
  }

  // ---------------------------------------------------------------- messages

  /** Posts to the webview; everything but replies is kept as the snapshot a reloaded webview gets. */
  protected post(m: HostMsg | CommonHostMessage): void {
    if (m.type === 'running' || m.type === 'result' || m.type === 'error') this.snapshot = m;
    if (this.disposed) return;
    this.observation.sent.push(m.type);
    void this.panel.webview.postMessage(m).then(undefined, () => {
      /* webview gone */
    });
  }

  /** Posts without touching the snapshot (replies such as slices). */
  protected reply(m: HostMsg | CommonHostMessage): void {
    if (!this.disposed) void this.panel.webview.postMessage(m).then(undefined, () => {});
  }

  protected get isDisposed(): boolean {
    return this.disposed;
  }

  private async receive(raw: unknown): Promise<void> {
    const m = this.parse(raw);
    if (!m) {
      this.services.log(`ignored an invalid message from the ${this.kind.title} webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    const common = m as unknown as CommonWebviewMessage;
    this.observation.received.push(common.type === 'export' ? { ...common, bytes: new Uint8Array(0) } : { ...m });
    switch (common.type) {
      case 'ready':
        this.observation.readyAtMs ??= performance.now();
        if (this.snapshot) this.post(this.snapshot);
        this.afterSnapshot();
        return;
      case 'log':
        this.services.log(`[${this.kind.title} panel ${common.level}] ${common.message}`);
        return;
      case 'action':
        return this.onAction(common.action);
      case 'export':
        return this.export(common.requestId, common.suggestedName, common.bytes);
      case 'needSlice':
        return this.sendSlice(common.resultId, common.query, common.rollout);
      default:
        return this.onMessage(m);
    }
  }

  private async onAction(action: PanelActionId): Promise<void> {
    switch (action) {
      case 'chooseModel':
        await vscode.commands.executeCommand('vitLens.useModelFromFile', this.modelTask());
        break;
      case 'downloadModel':
        await vscode.commands.executeCommand('vitLens.downloadModel', this.modelTask());
        break;
      case 'openSettings':
        await vscode.commands.executeCommand('workbench.action.openSettings', 'vitLens');
        break;
      case 'rerun':
        await this.run('re-run');
        break;
      case 'showLog':
        await vscode.commands.executeCommand('vitLens.showLog');
        break;
    }
  }

  private async export(requestId: number, suggestedName: string, bytes: Uint8Array): Promise<void> {
    const ext = path.extname(suggestedName).slice(1).toLowerCase();
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(path.join(path.dirname(this.imagePath), suggestedName)),
      filters: exportFilters[ext] ?? {},
    });
    if (!target) {
      this.reply({ type: 'exported', requestId });
      return;
    } // neither saved nor failed: cancelled
    try {
      await vscode.workspace.fs.writeFile(target, bytes);
      this.services.log(`exported ${target.fsPath}`);
      this.reply({ type: 'exported', requestId, savedTo: target.fsPath });
    } catch (e) {
      this.reply({ type: 'exported', requestId, error: (e as Error).message });
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.runAbort?.abort(); // a run in flight is cancelled in the engine; its result is dropped
    this.releaseKept();
    clearTimeout(this.rerunTimer);
    VitLensPanel.panels.delete(VitLensPanel.key(this.kind.viewType, this.imagePath));
    this.modelWatcher?.dispose();
    for (const d of [...this.disposables, ...this.webviewListeners]) d.dispose();
    this.webviewPanel.dispose();
  }
}
