// Extension entry point (dist/extension.js): registers commands, the panel serializer and settings
// listeners. Activation does no work beyond that; the engine process starts on the first run.
// Imports vscode and the engine client only: never onnxruntime-node or sharp (they block this thread).
import path from 'node:path';
import * as vscode from 'vscode';
import { EngineClient } from '../client/engineClient';
import { AttentionPanel, HostServices, PanelObservation } from './attentionPanel';
import { setModel } from './settings';

const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'avif'];
const isImage = (p: string) => IMAGE_EXTENSIONS.includes(path.extname(p).slice(1).toLowerCase());

/** What the extension returns from activate(): used by the integration tests. */
export interface VitLensApi {
  panel(imagePath: string): { observation: PanelObservation; visible: boolean } | undefined;
  enginePid(): number | undefined;
  activationMs: number;
}

/** The image to inspect: the explorer selection, else the active image preview, else a quick pick. */
async function targetImage(uri?: vscode.Uri): Promise<string | undefined> {
  if (uri instanceof vscode.Uri) return uri.fsPath;
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if ((tab instanceof vscode.TabInputCustom || tab instanceof vscode.TabInputText) && isImage(tab.uri.fsPath)) return tab.uri.fsPath;
  const found = await vscode.workspace.findFiles(`**/*.{${IMAGE_EXTENSIONS.join(',')}}`, '**/node_modules/**', 500);
  if (found.length === 0) {
    void vscode.window.showInformationMessage('ViT Lens: no images in this workspace. Right-click an image file in the Explorer and choose "Show Attention".');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    found.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(path.dirname(u.fsPath)), uri: u })),
    { title: 'ViT Lens: Show Attention', placeHolder: 'Choose an image', matchOnDescription: true },
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
    engine: () => (engine ??= new EngineClient({ enginePath: path.join(context.extensionPath, 'dist', 'engine.js'), log })),
    log,
  };

  context.subscriptions.push(
    output,
    { dispose: () => engine?.dispose() },
    vscode.commands.registerCommand('vitLens.showAttention', async (uri?: vscode.Uri) => {
      const image = await targetImage(uri);
      if (image) await AttentionPanel.show(services, image);
    }),
    vscode.commands.registerCommand('vitLens.useModelFromFile', async () => {
      const picked = await vscode.window.showOpenDialog({
        title: 'ViT Lens: choose a ViT ONNX model (an .onnx file, or a Hugging Face folder)',
        canSelectFiles: true,
        canSelectFolders: true,
        filters: { 'ONNX model': ['onnx'] },
      });
      if (picked?.[0]) {
        await setModel(picked[0].fsPath);
        log(`model set to ${picked[0].fsPath}`);
      }
    }),
    vscode.commands.registerCommand('vitLens.cancel', () => AttentionPanel.cancelAll()),
    vscode.commands.registerCommand('vitLens.useRawAttention', () => setModel(null)),
    vscode.commands.registerCommand('vitLens.showLog', () => output.show(true)),
    vscode.window.registerWebviewPanelSerializer(AttentionPanel.viewType, {
      deserializeWebviewPanel: (panel, state) => AttentionPanel.revive(services, panel, state),
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('vitLens')) return;
      const modelChanged = e.affectsConfiguration('vitLens.model') || e.affectsConfiguration('vitLens.topK') || e.affectsConfiguration('vitLens.maxImageMegapixels');
      for (const p of AttentionPanel.allAttention()) p.onSettingsChanged(modelChanged);
    }),
  );
  const activationMs = performance.now() - t0;
  log(`activated in ${activationMs.toFixed(1)} ms`);
  return {
    panel: (imagePath) => {
      const p = AttentionPanel.get(imagePath);
      return p && { observation: p.observation, visible: p.panel.visible };
    },
    enginePid: () => engine?.pid,
    activationMs,
  };
}

export function deactivate(): void {
  // Disposables (the engine among them) are released by VS Code through context.subscriptions.
}
