// The data contract of a gates run (SE-Net / CBAM channel and spatial gates of a CNN), shared by core
// (engine, CLI), host and webview. Type declarations only: imports nothing at runtime, emits no code.
// Tensors travel as typed arrays plus their shape, never as JSON number arrays.
import type { ImageRef, Prediction, Timings, ViewImage } from '../../shared/attentionTypes';

/**
 * channel: one weight per channel of the gated feature map U [N, C, H, W] (SE, CBAM's channel half),
 * a gate tensor of shape [N, C, 1, 1] or [N, C]. spatial: one weight per position, [N, 1, H, W] (CBAM's spatial half).
 */
export type GateKind = 'channel' | 'spatial';

/** The op that computes the gate: σ(x), or MobileNetV3's max(0, min(1, αx + β)). */
export type GateOp = 'Sigmoid' | 'HardSigmoid';

/** The channels of U with the largest gate weights, as activation maps. */
export interface TopChannels {
  /** Channel indices, largest weight first. */
  channels: number[];
  /** Their gate weights (same order). */
  weights: number[];
  /** Map size: U's [H, W]. */
  height: number;
  width: number;
  /** U[0, channels[k], :, :] for each k: [channels.length, height, width], row-major; raw values (not gated, not rescaled). */
  maps: Float32Array;
}

export interface Gate {
  /** Position in depth (topological) order, 0-based. */
  index: number;
  /** The Sigmoid/HardSigmoid node's name (its output tensor's name when the node has none). */
  node: string;
  op: GateOp;
  kind: GateKind;
  /** The Mul node that applies the gate. */
  mulNode: string;
  /** Name of the gated feature map U (the Mul's other input). */
  featureTensor: string;
  /** Runtime shape of the gate tensor, e.g. [1, 64, 1, 1], [1, 64] or [1, 1, 56, 56]. */
  shape: number[];
  /** Runtime shape of U, [N, C, H, W]. */
  featureShape: [number, number, number, number];
  /** All values of the gate tensor (batch 1): C weights for a channel gate, H·W row-major for a spatial one. */
  values: Float32Array;
  /** Channel gates only. */
  topChannels?: TopChannels;
}

export interface GatesModelSummary {
  path: string;
  /** Short name for titles, e.g. the HF folder name. */
  name: string;
  /** [H, W] of the pixel tensor the model ran on. */
  inputSize: [number, number];
}

/** A gates run's stage timings (the same stages as an attention run). */
export type GatesTimings = Timings;

/** Everything one gates run produces. */
export interface GatesResult {
  image: ImageRef;
  model: GatesModelSummary;
  /** In depth order; never empty (a model without gates is an error, MODEL_NO_GATES). */
  gates: Gate[];
  /** Omitted when the model has no logits. */
  predictions?: Prediction[];
  timingsMs: GatesTimings;
  /** The image as the model saw it; spatial gates cover it. */
  view: ViewImage;
}

/** Which pipeline a model needs, from its graph alone (the engine's `modelKind` call). */
export interface ModelKindInfo {
  /** vit: self-attention (Softmax feeding a MatMul, attention outputs, or fused attention); gates: SE/CBAM gates; none: neither. */
  kind: 'vit' | 'gates' | 'none';
  /** The .onnx file the path resolved to. */
  onnxPath: string;
  /** Where the self-attention is, when there is some. */
  attention: 'outputs' | 'softmax' | 'fused' | null;
  /** Sigmoid/HardSigmoid nodes that multiply another tensor (gate candidates; shapes are checked when the model runs). */
  gateCandidates: number;
  /** For kind 'none': the message to show (what ViT Lens can show). */
  message?: string;
}

/** The gates analysis's engine requests. */
export interface GatesCalls {
  /** SE-Net / CBAM channel and spatial gates of a CNN on one image (MODEL_NO_GATES when it has none). */
  gates: {
    params: { imagePath: string; modelPath: string; topK?: number; topChannels?: number; maxPixels?: number };
    result: GatesResult;
  };
  /** Which pipeline a model needs, from its graph alone: 'vit' (attention), 'gates' (SE/CBAM) or 'none' (with the message to show). */
  modelKind: { params: { modelPath: string }; result: ModelKindInfo };
}
