// The inside pipelines: decode → preprocess → one run with the residual stream and the attention tapped →
// tokens (norms, outliers, attention received) or features (PCA of the patch tokens at one layer, jointly
// over several images, and the foreground cut); and hard attention (crop to the box that holds τ of a
// map's mass, classify the crop). The maths is in src/maths/inside.ts; the analyses of a run's tensors
// (analyseTokens, analyseFeatures) take plain arrays so tests can feed them directly. Engine side.
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import {
  attentionReceived,
  excludeKeys,
  foregroundCut,
  highNormOutliers,
  lateLayersFrom,
  pca,
  smallestMassBox,
  tokenNorms,
} from '../../maths/inside';
import { rolloutMap, topK } from '../../maths/attention';
import { VitLensError, toErrorInfo } from '../../shared/errors';
import type { AttentionTensor, SpecialTokens } from '../../shared/attentionTypes';
import { DecodedImage, Preprocessed, preprocess, viewImage } from '../../core/image/image';
import { stackAttention, toFloat32 } from '../../core/pipeline/attentionOutputs';
import { RunControl, StageTimer, noControl, inferenceFailed } from '../../core/pipeline/control';
import { decodeAndLoad, decodeStage } from '../../core/pipeline/decode';
import { detectSpecialTokens, firstPatchIndex } from '../../core/pipeline/tokens';
import type { HfConfig } from '../../core/model/vitModel';
import type { InsideModel } from './insideModel';
import type { FeaturesResult, HardAttentionResult, InsideCalls, InsideModelSummary, TokensResult, Unavailable } from './types';

const summary = (m: InsideModel, pre: { height: number; width: number }): InsideModelSummary => ({
  path: m.files.onnxPath,
  name: m.files.name,
  inputSize: [pre.height, pre.width],
  patchSize: m.patchSize,
});

/** The stream tensors, or the model's reason for having none. */
function streamOf(model: InsideModel): string[] {
  if (model.stream instanceof VitLensError) throw model.stream;
  return model.stream;
}

/** One run fetching `names` (plus the logits when asked). */
async function runModel(
  model: InsideModel,
  pre: Pick<Preprocessed, 'pixels' | 'height' | 'width'>,
  names: string[],
): Promise<Record<string, ort.Tensor>> {
  const fetches = [...new Set(names)];
  try {
    return await model.session.run({ [model.inputName]: new ort.Tensor('float32', pre.pixels, [1, 3, pre.height, pre.width]) }, fetches);
  } catch (e) {
    throw inferenceFailed(path.basename(model.files.onnxPath), e);
  }
}

/** A residual-stream output as [N, D] of batch 0: accepts [1, N, D] (or [N, D]). */
export function streamMatrix(
  t: { dims: readonly number[]; data: Float32Array },
  name: string,
): { data: Float32Array; tokens: number; dim: number } {
  const d = t.dims;
  if (!(d.length === 3 && d[0] === 1) && d.length !== 2)
    throw new VitLensError(
      'MODEL_BAD_OUTPUT',
      `the residual stream ${name} has shape [${d.join(', ')}]; expected [1, tokens, dim].`,
      'Export the model with batch 1 and tokens before channels (the Hugging Face layout).',
    );
  const [tokens, dim] = d.length === 3 ? [d[1], d[2]] : [d[0], d[1]];
  return { data: t.data.subarray(0, tokens * dim), tokens, dim };
}

export interface TokenAnalysis {
  norms: Float32Array[];
  outliers: TokensResult['outliers'];
  outliersFrom: number;
  attentionReceived: Float32Array[] | Unavailable;
  clsAttention?: Float32Array[];
  rollout?: TokensResult['rollout'];
}

/**
 * Norms [L+1][N] of the stream tensors (each [N·D]), the high-norm outliers of the later blocks, and
 * the attention each token receives ([L, H, N, N] attention, or why there is none).
 */
export function analyseTokens(
  streams: Float32Array[],
  tokens: number,
  dim: number,
  firstPatch: number,
  attention: AttentionTensor | VitLensError,
  hasCls: boolean,
  registers = 0,
): TokenAnalysis {
  const norms = streams.map((x) => Float32Array.from(tokenNorms(x, tokens, dim)));
  const blocks = streams.length - 1;
  const outliersFrom = lateLayersFrom(blocks);
  const outliers = highNormOutliers(norms, firstPatch, outliersFrom);
  if (attention instanceof VitLensError)
    return { norms, outliers, outliersFrom, attentionReceived: { unavailable: toErrorInfo(attention) } };
  if (attention.tokens !== tokens)
    throw new VitLensError(
      'MODEL_BAD_OUTPUT',
      `the attention has ${attention.tokens} tokens but the residual stream ${tokens}.`,
      'The tapped Softmax nodes are not the encoder self-attention of this model.',
    );
  const received = attentionReceived(attention.data, attention.layers, attention.heads, tokens).map((r) => Float32Array.from(r));
  let clsAttention: Float32Array[] | undefined;
  if (hasCls) {
    // Head-mean row of the CLS query per layer: (1/H) Σ_h A_l[h][0, :].
    clsAttention = [];
    for (let l = 0; l < attention.layers; l++) {
      const row = new Float32Array(tokens);
      for (let h = 0; h < attention.heads; h++) {
        const base = (l * attention.heads + h) * tokens * tokens;
        for (let t = 0; t < tokens; t++) row[t] += attention.data[base + t] / attention.heads;
      }
      clsAttention.push(row);
    }
  }
  // Rollout of the CLS row (mean fusion, no discard), and the same with the flagged patches and the
  // registers taken out as keys (excludeKeys): the map without the artefacts.
  let rollout: TokensResult['rollout'];
  if (hasCls) {
    const excluded = [...new Set(outliers.map((o) => o.token))];
    excluded.push(...registerIndices(firstPatch, registers));
    const opts = { fusion: 'mean' as const, discardRatio: 0 };
    rollout = {
      map: rolloutMap(attention, firstPatch, opts),
      excluded: rolloutMap(
        { ...attention, data: excludeKeys(attention.data, attention.layers, attention.heads, tokens, excluded) },
        firstPatch,
        opts,
      ),
      excludedTokens: excluded.sort((a, b) => a - b),
    };
  }
  return { norms, outliers, outliersFrom, attentionReceived: received, clsAttention, rollout };
}

/** The registers' token indices: the `registers` tokens right before the first patch. */
export const registerIndices = (firstPatch: number, registers: number): number[] =>
  Array.from({ length: registers }, (_, i) => firstPatch - registers + i);

function layoutOf(tokens: number, grid: [number, number], config: HfConfig): { special: SpecialTokens; firstPatch: number } {
  const special = detectSpecialTokens(tokens, grid, config);
  return { special, firstPatch: firstPatchIndex(special) };
}

/**
 * One run on preprocessed pixels and its token analysis: stream norms, outliers, attention received.
 * `afterRun` is called between the run and the analysis (timing, cancellation).
 */
export async function tokenRun(
  model: InsideModel,
  pre: Pick<Preprocessed, 'pixels' | 'height' | 'width'>,
  afterRun: () => void = () => {},
) {
  const stream = streamOf(model);
  const attentionNames = Array.isArray(model.attention) ? model.attention : [];
  const outputs = await runModel(model, pre, [...stream, ...attentionNames, ...(model.logitsOutput ? [model.logitsOutput] : [])]);
  afterRun();
  const mats = stream.map((n) => streamMatrix({ dims: outputs[n].dims, data: toFloat32(outputs[n]) }, n));
  const { tokens, dim } = mats[0];
  if (mats.some((m) => m.tokens !== tokens || m.dim !== dim))
    throw new VitLensError(
      'MODEL_BAD_OUTPUT',
      'the residual stream changes shape between blocks.',
      'ViT Lens reads plain ViT encoders (no token pooling or merging).',
    );
  const grid: [number, number] = [Math.floor(pre.height / model.patchSize), Math.floor(pre.width / model.patchSize)];
  const { special, firstPatch } = layoutOf(tokens, grid, model.files.config);
  const attention = model.attention instanceof VitLensError ? model.attention : stackAttention(outputs, attentionNames);
  const analysis = analyseTokens(
    mats.map((m) => m.data),
    tokens,
    dim,
    firstPatch,
    attention,
    special.cls,
    special.registers,
  );
  return { outputs, grid, special, firstPatch, tokens, dim, analysis };
}

/** The patch tokens [P·D] of one run at stream row `layer`, with the grid and width. */
export async function patchFeatures(model: InsideModel, pre: Pick<Preprocessed, 'pixels' | 'height' | 'width'>, layer: number) {
  const stream = streamOf(model);
  const name = stream[layer];
  const outputs = await runModel(model, pre, [name]);
  const m = streamMatrix({ dims: outputs[name].dims, data: toFloat32(outputs[name]) }, name);
  const grid: [number, number] = [Math.floor(pre.height / model.patchSize), Math.floor(pre.width / model.patchSize)];
  const { firstPatch } = layoutOf(m.tokens, grid, model.files.config);
  return { patches: m.data.slice(firstPatch * m.dim, (firstPatch + grid[0] * grid[1]) * m.dim), dim: m.dim, grid };
}

export async function runTokensPipeline(
  req: InsideCalls['insideTokens']['params'],
  getModel: (p: string) => Promise<InsideModel>,
  ctl: RunControl = noControl,
): Promise<TokensResult> {
  const timer = new StageTimer(['decode', 'modelLoad', 'preprocess', 'inference', 'analysis'] as const);
  const { img, model } = await decodeAndLoad(req, () => getModel(req.modelPath), ctl, timer);
  const stream = streamOf(model);
  const pre = await preprocess(img, model.files.preprocessor, model.inputSize, !!model.fixedSize);
  timer.mark('preprocess');
  ctl.checkCancelled();
  ctl.progress('Running the model', 0.3);
  const run = await tokenRun(model, pre, () => {
    timer.mark('inference');
    ctl.checkCancelled();
    ctl.progress('Measuring the tokens', 0.85);
  });
  const { outputs, grid, special, firstPatch, tokens, analysis } = run;
  const logits = model.logitsOutput ? outputs[model.logitsOutput] : undefined;
  const view = await viewImage(img, pre.sourceRect);
  timer.mark('analysis');
  return {
    image: { path: req.imagePath, width: img.width, height: img.height },
    model: summary(model, pre),
    grid,
    tokens: { count: tokens, cls: special.cls, registers: special.registers, distillation: special.distillation, firstPatch },
    specialTokens: special,
    blocks: stream.length - 1,
    ...analysis,
    predictions: logits ? topK(toFloat32(logits), req.topK ?? 5, model.files.config.id2label) : undefined,
    view,
    timingsMs: timer.timings(),
  };
}

/** Resolves a requested layer (−1: the last block) to a stream row, or says what the model has. */
export function featureLayer(layer: number, blocks: number): number {
  const l = layer < 0 ? blocks + 1 + layer : layer;
  if (!Number.isInteger(layer) || l < 0 || l > blocks)
    throw new VitLensError(
      'BAD_REQUEST',
      `layer ${layer} does not exist: this model has ${blocks} blocks (layers 0 = after the embeddings … ${blocks} = after the last block; −1 = the last).`,
      `Choose a layer from 0 to ${blocks}.`,
    );
  return l;
}

/**
 * Joint PCA of the patch tokens of several images at one layer: `patches` holds each image's [P·D]
 * (P = gh·gw patch tokens, row-major), stacked; the rows are mean-centred over all images' patches
 * (Oquab et al. 2023, DINOv2, Fig. 1: "PCA computed between the patches of the images"). Returns the
 * explained variance ratios of the first three components and, per image, the three score maps (sign
 * of the first so the border is background) and the foreground cut.
 */
export function analyseFeatures(
  patches: Float32Array[],
  dim: number,
  grid: [number, number],
): { explainedVarianceRatio: number[]; images: { components: Float32Array[]; foreground: Uint8Array }[] } {
  const P = grid[0] * grid[1];
  const all = new Float32Array(patches.length * P * dim);
  patches.forEach((p, i) => all.set(p.subarray(0, P * dim), i * P * dim));
  const out = pca(all, patches.length * P, dim, 3);
  const { sign, masks } = foregroundCut(out.scores[0] ?? new Float64Array(patches.length * P), grid[0], grid[1], patches.length);
  const images = patches.map((_, i) => ({
    components: out.scores.map((s, k) => Float32Array.from(s.subarray(i * P, (i + 1) * P), (v) => (k === 0 ? sign * v : v))),
    foreground: masks[i],
  }));
  return { explainedVarianceRatio: out.explainedVarianceRatio, images };
}

export async function runFeaturesPipeline(
  req: InsideCalls['insideFeatures']['params'],
  getModel: (p: string) => Promise<InsideModel>,
  ctl: RunControl = noControl,
): Promise<FeaturesResult> {
  if (!Array.isArray(req.imagePaths) || req.imagePaths.length === 0 || req.imagePaths.some((p) => typeof p !== 'string'))
    throw new VitLensError('BAD_REQUEST', 'insideFeatures: imagePaths must be a non-empty list of image paths');
  const timer = new StageTimer(['decode', 'modelLoad', 'preprocess', 'inference', 'analysis'] as const);
  const model = await getModel(req.modelPath);
  timer.mark('modelLoad');
  const blocks = streamOf(model).length - 1;
  const layer = featureLayer(req.layer, blocks);
  const patches: Float32Array[] = [];
  const images: { img: DecodedImage; pre: Preprocessed; path: string }[] = [];
  let dim = 0;
  let grid: [number, number] = [0, 0];
  for (const [i, imagePath] of req.imagePaths.entries()) {
    ctl.progress(`Running image ${i + 1} of ${req.imagePaths.length}`, 0.1 + (0.7 * i) / req.imagePaths.length);
    const img = await decodeStage({ imagePath, maxPixels: req.maxPixels });
    timer.mark('decode');
    const pre = await preprocess(img, model.files.preprocessor, model.inputSize, !!model.fixedSize);
    timer.mark('preprocess');
    ctl.checkCancelled();
    const f = await patchFeatures(model, pre, layer);
    timer.mark('inference');
    const g = f.grid;
    if (i > 0 && (g[0] !== grid[0] || g[1] !== grid[1] || f.dim !== dim))
      throw new VitLensError(
        'BAD_REQUEST',
        `${path.basename(imagePath)} gives a ${g[0]}×${g[1]} patch grid, ${path.basename(images[0].path)} ${grid[0]}×${grid[1]}: a joint PCA needs one grid.`,
        'Use a model with a fixed input size, or images of the same aspect ratio.',
      );
    grid = g;
    dim = f.dim;
    patches.push(f.patches);
    images.push({ img, pre, path: imagePath });
    ctl.checkCancelled();
  }
  ctl.progress('Principal components', 0.85);
  const a = analyseFeatures(patches, dim, grid);
  const views = await Promise.all(images.map((x) => viewImage(x.img, x.pre.sourceRect)));
  timer.mark('analysis');
  return {
    model: summary(model, images[0].pre),
    layer,
    blocks,
    grid,
    explainedVarianceRatio: a.explainedVarianceRatio,
    images: images.map((x, i) => ({ path: x.path, width: x.img.width, height: x.img.height, ...a.images[i], view: views[i] })),
    timingsMs: timer.timings(),
  };
}

/** A grid box [r0, c0, r1, c1] (inclusive) in the original image's pixels [x0, y0, x1, y1) via the region the model saw. */
export function gridBoxToImage(
  box: [number, number, number, number],
  grid: [number, number],
  sourceRect: [number, number, number, number],
  image: { width: number; height: number },
): [number, number, number, number] {
  const [l, t, w, h] = sourceRect;
  const x0 = Math.max(0, Math.floor(l + (box[1] / grid[1]) * w));
  const y0 = Math.max(0, Math.floor(t + (box[0] / grid[0]) * h));
  const x1 = Math.min(image.width, Math.ceil(l + ((box[3] + 1) / grid[1]) * w));
  const y1 = Math.min(image.height, Math.ceil(t + ((box[2] + 1) / grid[0]) * h));
  return [x0, y0, Math.max(x1, x0 + 1), Math.max(y1, y0 + 1)];
}

/** Hard attention: the smallest box holding τ of the map's mass, the image cropped to it, the crop classified. */
export async function runHardAttention(
  req: InsideCalls['insideHardAttention']['params'],
  getModel: (p: string) => Promise<InsideModel>,
  ctl: RunControl = noControl,
): Promise<HardAttentionResult> {
  if (!(req.tau > 0 && req.tau <= 1)) throw new VitLensError('BAD_REQUEST', `hard attention: τ must be in (0, 1], not ${req.tau}.`);
  const timer = new StageTimer(['decode', 'modelLoad'] as const);
  const { img, model } = await decodeAndLoad(req, () => getModel(req.modelPath), ctl, timer);
  if (!model.logitsOutput)
    throw new VitLensError(
      'MODEL_WRONG_TASK',
      `${model.files.name} has no class scores (logits): there is nothing to predict on the crop.`,
      'Hard attention needs a classifier.',
    );
  const full = await preprocess(img, model.files.preprocessor, model.inputSize, !!model.fixedSize);
  const grid: [number, number] = [Math.floor(full.height / model.patchSize), Math.floor(full.width / model.patchSize)];
  if (req.map.length !== grid[0] * grid[1])
    throw new VitLensError(
      'BAD_REQUEST',
      `hard attention: the map has ${req.map.length} values; the ${grid[0]}×${grid[1]} grid needs ${grid[0] * grid[1]}.`,
    );
  const { box, mass } = smallestMassBox(req.map, grid[0], grid[1], req.tau);
  const pixelBox = gridBoxToImage(box, grid, full.sourceRect, img);
  const [x0, y0, x1, y1] = pixelBox;
  // The crop as an image of its own, preprocessed like any input (resized to the model's size).
  const rgb = await sharp(img.rgb, { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract({ left: x0, top: y0, width: x1 - x0, height: y1 - y0 })
    .raw()
    .toBuffer();
  const crop: DecodedImage = { ...img, rgb, width: x1 - x0, height: y1 - y0 };
  ctl.progress('Running the model on the crop', 0.5);
  const pre = await preprocess(crop, model.files.preprocessor, model.inputSize, !!model.fixedSize);
  const outputs = await runModel(model, pre, [model.logitsOutput]);
  return {
    tau: req.tau,
    map: req.mapName,
    mass,
    box: pixelBox,
    gridBox: box,
    predictions: topK(toFloat32(outputs[model.logitsOutput]), req.topK ?? 5, model.files.config.id2label),
  };
}
