// The attention pipeline: decode → preprocess → run → analyse. Each stage is a separate function so it
// can be tested alone; runAttentionPipeline strings them together with timings, progress and
// cancellation checks between stages (onnxruntime's run itself cannot be interrupted).
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { topK } from '../../maths/attention';
import type { AttentionResult, AttentionTensor, SpecialTokens } from '../../shared/attentionTypes';
import { VitLensError } from '../../shared/errors';
import { DecodedImage, PreprocessorConfig, decodeImage, preprocess, readImageFile, viewImage } from '../../core/image/image';
import type { HfConfig, LoadedModel } from '../../core/model/vitModel';
import { recordShapes, runPlaced } from '../../core/placedOutputs';
import { rawAttentionOrt } from './rawAttentionGraph';
import { headStatisticsWasm } from './wasm/headStatsWasm';

export interface AttentionRequest {
  imagePath: string;
  /** null: raw attention only. */
  modelPath: string | null;
  topK?: number;
  maxPixels?: number;
}

/** Stage hooks: progress reports and cooperative cancellation (throw CANCELLED between stages). */
export interface RunControl {
  progress(stage: string, fraction: number): void;
  checkCancelled(): void;
}

export const noControl: RunControl = { progress: () => {}, checkCancelled: () => {} };

/** Raw-attention settings when no model is given: HF ViT defaults. */
export const RAW_DEFAULTS = { inputSize: [224, 224] as [number, number], patchSize: 16, preprocessor: { size: { height: 224, width: 224 }, resample: 2 } as PreprocessorConfig };

/** Layout of the first tokens, from the token count and the grid; config.json settles ambiguous cases. */
export function detectSpecialTokens(numTokens: number, grid: [number, number], config: HfConfig): SpecialTokens {
  const extra = numTokens - grid[0] * grid[1];
  if (extra < 0) throw new VitLensError('MODEL_NOT_VIT', `attention has ${numTokens} tokens but the ${grid[0]}×${grid[1]} patch grid needs ${grid[0] * grid[1]}.`, 'Set patch_size in config.json next to the model.');
  if (extra === 0) return { cls: false, distillation: false, registers: 0 };
  const declaredRegisters = typeof config.num_register_tokens === 'number' ? config.num_register_tokens : undefined;
  if (declaredRegisters !== undefined && declaredRegisters === extra - 1) return { cls: true, distillation: false, registers: declaredRegisters };
  if (extra === 2 && declaredRegisters === undefined) return { cls: true, distillation: true, registers: 0 };
  if (config.model_type === 'deit' && extra >= 2) return { cls: true, distillation: true, registers: extra - 2 };
  return { cls: true, distillation: false, registers: extra - 1 };
}

/** Index of the first patch token. */
export function firstPatchIndex(t: SpecialTokens): number {
  return (t.cls ? 1 : 0) + (t.distillation ? 1 : 0) + t.registers;
}

function toFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const src = t.data as Uint16Array;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
    return out;
  }
  throw new VitLensError('MODEL_BAD_OUTPUT', `attention output has type ${t.type}; expected float32 or float16.`);
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Stacks per-layer attention outputs into one [L, H, N, N] tensor (batch 0). Accepts [B,H,N,N] per
 * layer, [H,N,N] (batch folded), or one stacked [L,B,H,N,N]. Tapped Softmax outputs that are not square
 * attention (e.g. a classifier's softmax) are skipped.
 */
export function stackAttention(outputs: Record<string, ort.Tensor>, names: string[]): AttentionTensor {
  const layers: Float32Array[] = [];
  let heads = 0;
  let tokens = 0;
  const take = (data: Float32Array, h: number, n: number) => {
    if (tokens === 0) { heads = h; tokens = n; }
    if (h === heads && n === tokens) layers.push(data.subarray(0, h * n * n));
  };
  for (const name of names) {
    const t = outputs[name];
    if (!t) continue;
    const d = t.dims;
    const n = d[d.length - 1];
    if (d.length < 3 || d[d.length - 2] !== n) continue;
    const data = toFloat32(t);
    if (d.length === 3) take(data, d[0], n);
    else if (d.length === 4) take(data, d[1], n);
    else if (d.length === 5) {
      const stride = d[1] * d[2] * n * n; // [L, B, H, N, N]: batch 0 of each layer
      for (let l = 0; l < d[0]; l++) take(data.subarray(l * stride, l * stride + d[2] * n * n), d[2], n);
    }
  }
  if (layers.length === 0) {
    throw new VitLensError('MODEL_NOT_VIT', `none of the model's ${names.length} Softmax/attention outputs has the shape of self-attention [batch, heads, tokens, tokens].`,
      'ViT Lens needs a vision transformer; this graph\'s softmaxes are elsewhere (e.g. only in a classifier).');
  }
  const data = new Float32Array(layers.length * heads * tokens * tokens);
  layers.forEach((layer, l) => data.set(layer, l * heads * tokens * tokens));
  const t: AttentionTensor = { layers: layers.length, heads, tokens, data };
  checkRowsAreProbabilities(t);
  return t;
}

/**
 * A sample of rows must be non-negative and sum to 1: otherwise these are not probabilities.
 * `what` names the tensor in messages (e.g. "the backbone attention").
 */
export function checkRowsAreProbabilities(t: AttentionTensor, what = 'attention'): void {
  const n = t.tokens;
  const rows = t.layers * t.heads * n;
  for (let r = 0; r < rows; r += Math.max(1, Math.floor(rows / 64))) {
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const v = t.data[r * n + j];
      if (!(v >= 0)) throw new VitLensError('MODEL_BAD_OUTPUT', `${what} contains ${Number.isNaN(v) ? 'NaN' : 'negative values'}.`, 'The model or its input is broken; check the export.');
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) throw new VitLensError('MODEL_BAD_OUTPUT', `a row of ${what} sums to ${sum.toFixed(4)}, not 1: these outputs are not attention probabilities.`, 'Export post-softmax attention (output_attentions=True); if this is a real attention output, the model or its input is broken.');
  }
}

/** Stage 1: read and decode. */
export async function decodeStage(req: AttentionRequest): Promise<DecodedImage> {
  return decodeImage(await readImageFile(req.imagePath), path.basename(req.imagePath), req.maxPixels);
}

/** Stage 3 fetches: the logits (if any) and the attention outputs. */
const fetchNames = (model: LoadedModel) => [...new Set([...(model.logitsOutput ? [model.logitsOutput] : []), ...model.attentionOutputs])];

/**
 * Stage 3: run the model. From the second run on an input shape, onnxruntime writes the attention
 * straight into one [L, H, N, N] array (`attention`, new or recycled, see placedOutputs.ts).
 */
export async function inferenceStage(model: LoadedModel, pixels: Float32Array, height: number, width: number): Promise<{ outputs: Record<string, ort.Tensor>; attention?: AttentionTensor }> {
  try {
    return await runPlaced(model, new ort.Tensor('float32', pixels, [1, 3, height, width]), fetchNames(model));
  } catch (e) {
    throw new VitLensError('INFERENCE_FAILED', `onnxruntime failed on ${path.basename(model.files.onnxPath)}: ${(e as Error).message.split('\n')[0]}`, 'The input size may not match the model; check preprocessor_config.json.');
  }
}

/**
 * Stage 4a: the attention tensor ([L, H, N, N], an array no other result holds, rows checked) and the logits of a run.
 * After an unplaced run, records the output shapes so the next run on this shape is placed.
 */
export function collectOutputs(model: LoadedModel, run: { outputs: Record<string, ort.Tensor>; attention?: AttentionTensor }, inputDims: readonly number[]): { attention: AttentionTensor; logits?: Float32Array } {
  let attention = run.attention;
  if (attention) checkRowsAreProbabilities(attention);
  else {
    attention = stackAttention(run.outputs, model.attentionOutputs);
    recordShapes(model, inputDims, fetchNames(model), model.attentionOutputs, run.outputs, attention);
  }
  const logitsTensor = model.logitsOutput ? run.outputs[model.logitsOutput] : undefined;
  const logits = logitsTensor ? toFloat32(logitsTensor).slice() : undefined;
  return { attention, logits };
}

/** Runs the whole pipeline. `getModel` returns a cached LoadedModel for a path. */
export async function runAttentionPipeline(req: AttentionRequest, getModel: (p: string) => Promise<LoadedModel>, ctl: RunControl = noControl): Promise<AttentionResult> {
  const t0 = performance.now();
  ctl.progress('Loading image', 0.05);
  const img = await decodeStage(req);
  const tDecode = performance.now();
  ctl.checkCancelled();

  ctl.progress(req.modelPath ? 'Loading model' : 'Preparing raw attention', 0.15);
  const model = req.modelPath ? await getModel(req.modelPath) : undefined;
  ctl.checkCancelled();
  const tLoad = performance.now();
  const size = model?.inputSize ?? RAW_DEFAULTS.inputSize;
  const patchSize = model?.patchSize ?? RAW_DEFAULTS.patchSize;
  const pre = await preprocess(img, model ? model.files.preprocessor : RAW_DEFAULTS.preprocessor, size, model ? !!model.fixedSize : true);
  const tPre = performance.now();
  ctl.checkCancelled();

  let attention: AttentionTensor;
  let logits: Float32Array | undefined;
  let tInfer = tPre;
  if (model) {
    ctl.progress('Running the model', 0.3);
    const run = await inferenceStage(model, pre.pixels, pre.height, pre.width);
    tInfer = performance.now();
    ctl.checkCancelled();
    ctl.progress('Analysing attention', 0.85);
    ({ attention, logits } = collectOutputs(model, run, [1, 3, pre.height, pre.width]));
  } else {
    attention = await rawAttentionOrt(pre.pixels, 3, pre.height, pre.width, patchSize);
  }
  const grid: [number, number] = [Math.floor(pre.height / patchSize), Math.floor(pre.width / patchSize)];
  const specialTokens = model ? detectSpecialTokens(attention.tokens, grid, model.files.config) : { cls: true, distillation: false, registers: 0 };
  const firstPatch = firstPatchIndex(specialTokens);
  // The raw baseline (onnxruntime) and the view PNG (sharp) run on worker threads while this thread
  // computes the head statistics. After inference, not during it: on 2 cores they would only compete.
  const pending = Promise.all([model ? rawAttentionOrt(pre.pixels, 3, pre.height, pre.width, patchSize) : attention, viewImage(img, pre.sourceRect)]);
  pending.catch(() => {}); // awaited below; never an unhandled rejection if the statistics throw first
  const headStats = headStatisticsWasm(attention, grid, patchSize, firstPatch);
  const predictions = logits ? topK(logits, req.topK ?? 5, model?.files.config.id2label) : undefined;
  const [baseline, view] = await pending;
  const tEnd = performance.now();
  return {
    image: { path: req.imagePath, width: img.width, height: img.height },
    model: {
      path: model?.files.onnxPath ?? null,
      name: model?.files.name ?? 'raw attention',
      inputSize: [pre.height, pre.width],
      patchSize,
      numLayers: attention.layers,
      numHeads: attention.heads,
      specialTokens,
      attentionSource: model?.attentionSource ?? 'raw',
    },
    grid,
    firstPatchToken: firstPatch,
    attention,
    baseline,
    predictions,
    headStats,
    timingsMs: {
      decode: tDecode - t0,
      modelLoad: tLoad - tDecode,
      preprocess: tPre - tLoad,
      inference: tInfer - tPre,
      analysis: tEnd - tInfer,
      total: tEnd - t0,
    },
    view,
  };
}
