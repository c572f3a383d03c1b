// Extension entry point (dist/extension.js): registers commands, panel serializers, the status bar item
// and settings listeners. Activation does no work beyond that; the engine process starts on the first run.
// Imports vscode, the engine client and core/models (Node built-ins only): never onnxruntime-node or
// sharp (they block this thread).
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { EngineClient, threadsLabel } from '../client/engineClient';
import type { ModelKindInfo } from '../analyses/gates/types';
import { allPanels, type PanelAnalysisId } from '../analyses/index';
import { analysisHosts } from '../analyses/host';
import type { PanelDescriptor } from '../analyses/registry';
import { findCatalogueEntry } from '../models/catalogue';
import { isModelTask } from '../shared/modelTasks';
import { downloadModel, manageModels, modelStatusBar, pullAndUse, selectModel, type ModelServices } from './models';
import { HostServices, PanelObservation, VitLensPanel } from './panelBase';
import { configuredModel, executionProvider, inferenceThreads, retainedResultsMB, setModel } from './settings';
import { registerImageLinks } from './imageLinks';

const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'avif'];
const isImage = (p: string) => IMAGE_EXTENSIONS.includes(path.extname(p).slice(1).toLowerCase());

/** What the extension returns from activate(): used by the integration tests. */
export interface VitLensApi {
  /**
   * The open panel of an image: `kind` is the last part of its view type (`attention`, `gates`, `depth`,
   * `segmentation`, …); without it, the image's attention panel, else its gates panel.
   */
  panel(imagePath: string, kind?: string): { observation: PanelObservation; visible: boolean } | undefined;
  enginePid(): number | undefined;
  /** onnxruntime's threads per run in the running engine (undefined before it starts). */
  engineThreads(): Promise<number | undefined>;
  activationMs: number;
  /** The model cache folder (global storage). */
  cacheDir: string;
}

/** The image to inspect: the explorer selection, else the active image preview, else a quick pick. */
async function targetImage(title: string, uri?: vscode.Uri | string): Promise<string | undefined> {
  if (uri instanceof vscode.Uri) return uri.fsPath;
  if (typeof uri === 'string' && path.isAbsolute(uri)) return uri; // a hover's command link (src/host/imageLinks.ts)
  // An open ViT Lens panel in front (Compare With Model… on an attention panel): its image.
  const activePanel = VitLensPanel.all().find((p) => p.panel.active && isImage(p.imagePath));
  if (activePanel) return activePanel.imagePath;
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if ((tab instanceof vscode.TabInputCustom || tab instanceof vscode.TabInputText) && isImage(tab.uri.fsPath)) return tab.uri.fsPath;
  const found = await vscode.workspace.findFiles(`**/*.{${IMAGE_EXTENSIONS.join(',')}}`, '**/node_modules/**', 500);
  if (found.length === 0) {
    void vscode.window.showInformationMessage(
      `ViT Lens: no images in this workspace. Right-click an image file in the Explorer and choose "${title}".`,
    );
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
    engine: () => {
      if (engine) return engine;
      engine = new EngineClient({
        enginePath: path.join(context.extensionPath, 'dist', 'engine.js'),
        log,
        threads: inferenceThreads(),
        provider: executionProvider(),
      });
      sendRetainedBudget(engine);
      return engine;
    },
    log,
  };
  // The engine's retained-result budget (vitLens.retainedResultsMB), sent when the client is made and on change.
  function sendRetainedBudget(client: EngineClient): void {
    client
      .request('configure', { retainedResultsMB: retainedResultsMB() })
      .catch((err) => log(`could not set the retained-result budget: ${(err as Error).message}`));
  }
  const cacheDir = path.join(context.globalStorageUri.fsPath, 'models');
  const models: ModelServices = { cacheDir, log };

  // Which panel a model needs (ViT attention or CNN gates), from its graph; cached per file version.
  const kinds = new Map<string, { mtimeMs: number; info: ModelKindInfo }>();
  async function modelKind(modelPath: string): Promise<ModelKindInfo | undefined> {
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(modelPath).mtimeMs;
    } catch {
      return undefined;
    } // missing: the panel reports it
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

  /**
   * The panel a command opens: its only panel, or, when several share it (Show Attention: attention or
   * gates), the one whose model kinds include the configured model's kind, else the default one.
   */
  async function panelFor(
    candidates: { analysis: PanelAnalysisId; panel: PanelDescriptor }[],
  ): Promise<{ analysis: PanelAnalysisId; panel: PanelDescriptor }> {
    const fallback = candidates.find((c) => !c.panel.modelKinds) ?? candidates[0];
    if (candidates.length === 1) return fallback;
    const model = configuredModel(fallback.panel.task);
    const kind = model ? (await modelKind(model))?.kind : undefined;
    return candidates.find((c) => kind && c.panel.modelKinds?.includes(kind)) ?? fallback;
  }

  // Command titles ("Show Attention", …) for the image picker, as package.json contributes them.
  const contributed =
    (context.extension.packageJSON as { contributes?: { commands?: { command: string; title: string }[] } }).contributes?.commands ?? [];
  const commandTitles = new Map(contributed.map((c) => [c.command, c.title]));
  // One command per panel command of the registry (some panels share one, see panelFor).
  const commands = new Map<string, { analysis: PanelAnalysisId; panel: PanelDescriptor }[]>();
  for (const entry of allPanels()) commands.set(entry.panel.command, [...(commands.get(entry.panel.command) ?? []), entry]);
  const panelCommands = [...commands].map(([command, candidates]) =>
    vscode.commands.registerCommand(command, async (uri?: vscode.Uri | string, arg?: unknown) => {
      const title = commandTitles.get(command) ?? candidates[0].panel.title;
      const image = await targetImage(title, uri);
      if (!image) return;
      const { analysis, panel } = await panelFor(candidates);
      await analysisHosts[analysis].open(services, panel, image, arg);
    }),
  );
  const serializers = allPanels().map(({ analysis, panel }) =>
    vscode.window.registerWebviewPanelSerializer(panel.viewType, {
      deserializeWebviewPanel: (webviewPanel, state) => analysisHosts[analysis].revive(services, panel, webviewPanel, state),
    }),
  );

  context.subscriptions.push(
    output,
    { dispose: () => engine?.dispose() },
    modelStatusBar(),
    ...panelCommands,
    ...serializers,
    registerImageLinks(),
    vscode.commands.registerCommand('vitLens.useModelFromFile', async (task?: unknown) => {
      const t = isModelTask(task) ? task : 'classification';
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
      const entry = typeof arg === 'string' && !isModelTask(arg) ? findCatalogueEntry(arg) : undefined;
      return entry ? pullAndUse(models, entry) : downloadModel(models, isModelTask(arg) ? arg : undefined);
    }),
    vscode.commands.registerCommand('vitLens.manageModels', () => manageModels(models)),
    vscode.commands.registerCommand('vitLens.selectModel', (task?: unknown) =>
      selectModel(models, isModelTask(task) ? task : 'classification'),
    ),
    vscode.commands.registerCommand('vitLens.cancel', () => VitLensPanel.cancelAll()),
    vscode.commands.registerCommand('vitLens.useRawAttention', () => setModel(null)),
    vscode.commands.registerCommand('vitLens.showLog', () => output.show(true)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('vitLens')) return;
      if (e.affectsConfiguration('vitLens.inferenceThreads') && engine) {
        const threads = inferenceThreads();
        engine.setThreads(threads).then(
          (r) =>
            log(`onnxruntime threads per run: ${r ? threadsLabel(r.threads) : threads || 'automatic'} (setting ${threads || 'automatic'})`),
          (err) => log(`could not change the thread count: ${(err as Error).message}`),
        );
      }
      if (e.affectsConfiguration('vitLens.retainedResultsMB') && engine) sendRetainedBudget(engine);
      if (e.affectsConfiguration('vitLens.executionProvider') && engine) {
        engine.setProvider(executionProvider(), inferenceThreads()).then(
          () => log(`execution provider: ${executionProvider()} (sessions are made anew at their next run)`),
          (err) => log(`could not change the execution provider: ${(err as Error).message}`),
        );
      }
      // Each open panel re-runs when a setting its descriptor names changed, and may redisplay otherwise.
      for (const p of VitLensPanel.all()) p.onSettingsChanged(p.kind.rerunOn.some((k) => e.affectsConfiguration(`vitLens.${k}`)));
    }),
  );
  const activationMs = performance.now() - t0;
  log(`activated in ${activationMs.toFixed(1)} ms`);
  return {
    panel: (imagePath, kind) => {
      const p = kind
        ? VitLensPanel.find(`vitLens.${kind}`, imagePath)
        : (VitLensPanel.find('vitLens.attention', imagePath) ?? VitLensPanel.find('vitLens.gates', imagePath));
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
