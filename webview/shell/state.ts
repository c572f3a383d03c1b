// The attention page's small UI state (what the user picked), its defaults, validation of a restored
// state (vscode.getState() may hold anything from an older version) and the query/patch index helpers
// the DPT page's attention uses too. Pure: no DOM; must not import vscode or Node (unit-tested).
import type { HeadFusion, PanelResult } from '../../src/shared/attentionTypes';
import { colormapNames, type ColormapName } from '../../src/shared/panelProtocol';
import type { PanelSettings } from '../../src/analyses/attention/messages';
import { asRecord, inUnit, isInt, isNum, oneOf } from './validate';

export const viewIds = ['attention', 'rollout', 'raw', 'explain'] as const;
export type ViewId = (typeof viewIds)[number];
export type Upsampling = 'nearest' | 'smooth';
export type StatMetric = 'distance' | 'entropy';
const fusions: readonly HeadFusion[] = ['mean', 'max', 'min'];

export interface UiState {
  view: ViewId;
  /** 0-based layer of the attention tensor. */
  layer: number;
  head: number | 'mean';
  /** Query token index in the model's token layout (0 = CLS when the model has one). */
  query: number;
  opacity: number;
  colormap: ColormapName;
  upsampling: Upsampling;
  /** DINO attention-mass threshold: on/off and τ (share of the map's mass kept). */
  threshold: boolean;
  tau: number;
  fusion: HeadFusion;
  discardRatio: number;
  startLayer: number;
  followMouse: boolean;
  metric: StatMetric;
  /** Settings last applied, so new host settings override the user's picks only when they change. */
  settingsSeen?: PanelSettings;
  /** Shape of the result layer/head/query refer to; a different shape resets them. */
  shapeKey?: string;
  /** The image this panel shows: the host's serializer reopens it after a window reload. */
  imagePath?: string;
}

export function defaultState(settings?: PanelSettings): UiState {
  return {
    view: 'attention',
    layer: -1,
    head: 'mean',
    query: 0,
    opacity: settings?.opacity ?? 0.6,
    colormap: settings?.colormap ?? 'viridis',
    upsampling: 'nearest',
    threshold: false,
    tau: 0.6,
    fusion: settings?.fusion ?? 'mean',
    discardRatio: settings?.discardRatio ?? 0.9,
    startLayer: 0,
    followMouse: false,
    metric: 'distance',
  };
}

export function parseSettings(raw: unknown): PanelSettings | undefined {
  const o = asRecord(raw);
  if (!o || !oneOf(colormapNames, o.colormap)) return undefined;
  if (!inUnit(o.opacity) || !inUnit(o.discardRatio, true) || !oneOf(fusions, o.fusion)) return undefined;
  return { colormap: o.colormap, opacity: o.opacity, fusion: o.fusion, discardRatio: o.discardRatio };
}

/** A state restored from vscode.getState(): every valid field kept, everything else from the defaults. */
export function parseUiState(raw: unknown, base: UiState = defaultState()): UiState {
  const s: UiState = { ...base };
  const o = asRecord(raw);
  if (!o) return s;
  if (oneOf(viewIds, o.view)) s.view = o.view;
  if (isInt(o.layer) && o.layer >= -1) s.layer = o.layer;
  if (o.head === 'mean' || (isInt(o.head) && o.head >= 0)) s.head = o.head as number | 'mean';
  if (isInt(o.query) && o.query >= 0) s.query = o.query;
  if (inUnit(o.opacity)) s.opacity = o.opacity;
  if (oneOf(colormapNames, o.colormap)) s.colormap = o.colormap;
  if (o.upsampling === 'nearest' || o.upsampling === 'smooth') s.upsampling = o.upsampling;
  if (typeof o.threshold === 'boolean') s.threshold = o.threshold;
  if (isNum(o.tau) && o.tau > 0 && o.tau <= 1) s.tau = o.tau;
  if (oneOf(fusions, o.fusion)) s.fusion = o.fusion;
  if (inUnit(o.discardRatio, true)) s.discardRatio = o.discardRatio;
  if (isInt(o.startLayer) && o.startLayer >= 0) s.startLayer = o.startLayer;
  if (typeof o.followMouse === 'boolean') s.followMouse = o.followMouse;
  if (o.metric === 'distance' || o.metric === 'entropy') s.metric = o.metric;
  const seen = parseSettings(o.settingsSeen);
  if (seen) s.settingsSeen = seen;
  if (typeof o.shapeKey === 'string') s.shapeKey = o.shapeKey;
  if (typeof o.imagePath === 'string') s.imagePath = o.imagePath;
  return s;
}

function sameSettings(a: PanelSettings | undefined, b: PanelSettings): boolean {
  return !!a && a.colormap === b.colormap && a.opacity === b.opacity && a.fusion === b.fusion && a.discardRatio === b.discardRatio;
}

/** Host settings win when they differ from the ones last applied (the user changed them in VS Code). */
export function applySettings(s: UiState, settings: PanelSettings): UiState {
  if (sameSettings(s.settingsSeen, settings)) return s;
  return {
    ...s,
    colormap: settings.colormap,
    opacity: settings.opacity,
    fusion: settings.fusion,
    discardRatio: settings.discardRatio,
    settingsSeen: { ...settings },
  };
}

export function shapeKey(r: Pick<PanelResult, 'attention' | 'grid' | 'firstPatchToken'>): string {
  const a = r.attention;
  return `${a.layers}x${a.heads}x${a.tokens}/${r.grid[0]}x${r.grid[1]}/${r.firstPatchToken}`;
}

/** The query a fresh result starts with: token 0 (CLS / mean query) when it precedes the patches, else the centre patch. */
export function defaultQuery(r: Pick<PanelResult, 'grid' | 'firstPatchToken'>): number {
  if (r.firstPatchToken > 0) return 0;
  return tokenOfPatch(r, Math.floor(r.grid[0] / 2), Math.floor(r.grid[1] / 2));
}

/** Clamp a (restored) state to a result's shape; a result of another shape resets layer/head/query. */
export function fitStateToResult(s: UiState, r: Pick<PanelResult, 'attention' | 'grid' | 'firstPatchToken'>): UiState {
  const out = { ...s };
  const { layers, heads, tokens } = r.attention;
  const key = shapeKey(r);
  if (out.shapeKey !== key) {
    out.layer = layers - 1;
    out.head = 'mean';
    out.query = defaultQuery(r);
    out.startLayer = 0;
    out.shapeKey = key;
  }
  if (out.layer < 0 || out.layer >= layers) out.layer = layers - 1;
  if (out.head !== 'mean' && (out.head < 0 || out.head >= heads || heads === 1)) out.head = heads === 1 ? 0 : 'mean';
  if (heads === 1) out.head = 0;
  if (out.query >= tokens || (out.query > 0 && out.query < r.firstPatchToken)) out.query = defaultQuery(r);
  if (out.startLayer >= layers) out.startLayer = 0;
  return out;
}

export interface Patch {
  row: number;
  col: number;
}

export function tokenOfPatch(r: Pick<PanelResult, 'grid' | 'firstPatchToken'>, row: number, col: number): number {
  return r.firstPatchToken + row * r.grid[1] + col;
}

/** The patch of a query token, or null for tokens before the patches (CLS, distillation, registers). */
export function patchOfToken(r: Pick<PanelResult, 'grid' | 'firstPatchToken'>, token: number): Patch | null {
  const i = token - r.firstPatchToken;
  if (i < 0 || i >= r.grid[0] * r.grid[1]) return null;
  return { row: Math.floor(i / r.grid[1]), col: i % r.grid[1] };
}

/** The baseline's query for a model query: patches map to patches, CLS-like tokens to its mean query (0). */
export function baselineQuery(r: Pick<PanelResult, 'grid' | 'firstPatchToken'>, token: number): number {
  const p = patchOfToken(r, token);
  return p ? 1 + p.row * r.grid[1] + p.col : 0;
}

/** Arrow-key move of the query patch; from a CLS-like query the move starts at the centre patch. */
export function moveQuery(r: Pick<PanelResult, 'grid' | 'firstPatchToken'>, token: number, dRow: number, dCol: number): number {
  const [gh, gw] = r.grid;
  const p = patchOfToken(r, token);
  if (!p) return tokenOfPatch(r, Math.floor(gh / 2), Math.floor(gw / 2));
  const row = Math.min(gh - 1, Math.max(0, p.row + dRow));
  const col = Math.min(gw - 1, Math.max(0, p.col + dCol));
  return tokenOfPatch(r, row, col);
}

/** Next/previous head in the select's order: mean, 0, 1, …, H−1 (wrapping). */
export function stepHead(head: number | 'mean', heads: number, delta: 1 | -1): number | 'mean' {
  if (heads <= 1) return 0;
  const order: (number | 'mean')[] = ['mean', ...Array.from({ length: heads }, (_, i) => i)];
  const i = order.indexOf(head);
  return order[(i + delta + order.length) % order.length];
}

/** A file-name-safe stem (the host accepts /^[\w.\- ]{1,120}$/). */
export function safeStem(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const stem = base
    .replace(/\.[^.]*$/, '')
    .replace(/[^\w.\- ]+/g, '_')
    .replace(/^[.\s]+/, '')
    .slice(0, 80);
  return stem || 'attention';
}
