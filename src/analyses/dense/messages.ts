// Messages between the extension host and the DPT panel (depth / segmentation webview), and the settings
// the panel starts from. Shared by src/host and webview/panels/dense. Types plus one validator; its only runtime
// imports are the shared protocol's and the explain messages' field checks, which import nothing heavy, so both
// the host and the webview bundle can include it. Must not import vscode, Node or DOM code.
import type { AttentionShape, AttentionSlice, HeadFusion } from '../../shared/attentionTypes';
import type { DenseResult, DenseTask } from './types';
import { parseExplainMessage, type ExplainHostMessage, type ExplainWebviewMessage } from '../explain/messages';
import type {
  ColormapName,
  BasicHostMessage,
  BasicWebviewMessage,
  CommonHostMessage,
  CommonWebviewMessage,
  ExportMessage,
} from '../../shared/panelProtocol';
import { isIndex, parseExport, parseNeedSlice, parsePanelMessage } from '../../shared/panelProtocol';

/** Depth colormaps: inferno (MiDaS), Spectral_r (Depth Anything), turbo, gray. */
export const depthColormapNames = ['inferno', 'Spectral_r', 'turbo', 'gray'] as const;
export type DepthColormapName = (typeof depthColormapNames)[number];

/** How depth values become colours: robust 2nd–98th percentiles, or the full min–max range. */
export const depthNormalizations = ['percentile', 'minmax'] as const;
export type DepthNormalization = (typeof depthNormalizations)[number];

/** The panel's views of the result: image and map side by side, map over the image, a swipe divider, 3D relief (depth only). */
export const denseViewIds = ['side', 'overlay', 'swipe', 'relief'] as const;
export type DenseViewId = (typeof denseViewIds)[number];

export const denseExportFormats = ['png', 'png16', 'npy', 'json'] as const;
/** png: colour image of the current view; png16: 16-bit grayscale depth; npy: depth.raw (float32, C order); json: the numbers. */
export type DenseExportFormat = (typeof denseExportFormats)[number];
/** The file extension of each export format (the suggested name must end with it). */
export const denseExportExtension: Record<DenseExportFormat, 'png' | 'npy' | 'json'> = {
  png: 'png',
  png16: 'png',
  npy: 'npy',
  json: 'json',
};

/** User settings the panel starts from (the host reads them from the `vitLens.*` configuration). */
export interface DensePanelSettings {
  depthColormap: DepthColormapName;
  normalization: DepthNormalization;
  /** Opacity 0..1 of the depth / class map over the image (overlay view). */
  opacity: number;
  /** The backbone-attention section: the attention panel's colormap, rollout head fusion and discard ratio (0 ≤ r < 1). */
  attentionColormap: ColormapName;
  fusion: HeadFusion;
  discardRatio: number;
}

/**
 * A DenseResult as the panel receives it. The backbone's [L, H, N, N] attention (511 MB on DPT-Large at
 * 384²) may stay in the host: then `attention` is its shape only, the `result` message carries the first
 * query's slice, and the panel asks for others with `needSlice` (as the attention panel does). A full
 * DenseResult is a DensePanelResult too: with the tensor's data present the panel slices it locally
 * (the standalone page, or small models).
 */
export type DensePanelResult = Omit<DenseResult, 'attention'> & { attention?: AttentionShape & { data?: Float32Array } };

/** Host → webview. */
export type DenseHostMessage =
  /**
   * A finished run: render everything (its notes are shown as they are). `resultId` tags the slices of
   * this result; `slice` (query 0 = CLS, with the settings' rollout) is required when `result.attention`
   * has no data, and ignored otherwise.
   */
  | {
      type: 'result';
      resultId: number;
      result: DensePanelResult;
      settings: DensePanelSettings;
      slice?: AttentionSlice;
      /**
       * The map first: `result` has the depth / class map, the view and the timings so far, no features and no
       * attention; the whole result follows as a second `result` with the same `resultId`, and the page
       * then adds the neck levels and the attention beside the map it painted.
       */
      partial?: boolean;
    }
  /** "Why this depth" (src/analyses/explain/messages.ts). */
  | ExplainHostMessage
  /** The messages every panel has (src/shared/panelProtocol.ts). */
  | BasicHostMessage
  | Extract<CommonHostMessage, { type: 'slice' }>;

/** Webview → host. */
export type DenseWebviewMessage =
  /** A result's map is on screen (`at`: Date.now() then), before its feature levels and attention when they follow. */
  | { type: 'painted'; task: DenseTask; view: DenseViewId; at: number }
  /** Everything of a result is painted: which task and view, how many legend classes (segmentation) and feature levels. */
  | { type: 'rendered'; task: DenseTask; view: DenseViewId; classes?: number; features: number }
  /** Save a file the panel produced; the host asks where and answers with `exported`. */
  | ExportMessage<DenseExportFormat>
  | ExplainWebviewMessage
  /** The messages every panel has (src/shared/panelProtocol.ts). */
  | BasicWebviewMessage
  | Extract<CommonWebviewMessage, { type: 'needSlice' }>;

const oneOf = <T extends string>(list: readonly T[], v: unknown): v is T =>
  typeof v === 'string' && (list as readonly string[]).includes(v);

/** Returns the message if it is a well-formed DenseWebviewMessage, else undefined. Never trust a webview. */
export const parseDenseWebviewMessage = (m: unknown): DenseWebviewMessage | undefined =>
  parsePanelMessage<DenseWebviewMessage>(m, {
    explain: (o) => parseExplainMessage(o) ?? undefined,
    cancelExplain: (o) => parseExplainMessage(o) ?? undefined,
    rendered: (o) => {
      if (!oneOf<DenseTask>(['depth', 'segmentation'], o.task) || !oneOf(denseViewIds, o.view) || !isIndex(o.features)) return undefined;
      if (o.classes !== undefined && !isIndex(o.classes)) return undefined;
      const out: DenseWebviewMessage = { type: 'rendered', task: o.task, view: o.view, features: o.features };
      if (o.classes !== undefined) out.classes = o.classes as number;
      return out;
    },
    painted: (o) => {
      if (!oneOf<DenseTask>(['depth', 'segmentation'], o.task) || !oneOf(denseViewIds, o.view)) return undefined;
      return typeof o.at === 'number' && Number.isFinite(o.at) ? { type: 'painted', task: o.task, view: o.view, at: o.at } : undefined;
    },
    export: (o) => parseExport(o, denseExportFormats, (f) => denseExportExtension[f]),
    needSlice: parseNeedSlice,
  });
