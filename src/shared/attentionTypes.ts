// The data contract of an attention run, shared by core (engine, CLI), host and webview.
// Type declarations only: this module imports nothing and emits no runtime code.
// Tensors travel as typed arrays plus their shape, never as JSON number arrays.
import type { StageTimings } from './timings';

/** Tokens that precede the patch tokens. Layout: [CLS?, distillation?, registers × R, patches row-major]. */
export interface SpecialTokens {
  cls: boolean;
  distillation: boolean;
  registers: number;
}

/** Where the attention probabilities came from: model outputs, Softmax nodes tapped in the graph, or the raw pixel baseline. */
export type AttentionSource = 'outputs' | 'tapped' | 'raw';

/** How rollout fuses the heads of one layer (vit-explain's options). */
export type HeadFusion = 'mean' | 'max' | 'min';

/** Post-softmax attention of every layer: `data` is [layers, heads, tokens, tokens], row-major; every row sums to 1. */
export interface AttentionTensor {
  layers: number;
  heads: number;
  tokens: number;
  data: Float32Array;
}

export interface ModelSummary {
  /** ONNX file, or null for raw attention (no model). */
  path: string | null;
  /** Short name for titles, e.g. the HF folder name. */
  name: string;
  /** [H, W] of the pixel tensor the model ran on. */
  inputSize: [number, number];
  patchSize: number;
  numLayers: number;
  numHeads: number;
  specialTokens: SpecialTokens;
  attentionSource: AttentionSource;
  /** config.json `vit_lens_description`: one line on what the model is (the demo models say what they were trained on). */
  description?: string;
}

export interface Prediction {
  index: number;
  label: string;
  probability: number;
}

/** ViT paper Fig. 7: mean attention distance (pixels, over patch tokens) and mean row entropy (nats). */
export interface HeadStat {
  layer: number;
  head: number;
  meanDistance: number;
  entropy: number;
}

/** An attention run's stage timings. */
export type Timings = StageTimings<'decode' | 'modelLoad' | 'preprocess' | 'inference' | 'analysis'>;

/** The image as the model saw it: the region of the original (after EXIF orientation) that maps onto the patch grid. */
export interface ViewImage {
  /** PNG bytes, RGB, at most 1024 px on the long side. */
  png: Uint8Array;
  width: number;
  height: number;
  /** The region of the oriented original image, in its pixels: [left, top, width, height]. */
  sourceRect: [number, number, number, number];
}

/** The image a result was computed on: its path and its oriented size in pixels. */
export interface ImageRef {
  path: string;
  width: number;
  height: number;
}

/** What a ViT result on one image starts with: the image, the model, the patch grid [rows, cols] = input size / patch size. */
export interface ImageRunHeader<M = ModelSummary> {
  image: ImageRef;
  model: M;
  grid: [number, number];
}

/** Everything one attention run produces. */
export interface AttentionResult extends ImageRunHeader {
  /** Index of the first patch token in `attention` (1 + distillation + registers). */
  firstPatchToken: number;
  /** The model's attention; for raw mode the raw baseline itself. */
  attention: AttentionTensor;
  /** Raw-attention baseline: 1 layer, 1 head, tokens = [mean-of-patches query, patches]; first patch token 1. */
  baseline: AttentionTensor;
  /** Omitted when the model has no logits. */
  predictions?: Prediction[];
  /** Every class's label (id2label, else "class i"), for the class picker; omitted without logits. */
  labels?: string[];
  headStats: HeadStat[];
  timingsMs: Timings;
  view: ViewImage;
}

/** The shape of an attention tensor without its data. */
export interface AttentionShape {
  layers: number;
  heads: number;
  tokens: number;
}

/**
 * A result as the panel receives it: everything but the full [L, H, N, N] tensor (22 MB on ViT-B,
 * 500 MB on ViT-L/384), which stays in the extension host. The panel shows one query at a time, so it
 * asks for that query's AttentionSlice instead. An AttentionResult is a PanelResult (the report
 * embeds the full tensor and slices it locally).
 */
export type PanelResult = Omit<AttentionResult, 'attention'> & { attention: AttentionShape };

/** Rollout settings a slice was computed with. */
export interface RolloutSettings {
  fusion: HeadFusion;
  discardRatio: number;
  startLayer: number;
}

/** What the panel needs to paint one query: its row in every layer and head, and its rollout row. */
export interface AttentionSlice {
  /** Query token (0 = CLS or the first special token). */
  query: number;
  /** Row `query` of every layer and head: [layers, heads, tokens], each row sums to 1. */
  rows: Float32Array;
  /** R[query, patches] for these settings (length gh·gw), not rescaled. */
  rollout: RolloutSettings & { map: Float32Array };
}
