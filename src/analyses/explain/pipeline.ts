// The explain pipeline: why the model predicts class c, from forward passes alone. Stages: the attention
// run (predictions, the rollout / attention / raw maps the perturbation test scores), the masked session,
// occlusion (a coarse pass of non-overlapping windows first, then the rest of the stride-1 windows),
// RISE, then the perturbation test of every map. Removing tokens = masking their keys before every
// Softmax (src/core/onnx/keyMask.ts); CLS, distillation and register tokens are never removed. Partial
// maps stream through ctl.emit; a cancel stops between batches (what was emitted stays). A CNN (no tokens)
// is explained with pixel-fill removal instead, on request: cells of the input filled with the mean colour
// (an approximation, said so), scored against the random map only (it has no attention). Engine side.
import { classLabels, patchMap, rawAttention, rolloutMap, topK } from '../../maths/attention';
import { preprocess, viewImage, type DecodedImage, type Preprocessed } from '../../core/image/image';
import { planDenseInput, preprocessDense } from '../../core/image/dptPreprocess';
import { runDensePipeline } from '../dense/pipeline';
import type { LoadedModel } from '../../core/model/vitModel';
import { RunControl, StageTimer, noControl } from '../../core/pipeline/control';
import type { AttentionTensor, Prediction } from '../../shared/attentionTypes';
import { VitLensError } from '../../shared/errors';
import { decodeStage } from '../../core/pipeline/decode';
import { runAttentionPipeline } from '../attention/pipeline';
import {
  OcclusionMap,
  PERTURBATION_FRACTIONS,
  RiseMap,
  classProbability,
  classScore,
  coarseWindows,
  perturbationAuc,
  perturbationCounts,
  randomMap,
  removalOrder,
  riseKeeps,
  slidingWindows,
  stepCurveAuc,
  windowPatches,
  type Window,
} from '../../maths/explain';
import { maskedLogits, type MaskedModel } from './maskedModel';
import {
  EXPLAIN_DEFAULTS,
  FAITHFULNESS_MAPS,
  type ExplainParams,
  type ExplainPartial,
  type ExplainResult,
  type FaithfulnessCurves,
} from './types';

/** The target class: an index, a label of id2label (case-insensitive), or the top-1. */
export function resolveTarget(target: number | string | undefined, labels: string[], logits: ArrayLike<number>): number {
  if (target === undefined || target === '') {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  if (typeof target === 'number' || /^\d+$/.test(target)) {
    const c = Number(target);
    if (!Number.isInteger(c) || c < 0 || c >= labels.length)
      throw new VitLensError(
        'CLASS_OUT_OF_RANGE',
        `Class ${target} is out of range: the model has ${labels.length} classes (0 to ${labels.length - 1}).`,
        'Pick a class index in that range, or a label.',
      );
    return c;
  }
  const want = target.trim().toLowerCase();
  const c = labels.findIndex((l) => l.toLowerCase() === want);
  if (c < 0) {
    const near = labels.filter((l) => l.toLowerCase().includes(want)).slice(0, 5);
    throw new VitLensError(
      'CLASS_UNKNOWN',
      `The model has no class labelled "${target}".`,
      near.length ? `Did you mean: ${near.join(', ')}?` : "Use a label from the model's config.json id2label, or a class index.",
    );
  }
  return c;
}

/** Checks what a request asks for before any work; BAD_REQUEST names the field. */
function checkParams(p: ExplainParams): void {
  const bad = (what: string) => {
    throw new VitLensError('BAD_REQUEST', `explain: ${what}`);
  };
  if (!Array.isArray(p.methods) || p.methods.some((m) => m !== 'occlusion' && m !== 'rise')) bad('methods must be occlusion and/or rise');
  if (p.window !== undefined && !(Number.isInteger(p.window) && p.window >= 1)) bad('window must be a whole number ≥ 1');
  if (p.samples !== undefined && !(Number.isInteger(p.samples) && p.samples >= 1 && p.samples <= 100_000))
    bad('samples must be a whole number from 1 to 100000');
  if (p.batch !== undefined && !(Number.isInteger(p.batch) && p.batch >= 1 && p.batch <= 256)) bad('batch must be from 1 to 256');
  if (p.score !== undefined && p.score !== 'probability' && p.score !== 'logOdds') bad('score must be probability or logOdds');
  if (p.removal !== undefined && p.removal !== 'key-mask' && p.removal !== 'pixel-fill') bad('removal must be key-mask or pixel-fill');
}

/** What the masked runs need from one ordinary run: the maps the perturbation test scores, the token layout, the input. */
interface Reference {
  image: ExplainResult['image'];
  model: ExplainResult['model'];
  grid: [number, number];
  firstPatchToken: number;
  /** A ViT's attention and raw baseline (a CNN has neither). */
  attention?: AttentionTensor;
  baseline?: AttentionTensor;
  /** Tokens of a masked run's mask: a ViT's sequence, or a CNN's cell count. */
  tokens: number;
  view: ExplainResult['view'];
  pre: Preprocessed;
}

/**
 * A classifier: the attention pipeline (its own preprocessing, as the panel's). A DPT: the dense pipeline
 * (the backbone's attention; DPT preprocessing keeps the whole image) and the raw baseline of its input.
 */
async function referenceRun(
  p: ExplainParams,
  masked: MaskedModel,
  img: DecodedImage,
  getModel: (path: string) => Promise<LoadedModel>,
  ctl: RunControl,
): Promise<Reference> {
  const quiet: RunControl = { progress: () => {}, checkCancelled: () => ctl.checkCancelled() };
  if (masked.removal === 'pixel-fill') {
    // A CNN: its own preprocessing (as the gates panel's) and a grid of cells over the input.
    const pre = await preprocess(img, masked.files.preprocessor, masked.inputSize, !!masked.fixedSize);
    const cell = masked.patchSize;
    const grid: [number, number] = [Math.ceil(pre.height / cell), Math.ceil(pre.width / cell)];
    return {
      image: { path: p.imagePath, width: img.width, height: img.height },
      model: {
        path: masked.files.onnxPath,
        name: masked.files.name,
        inputSize: [pre.height, pre.width],
        patchSize: cell,
        numLayers: 0,
        numHeads: 0,
        specialTokens: { cls: false, distillation: false, registers: 0 },
        attentionSource: 'raw',
        ...(masked.files.config.vit_lens_description ? { description: String(masked.files.config.vit_lens_description) } : {}),
      },
      grid,
      firstPatchToken: 0,
      tokens: grid[0] * grid[1],
      view: await viewImage(img, pre.sourceRect),
      pre,
    };
  }
  if (masked.target === 'classifier') {
    const att = await runAttentionPipeline({ ...p, topK: p.topK ?? 5 }, getModel, quiet);
    const pre = await preprocess(img, masked.files.preprocessor, masked.inputSize, !!masked.fixedSize);
    return { ...att, tokens: att.attention.tokens, pre };
  }
  const d = await runDensePipeline(
    { imagePath: p.imagePath, modelPath: p.modelPath, task: 'depth', maxPixels: p.maxPixels },
    getModel,
    quiet,
  );
  if (!d.attention) throw new VitLensError('MODEL_FUSED_ATTENTION', `the DPT's backbone attention could not be read: ${d.notes.join(' ')}`);
  const pre = await preprocessDense(
    img,
    masked.files.preprocessor,
    planDenseInput(img.height, img.width, masked.files.preprocessor, masked).size,
  );
  const baseline = rawAttention(pre.pixels, 3, pre.height, pre.width, masked.patchSize);
  return {
    image: d.image,
    model: d.model,
    grid: d.grid,
    firstPatchToken: d.firstPatchToken,
    attention: d.attention,
    baseline,
    tokens: d.attention.tokens,
    view: d.view,
    pre,
  };
}

/**
 * The depth output's cells inside a region of the image ([x0, y0, x1, y1] in image pixels, x1/y1
 * exclusive; default the whole image). DPT keeps the whole image, so image pixel x maps to x·w/W.
 */
export function regionCells(
  region: [number, number, number, number] | undefined,
  img: { width: number; height: number },
  dims: readonly number[],
): { box: [number, number, number, number]; cells: number[] } {
  const [h, w] = dims.slice(-2);
  if (!(h > 0 && w > 0)) throw new VitLensError('MODEL_BAD_OUTPUT', `the depth output has shape [${dims.join(', ')}], not [h, w]`);
  const box = region ?? [0, 0, img.width, img.height];
  const [x0, y0, x1, y1] = box;
  if (!box.every(Number.isFinite) || x0 < 0 || y0 < 0 || x1 > img.width || y1 > img.height || x1 <= x0 || y1 <= y0)
    throw new VitLensError(
      'BAD_REQUEST',
      `explain: the region [${box.join(', ')}] is not a box inside the ${img.width}×${img.height} image`,
      'Give x0,y0,x1,y1 in image pixels with x0 < x1 ≤ width and y0 < y1 ≤ height.',
    );
  const cells: number[] = [];
  const r0 = Math.floor((y0 * h) / img.height);
  const r1 = Math.max(r0 + 1, Math.ceil((y1 * h) / img.height));
  const c0 = Math.floor((x0 * w) / img.width);
  const c1 = Math.max(c0 + 1, Math.ceil((x1 * w) / img.width));
  for (let r = r0; r < Math.min(h, r1); r++) for (let c = c0; c < Math.min(w, c1); c++) cells.push(r * w + c);
  return { box, cells };
}

export async function runExplainPipeline(
  p: ExplainParams,
  getModel: (path: string) => Promise<LoadedModel>,
  getMasked: (path: string) => Promise<MaskedModel>,
  ctl: RunControl = noControl,
): Promise<ExplainResult> {
  checkParams(p);
  const window = p.window ?? EXPLAIN_DEFAULTS.window;
  const samples = p.samples ?? EXPLAIN_DEFAULTS.samples;
  const seed = p.seed ?? EXPLAIN_DEFAULTS.seed;
  const scoreKind = p.score ?? EXPLAIN_DEFAULTS.score;
  const emit = (x: ExplainPartial) => ctl.emit?.(x);
  const timer = new StageTimer(['decode', 'modelLoad', 'attention', 'occlusion', 'rise', 'faithfulness'] as const);

  // The masked session first: a CNN or a fused model is refused before anything runs.
  const img = await decodeStage(p);
  timer.mark('decode');
  ctl.progress('Loading the masked model', 0.02);
  const masked = await getMasked(p.modelPath);
  timer.mark('modelLoad');
  ctl.checkCancelled();

  // The reference run: the maps to score, the token layout, the image as the model saw it.
  const att = await referenceRun(p, masked, img, getModel, ctl);
  const pre = att.pre;
  const grid = att.grid;
  const P = grid[0] * grid[1];
  const first = att.firstPatchToken;
  const tokens = att.tokens;
  if (window > Math.min(grid[0], grid[1]))
    throw new VitLensError('BAD_REQUEST', `explain: window ${window} is larger than the ${grid[0]}×${grid[1]} patch grid`);
  const maps: ExplainResult['maps'] = { random: randomMap(P, seed) };
  if (att.attention && att.baseline) {
    const numLayers = att.attention.layers;
    const view = p.attentionView ?? { layer: numLayers - 1, head: 'mean' as const };
    if (!(Number.isInteger(view.layer) && view.layer >= 0 && view.layer < numLayers))
      throw new VitLensError('BAD_REQUEST', `explain: attention layer ${view.layer} is not in 0…${numLayers - 1}`);
    maps.rollout = rolloutMap(att.attention, first, { fusion: p.rollout?.fusion ?? 'mean', discardRatio: p.rollout?.discardRatio ?? 0 });
    maps.attention = patchMap(att.attention, view.layer, view.head, 0, first);
    maps.raw = patchMap(att.baseline, 0, 0, 0, 1); // the baseline's mean-patch query (first patch token 1)
  }
  timer.mark('attention');

  const batch = p.batch ?? EXPLAIN_DEFAULTS.batch;
  let runs = 0;
  /** Logits with these patch sets removed (patch indices → token indices). */
  const run = async (patchSets: ArrayLike<number>[]): Promise<Float32Array[]> => {
    ctl.checkCancelled();
    const removed = patchSets.map((set) => {
      const r = new Uint8Array(tokens);
      for (let i = 0; i < set.length; i++) r[first + set[i]] = 1;
      return r;
    });
    runs += removed.length;
    return maskedLogits(masked, pre.pixels, pre.height, pre.width, tokens, removed, batch);
  };

  // The mask-free run: the model's own output (the key mask adds zeros).
  const [base] = await run([[]]);
  const depth = masked.target === 'depth';
  if (depth && p.target !== undefined && p.target !== '')
    throw new VitLensError(
      'BAD_REQUEST',
      'explain: a depth model has no classes',
      'Give a region instead (the mean depth inside it is explained).',
    );
  if (!depth && p.region) throw new VitLensError('BAD_REQUEST', 'explain: a region is for depth models; a classifier explains a class');
  const labels = depth ? [] : classLabels(base.length, masked.files.config.id2label);
  const c = depth ? -1 : resolveTarget(p.target, labels, base);
  // A depth model's target: the mean predicted depth inside the region (image pixels), on the output's grid.
  const region = depth ? regionCells(p.region, img, masked.outputDims ?? []) : undefined;
  const meanIn = (out: ArrayLike<number>) => {
    let sum = 0;
    for (const i of region!.cells) sum += out[i];
    return sum / region!.cells.length;
  };
  const score = (out: ArrayLike<number>) => (depth ? meanIn(out) : classScore(out, c, scoreKind));
  const s0 = score(base);

  if (p.methods.includes('occlusion')) {
    const all = slidingWindows(grid, window);
    const coarse = coarseWindows(grid, window);
    const key = (w: Window) => w.row * grid[1] + w.col;
    const coarseKeys = new Set(coarse.map(key));
    const rest = all.filter((w) => !coarseKeys.has(key(w)));
    const occ = new OcclusionMap(grid, window);
    const passes: ['coarse' | 'fine', Window[]][] = [
      ['coarse', coarse],
      ['fine', rest],
    ];
    let done = 0;
    for (const [pass, wins] of passes) {
      for (let i = 0; i < wins.length; i += batch) {
        const chunk = wins.slice(i, i + batch);
        const logits = await run(chunk.map((w) => windowPatches(w, window, grid[1])));
        chunk.forEach((w, k) => occ.add(w, s0 - score(logits[k])));
        done += chunk.length;
        ctl.progress(`Occlusion (${pass} pass): ${done} / ${all.length} windows`, 0.05 + 0.45 * (done / all.length));
        if (pass === 'fine' || i + batch >= wins.length) emit({ kind: 'occlusion', pass, done, total: all.length, map: occ.values() });
      }
    }
    maps.occlusion = occ.values();
  }
  timer.mark('occlusion');

  if (p.methods.includes('rise')) {
    const keeps = riseKeeps(samples, P, seed);
    const rise = new RiseMap(P, 0.5);
    for (let i = 0; i < keeps.length; i += batch) {
      const chunk = keeps.slice(i, i + batch);
      const sets = chunk.map((keep) => keep.reduce<number[]>((a, k, j) => (k ? a : (a.push(j), a)), []));
      const logits = await run(sets);
      chunk.forEach((keep, k) => rise.add(keep, score(logits[k])));
      ctl.progress(`RISE: ${rise.samples} / ${samples} samples`, 0.5 + 0.25 * (rise.samples / samples));
      emit({ kind: 'rise', done: rise.samples, total: samples, map: rise.values() });
    }
    maps.rise = rise.values();
  }
  timer.mark('rise');

  // The perturbation test: p_c (always the probability; a depth model's region mean) after removing the first k_i patches of each order.
  const pc = (out: ArrayLike<number>) => (depth ? meanIn(out) : classProbability(out, c));
  const counts = perturbationCounts(P);
  const faithfulness: ExplainResult['faithfulness'] = {};
  const names = p.faithfulness === false ? [] : FAITHFULNESS_MAPS.filter((m) => maps[m] !== undefined);
  for (const [n, name] of names.entries()) {
    const map = maps[name]!;
    // k_0 = 0 is the mask-free run.
    const curve = async (order: number[]) => [pc(base), ...(await run(counts.slice(1).map((k) => order.slice(0, k)))).map(pc)];
    const positive = await curve(removalOrder(map, 'positive'));
    const negative = await curve(removalOrder(map, 'negative'));
    const f: FaithfulnessCurves = {
      fractions: [...PERTURBATION_FRACTIONS],
      positive,
      negative,
      positiveAuc: perturbationAuc(positive),
      negativeAuc: perturbationAuc(negative),
    };
    if (p.stepCurves) {
      const order = removalOrder(map, 'positive');
      const steps = Array.from({ length: P + 1 }, (_, k) => k);
      f.deletion = (await run(steps.map((k) => order.slice(0, k)))).map(pc);
      // Insertion: everything removed, then the most relevant patches put back first.
      f.insertion = (await run(steps.map((k) => order.slice(k)))).map(pc);
      f.deletionAuc = stepCurveAuc(f.deletion);
      f.insertionAuc = stepCurveAuc(f.insertion);
    }
    faithfulness[name] = f;
    ctl.progress(`Faithfulness: ${n + 1} / ${names.length} maps`, 0.75 + 0.25 * ((n + 1) / names.length));
  }
  timer.mark('faithfulness');

  const target: Prediction = depth
    ? { index: -1, label: `mean depth in [${region!.box.join(', ')}]`, probability: s0 }
    : { index: c, label: labels[c], probability: classProbability(base, c) };
  const predictions = depth ? [] : topK(base, p.topK ?? 5, masked.files.config.id2label);
  return {
    image: att.image,
    model: att.model,
    grid,
    firstPatchToken: first,
    tokens,
    target,
    predictions,
    labels,
    removal: masked.removal,
    removalExact: masked.removal === 'key-mask' && !masked.pooledHead,
    ...(masked.removal === 'pixel-fill'
      ? {
          removalNote:
            "A CNN has no tokens: each removed cell of the input is filled with the dataset's mean colour (0 after normalisation). That approximates removal (the filled image is out of distribution); it is not exact.",
        }
      : masked.pooledHead
        ? {
            removalNote: depth
              ? "The DPT's neck reassembles every patch token's output, removed ones included: removed tokens are kept out of every attention of the backbone, not out of the neck, so removal is not exact."
              : 'The classifier pools the patch outputs (e.g. a mean of the patch tokens beside CLS): removed tokens are kept out of every attention but still reach that pool, so removal is not exact.',
          }
        : {}),
    ...(region ? { region: region.box } : {}),
    score: depth ? 'meanDepth' : scoreKind,
    window,
    samples: p.methods.includes('rise') ? samples : 0,
    seed,
    maps,
    faithfulness,
    runs,
    batch: masked.dynamicBatch ? batch : 1,
    timingsMs: timer.timings(),
    view: att.view,
  };
}
