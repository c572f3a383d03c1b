// The dense-prediction pipeline (DPT depth and segmentation): decode → preprocess (DPTImageProcessor
// semantics) → run (the dense output, the backbone's tapped Softmax outputs and the four neck levels in
// one session.run) → post-process (depth statistics and PyTorch-bicubic view; segmentation argmax of the
// bilinearly upsampled logits and class areas; PCA → RGB per neck level; the attention stacked as for
// ViTs). Stages are separate functions, timed, with progress and cancellation between them.
// Engine-side: imports onnxruntime-node and sharp (through image/), never vscode.
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { clampNonFinite, depthStats, resizeBicubic, segmentClasses, upsampledArgmax } from '../../maths/dense';
import type { AttentionTensor, ModelSummary, SpecialTokens, ViewImage } from '../../shared/attentionTypes';
import type { DenseResult, DenseTask, DepthMap, FeatureLevel, SegmentationMap } from './types';
import type { DensePanelResult } from './messages';
import { checkRowsAreProbabilities, stackAttention } from '../../core/pipeline/attentionOutputs';
import { RunControl, StageTimer, noControl, inferenceFailed } from '../../core/pipeline/control';
import { decodeAndLoad } from '../../core/pipeline/decode';
import { detectSpecialTokens, firstPatchIndex } from '../../core/pipeline/tokens';
import { VitLensError } from '../../shared/errors';
import { pcaRgbOrt } from './featurePca';
import { planDenseInput, preprocessDense } from '../../core/image/dptPreprocess';
import { recordShapes, runPlaced, type AttentionGuess } from '../../core/placedOutputs';
import { viewImage } from '../../core/image/image';
import type { Preprocessed } from '../../core/image/image';
import type { DenseGraph } from '../../core/model/dptModel';
import { neckLevelSizes, pickNeckByShape } from '../../core/model/dptModel';
import { modelDescription, type LoadedModel } from '../../core/model/vitModel';

export interface DenseRequest {
  imagePath: string;
  modelPath: string;
  task: DenseTask;
  maxPixels?: number;
}

/** Above this size the stacked [L,H,N,N] attention is left out (with a note): 1 GiB. */
export const ATTENTION_BUDGET_BYTES = 2 ** 30;

const TASK_OUTPUT: Record<DenseTask, string> = {
  depth: '`predicted_depth` [batch, height, width]',
  segmentation: '`logits` [batch, classes, height, width]',
};
const TASK_COMMAND: Record<DenseTask, string> = {
  depth: 'Run DPT Depth (vit-lens depth)',
  segmentation: 'Run DPT Segmentation (vit-lens segment)',
};

const dimsText = (d: readonly (number | string | null)[] | undefined) => (d ? `[${d.map((x) => x ?? '?').join(', ')}]` : '[?]');

/** What the model is, in words, for the wrong-task messages. */
function describeOutputs(model: LoadedModel): string {
  const outs = model.info.outputs.map((o) => `${o.name} ${dimsText(o.dims)}`).join(', ');
  if (model.dense?.depthOutput) return `a depth model (output ${model.dense.depthOutput})`;
  if (model.dense?.segmentationOutput) return `a segmentation model (output ${model.dense.segmentationOutput})`;
  if (model.logitsOutput) return `an image classifier (outputs: ${outs})`;
  return `not a dense-prediction model (outputs: ${outs})`;
}

/** The dense output for the task, or a MODEL_WRONG_TASK error that says what the model is instead. */
export function denseOutputFor(model: LoadedModel, task: DenseTask): { dense: DenseGraph; output: string } {
  const file = path.basename(model.files.onnxPath);
  const output = task === 'depth' ? model.dense?.depthOutput : model.dense?.segmentationOutput;
  if (model.dense && output) return { dense: model.dense, output };
  const other: DenseTask = task === 'depth' ? 'segmentation' : 'depth';
  const isOther = other === 'depth' ? model.dense?.depthOutput : model.dense?.segmentationOutput;
  throw new VitLensError(
    'MODEL_WRONG_TASK',
    `${file} is ${describeOutputs(model)}, not a ${task === 'depth' ? 'depth-estimation' : 'semantic-segmentation'} model: there is no ${TASK_OUTPUT[task]} output.`,
    isOther
      ? `Use ${TASK_COMMAND[other]} for this model.`
      : `Choose a DPT / Depth Anything ${task} export (e.g. DPTFor${task === 'depth' ? 'DepthEstimation' : 'SemanticSegmentation'} through torch.onnx or Optimum); for classifiers use Show Attention.`,
  );
}

/** Loads through the cache; a graph with neither attention nor a dense output is the wrong model, not a broken one. */
async function loadForTask(req: DenseRequest, getModel: (p: string) => Promise<LoadedModel>): Promise<LoadedModel> {
  try {
    return await getModel(req.modelPath);
  } catch (e) {
    // The loader only refuses attention-less graphs that have no dense output either.
    if (e instanceof VitLensError && (e.code === 'MODEL_NOT_VIT' || e.code === 'MODEL_FUSED_ATTENTION')) {
      throw new VitLensError(
        'MODEL_WRONG_TASK',
        `${path.basename(req.modelPath)} is not a ${req.task} model: it has no ${TASK_OUTPUT[req.task]} output and no transformer backbone (${e.message})`,
        'Choose a DPT / Depth Anything ONNX export.',
      );
    }
    throw e;
  }
}

// ---- fetches: what one run returns, and the buffers onnxruntime writes it into

/** What one run fetches: the dense output, the attention layers (unless over budget) and the neck levels. */
export interface FetchPlan {
  output: string;
  attention: string[];
  neck: string[];
  notes: string[];
}

export function planDenseFetches(
  model: LoadedModel,
  dense: DenseGraph,
  output: string,
  pre: Preprocessed,
  attentionBudgetBytes = ATTENTION_BUDGET_BYTES,
): FetchPlan {
  const notes: string[] = [];
  let attention = model.attentionOutputs;
  if (dense.attentionProblem) notes.push(`No backbone attention: ${dense.attentionProblem}`);
  // Estimate [L, H, N, N] before running: N from the grid (+ CLS and registers), H from config.json (else 16).
  const cfg = model.files.config;
  const tokens = Math.floor(pre.height / model.patchSize) * Math.floor(pre.width / model.patchSize) + 1 + (cfg.num_register_tokens ?? 0);
  const bytes = attention.length * (cfg.num_attention_heads ?? 16) * tokens * tokens * 4;
  if (bytes > attentionBudgetBytes) {
    notes.push(
      `The backbone attention is left out: ${attention.length} layers × ${cfg.num_attention_heads ?? '≈16'} heads × ${tokens}² tokens would take ${(bytes / 2 ** 20).toFixed(1)} MB (limit ${(attentionBudgetBytes / 2 ** 20).toFixed(1)} MB). A smaller input (fewer tokens) keeps it.`,
    );
    attention = [];
  }
  const neck =
    dense.neckSource === 'names' ? dense.neckOutputs : dense.neckSource === 'shape' ? (dense.neckChosen ?? dense.neckOutputs) : [];
  return { output, attention, neck, notes };
}

const fetchNames = (plan: FetchPlan) => [...new Set([plan.output, ...plan.attention, ...plan.neck])];

/**
 * The tapped attention's shape before the first run, from config.json (heads, registers) and the grid:
 * each tapped Softmax one layer [1, H, N, N]. None when config.json does not say the heads.
 */
export function attentionGuess(model: LoadedModel, plan: FetchPlan, pre: Preprocessed): AttentionGuess | undefined {
  const cfg = model.files.config;
  if (model.attentionSource !== 'tapped' || plan.attention.length === 0 || !Number.isInteger(cfg.num_attention_heads)) return undefined;
  const tokens = Math.floor(pre.height / model.patchSize) * Math.floor(pre.width / model.patchSize) + 1 + (cfg.num_register_tokens ?? 0);
  return { names: plan.attention, heads: cfg.num_attention_heads as number, tokens };
}

/**
 * Stage 3: one session.run fetching the dense output, the attention and the neck levels. onnxruntime
 * writes the attention layers into one [L, H, N, N] array, `attention` (see placedOutputs.ts): after
 * the first run on this input shape from the recorded shapes, on the first from `attentionGuess`.
 */
export async function runDenseModel(
  model: LoadedModel,
  plan: FetchPlan,
  pre: Preprocessed,
): Promise<{ outputs: Record<string, ort.Tensor>; attention?: AttentionTensor }> {
  try {
    return await runPlaced(
      model,
      new ort.Tensor('float32', pre.pixels, [1, 3, pre.height, pre.width]),
      fetchNames(plan),
      attentionGuess(model, plan, pre),
    );
  } catch (e) {
    throw inferenceFailed(
      `${path.basename(model.files.onnxPath)} with a ${pre.width}×${pre.height} input`,
      e,
      'The input size may not suit the model: check size / ensure_multiple_of in preprocessor_config.json.',
    );
  }
}

// ---- post-processing

/** A float tensor's values (float16 converted). */
function floatData(t: ort.Tensor, what: string): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const src = t.data as Uint16Array;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const h = src[i];
      const e = (h >> 10) & 0x1f;
      const f = h & 0x3ff;
      const mag = e === 0 ? 2 ** -14 * (f / 1024) : e === 31 ? (f ? NaN : Infinity) : 2 ** (e - 15) * (1 + f / 1024);
      out[i] = h & 0x8000 ? -mag : mag;
    }
    return out;
  }
  throw new VitLensError(
    'MODEL_BAD_OUTPUT',
    `${what} has element type ${t.type}; expected float32 or float16.`,
    'Export the model with float outputs.',
  );
}

/** Depth: `predicted_depth` [B,h,w], [B,1,h,w] or [h,w] → batch 0, statistics over finite values, bicubic view. */
export function depthFromOutput(t: ort.Tensor, name: string, view: { width: number; height: number }, notes: string[]): DepthMap {
  const d = t.dims;
  const ok = d.length === 2 || d.length === 3 || (d.length === 4 && d[1] === 1);
  if (!ok || d.some((x) => x < 1)) {
    throw new VitLensError(
      'MODEL_BAD_OUTPUT',
      `the depth output ${name} has shape [${d.join(', ')}]; expected [batch, height, width] (or [batch, 1, height, width]).`,
      'Export the depth model with its predicted_depth output as HF DPTForDepthEstimation does.',
    );
  }
  const [rawHeight, rawWidth] = d.slice(-2);
  const raw = floatData(t, name).slice(0, rawHeight * rawWidth); // batch 0, its own array
  const stats = depthStats(raw);
  if (stats.nonFinite === raw.length) {
    throw new VitLensError(
      'MODEL_BAD_OUTPUT',
      `the depth output ${name} is entirely NaN or infinite (${raw.length} values).`,
      'The model or its input is broken (e.g. float16 overflow); check the export with the reference runtime.',
    );
  }
  if (stats.nonFinite > 0) {
    notes.push(
      `${stats.nonFinite} of ${raw.length} depth values are NaN or infinite: statistics use the finite ones, and the view shows them at the nearest end of the range (NaN and −∞ as the minimum, +∞ as the maximum); the raw map keeps them.`,
    );
  }
  if (stats.max - stats.min <= Math.abs(stats.max) * 1e-6)
    notes.push(`The depth map is flat (every value ≈ ${stats.min.toPrecision(6)}): no relative depth to show.`);
  const source = stats.nonFinite > 0 ? clampNonFinite(raw, stats.min, stats.max) : raw;
  return {
    raw,
    rawHeight,
    rawWidth,
    view: resizeBicubic(source, rawHeight, rawWidth, view.height, view.width),
    min: stats.min,
    max: stats.max,
    p2: stats.p2,
    p98: stats.p98,
  };
}

/** Segmentation: `logits` [B,C,h,w] → labels at the view size (bilinear + argmax), classes by area. */
export function segmentationFromOutput(
  t: ort.Tensor,
  name: string,
  view: { width: number; height: number },
  id2label?: Record<string, string>,
): SegmentationMap {
  const d = t.dims;
  if (d.length !== 4 || d[1] < 2 || d[2] < 1 || d[3] < 1) {
    throw new VitLensError(
      'MODEL_BAD_OUTPUT',
      `the segmentation output ${name} has shape [${d.join(', ')}]; expected [batch, classes ≥ 2, height, width].`,
      'Export the segmentation model with its logits output as HF DPTForSemanticSegmentation does.',
    );
  }
  const [, numClasses, h, w] = d;
  const logits = floatData(t, name).subarray(0, numClasses * h * w);
  let bad = 0;
  for (let i = 0; i < logits.length; i++) if (!Number.isFinite(logits[i])) bad++;
  if (bad > 0) {
    throw new VitLensError(
      'MODEL_BAD_OUTPUT',
      `the segmentation logits ${name} contain ${bad} NaN or infinite values of ${logits.length}: no class can be trusted.`,
      'The model or its input is broken (e.g. float16 overflow); check the export with the reference runtime.',
    );
  }
  const labels = upsampledArgmax(logits, numClasses, h, w, view.height, view.width);
  return { labels, numClasses, rawHeight: h, rawWidth: w, classes: segmentClasses(labels, numClasses, id2label) };
}

/** The neck levels → PCA RGB images, finest first. Levels that are not [1,C,h,w] finite maps are skipped with a note. */
export async function featureLevels(
  outputs: Record<string, ort.Tensor>,
  names: string[],
  input: [number, number],
  outIndices: unknown,
  notes: string[],
  colours = true,
): Promise<FeatureLevel[]> {
  const levels: FeatureLevel[] = [];
  const layers =
    Array.isArray(outIndices) && outIndices.length === names.length && outIndices.every((i) => Number.isInteger(i))
      ? (outIndices as number[])
      : undefined;
  for (const [i, name] of names.entries()) {
    const t = outputs[name];
    if (!t || t.dims.length !== 4) {
      notes.push(`Neck level ${i + 1} (${name}) is not a [batch, channels, height, width] map: skipped.`);
      continue;
    }
    const [, channels, height, width] = t.dims;
    const data = floatData(t, name).subarray(0, channels * height * width);
    let finite = true;
    for (let k = 0; k < data.length && finite; k++) finite = data[k] - data[k] === 0; // not NaN / ±∞
    if (!finite) {
      notes.push(`Neck level ${i + 1} (${name}) contains NaN or infinite values: skipped.`);
      continue;
    }
    const stride = input[0] / height;
    const pca = await pcaRgbOrt(data, channels, height, width, { colours });
    const strideText = Number.isInteger(stride) ? String(stride) : stride.toFixed(1);
    levels.push({
      name: `reassemble 1/${strideText}${layers ? ` (layer ${layers[i] + 1})` : ''}`,
      stride,
      channels,
      height,
      width,
      rgb: pca.rgb,
      explained: pca.explained,
    });
  }
  return levels;
}

/** What a caller wants besides the map. */
export interface DenseOptions {
  attentionBudgetBytes?: number;
  /**
   * 'full' (default): the stacked [L, H, N, N] attention. 'shape' (`runDenseShapes`, what the CLI writes):
   * the neck levels without their PCA images (`rgb` empty), and the attention's shape only, learnt
   * from one tapped layer, so a caller that writes no attention (the CLI without --html) neither fetches
   * nor holds the other L − 1 layers (176 MB on DPT-B at 384²: onnxruntime's buffers, node's copies and our stack).
   */
  attention?: 'full' | 'shape';
  /**
   * Called as soon as the map (depth or classes) and the view are ready, before the neck's PCA and the
   * attention's checks: a DenseResult with `features` empty and no `attention` (timings so far). The
   * panel paints the map from it while the rest is computed.
   */
  onMap?: (first: DenseResult) => void | Promise<void>;
}

/** Post-processing in parts (the bench's breakdown): the view PNG (its wait), the map, the attention, the neck's PCA. */
export const densePostStages = ['view', 'map', 'attention', 'features'] as const;
export type DensePostStage = (typeof densePostStages)[number];

/** Runs the whole pipeline. `getModel` returns a cached LoadedModel for a path. */
export async function runDensePipeline(
  req: DenseRequest,
  getModel: (p: string) => Promise<LoadedModel>,
  ctl: RunControl = noControl,
  opts: Omit<DenseOptions, 'attention'> = {},
): Promise<DenseResult> {
  return (await denseRun(req, getModel, ctl, { ...opts, attention: 'full' })) as DenseResult;
}

/** The pipeline with the backbone attention's shape only (see DenseOptions.attention): what the CLI writes. */
export function runDenseShapes(
  req: DenseRequest,
  getModel: (p: string) => Promise<LoadedModel>,
  ctl: RunControl = noControl,
  opts: Omit<DenseOptions, 'attention'> = {},
): Promise<DensePanelResult> {
  return denseRun(req, getModel, ctl, { ...opts, attention: 'shape' });
}

async function denseRun(
  req: DenseRequest,
  getModel: (p: string) => Promise<LoadedModel>,
  ctl: RunControl,
  opts: DenseOptions,
): Promise<DenseResult | DensePanelResult> {
  if (req.task !== 'depth' && req.task !== 'segmentation')
    throw new VitLensError('BAD_REQUEST', `dense: task must be "depth" or "segmentation", not ${JSON.stringify(req.task)}`);
  const timer = new StageTimer(['decode', 'modelLoad', 'preprocess', 'inference', 'postprocess'] as const);
  const { img, model } = await decodeAndLoad(req, () => loadForTask(req, getModel), ctl, timer);
  const { dense, output } = denseOutputFor(model, req.task);

  const sizePlan = planDenseInput(img.height, img.width, model.files.preprocessor, model);
  const pre = await preprocessDense(img, model.files.preprocessor, sizePlan.size);
  const plan = planDenseFetches(model, dense, output, pre, opts.attentionBudgetBytes);
  const attentionLayers = plan.attention.length;
  // Shape only: one tapped Softmax is one layer, and every layer has the same [1, H, N, N].
  const shapeOnly = opts.attention === 'shape' && model.attentionSource === 'tapped' && attentionLayers > 1;
  if (shapeOnly) plan.attention = plan.attention.slice(-1);
  else if (model.tappedLastOnly && attentionLayers > 0)
    throw new VitLensError('INTERNAL', 'dense: a model loaded with its last attention layer tapped serves attention shapes only.');
  const notes = [...sizePlan.notes, ...plan.notes];
  timer.mark('preprocess');
  ctl.checkCancelled();

  // The view PNG needs only the decoded image: sharp encodes it on libuv's pool while the model runs.
  const viewPromise: Promise<ViewImage> = viewImage(img, [0, 0, img.width, img.height]);
  viewPromise.catch(() => {}); // awaited below; never an unhandled rejection if inference throws first
  ctl.progress('Running the model', 0.3);
  const { outputs, attention: placed } = await runDenseModel(model, plan, pre);
  timer.mark('inference');
  ctl.checkCancelled();

  ctl.progress(req.task === 'depth' ? 'Post-processing depth' : 'Post-processing segmentation', 0.8);
  const post = new StageTimer(densePostStages);
  const view = await viewPromise;
  post.mark('view');
  const result = outputs[output];
  if (!result) throw new VitLensError('MODEL_BAD_OUTPUT', `the model did not return its ${output} output.`);
  const depth = req.task === 'depth' ? depthFromOutput(result, output, view, notes) : undefined;
  const segmentation = req.task === 'segmentation' ? segmentationFromOutput(result, output, view, model.files.config.id2label) : undefined;
  post.mark('map');
  const grid: [number, number] = [Math.floor(pre.height / model.patchSize), Math.floor(pre.width / model.patchSize)];
  const summaryOf = (layers: number, heads: number, specialTokens: SpecialTokens): ModelSummary => ({
    path: model.files.onnxPath,
    name: model.files.name,
    inputSize: [pre.height, pre.width],
    patchSize: model.patchSize,
    numLayers: layers,
    numHeads: heads,
    specialTokens,
    attentionSource: model.attentionSource,
    ...modelDescription(model.files.config),
  });
  const cls: SpecialTokens = { cls: true, distillation: false, registers: 0 };
  if (opts.onMap) {
    // The map first: the backbone's size as planned (the final result has it as found).
    const heads = attentionLayers > 0 ? (model.files.config.num_attention_heads ?? 0) : 0;
    timer.mark('postprocess');
    // Awaited: a streamed map leaves the process before the PCA's synchronous loops hold the event loop.
    await opts.onMap({
      task: req.task,
      image: { path: req.imagePath, width: img.width, height: img.height },
      model: summaryOf(attentionLayers, heads, cls),
      depth,
      segmentation,
      features: [],
      grid,
      firstPatchToken: firstPatchIndex(cls),
      notes: [...notes],
      timingsMs: timer.timings(),
      view,
    });
  }

  // Attention: written in place by onnxruntime (recorded shapes, or the first run's guess), or stacked and validated from the outputs.
  let attention: AttentionTensor | undefined;
  if (plan.attention.length > 0) {
    if (placed) {
      checkRowsAreProbabilities(placed, 'the backbone attention');
      attention = placed;
    } else {
      try {
        attention = stackAttention(outputs, plan.attention);
      } catch (e) {
        if (!(e instanceof VitLensError) || e.code !== 'MODEL_NOT_VIT') throw e;
        notes.push(`No backbone attention: ${e.message}`);
      }
    }
  }
  let specialTokens: SpecialTokens = cls;
  if (attention) {
    try {
      specialTokens = detectSpecialTokens(attention.tokens, grid, model.files.config);
    } catch (e) {
      notes.push(`The attention is left out: ${(e as Error).message}`);
      attention = undefined;
    }
  }
  post.mark('attention');

  // Neck levels: after the first run of a shape-found neck, keep only the four chosen.
  let neckNames = plan.neck;
  const probing = dense.neckSource === 'shape' && !dense.neckChosen;
  if (probing) {
    const dims = new Map(plan.neck.filter((n) => outputs[n]).map((n) => [n, outputs[n].dims] as const));
    dense.neckChosen = pickNeckByShape(model.info.nodes, dims, grid) ?? [];
    neckNames = dense.neckChosen;
  }
  if (dense.neckSource === 'none' || neckNames.length === 0) {
    const [a, , , d] = neckLevelSizes(grid);
    notes.push(
      `No neck features found: the graph has no HF reassemble_stage / MiDaS act_postprocess nodes, and no convolution outputs at ${a[1]}×${a[0]} … ${d[1]}×${d[0]} (1/4 … 1/32 of the input) feeding the fusion.`,
    );
  }
  const features =
    neckNames.length > 0
      ? await featureLevels(
          outputs,
          neckNames,
          [pre.height, pre.width],
          model.files.config.backbone_out_indices,
          notes,
          opts.attention !== 'shape', // the CLI writes the levels' numbers, never their images
        )
      : [];
  if (!probing) recordShapes(model, [1, 3, pre.height, pre.width], fetchNames(plan), plan.attention, outputs, attention);
  post.mark('features');
  const postprocessMs = post.timings();
  timer.mark('postprocess');

  // Shape only: the one layer fetched stands for all; its array is dropped here.
  const shape =
    attention && shapeOnly ? { layers: attentionLayers * attention.layers, heads: attention.heads, tokens: attention.tokens } : undefined;
  const out: DenseResult | DensePanelResult = {
    task: req.task,
    image: { path: req.imagePath, width: img.width, height: img.height },
    model: summaryOf(shape?.layers ?? attention?.layers ?? 0, attention?.heads ?? 0, specialTokens),
    depth,
    segmentation,
    features,
    attention: shape ?? attention,
    grid,
    firstPatchToken: firstPatchIndex(specialTokens),
    notes,
    timingsMs: timer.timings(),
    postprocessMs,
    view,
  };
  return out;
}
