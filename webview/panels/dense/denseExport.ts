// What the DPT panel's export buttons write besides pixels: file names (the host accepts
// /^[\w.\- ]{1,120}$/ ending in the format's extension) and the JSON of the numbers — the field names of
// `vit-lens depth|segment --json` (sizes, value range, classes with their area share, feature levels,
// timings) plus what the panel shows (display mapping, 16-bit scale, attention shape). Pure: no DOM.
import { denseExportExtension, type DenseExportFormat, type DensePanelResult } from '../../../src/analyses/dense/messages';
import { safeStem } from '../../shell/state';
import type { DenseUiState } from './denseState';
import type { DisplayRange } from './depthDisplay';

export function denseExportName(r: DensePanelResult, st: Pick<DenseUiState, 'view'>, format: DenseExportFormat): string {
  const stem = safeStem(r.image.path);
  const what = format === 'png16' ? 'depth16' : format === 'npy' ? 'depth-raw' : format === 'json' ? r.task
    : `${r.task}-${st.view === 'side' ? 'map' : st.view}`;
  return `${stem.slice(0, 100)}-${what}.${denseExportExtension[format]}`;
}

export interface DenseJson {
  tool: 'ViT Lens';
  task: DensePanelResult['task'];
  image: DensePanelResult['image'];
  model: { path: string | null; name: string; inputSize: [number, number]; patchSize: number; numLayers: number; numHeads: number; attentionSource: string };
  /** [height, width] of the image the maps are drawn on (the panel's view image). */
  viewSize: [number, number];
  grid: [number, number];
  depth?: {
    /** [height, width] of `predicted_depth` (the .npy export). */
    outputSize: [number, number];
    min: number;
    max: number;
    p2: number;
    p98: number;
    /** How the panel maps values to colours right now. */
    display: { normalization: string; lo: number; hi: number; invert: boolean; colormap: string; flat: boolean };
    /** The 16-bit PNG export holds round((v − min)/(max − min)·65535) of the view-size map. */
    png16: { min: number; max: number };
  };
  segmentation?: {
    /** [height, width] of the logits, when the engine reports it. */
    outputSize: [number, number] | null;
    numClasses: number;
    classes: { id: number; name: string; color: [number, number, number]; area: number }[];
  };
  /** size: [height, width]. */
  features: { name: string; stride: number; channels: number; size: [number, number]; explained: [number, number, number] }[];
  attention: { layers: number; heads: number; tokens: number; firstPatchToken: number } | null;
  notes: string[];
  timingsMs: DensePanelResult['timingsMs'];
}

export function buildDenseJson(r: DensePanelResult, st: DenseUiState, range: DisplayRange | null, png16Range: { min: number; max: number } | null): DenseJson {
  const out: DenseJson = {
    tool: 'ViT Lens',
    task: r.task,
    image: { ...r.image },
    model: {
      path: r.model.path, name: r.model.name, inputSize: r.model.inputSize, patchSize: r.model.patchSize,
      numLayers: r.model.numLayers, numHeads: r.model.numHeads, attentionSource: r.model.attentionSource,
    },
    viewSize: [r.view.height, r.view.width],
    grid: r.grid,
    features: r.features.map((f) => ({ name: f.name, stride: f.stride, channels: f.channels, size: [f.height, f.width], explained: f.explained })),
    attention: r.attention ? { layers: r.attention.layers, heads: r.attention.heads, tokens: r.attention.tokens, firstPatchToken: r.firstPatchToken } : null,
    notes: [...r.notes],
    timingsMs: { ...r.timingsMs },
  };
  if (r.depth) {
    const d = r.depth;
    out.depth = {
      outputSize: [d.rawHeight, d.rawWidth],
      min: d.min,
      max: d.max,
      p2: d.p2,
      p98: d.p98,
      display: {
        normalization: range?.used ?? st.normalization, lo: range?.lo ?? NaN, hi: range?.hi ?? NaN,
        invert: st.invert, colormap: st.depthColormap, flat: range?.flat ?? false,
      },
      png16: png16Range ?? { min: d.min, max: d.max },
    };
  }
  if (r.segmentation) {
    const s = r.segmentation;
    out.segmentation = {
      outputSize: s.rawHeight !== undefined && s.rawWidth !== undefined ? [s.rawHeight, s.rawWidth] : null,
      numClasses: s.numClasses,
      classes: s.classes.map((c) => ({ id: c.id, name: c.name, color: c.color, area: c.area })) };
  }
  return out;
}

/** JSON text with non-finite numbers written as null (JSON has no NaN). */
export function denseJsonText(j: DenseJson): string {
  return JSON.stringify(j, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}
