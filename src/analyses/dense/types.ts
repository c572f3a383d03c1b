// The data contract of a dense-prediction run (DPT depth or segmentation), shared by core (engine,
// CLI), host and webview. Type declarations only: imports nothing at runtime, emits no code.
// Tensors travel as typed arrays plus their shape, never as JSON number arrays.
import type { AttentionSlice, AttentionTensor, ImageRef, ModelSummary, RolloutSettings, ViewImage } from '../../shared/attentionTypes';
import type { DensePanelResult } from './messages';
import type { StageTimings } from '../../shared/timings';

export type DenseTask = 'depth' | 'segmentation';

/** Relative inverse depth (disparity): known only up to scale and shift; larger = nearer. */
export interface DepthMap {
  /** `predicted_depth` of batch 0 at the model's output resolution, [rawHeight, rawWidth] row-major. */
  raw: Float32Array;
  rawHeight: number;
  rawWidth: number;
  /** `raw` upsampled bicubically (as HF's Python post-processing) to the view image, [view.height, view.width]. */
  view: Float32Array;
  /** Range of `raw` (finite values only): min, max and the 2nd / 98th percentiles for robust normalisation. */
  min: number;
  max: number;
  p2: number;
  p98: number;
}

export interface SegmentClass {
  /** Class index in the model's logits (= ADE20K id for ADE20K models; 0 = wall). */
  id: number;
  /** From config.json id2label, else `class <id>`. */
  name: string;
  /** Palette colour indexed by class id. */
  color: [number, number, number];
  /** Share of the view image's pixels with this class, 0..1. */
  area: number;
}

export interface SegmentationMap {
  /** Class id per pixel of the view image, [view.height, view.width]: argmax of the bilinearly upsampled logits. */
  labels: Uint16Array;
  numClasses: number;
  /** Resolution [h, w] of the model's logits (before upsampling); set by the engine. */
  rawHeight?: number;
  rawWidth?: number;
  /** Classes present in `labels`, sorted by area, largest first. */
  classes: SegmentClass[];
}

/** One reassembled level of the DPT neck, shown as an image: the first three principal components → RGB. */
export interface FeatureLevel {
  /** e.g. "reassemble 1/4 (layer 2)". */
  name: string;
  /** Input pixels per feature pixel: 4, 8, 16 or 32. */
  stride: number;
  channels: number;
  height: number;
  width: number;
  /** [height, width, 3] bytes; empty from `denseShapes` (the CLI writes no feature images). */
  rgb: Uint8Array;
  /** Share of the variance explained by each of the three components. */
  explained: [number, number, number];
}

/** A dense run's stage timings. */
export type DenseTimings = StageTimings<'decode' | 'modelLoad' | 'preprocess' | 'inference' | 'postprocess'>;

/** Everything one DPT run produces. */
export interface DenseResult {
  task: DenseTask;
  image: ImageRef;
  /** The backbone as an attention model (attentionSource 'tapped' or 'outputs'); inputSize is what the model ran on. */
  model: ModelSummary;
  depth?: DepthMap;
  segmentation?: SegmentationMap;
  /** The four neck levels, finest first; empty when the graph's neck could not be found. */
  features: FeatureLevel[];
  /** The backbone's attention [L, H, N, N]; absent when the graph has none to tap (then `notes` says why). */
  attention?: AttentionTensor;
  /** Patch grid [rows, cols] of the backbone. */
  grid: [number, number];
  firstPatchToken: number;
  /** Things the user should know (e.g. "no neck features found: …"). */
  notes: string[];
  timingsMs: DenseTimings;
  /** The post-processing stage in parts (view wait, map, attention, neck PCA; `total` = the stage), ms. */
  postprocessMs?: StageTimings<'view' | 'map' | 'attention' | 'features'>;
  /** The whole oriented image (sourceRect covers it all: DPT keeps the aspect ratio, no crop). */
  view: ViewImage;
}

/** The dense analysis's engine requests. */
export interface DenseCalls {
  /** A DPT depth or segmentation run, with the backbone's attention and the neck's feature levels. */
  dense: {
    params: { imagePath: string; modelPath: string; task: DenseTask; maxPixels?: number };
    result: DenseResult;
  };
  /** `dense` for a panel: like attentionPanel, the backbone's attention (when any) stays in the engine. */
  densePanel: {
    params: DenseCalls['dense']['params'] & { rollout: RolloutSettings };
    /** Streams one DenseMapPartial (the map, ahead of the rest) before the result. */
    result: { result: DensePanelResult; slice?: AttentionSlice; attentionKey?: string };
  };
  /** `dense` with the backbone attention's shape only (one layer fetched to learn it): what the CLI writes without --html. */
  denseShapes: {
    params: DenseCalls['dense']['params'];
    result: DensePanelResult;
  };
}

/** densePanel's partial message: the map ready, before the neck's PCA and the attention (features empty, no attention). */
export interface DenseMapPartial {
  kind: 'map';
  result: Omit<DenseResult, 'attention'>;
}
