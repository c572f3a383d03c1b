// The data contract of "Inside the ViT": the model's anatomy (patch-embedding filters, position
// embeddings), its tokens (residual-stream norms, high-norm outliers, registers, attention received)
// and its patch features (PCA, foreground cut). Shared by the engine, the CLI, the host and the
// webview. Type declarations only. Tensors travel as typed arrays plus their shape.
import type { ErrorInfo } from '../../shared/errors';
import type { ImageRunHeader, Prediction, SpecialTokens, ViewImage } from '../../shared/attentionTypes';
import type { NormOutlier } from '../../maths/inside';

export interface InsideModelSummary {
  path: string;
  /** Short name for titles, e.g. the HF folder name. */
  name: string;
  /** [H, W] of the pixel tensor the model runs on. */
  inputSize: [number, number];
  patchSize: number;
}

/** The patch-embedding convolution's filters W [D, 3, p, p] and their principal components. */
export interface PatchEmbeddingAnatomy {
  /** The Conv weight's initializer name. */
  weight: string;
  /** [D, 3, p, p]. */
  shape: [number, number, number, number];
  /** The first k (≤ 28) unit principal components of the D filters (rows, mean-centred), each 3·p·p values in W's [3, p, p] order: [k·3·p·p]. */
  components: Float32Array;
  count: number;
  /** Each component's share of the filters' total variance (k values, descending). */
  explainedVarianceRatio: number[];
}

/** The learned position table and the cosine similarity of its patch positions. */
export interface PositionEmbeddingAnatomy {
  /** The table's initializer name and stored shape (e.g. [1, 197, 768]). */
  table: string;
  shape: number[];
  /** Rows of the table before the patch positions (CLS, distillation). */
  leading: number;
  /** The grid the table stores [gh, gw]. */
  grid: [number, number];
  /** The grid the model runs on at its input size; differs from `grid` when the table is interpolated at run time (DINOv2). */
  runtimeGrid: [number, number];
  /** cos(pᵢ, pⱼ) over patch positions, [P·P] row-major (P = gh·gw). */
  similarity: Float32Array;
}

/** A part of a result that the model cannot have, and why (the panel shows the message in its place). */
export interface Unavailable {
  unavailable: ErrorInfo;
}

export interface AnatomyResult {
  model: InsideModelSummary;
  patchEmbedding: PatchEmbeddingAnatomy | Unavailable;
  positionEmbedding: PositionEmbeddingAnatomy | Unavailable;
  /** Initializer bytes read (only the two tensors above). */
  bytesRead: number;
}

export interface TokenLayout {
  /** N, the sequence length. */
  count: number;
  cls: boolean;
  registers: number;
  distillation: boolean;
  /** Index of the first patch token. */
  firstPatch: number;
}

export interface TokensResult extends ImageRunHeader<InsideModelSummary> {
  tokens: TokenLayout;
  specialTokens: SpecialTokens;
  /** Blocks L (norms has L + 1 rows). */
  blocks: number;
  /** ‖x_l[t]‖₂, [L + 1][N]: row 0 after the embeddings, row l after block l. */
  norms: Float32Array[];
  /** High-norm patch tokens of the later blocks (rows ≥ outliersFrom). */
  outliers: NormOutlier[];
  outliersFrom: number;
  /** received[l][t], [L][N]: mean over heads and queries of the attention to token t in block l; or why there is none. */
  attentionReceived: Float32Array[] | Unavailable;
  /** The CLS row of every layer's head-mean attention [L][N] (for the "exclude artifacts" map), when there is attention and a CLS token. */
  clsAttention?: Float32Array[];
  /** Rollout R[CLS, patches] (mean fusion; Abnar & Zuidema 2020), and with the flagged patches and registers excluded as keys; not rescaled. */
  rollout?: { map: Float32Array; excluded: Float32Array; excludedTokens: number[] };
  predictions?: Prediction[];
  view: ViewImage;
  timingsMs: Record<string, number>;
}

export interface FeatureImage {
  path: string;
  width: number;
  height: number;
  /** Scores of the first three components on this image's patches: [3][gh·gw] (sign of component 1: border = background). */
  components: Float32Array[];
  /** 1 = foreground, [gh·gw]. */
  foreground: Uint8Array;
  view: ViewImage;
}

export interface FeaturesResult {
  model: InsideModelSummary;
  /** 0 = after the embeddings, l = after block l. */
  layer: number;
  blocks: number;
  grid: [number, number];
  /** Shares of the total variance of the patch features (3 values). */
  explainedVarianceRatio: number[];
  images: FeatureImage[];
  timingsMs: Record<string, number>;
}

/** The smallest box holding τ of a map's mass, and the model's predictions on the image cropped to it. */
export interface HardAttentionResult {
  tau: number;
  /** Which map the box was taken from (e.g. "rollout"). */
  map: string;
  /** The share of the map's mass inside the box (≥ τ). */
  mass: number;
  /** Box in the original image's pixels [x0, y0, x1, y1] (x1, y1 exclusive). */
  box: [number, number, number, number];
  /** The box on the patch grid [r0, c0, r1, c1] (inclusive). */
  gridBox: [number, number, number, number];
  predictions: Prediction[];
}

/** The inside analysis's engine requests. */
export interface InsideCalls {
  /** Patch-embedding filters and position-embedding similarity, from the initializers only (no image). */
  insideAnatomy: { params: { modelPath: string }; result: AnatomyResult };
  /** One run: residual-stream norms, outliers, attention received. */
  insideTokens: { params: { imagePath: string; modelPath: string; maxPixels?: number; topK?: number }; result: TokensResult };
  /** PCA of the patch features at one layer, jointly over the images. `layer` −1: the last block. */
  insideFeatures: { params: { imagePaths: string[]; modelPath: string; layer: number; maxPixels?: number }; result: FeaturesResult };
  /** Crop the image to the smallest box holding τ of `map` ([gh·gw] on the model's grid) and classify the crop. */
  insideHardAttention: {
    params: { imagePath: string; modelPath: string; map: number[]; mapName: string; tau: number; topK?: number; maxPixels?: number };
    result: HardAttentionResult;
  };
}
