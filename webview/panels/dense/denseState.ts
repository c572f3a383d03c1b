// The DPT panel's small UI state (what the user picked — never the data), its defaults, validation of a
// restored state (vscode.getState() may hold anything from an older version), and how host settings and
// a new result are folded in. Pure: no DOM; imports only other pure modules, never vscode or Node.
import type { HeadFusion } from '../../../src/shared/attentionTypes';
import type { DenseTask } from '../../../src/analyses/dense/types';
import {
  denseViewIds,
  depthColormapNames,
  depthNormalizations,
  type DensePanelResult,
  type DensePanelSettings,
  type DenseViewId,
  type DepthColormapName,
  type DepthNormalization,
} from '../../../src/analyses/dense/messages';
import { colormapNames, type ColormapName } from '../../../src/shared/panelProtocol';
import { clampOrbit, type Orbit } from './mesh';
import { emptyLegend, fitLegend, type LegendState } from './legend';
import { defaultQuery } from '../../shell/state';
import { asRecord, inUnit, isInt, isNum, oneOf } from '../../shell/validate';

export type AttentionMode = 'attention' | 'rollout';

export interface DenseUiState {
  view: DenseViewId;
  depthColormap: DepthColormapName;
  normalization: DepthNormalization;
  /** Swap near and far colours (and relief heights). */
  invert: boolean;
  /** Map over image, 0..1 (overlay view). */
  opacity: number;
  /** Swipe divider position, 0..1 of the width: the map left of it, the image right of it. */
  swipe: number;
  orbit: Orbit;
  /** Height of the relief's nearest point as a share of the image's long side (0..1). */
  reliefHeight: number;
  legend: LegendState;
  /** Backbone attention: CLS/query attention of one layer and head, or rollout. */
  attention: {
    mode: AttentionMode;
    layer: number;
    head: number | 'mean';
    query: number;
    colormap: ColormapName;
    fusion: HeadFusion;
    discardRatio: number;
  };
  /** Settings last applied: new host settings override the user's picks only when they change. */
  settingsSeen?: DensePanelSettings;
  /** Shape of the result the indices refer to; another shape resets them. */
  shapeKey?: string;
  /** What the panel shows, so the host's serializer can run it again after a window reload. */
  imagePath?: string;
  modelPath?: string;
  task?: DenseTask;
}

export const defaultOrbit = (): Orbit => ({ yaw: -28, pitch: 22, distance: 3.2 });

export function defaultDenseState(): DenseUiState {
  return {
    view: 'side',
    depthColormap: 'inferno',
    normalization: 'percentile',
    invert: false,
    opacity: 0.65,
    swipe: 0.5,
    orbit: defaultOrbit(),
    reliefHeight: 0.2,
    legend: emptyLegend(),
    attention: { mode: 'attention', layer: -1, head: 'mean', query: 0, colormap: 'inferno', fusion: 'mean', discardRatio: 0.9 },
  };
}

const fusions: readonly HeadFusion[] = ['mean', 'max', 'min'];

export function parseDensePanelSettings(raw: unknown): DensePanelSettings | undefined {
  const o = asRecord(raw);
  if (!o) return undefined;
  if (!oneOf(depthColormapNames, o.depthColormap) || !oneOf(depthNormalizations, o.normalization) || !inUnit(o.opacity)) return undefined;
  if (!oneOf(colormapNames, o.attentionColormap) || !oneOf(fusions, o.fusion) || !inUnit(o.discardRatio, true)) return undefined;
  return {
    depthColormap: o.depthColormap,
    normalization: o.normalization,
    opacity: o.opacity,
    attentionColormap: o.attentionColormap,
    fusion: o.fusion,
    discardRatio: o.discardRatio,
  };
}

/** A state restored from vscode.getState(): every valid field kept, everything else from `base`. */
export function parseDenseState(raw: unknown, base: DenseUiState = defaultDenseState()): DenseUiState {
  const s: DenseUiState = { ...base, orbit: { ...base.orbit }, legend: { ...base.legend }, attention: { ...base.attention } };
  const o = asRecord(raw);
  if (!o) return s;
  if (oneOf(denseViewIds, o.view)) s.view = o.view;
  if (oneOf(depthColormapNames, o.depthColormap)) s.depthColormap = o.depthColormap;
  if (oneOf(depthNormalizations, o.normalization)) s.normalization = o.normalization;
  if (typeof o.invert === 'boolean') s.invert = o.invert;
  if (inUnit(o.opacity)) s.opacity = o.opacity;
  if (inUnit(o.swipe)) s.swipe = o.swipe;
  if (isNum(o.reliefHeight) && o.reliefHeight >= 0 && o.reliefHeight <= 1) s.reliefHeight = o.reliefHeight;
  const orbit = o.orbit as Record<string, unknown> | null;
  if (orbit && typeof orbit === 'object' && isNum(orbit.yaw) && isNum(orbit.pitch) && isNum(orbit.distance)) {
    s.orbit = clampOrbit({ yaw: orbit.yaw, pitch: orbit.pitch, distance: orbit.distance });
  }
  const lg = o.legend as Record<string, unknown> | null;
  if (
    lg &&
    typeof lg === 'object' &&
    (lg.isolated === null || (isInt(lg.isolated) && lg.isolated >= 0)) &&
    Array.isArray(lg.hidden) &&
    lg.hidden.length <= 4096 &&
    lg.hidden.every((x) => isInt(x) && x >= 0)
  ) {
    s.legend = { isolated: lg.isolated as number | null, hidden: [...new Set(lg.hidden as number[])].sort((a, b) => a - b) };
  }
  const at = o.attention as Record<string, unknown> | null;
  if (at && typeof at === 'object') {
    if (at.mode === 'attention' || at.mode === 'rollout') s.attention.mode = at.mode;
    if (isInt(at.layer) && at.layer >= -1) s.attention.layer = at.layer;
    if (at.head === 'mean' || (isInt(at.head) && at.head >= 0)) s.attention.head = at.head as number | 'mean';
    if (isInt(at.query) && at.query >= 0) s.attention.query = at.query;
    if (oneOf(colormapNames, at.colormap)) s.attention.colormap = at.colormap;
    if (oneOf(fusions, at.fusion)) s.attention.fusion = at.fusion;
    if (inUnit(at.discardRatio, true)) s.attention.discardRatio = at.discardRatio;
  }
  const seen = parseDensePanelSettings(o.settingsSeen);
  if (seen) s.settingsSeen = seen;
  if (typeof o.shapeKey === 'string') s.shapeKey = o.shapeKey;
  if (typeof o.imagePath === 'string') s.imagePath = o.imagePath;
  if (typeof o.modelPath === 'string') s.modelPath = o.modelPath;
  if (o.task === 'depth' || o.task === 'segmentation') s.task = o.task;
  return s;
}

function sameSettings(a: DensePanelSettings | undefined, b: DensePanelSettings): boolean {
  return !!a && (Object.keys(b) as (keyof DensePanelSettings)[]).every((k) => a[k] === b[k]);
}

/** Host settings win when they differ from the ones last applied (the user changed them in VS Code). */
export function applyDenseSettings(s: DenseUiState, settings: DensePanelSettings): DenseUiState {
  if (sameSettings(s.settingsSeen, settings)) return s;
  return {
    ...s,
    depthColormap: settings.depthColormap,
    normalization: settings.normalization,
    opacity: settings.opacity,
    attention: { ...s.attention, colormap: settings.attentionColormap, fusion: settings.fusion, discardRatio: settings.discardRatio },
    settingsSeen: { ...settings },
  };
}

/** Views a task offers: the relief needs depth. */
export function viewsFor(task: DenseTask): DenseViewId[] {
  return task === 'depth' ? [...denseViewIds] : denseViewIds.filter((v) => v !== 'relief');
}

export function denseShapeKey(r: DensePanelResult): string {
  const a = r.attention;
  return `${r.task}/${a ? `${a.layers}x${a.heads}x${a.tokens}` : 'none'}/${r.grid[0]}x${r.grid[1]}/${r.firstPatchToken}`;
}

/** The view a task opens with: depth beside the image, classes over it. */
export const defaultView = (task: DenseTask): DenseViewId => (task === 'depth' ? 'side' : 'overlay');

/** Clamp a (restored) state to a result: the task's default view when the task changes, views the task has, attention indices in range, legend ids present. */
export function fitDenseState(s: DenseUiState, r: DensePanelResult): DenseUiState {
  const out: DenseUiState = { ...s, attention: { ...s.attention }, legend: { ...s.legend } };
  if (out.task !== r.task || !viewsFor(r.task).includes(out.view)) out.view = defaultView(r.task);
  const key = denseShapeKey(r);
  const a = r.attention;
  if (out.shapeKey !== key) {
    out.attention.layer = a ? a.layers - 1 : -1;
    out.attention.head = 'mean';
    out.attention.query = defaultQuery(r);
    out.shapeKey = key;
  }
  if (a) {
    if (out.attention.layer < 0 || out.attention.layer >= a.layers) out.attention.layer = a.layers - 1;
    if (a.heads === 1) out.attention.head = 0;
    else if (out.attention.head !== 'mean' && out.attention.head >= a.heads) out.attention.head = 'mean';
    if (out.attention.query >= a.tokens || (out.attention.query > 0 && out.attention.query < r.firstPatchToken))
      out.attention.query = defaultQuery(r);
  }
  out.legend = fitLegend(out.legend, r.segmentation ? r.segmentation.classes.map((c) => c.id) : []);
  out.imagePath = r.image.path;
  out.modelPath = r.model.path ?? undefined;
  out.task = r.task;
  return out;
}
