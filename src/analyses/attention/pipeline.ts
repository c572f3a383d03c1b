// The attention pipeline: decode → preprocess → run → analyse. Each stage is a separate function so it
// can be tested alone; runAttentionPipeline strings them together with timings, progress and
// cancellation checks between stages (onnxruntime's run itself cannot be interrupted).
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { classLabels, topK } from '../../maths/attention';
import type { AttentionResult, AttentionTensor, ViewImage } from '../../shared/attentionTypes';
import { PreprocessorConfig, preprocess, viewImage } from '../../core/image/image';
import { modelDescription, type LoadedModel } from '../../core/model/vitModel';
import { checkRowsAreProbabilities, stackAttention, toFloat32 } from '../../core/pipeline/attentionOutputs';
import { RunControl, StageTimer, noControl, inferenceFailed } from '../../core/pipeline/control';
import { decodeAndLoad } from '../../core/pipeline/decode';
import { detectSpecialTokens, firstPatchIndex } from '../../core/pipeline/tokens';
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

/** Raw-attention settings when no model is given: HF ViT defaults. */
export const RAW_DEFAULTS = {
  inputSize: [224, 224] as [number, number],
  patchSize: 16,
  preprocessor: { size: { height: 224, width: 224 }, resample: 2 } as PreprocessorConfig,
};

/** Stage 3 fetches: the logits (if any) and the attention outputs. */
const fetchNames = (model: LoadedModel) => [...new Set([...(model.logitsOutput ? [model.logitsOutput] : []), ...model.attentionOutputs])];

/**
 * Stage 3: run the model. From the second run on an input shape, onnxruntime writes the attention
 * straight into one [L, H, N, N] array (`attention`, new or recycled, see placedOutputs.ts).
 */
export async function inferenceStage(
  model: LoadedModel,
  pixels: Float32Array,
  height: number,
  width: number,
): Promise<{ outputs: Record<string, ort.Tensor>; attention?: AttentionTensor }> {
  try {
    return await runPlaced(model, new ort.Tensor('float32', pixels, [1, 3, height, width]), fetchNames(model));
  } catch (e) {
    throw inferenceFailed(path.basename(model.files.onnxPath), e);
  }
}

/**
 * Stage 4a: the attention tensor ([L, H, N, N], an array no other result holds, rows checked) and the logits of a run.
 * After an unplaced run, records the output shapes so the next run on this shape is placed.
 */
export function collectOutputs(
  model: LoadedModel,
  run: { outputs: Record<string, ort.Tensor>; attention?: AttentionTensor },
  inputDims: readonly number[],
): { attention: AttentionTensor; logits?: Float32Array } {
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

/** A run's result before the raw baseline and the head statistics (`headStats` empty): what the first map needs. */
export type FirstMapResult = Omit<AttentionResult, 'baseline'>;

/** A run without the raw baseline and the view PNG (`extras: false`): what the CLI's JSON writes. */
export type LeanAttentionResult = Omit<AttentionResult, 'baseline' | 'view'>;

export interface AttentionOptions {
  /**
   * The first map: called after inference with the checked attention and the predictions, before the
   * raw baseline and the head statistics; awaited (a streamed map leaves the process before the
   * statistics' synchronous loops hold the event loop).
   */
  onFirstMap?: (first: FirstMapResult) => void | Promise<void>;
  /**
   * false: no raw baseline (a second onnxruntime run) and no view PNG (sharp), for a caller that writes
   * neither (the CLI's JSON); with `onFirstMap` not allowed (the first map shows the view).
   */
  extras?: boolean;
}

/** Runs the whole pipeline. `getModel` returns a cached LoadedModel for a path. */
export function runAttentionPipeline(
  req: AttentionRequest,
  getModel: (p: string) => Promise<LoadedModel>,
  ctl: RunControl,
  opts: AttentionOptions & { extras: false; onFirstMap?: undefined },
): Promise<LeanAttentionResult>;
export function runAttentionPipeline(
  req: AttentionRequest,
  getModel: (p: string) => Promise<LoadedModel>,
  ctl?: RunControl,
  opts?: AttentionOptions & { extras?: true },
): Promise<AttentionResult>;
export async function runAttentionPipeline(
  req: AttentionRequest,
  getModel: (p: string) => Promise<LoadedModel>,
  ctl: RunControl = noControl,
  opts: AttentionOptions = {},
): Promise<AttentionResult | LeanAttentionResult> {
  const extras = opts.extras !== false;
  const timer = new StageTimer(['decode', 'modelLoad', 'preprocess', 'inference', 'analysis'] as const);
  const modelPath = req.modelPath;
  const { img, model } = await decodeAndLoad(
    req,
    async () => (modelPath ? getModel(modelPath) : undefined),
    ctl,
    timer,
    modelPath ? 'Loading model' : 'Preparing raw attention',
  );
  const size = model?.inputSize ?? RAW_DEFAULTS.inputSize;
  const patchSize = model?.patchSize ?? RAW_DEFAULTS.patchSize;
  const pre = await preprocess(img, model ? model.files.preprocessor : RAW_DEFAULTS.preprocessor, size, model ? !!model.fixedSize : true);
  timer.mark('preprocess');
  ctl.checkCancelled();

  // The view PNG (sharp, on libuv's pool) while this thread checks the attention: the first map needs
  // it. After inference, not during it: on 2 cores they would only compete.
  const startView = () => {
    if (!extras) return undefined;
    const p = viewImage(img, pre.sourceRect);
    p.catch(() => {}); // awaited below; never an unhandled rejection if a later stage throws first
    return p;
  };
  let viewPromise: Promise<ViewImage> | undefined;
  let attention: AttentionTensor;
  let logits: Float32Array | undefined;
  if (model) {
    ctl.progress('Running the model', 0.3);
    const run = await inferenceStage(model, pre.pixels, pre.height, pre.width);
    timer.mark('inference');
    ctl.checkCancelled();
    viewPromise = startView();
    ctl.progress('Analysing attention', 0.85);
    ({ attention, logits } = collectOutputs(model, run, [1, 3, pre.height, pre.width]));
  } else {
    viewPromise = startView();
    attention = await rawAttentionOrt(pre.pixels, 3, pre.height, pre.width, patchSize);
  }
  const grid: [number, number] = [Math.floor(pre.height / patchSize), Math.floor(pre.width / patchSize)];
  const specialTokens = model
    ? detectSpecialTokens(attention.tokens, grid, model.files.config)
    : { cls: true, distillation: false, registers: 0 };
  const firstPatch = firstPatchIndex(specialTokens);
  const predictions = logits ? topK(logits, req.topK ?? 5, model?.files.config.id2label) : undefined;
  const summary = {
    path: model?.files.onnxPath ?? null,
    name: model?.files.name ?? 'raw attention',
    inputSize: [pre.height, pre.width] as [number, number],
    patchSize,
    numLayers: attention.layers,
    numHeads: attention.heads,
    specialTokens,
    attentionSource: model?.attentionSource ?? ('raw' as const),
    ...modelDescription(model?.files.config),
  };
  const labels = logits ? { labels: classLabels(logits.length, model?.files.config.id2label) } : {};
  // What the first map and the whole result share.
  const run = {
    image: { path: req.imagePath, width: img.width, height: img.height },
    model: summary,
    grid,
    firstPatchToken: firstPatch,
    attention,
    predictions,
    ...labels,
  };
  if (opts.onFirstMap && viewPromise) {
    const view = await viewPromise;
    timer.mark('analysis');
    await opts.onFirstMap({ ...run, headStats: [], timingsMs: timer.timings(), view });
    ctl.checkCancelled(); // cancelled while the map was on its way: no statistics for a run nobody waits for
  }
  // The raw baseline (onnxruntime) runs on worker threads while this thread computes the head statistics;
  // after the first map, which does not need it.
  const baselinePromise = !extras
    ? undefined
    : model
      ? rawAttentionOrt(pre.pixels, 3, pre.height, pre.width, patchSize)
      : Promise.resolve(attention);
  baselinePromise?.catch(() => {}); // awaited below, as the view
  const headStats = headStatisticsWasm(attention, grid, patchSize, firstPatch);
  const [baseline, view] = await Promise.all([baselinePromise, viewPromise]);
  timer.mark('analysis');
  const lean: LeanAttentionResult = { ...run, headStats, timingsMs: timer.timings() };
  return baseline && view ? { ...lean, baseline, view } : lean;
}
