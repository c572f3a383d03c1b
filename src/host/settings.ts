// The `vitLens.*` settings as typed values. Host only (imports vscode).
import path from 'node:path';
import * as vscode from 'vscode';
import { DEMO_PREFIX, demoModelDir } from '../models/demoModels';
import { modelSettingKey, type ModelTask } from '../shared/modelTasks';
import type { HeadFusion } from '../shared/attentionTypes';
import { isThreadCount } from '../shared/engineProtocol';
import { DensePanelSettings, DepthColormapName, depthColormapNames } from '../analyses/dense/messages';
import { ColormapName, colormapNames } from '../shared/panelProtocol';
import { PanelSettings } from '../analyses/attention/messages';

const section = () => vscode.workspace.getConfiguration('vitLens');

export function panelSettings(): PanelSettings {
  const c = section();
  const colormap = c.get<string>('colormap', 'inferno');
  const fusion = c.get<string>('rolloutFusion', 'mean');
  const clamp = (v: number, lo: number, hi: number, dflt: number) => (Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : dflt);
  return {
    colormap: (colormapNames as readonly string[]).includes(colormap) ? (colormap as ColormapName) : 'inferno',
    opacity: clamp(c.get<number>('overlayOpacity', 0.6), 0, 1, 0.6),
    fusion: (['mean', 'max', 'min'].includes(fusion) ? fusion : 'mean') as HeadFusion,
    discardRatio: clamp(c.get<number>('discardRatio', 0), 0, 0.99, 0),
  };
}

/** The model configured for a task (absolute path; relative paths are taken from the first workspace folder), or null. */
export function configuredModel(task: ModelTask = 'classification'): string | null {
  const raw = section().get<string>(modelSettingKey[task], '').trim();
  if (!raw) return null;
  if (raw.startsWith(DEMO_PREFIX)) return demoModelDir(raw.slice(DEMO_PREFIX.length)); // ships with the extension (a run reports a missing one)
  if (path.isAbsolute(raw)) return raw;
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? path.join(folder.uri.fsPath, raw) : path.resolve(raw);
}

/** The DPT panel's starting display settings. */
export function densePanelSettings(): DensePanelSettings {
  const c = section();
  const attention = panelSettings();
  const depthColormap = c.get<string>('depthColormap', 'inferno');
  return {
    depthColormap: (depthColormapNames as readonly string[]).includes(depthColormap) ? (depthColormap as DepthColormapName) : 'inferno',
    normalization: c.get<string>('depthNormalization', 'percentile') === 'minmax' ? 'minmax' : 'percentile',
    opacity: attention.opacity,
    attentionColormap: attention.colormap,
    fusion: attention.fusion,
    discardRatio: attention.discardRatio,
  };
}

export const topK = () => section().get<number>('topK', 5);
/** The engine's budget for attention results kept for open panels, in MB (core/engine/attentionStore.ts). */
export const retainedResultsMB = () => {
  const n = section().get<number>('retainedResultsMB', 512);
  return typeof n === 'number' && n >= 0 && n <= 1 << 20 ? n : 512;
};

/** onnxruntime's threads per model run; 0: automatic (core/onnx/threads.ts). */
export const inferenceThreads = () => {
  const n = section().get<number>('inferenceThreads', 0);
  return isThreadCount(n) ? n : 0;
};
export const maxPixels = () => Math.round(section().get<number>('maxImageMegapixels', 100) * 1e6);

export async function setModel(modelPath: string | null, task: ModelTask = 'classification'): Promise<void> {
  const target = vscode.workspace.workspaceFolders ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await section().update(modelSettingKey[task], modelPath ?? '', target);
}

/** vitLens.executionProvider: the onnxruntime execution provider sessions run on ("cpu" by default). */
export const executionProvider = () => {
  const p = section().get<string>('executionProvider', 'cpu');
  return typeof p === 'string' && /^[a-z0-9_-]+$/i.test(p) ? p.toLowerCase() : 'cpu';
};
