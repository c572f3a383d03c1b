// Getting and choosing models in VS Code: the catalogue's Download Model… quick pick (downloads only
// after the user's explicit confirmation, with progress and cancel), the cache in the extension's
// global storage (shared across workspaces), HF-layout folders found in the workspace, and the status
// bar item showing the active model. The download code is core/models (Node built-ins only: no
// onnxruntime or sharp in this process); streaming to disk keeps this thread free.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { DEMO_MODELS, DEMO_PREFIX, demoModelDir } from '../models/demoModels';
import { VitLensError } from '../shared/errors';
import { CatalogueEntry, catalogueByTask, findCatalogueEntry } from '../models/catalogue';
import { CachedModelInfo, formatBytes, listCachedModels, pullModel, removeCachedModel } from '../models/modelStore';
import { modelLabel } from './panelBase';
import { configuredModel, setModel } from './settings';
import type { ModelTask } from '../shared/modelTasks';

const taskLabels: Record<ModelTask, string> = { classification: 'ViT (attention)', depth: 'DPT depth', segmentation: 'DPT segmentation' };

export interface ModelServices {
  /** The model cache: the extension's global storage. */
  cacheDir: string;
  log(line: string): void;
}

const hubEndpoint = () =>
  vscode.workspace.getConfiguration('vitLens').get<string>('hubEndpoint', 'https://huggingface.co').trim() || 'https://huggingface.co';

function describeError(e: unknown): string {
  if (e instanceof VitLensError) return `${e.message}${e.hint ? ` ${e.hint}` : ''}`;
  return e instanceof Error ? e.message : String(e);
}

/** Download Model…: pick from the catalogue (optionally one task), confirm, download, use. Returns the .onnx path, or undefined. */
export async function downloadModel(s: ModelServices, task?: ModelTask): Promise<string | undefined> {
  const byTask = catalogueByTask();
  const cached = new Set((await listCachedModels(s.cacheDir)).filter((c) => c.complete && c.id).map((c) => c.id!));
  type Item = vscode.QuickPickItem & { entry?: CatalogueEntry };
  const items: Item[] = [];
  for (const t of task ? [task] : (Object.keys(byTask) as ModelTask[])) {
    items.push({ label: taskLabels[t], kind: vscode.QuickPickItemKind.Separator });
    for (const e of byTask[t]) {
      items.push({
        label: e.name,
        description: `${formatBytes(e.approxSizeBytes)} · ${e.license}${cached.has(e.id) ? ' · downloaded' : ''}`,
        detail: `${e.description}${e.unverified ? ` (Not verified against the hub: ${e.unverified})` : ''}`,
        entry: e,
      });
    }
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: 'ViT Lens: Download Model',
    placeHolder: 'Choose a pretrained model (ONNX, Hugging Face layout)',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!picked?.entry) return undefined;
  // Picking an entry that shows its size and licence is the user's consent to download it.
  return pullAndUse(s, picked.entry, false);
}

/**
 * Pulls a catalogue model with a cancellable progress notification and sets it for its task. With
 * `confirm` (the model was named by a command argument, not picked by the user), asks first. A quick
 * pick rather than a modal dialog: it works the same with the keyboard, and in tests.
 */
export async function pullAndUse(s: ModelServices, entry: CatalogueEntry, confirm = true): Promise<string | undefined> {
  const endpoint = hubEndpoint();
  const downloaded = (await listCachedModels(s.cacheDir)).some((c) => c.complete && c.id === entry.id);
  if (confirm && !downloaded) {
    const ok = await vscode.window.showQuickPick(
      [
        {
          label: '$(cloud-download) Download',
          description: `about ${formatBytes(entry.approxSizeBytes)} · ${entry.license}`,
          detail: `From ${endpoint}/${entry.repo} into VS Code's global storage (shared across workspaces): ${entry.files.map((f) => f.path).join(', ')}`,
          yes: true,
        },
        { label: 'Cancel', yes: false },
      ],
      { title: `ViT Lens: download ${entry.name}?`, ignoreFocusOut: true },
    );
    if (!ok?.yes) return undefined;
  }
  s.log(`download ${entry.id} from ${endpoint}/${entry.repo}@${entry.revision}`);
  const t0 = performance.now();
  try {
    const info = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `ViT Lens: downloading ${entry.name}`, cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let lastPercent = 0;
        return pullModel(entry, {
          cacheDir: s.cacheDir,
          endpoint,
          signal: abort.signal,
          // VS Code already routes Node's http/https through its proxy support: tunnelling again would break it.
          proxy: null,
          token: process.env.HF_TOKEN || undefined,
          onProgress: (p) => {
            const percent = p.bytesTotal > 0 ? Math.min(100, (p.bytesDone / p.bytesTotal) * 100) : 0;
            const what = p.waiting
              ? 'waiting for another download of this model'
              : `${p.file} ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)} (${percent.toFixed(0)}%)${p.speed > 0 ? ` at ${formatBytes(p.speed)}/s` : ''}`;
            progress.report({ message: what, increment: Math.max(0, percent - lastPercent) });
            lastPercent = Math.max(lastPercent, percent);
          },
        });
      },
    );
    if (!info.onnxPath) throw new Error(`${entry.id} downloaded but has no .onnx file`);
    s.log(
      `downloaded ${entry.id} (${formatBytes(info.sizeOnDisk)}) in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${info.onnxPath}`,
    );
    await setModel(info.onnxPath, entry.task);
    void vscode.window.showInformationMessage(`ViT Lens: ${entry.name} is ready and set as the ${taskLabels[entry.task]} model.`);
    return info.onnxPath;
  } catch (e) {
    const cancelled = e instanceof VitLensError && e.code === 'CANCELLED';
    s.log(`download ${entry.id}: ${cancelled ? 'cancelled' : describeError(e)}`);
    if (!cancelled)
      void vscode.window
        .showErrorMessage(`ViT Lens: downloading ${entry.name} failed: ${describeError(e)}`, 'Show Log')
        .then((c) => c && vscode.commands.executeCommand('vitLens.showLog'));
    return undefined;
  }
}

/** Manage Downloaded Models: the cache with sizes; use or remove one. */
export async function manageModels(s: ModelServices): Promise<void> {
  const models = await listCachedModels(s.cacheDir);
  if (models.length === 0) {
    const c = await vscode.window.showInformationMessage('ViT Lens: no downloaded models yet.', 'Download Model…');
    if (c) await vscode.commands.executeCommand('vitLens.downloadModel');
    return;
  }
  const total = models.reduce((a, m) => a + m.sizeOnDisk, 0);
  const picked = await vscode.window.showQuickPick(
    models.map((m) => ({
      label: m.id ?? m.key,
      description: `${formatBytes(m.sizeOnDisk)}${m.complete ? '' : m.downloading ? ' · downloading' : ' · incomplete'}`,
      detail: m.dir,
      model: m,
    })),
    { title: `ViT Lens: downloaded models (${formatBytes(total)} in total)`, placeHolder: 'Choose a model to use or remove' },
  );
  if (!picked) return;
  const m = picked.model;
  const entry = m.id ? findCatalogueEntry(m.id) : undefined;
  const actions = [...(m.complete && m.onnxPath ? [`Use for ${taskLabels[entry?.task ?? 'classification']}`] : []), 'Remove from cache'];
  const action = await vscode.window.showQuickPick(actions, { title: picked.label });
  if (action === 'Remove from cache') {
    const removed = await removeCachedModel(s.cacheDir, m.key);
    s.log(`${removed ? 'removed' : 'could not remove'} ${m.key} from the cache`);
    if (removed) void vscode.window.showInformationMessage(`ViT Lens: removed ${picked.label} (${formatBytes(m.sizeOnDisk)}).`);
  } else if (action && m.onnxPath) {
    await setModel(m.onnxPath, entry?.task ?? 'classification');
  }
}

/** ONNX models in the workspace: HF-layout folders (`…/onnx/model*.onnx`) and loose .onnx files. */
async function workspaceModels(): Promise<vscode.Uri[]> {
  return vscode.workspace.findFiles('**/*.onnx', '{**/node_modules/**,**/.git/**}', 200);
}

/** Select Model (the status bar item): downloaded models, workspace models, a file, a download, or raw attention. */
/** A demo model's one-line description (config.json `vit_lens_description`), if it has one. */
function demoDescription(id: string): string | undefined {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(demoModelDir(id), 'config.json'), 'utf8')) as { vit_lens_description?: unknown };
    return typeof config.vit_lens_description === 'string' ? config.vit_lens_description : undefined;
  } catch {
    return undefined;
  }
}

export async function selectModel(s: ModelServices, task: ModelTask = 'classification'): Promise<void> {
  type Item = vscode.QuickPickItem & { run?: () => Thenable<unknown> };
  const current = configuredModel(task);
  const cached = (await listCachedModels(s.cacheDir)).filter(
    (m): m is CachedModelInfo & { onnxPath: string } =>
      m.complete && !!m.onnxPath && (findCatalogueEntry(m.id ?? '')?.task ?? 'classification') === task,
  );
  const found = await workspaceModels();
  const mark = (p: string) => (current && path.resolve(p) === path.resolve(current) ? '$(check) ' : '');
  const demos = DEMO_MODELS.filter((d) => d.task === task && fs.existsSync(demoModelDir(d.id)));
  const items: Item[] = [
    // Trained here on generated scenes and shipped with the extension: real attention without a download.
    ...(demos.length ? [{ label: 'Included', kind: vscode.QuickPickItemKind.Separator }] : []),
    ...demos.map((d) => ({
      label: `${mark(demoModelDir(d.id))}${d.label}`,
      description: 'no download',
      detail: demoDescription(d.id),
      run: () => setModel(`${DEMO_PREFIX}${d.id}`, task),
    })),
    { label: 'Downloaded', kind: vscode.QuickPickItemKind.Separator },
    ...cached.map((m) => ({
      label: `${mark(m.onnxPath)}${m.id ?? m.key}`,
      description: formatBytes(m.sizeOnDisk),
      run: () => setModel(m.onnxPath, task),
    })),
    { label: 'In this workspace', kind: vscode.QuickPickItemKind.Separator },
    ...found.map((u) => ({ label: `${mark(u.fsPath)}${vscode.workspace.asRelativePath(u)}`, run: () => setModel(u.fsPath, task) })),
    { label: 'More', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(cloud-download) Download a model…', run: () => downloadModel(s, task) },
    { label: '$(folder-opened) Choose a file or folder…', run: () => vscode.commands.executeCommand('vitLens.useModelFromFile', task) },
    ...(task === 'classification'
      ? [{ label: `${current ? '' : '$(check) '}Raw attention (no model)`, run: () => setModel(null, task) }]
      : []),
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: `ViT Lens: ${taskLabels[task]} model`,
    placeHolder: current ?? 'No model configured',
  });
  await picked?.run?.();
}

/** The status bar item: the active ViT model; click to switch. */
export function modelStatusBar(): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('vitLens.model', vscode.StatusBarAlignment.Right, 100);
  item.name = 'ViT Lens model';
  item.command = 'vitLens.selectModel';
  const refresh = () => {
    const name = (p: string | null) => (p ? modelLabel(p) : null);
    const vit = name(configuredModel('classification'));
    item.text = `$(eye) ${vit ?? 'raw attention'}`;
    item.tooltip = [
      `ViT Lens — attention: ${vit ?? 'raw attention (no model)'}`,
      `depth: ${name(configuredModel('depth')) ?? 'none'}`,
      `segmentation: ${name(configuredModel('segmentation')) ?? 'none'}`,
      'Click to switch the attention model.',
    ].join('\n');
    item.show();
  };
  refresh();
  return vscode.Disposable.from(
    item,
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('vitLens')) refresh();
    }),
  );
}
