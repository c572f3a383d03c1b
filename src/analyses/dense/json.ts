// The JSON contract of a dense run (`vit-lens depth|segment --json`, and the DPT panel's Save JSON): one
// builder for both. Sizes, the depth value range, the classes with their area share, the neck's feature
// levels, notes and timings. The panel's document is the same with what the panel shows besides: how it
// maps depth to colours right now (`depth.display`, `depth.png16`), the backbone attention's shape and the
// model's name (`panel`). Pure: runs in Node and in the webview.
import { round7, round7All } from '../../shared/jsonNumbers';
import type { DensePanelResult } from './messages';
import { modelJson } from '../attention/json';

/** How the panel maps depth values to colours (the panel's Save JSON only). */
export interface DenseDisplay {
  display: { normalization: string; lo: number; hi: number; invert: boolean; colormap: string; flat: boolean };
  /** The 16-bit PNG export holds round((v − min)/(max − min)·65535) of the view-size map. */
  png16: { min: number; max: number };
}

export interface DenseJson {
  task: DensePanelResult['task'];
  image: DensePanelResult['image'];
  /** attentionSource is null when the backbone's attention could not be tapped. */
  model: {
    path: string | null;
    inputSize: [number, number];
    patchSize: number;
    numLayers: number;
    numHeads: number;
    attentionSource: string | null;
  };
  grid: [number, number];
  /** [height, width] of the image the maps are drawn on (the panel's view image). */
  viewSize: [number, number];
  /** outputSize: [height, width] of `predicted_depth` (the .npy export). */
  depth?: { outputSize: [number, number]; min: number; max: number; p2: number; p98: number } & Partial<DenseDisplay>;
  segmentation?: {
    /** [height, width] of the logits, when the engine reports it. */
    outputSize: [number, number] | null;
    numClasses: number;
    classes: { id: number; name: string; color: [number, number, number]; area: number }[];
  };
  /** size: [height, width]. */
  features: { name: string; stride: number; channels: number; size: [number, number]; explained: number[] }[];
  notes: string[];
  timingsMs: DensePanelResult['timingsMs'];
  /** The panel's Save JSON only. */
  panel?: {
    tool: 'ViT Lens';
    modelName: string;
    attention: { layers: number; heads: number; tokens: number; firstPatchToken: number } | null;
  };
}

export function denseJson(r: DensePanelResult, panel?: DenseDisplay): DenseJson {
  const d = r.depth;
  const s = r.segmentation;
  return {
    task: r.task,
    image: { ...r.image },
    model: {
      ...modelJson(r.model),
      attentionSource: r.attention ? r.model.attentionSource : null,
    },
    grid: r.grid,
    viewSize: [r.view.height, r.view.width],
    ...(d
      ? {
          depth: {
            outputSize: [d.rawHeight, d.rawWidth],
            min: round7(d.min),
            max: round7(d.max),
            p2: round7(d.p2),
            p98: round7(d.p98),
            ...(panel ?? {}),
          },
        }
      : {}),
    ...(s
      ? {
          segmentation: {
            outputSize: s.rawHeight !== undefined && s.rawWidth !== undefined ? [s.rawHeight, s.rawWidth] : null,
            numClasses: s.numClasses,
            classes: s.classes.map((c) => ({ id: c.id, name: c.name, color: c.color, area: round7(c.area) })),
          },
        }
      : {}),
    features: r.features.map((f) => ({
      name: f.name,
      stride: f.stride,
      channels: f.channels,
      size: [f.height, f.width],
      explained: round7All(f.explained),
    })),
    notes: [...r.notes],
    timingsMs: { ...r.timingsMs },
    ...(panel
      ? ({
          panel: {
            tool: 'ViT Lens',
            modelName: r.model.name,
            attention: r.attention
              ? { layers: r.attention.layers, heads: r.attention.heads, tokens: r.attention.tokens, firstPatchToken: r.firstPatchToken }
              : null,
          },
        } as const)
      : {}),
  };
}

/** JSON text with non-finite numbers written as null (JSON has no NaN). */
export function denseJsonText(j: DenseJson): string {
  return JSON.stringify(j, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}
