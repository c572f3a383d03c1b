// The gates panel's small UI state (which block, display choices), validation of a restored state
// (vscode.getState() may hold anything from an older version), and the pure helpers the view and its
// exports share: channel order, summaries, labels, the JSON of the shown gate. No DOM: unit-tested;
// must not import vscode or Node.
import type { Gate, GatesResult } from '../../../src/analyses/gates/types';
import type { GatesPanelSettings } from '../../../src/analyses/gates/messages';
import { colormapNames, type ColormapName } from '../../../src/shared/panelProtocol';
import { safeStem } from '../../shell/state';
import { asRecord, inUnit, oneOf } from '../../shell/validate';

/** Channel bars by weight (largest first) or in channel order. */
export type ChannelOrder = 'sorted' | 'index';

export interface GatesUiState {
  /** Selected gate, 0-based in depth order. */
  block: number;
  colormap: ColormapName;
  opacity: number;
  /** Bilinear (true) or nearest upsampling of spatial maps. */
  smooth: boolean;
  order: ChannelOrder;
  /** Settings last applied, so new host settings override the user's picks only when they change. */
  settingsSeen?: GatesPanelSettings;
  /** The gates' node names: a different model resets the block. */
  modelKey?: string;
  /** The image this panel shows: the host's serializer reopens it after a window reload. */
  imagePath?: string;
}

export function defaultGatesState(settings?: GatesPanelSettings): GatesUiState {
  return { block: 0, colormap: settings?.colormap ?? 'inferno', opacity: settings?.opacity ?? 0.6, smooth: false, order: 'sorted' };
}

const isColormap = (v: unknown): v is ColormapName => oneOf(colormapNames, v);

export function parseGatesSettings(raw: unknown): GatesPanelSettings | undefined {
  const o = asRecord(raw);
  return o && isColormap(o.colormap) && inUnit(o.opacity) ? { colormap: o.colormap, opacity: o.opacity } : undefined;
}

/** A state restored from vscode.getState(): every valid field kept, everything else from `base`. */
export function parseGatesUiState(raw: unknown, base: GatesUiState = defaultGatesState()): GatesUiState {
  const s: GatesUiState = { ...base };
  const o = asRecord(raw);
  if (!o) return s;
  if (typeof o.block === 'number' && Number.isInteger(o.block) && o.block >= 0) s.block = o.block;
  if (isColormap(o.colormap)) s.colormap = o.colormap;
  if (inUnit(o.opacity)) s.opacity = o.opacity;
  if (typeof o.smooth === 'boolean') s.smooth = o.smooth;
  if (o.order === 'sorted' || o.order === 'index') s.order = o.order;
  const seen = parseGatesSettings(o.settingsSeen);
  if (seen) s.settingsSeen = seen;
  if (typeof o.modelKey === 'string') s.modelKey = o.modelKey;
  if (typeof o.imagePath === 'string') s.imagePath = o.imagePath;
  return s;
}

/** Host settings win when they differ from the ones last applied (the user changed them in VS Code). */
export function applyGatesSettings(s: GatesUiState, settings: GatesPanelSettings): GatesUiState {
  const seen = s.settingsSeen;
  if (seen && seen.colormap === settings.colormap && seen.opacity === settings.opacity) return s;
  return { ...s, colormap: settings.colormap, opacity: settings.opacity, settingsSeen: { ...settings } };
}

/** Keeps the block of a re-run of the same model; another model starts at its first gate. */
export function fitGatesState(s: GatesUiState, r: GatesResult): GatesUiState {
  const modelKey = r.gates.map((g) => g.node).join('|');
  const block = modelKey === s.modelKey ? Math.min(s.block, r.gates.length - 1) : 0;
  return { ...s, block: Math.max(0, block), modelKey, imagePath: r.image.path };
}

/** Channel indices in display order: by weight, largest first (ties by index), or 0..C−1. */
export function channelOrder(values: ArrayLike<number>, order: ChannelOrder): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  return order === 'index' ? idx : idx.sort((a, b) => values[b] - values[a] || a - b);
}

export interface GateSummary {
  min: number;
  mean: number;
  max: number;
}

export function summarize(values: ArrayLike<number>): GateSummary {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return values.length ? { min, mean: sum / values.length, max } : { min: 0, mean: 0, max: 0 };
}

/** The last three parts of a torch.onnx node path, without the op's counter: "/model/layer1/se/Sigmoid_16" → "layer1/se/Sigmoid". */
export function shortNode(node: string): string {
  const parts = node.split('/').filter(Boolean);
  return parts.slice(-3).join('/').replace(/_\d+$/, '') || node;
}

/** What a gate weighs, in words: "16 channels of a 64×64 map" / "64×64 positions of 16 channels". */
export function gateScope(g: Gate): string {
  const [, c, h, w] = g.featureShape;
  return g.kind === 'channel' ? `${c} channels of ${h}×${w}` : `${h}×${w} positions of ${c} channels`;
}

/** The block selector's label: "2 · spatial · layer1/spatial/Sigmoid (64×64 positions of 16 channels)". */
export function blockLabel(g: Gate): string {
  return `${g.index + 1} · ${g.kind} · ${shortNode(g.node)} (${gateScope(g)})`;
}

export function gateExportName(r: GatesResult, g: Gate, ext: 'png' | 'json'): string {
  const stem = safeStem(r.image.path);
  const node = shortNode(g.node).replace(/[^\w.-]+/g, '-');
  // Cut the name, never the extension (the host only saves names that end with it).
  return `${`${stem}-gate${g.index + 1}-${g.kind}-${node}`.slice(0, 115)}.${ext}`;
}
