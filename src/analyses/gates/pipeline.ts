// The gates pipeline: decode → preprocess (the model's preprocessor_config.json, as for a ViT
// classifier) → run (gate and feature tensors tapped as extra outputs) → per gate: kind from the runtime
// shapes, its values, and for channel gates the activation maps of the most strongly kept channels;
// plus the predictions. Engine side (onnxruntime-node, sharp); never imported by the host or webview.
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { topK } from '../../maths/attention';
import type { Gate, GatesResult, TopChannels } from './types';
import { RunControl, StageTimer, noControl, inferenceFailed } from '../../core/pipeline/control';
import { decodeAndLoad } from '../../core/pipeline/decode';
import { VitLensError } from '../../shared/errors';
import { preprocess, viewImage } from '../../core/image/image';
import { LoadedGatesModel, classifyGate, noGateShapesError } from './gatesModel';

export interface GatesRequest {
  imagePath: string;
  modelPath: string;
  /** Predictions returned (default 5). */
  topK?: number;
  /** Activation maps returned per channel gate (default 6). */
  topChannels?: number;
  maxPixels?: number;
}

export const DEFAULT_TOP_CHANNELS = 6;

/** The parts of an onnxruntime output tensor we read (a plain object in tests). */
export interface TensorLike {
  readonly dims: readonly number[];
  readonly type: string;
  readonly data: unknown;
}

function float32Of(t: TensorLike, name: string): Float32Array {
  if (t.type !== 'float32')
    throw new VitLensError(
      'MODEL_BAD_OUTPUT',
      `gate tensor "${name}" has type ${t.type}; expected float32.`,
      'Export the model in float32.',
    );
  return t.data as Float32Array;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b] - values[a] || a - b)
    .slice(0, Math.max(0, k));
}

/** U[0, c, :, :] for the channels with the largest weights: U is [N, C, H, W]. */
export function topChannelMaps(weights: Float32Array, feature: Float32Array, featureShape: readonly number[], k: number): TopChannels {
  const [, , height, width] = featureShape;
  const plane = height * width;
  const channels = topIndices(weights, k);
  const maps = new Float32Array(channels.length * plane);
  channels.forEach((c, i) => maps.set(feature.subarray(c * plane, (c + 1) * plane), i * plane));
  return { channels, weights: channels.map((c) => weights[c]), height, width, maps };
}

/**
 * Gates from a run's outputs: each candidate classified by its runtime shapes (classifyGate); those
 * that are no channel or spatial gate are dropped. Values are copied (output buffers are not ours).
 * Throws MODEL_NO_GATES when no candidate is a gate.
 */
export function collectGates(
  model: Pick<LoadedGatesModel, 'candidates' | 'files'>,
  outputs: Record<string, TensorLike>,
  topChannels = DEFAULT_TOP_CHANNELS,
): Gate[] {
  const gates: Gate[] = [];
  const rejected: string[] = [];
  for (const c of model.candidates) {
    const g = outputs[c.gateTensor];
    const u = outputs[c.featureTensor];
    if (!g || !u) continue;
    const kind = classifyGate(g.dims, u.dims);
    if (!kind) {
      rejected.push(`${c.node}: [${g.dims.join(', ')}] × [${u.dims.join(', ')}]`);
      continue;
    }
    const featureShape = [...u.dims] as [number, number, number, number];
    // Batch 0 only: channel gates hold C values, spatial gates H·W (we always run batch 1).
    const perBatch = kind === 'channel' ? featureShape[1] : featureShape[2] * featureShape[3];
    const values = float32Of(g, c.gateTensor).slice(0, perBatch);
    gates.push({
      index: gates.length,
      node: c.node,
      op: c.op,
      kind,
      mulNode: c.mulNode,
      featureTensor: c.featureTensor,
      shape: [...g.dims],
      featureShape,
      values,
      topChannels: kind === 'channel' ? topChannelMaps(values, float32Of(u, c.featureTensor), featureShape, topChannels) : undefined,
    });
  }
  if (gates.length === 0) throw noGateShapesError(model, rejected);
  return gates;
}

/** Runs the model on one preprocessed image; returns every output (logits, gates, feature maps). */
async function inferGates(
  model: LoadedGatesModel,
  pixels: Float32Array,
  height: number,
  width: number,
): Promise<Record<string, ort.Tensor>> {
  try {
    return await model.session.run({ [model.inputName]: new ort.Tensor('float32', pixels, [1, 3, height, width]) });
  } catch (e) {
    throw inferenceFailed(path.basename(model.files.onnxPath), e);
  }
}

/** Runs the whole pipeline. `getModel` returns a cached LoadedGatesModel for a path. */
export async function runGatesPipeline(
  req: GatesRequest,
  getModel: (p: string) => Promise<LoadedGatesModel>,
  ctl: RunControl = noControl,
): Promise<GatesResult> {
  const timer = new StageTimer(['decode', 'modelLoad', 'preprocess', 'inference', 'analysis'] as const);
  const { img, model } = await decodeAndLoad(req, () => getModel(req.modelPath), ctl, timer);
  const pre = await preprocess(img, model.files.preprocessor, model.inputSize, !!model.fixedSize);
  timer.mark('preprocess');
  ctl.checkCancelled();

  ctl.progress('Running the model', 0.3);
  const outputs = await inferGates(model, pre.pixels, pre.height, pre.width);
  timer.mark('inference');
  ctl.checkCancelled();

  ctl.progress('Reading the gates', 0.85);
  const gates = collectGates(model, outputs, req.topChannels ?? DEFAULT_TOP_CHANNELS);
  const logits = model.logitsOutput ? outputs[model.logitsOutput] : undefined;
  const predictions =
    logits?.type === 'float32' ? topK(logits.data as Float32Array, req.topK ?? 5, model.files.config.id2label) : undefined;
  const view = await viewImage(img, pre.sourceRect);
  timer.mark('analysis');
  return {
    image: { path: req.imagePath, width: img.width, height: img.height },
    model: { path: model.files.onnxPath, name: model.files.name, inputSize: [pre.height, pre.width] },
    gates,
    predictions,
    timingsMs: timer.timings(),
    view,
  };
}
