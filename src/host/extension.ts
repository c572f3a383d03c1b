// Extension entry point (dist/extension.js): registers commands, panel serializers, the status bar item
// and settings listeners. Activation does no work beyond that; the engine process starts on the first run.
// Imports vscode, the engine client and core/models (Node built-ins only): never onnxruntime-node or
// sharp (they block this thread).
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { EngineClient, threadsLabel } from '../client/engineClient';
import type { DenseTask } from '../analyses/dense/types';
import type { ModelKindInfo } from '../analyses/gates/types';
import { AttentionPanel } from '../analyses/attention/panel';
import { DensePanel } from '../analyses/dense/panel';
import { GatesPanel } from '../analyses/gates/panel';
import { findCatalogueEntry } from '../models/catalogue';
import { downloadModel, manageModels, modelStatusBar, pullAndUse, selectModel, type ModelServices } from './models';
import { HostServices, PanelObservation, VitLensPanel } from './panelBase';
import { ModelTask, configuredModel, inferenceThreads, setModel } from './settings';

const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'avif'];
const isImage = (p: string) => IMAGE_EXTENSIONS.includes(path.extname(p).slice(1).toLowerCase());
const isTask = (t: unknown): t is ModelTask => t === 'classification' || t === 'depth' || t === 'segmentation';

/** What the extension returns from activate(): used by the integration tests. */
export interface VitLensApi {
  /** The attention (or, for a CNN model, gates) panel of an image; `kind` picks a DPT panel instead. */
  panel(imagePath: string, kind?: 'attention' | 'gates' | DenseTask): { observation: PanelObservation; visible: boolean } | undefined;
  enginePid(): number | undefined;
  /** onnxruntime's threads per run in the running engine (undefined before it starts). */
  engineThreads(): Promise<number | undefined>;
  activationMs: number;
  /** The model cache folder (global storage). */
  cacheDir: string;
}

/** The image to inspect: the explorer selection, else the active image preview, else a quick pick. */
async function targetImage(title: string, uri?: vscode.Uri): Promise<string | undefined> {
  if (uri instanceof vscode.Uri) return uri.fsPath;
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if ((tab instanceof vscode.TabInputCustom || tab instanceof vscode.TabInputText) && isImage(tab.uri.fsPath)) return tab.uri.fsPath;
  const found = await vscode.workspace.findFiles(`**/*.{${IMAGE_EXTENSIONS.join(',')}}`, '**/node_modules/**', 500);
  if (found.length === 0) {
    void vscode.window.showInformationMessage(`ViT Lens: no images in this workspace. Right-click an image file in the Explorer and choose "${title}".`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    found.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(path.dirname(u.fsPath)), uri: u })),
    { title: `ViT Lens: ${title}`, placeHolder: 'Choose an image', matchOnDescription: true },
  );
  return pick?.uri.fsPath;
}

export function activate(context: vscode.ExtensionContext): VitLensApi {
  const t0 = performance.now();
  const output = vscode.window.createOutputChannel('ViT Lens');
  const log = (line: string) => output.appendLine(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
  let engine: EngineClient | undefined;
  const services: HostServices = {
    extensionUri: context.extensionUri,
    engine: () => (engine ??= new EngineClient({ enginePath: path.join(context.extensionPath, 'dist', 'engine.js'), log, threads: inferenceThreads() })),
    log,
  };
  const cacheDir = path.join(context.globalStorageUri.fsPath, 'models');
  const models: ModelServices = { cacheDir, log };

  // Which panel a model needs (ViT attention or CNN gates), from its graph; cached per file version.
  const kinds = new Map<string, { mtimeMs: number; info: ModelKindInfo }>();
  async function modelKind(modelPath: string): Promise<ModelKindInfo | undefined> {
    let mtimeMs: number;
    try { mtimeMs = fs.statSync(modelPath).mtimeMs; } catch { return undefined; } // missing: the panel reports it
    const hit = kinds.get(modelPath);
    if (hit?.mtimeMs === mtimeMs) return hit.info;
    try {
      const info = await services.engine().request('modelKind', { modelPath });
      kinds.set(modelPath, { mtimeMs, info });
      return info;
    } catch {
      return undefined; // not ONNX, unreadable…: the attention panel's run gives the specific error
    }
  }

  async function showAttention(uri?: vscode.Uri): Promise<void> {
    const image = await targetImage('Show Attention', uri);
    if (!image) return;
    const model = configuredModel();
    // "Same command, chosen by model kind": a CNN with SE/CBAM gates opens the gates panel.
    if (model && (await modelKind(model))?.kind === 'gates') await GatesPanel.show(services, image);
    else await AttentionPanel.show(services, image);
  }

  async function runDense(task: DenseTask, uri?: vscode.Uri): Promise<void> {
    const image = await targetImage(task === 'depth' ? 'Run DPT Depth' : 'Run DPT Segmentation', uri);
    if (image) await DensePanel.show(services, task, image);
  }

  const serializer = (revive: (panel: vscode.WebviewPanel, state: unknown) => Promise<void>): vscode.WebviewPanelSerializer => ({ deserializeWebviewPanel: revive });

  context.subscriptions.push(
    output,
    { dispose: () => engine?.dispose() },
    modelStatusBar(),
    vscode.commands.registerCommand('vitLens.showAttention', showAttention),
    vscode.commands.registerCommand('vitLens.runDptDepth', (uri?: vscode.Uri) => runDense('depth', uri)),
    vscode.commands.registerCommand('vitLens.runDptSegmentation', (uri?: vscode.Uri) => runDense('segmentation', uri)),
    vscode.commands.registerCommand('vitLens.useModelFromFile', async (task?: unknown) => {
      const t = isTask(task) ? task : 'classification';
      const picked = await vscode.window.showOpenDialog({
        title: `ViT Lens: choose ${t === 'classification' ? 'a ViT' : `a DPT ${t}`} ONNX model (an .onnx file, or a Hugging Face folder)`,
        canSelectFiles: true,
        canSelectFolders: true,
        filters: { 'ONNX model': ['onnx'] },
      });
      if (picked?.[0]) {
        await setModel(picked[0].fsPath, t);
        log(`${t} model set to ${picked[0].fsPath}`);
      }
    }),
    // Argument: a task (filters the quick pick) or a catalogue id (skips it; the download still asks for consent).
    vscode.commands.registerCommand('vitLens.downloadModel', (arg?: unknown) => {
      const entry = typeof arg === 'string' && !isTask(arg) ? findCatalogueEntry(arg) : undefined;
      return entry ? pullAndUse(models, entry) : downloadModel(models, isTask(arg) ? arg : undefined);
    }),
    vscode.commands.registerCommand('vitLens.manageModels', () => manageModels(models)),
    vscode.commands.registerCommand('vitLens.selectModel', (task?: unknown) => selectModel(models, isTask(task) ? task : 'classification')),
    vscode.commands.registerCommand('vitLens.cancel', () => VitLensPanel.cancelAll()),
    vscode.commands.registerCommand('vitLens.useRawAttention', () => setModel(null)),
    vscode.commands.registerCommand('vitLens.showLog', () => output.show(true)),
    vscode.window.registerWebviewPanelSerializer(AttentionPanel.viewType, serializer((p, s) => AttentionPanel.revive(services, p, s))),
    vscode.window.registerWebviewPanelSerializer(GatesPanel.kind.viewType, serializer((p, s) => GatesPanel.revive(services, p, s))),
    vscode.window.registerWebviewPanelSerializer(DensePanel.kinds.depth.viewType, serializer((p, s) => DensePanel.revive(services, 'depth', p, s))),
    vscode.window.registerWebviewPanelSerializer(DensePanel.kinds.segmentation.viewType, serializer((p, s) => DensePanel.revive(services, 'segmentation', p, s))),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('vitLens')) return;
      if (e.affectsConfiguration('vitLens.inferenceThreads') && engine) {
        const threads = inferenceThreads();
        engine.setThreads(threads).then((r) => log(`onnxruntime threads per run: ${r ? threadsLabel(r.threads) : threads || 'automatic'} (setting ${threads || 'automatic'})`), (err) => log(`could not change the thread count: ${(err as Error).message}`));
      }
      const vitChanged = ['model', 'topK', 'maxImageMegapixels'].some((k) => e.affectsConfiguration(`vitLens.${k}`));
      for (const p of AttentionPanel.allAttention()) p.onSettingsChanged(vitChanged);
      for (const p of VitLensPanel.all()) if (p instanceof GatesPanel) p.onSettingsChanged(vitChanged);
      for (const p of DensePanel.allDense()) p.onSettingsChanged(e.affectsConfiguration(`vitLens.${p.task === 'depth' ? 'depthModel' : 'segmentationModel'}`) || e.affectsConfiguration('vitLens.maxImageMegapixels'));
    }),
  );
  const activationMs = performance.now() - t0;
  log(`activated in ${activationMs.toFixed(1)} ms`);
  return {
    panel: (imagePath, kind) => {
      const p = kind === 'depth' || kind === 'segmentation' ? DensePanel.get(kind, imagePath)
        : kind === 'gates' ? GatesPanel.get(imagePath)
        : kind === 'attention' ? AttentionPanel.get(imagePath)
        : AttentionPanel.get(imagePath) ?? GatesPanel.get(imagePath);
      return p && { observation: p.observation, visible: p.panel.visible };
    },
    enginePid: () => engine?.pid,
    engineThreads: async () => (engine?.pid ? (await engine.request('ping', {})).threads : undefined),
    activationMs,
    cacheDir,
  };
}

export function deactivate(): void {
  // Disposables (the engine among them) are released by VS Code through context.subscriptions.
}
