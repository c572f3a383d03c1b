// The `vitLens.*` settings as typed values. Host only (imports vscode).
import path from 'node:path';
import * as vscode from 'vscode';
import type { HeadFusion } from '../shared/attentionTypes';
import { ColormapName, PanelSettings, colormapNames } from '../shared/panelProtocol';

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

/** The configured model path (absolute), or null for raw attention. */
export function configuredModel(): string | null {
  const raw = section().get<string>('model', '').trim();
  if (!raw) return null;
  if (path.isAbsolute(raw)) return raw;
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? path.join(folder.uri.fsPath, raw) : path.resolve(raw);
}

export const topK = () => section().get<number>('topK', 5);
export const maxPixels = () => Math.round(section().get<number>('maxImageMegapixels', 100) * 1e6);

export async function setModel(modelPath: string | null): Promise<void> {
  const target = vscode.workspace.workspaceFolders ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await section().update('model', modelPath ?? '', target);
}
