// The gallery pipeline: every image of a folder or glob through one model, streaming a summary per image
// (top-k, rollout, prediction entropy, timings, a thumbnail) and keeping nothing else. Images are read,
// decoded and preprocessed ahead of the model (sharp works on libuv's threads while onnxruntime runs), up
// to two batches ahead; when the export's batch axis is dynamic, equal-shaped images run together in one
// session.run. An image that fails gets an error entry and the run goes on. Engine side.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { predictionEntropy, topK } from '../../maths/attention';
import { rolloutRowWasm } from '../../core/pipeline/rolloutWasm';
import type { AttentionTensor } from '../../shared/attentionTypes';
import { VitLensError, asVitLensError } from '../../shared/errors';
import { DecodedImage, preprocess } from '../../core/image/image';
import type { LoadedModel } from '../../core/model/vitModel';
import { feedInputs } from '../../core/onnx/onnxModel';
import { providerStatus } from '../../core/onnx/providers';
import { stackAttention, toFloat32 } from '../../core/pipeline/attentionOutputs';
import { RunControl, noControl, inferenceFailed } from '../../core/pipeline/control';
import { decodeStage } from '../../core/pipeline/decode';
import { detectSpecialTokens, firstPatchIndex } from '../../core/pipeline/tokens';
import { RAW_DEFAULTS } from '../attention/pipeline';
import { rawAttentionOrt } from '../attention/rawAttentionGraph';
import { listGallery } from './listing';
import type {
  GalleryCalls,
  GalleryEntry,
  GalleryErrorEntry,
  GalleryImageEntry,
  GalleryPartial,
  GallerySummary,
  GalleryThumbnail,
} from './types';

export type GalleryRequest = GalleryCalls['gallery']['params'];

export const DEFAULT_BATCH = 8;
export const MAX_BATCH = 64;
/** Thumbnails: the long side in pixels (the gallery shows them at ≤ 160 CSS px). */
const THUMB_SIDE = 160;

/** An image ready for the model. */
interface Prepared {
  index: number;
  path: string;
  width: number;
  height: number;
  /** [3, h, w] normalised CHW. */
  pixels: Float32Array;
  h: number;
  w: number;
  thumbnail: GalleryThumbnail;
  decodeMs: number;
  preprocessMs: number;
}
type PrepResult = Prepared | GalleryErrorEntry;
const failed = (p: PrepResult): p is GalleryErrorEntry => 'error' in p;

const errorEntry = (index: number, file: string, e: unknown): GalleryErrorEntry => {
  const err = asVitLensError(e);
  return { index, path: file, error: { code: err.code, message: err.message } };
};

/** What a non-file is, for its message. */
function kindOf(st: fs.Stats): string {
  return st.isDirectory()
    ? 'folder'
    : st.isFIFO()
      ? 'named pipe'
      : st.isSocket()
        ? 'socket'
        : st.isCharacterDevice() || st.isBlockDevice()
          ? 'device'
          : 'special file';
}

/** The region the model saw, as a small JPEG. */
async function thumbnail(img: DecodedImage, rect: [number, number, number, number]): Promise<GalleryThumbnail> {
  const [l, t, w, h] = rect.map((v) => Math.round(v));
  let p = sharp(img.rgb, { raw: { width: img.width, height: img.height, channels: 3 } });
  if (l !== 0 || t !== 0 || w !== img.width || h !== img.height)
    p = p.extract({ left: l, top: t, width: Math.min(w, img.width - l), height: Math.min(h, img.height - t) });
  const { data, info } = await p
    .resize({ width: THUMB_SIDE, height: THUMB_SIDE, fit: 'inside' })
    .jpeg({ quality: 75 })
    .toBuffer({ resolveWithObject: true });
  return { jpeg: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/** Read (after checking it is a regular file: reading a FIFO would block), decode, preprocess, thumbnail. */
async function prepare(index: number, file: string, model: LoadedModel | undefined, maxPixels: number | undefined): Promise<PrepResult> {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new VitLensError('IMAGE_NOT_A_FILE', `${path.basename(file)} is a ${kindOf(st)}, not a regular file.`);
    const t0 = performance.now();
    const img = await decodeStage({ imagePath: file, maxPixels });
    const t1 = performance.now();
    const size = model?.inputSize ?? RAW_DEFAULTS.inputSize;
    const pre = await preprocess(img, model ? model.files.preprocessor : RAW_DEFAULTS.preprocessor, size, model ? !!model.fixedSize : true);
    const thumb = await thumbnail(img, pre.sourceRect);
    return {
      index,
      path: file,
      width: img.width,
      height: img.height,
      pixels: pre.pixels,
      h: pre.height,
      w: pre.width,
      thumbnail: thumb,
      decodeMs: t1 - t0,
      preprocessMs: performance.now() - t1,
    };
  } catch (e) {
    return errorEntry(index, file, e);
  }
}

/** Item `b` of a batched output [B, …] (or [L, B, …]) as a batch-1 tensor; undefined when the layout has no batch axis we can see. */
export function batchItem(t: ort.Tensor, b: number, batch: number): ort.Tensor | undefined {
  if (batch === 1) return t;
  const d = t.dims;
  const data = t.data as Float32Array | Uint16Array;
  if (d[0] === batch) {
    const per = data.length / batch;
    return new ort.Tensor(t.type as 'float32', data.subarray(b * per, (b + 1) * per) as Float32Array, [1, ...d.slice(1)]);
  }
  if (d.length === 5 && d[1] === batch) {
    // [L, B, H, N, N]: gather item b of every layer
    const per = d[2] * d[3] * d[4];
    const out = new (data.constructor as Float32ArrayConstructor)(d[0] * per);
    for (let l = 0; l < d[0]; l++) out.set(data.subarray((l * batch + b) * per, (l * batch + b + 1) * per), l * per);
    return new ort.Tensor(t.type as 'float32', out, [d[0], 1, d[2], d[3], d[4]]);
  }
  return undefined;
}

/** A batched run's outputs do not separate by image (e.g. heads folded into the batch axis): run one by one. */
class NotBatchable extends Error {}

interface RunOutcome {
  attention: AttentionTensor;
  logits?: Float32Array;
}

/** One session.run on `items` (equal shapes) → per-image attention [L, H, N, N] (rows checked) and logits. */
async function runBatch(model: LoadedModel, items: Prepared[]): Promise<RunOutcome[]> {
  const { h, w } = items[0];
  const plane = 3 * h * w;
  const pixels = new Float32Array(items.length * plane);
  items.forEach((it, b) => pixels.set(it.pixels, b * plane));
  const names = [...new Set([...(model.logitsOutput ? [model.logitsOutput] : []), ...model.attentionOutputs])];
  let outputs: Record<string, ort.Tensor>;
  try {
    outputs = await model.session.run({ [model.inputName]: new ort.Tensor('float32', pixels, [items.length, 3, h, w]) }, names);
  } catch (e) {
    if (items.length > 1) throw new NotBatchable();
    throw inferenceFailed(path.basename(model.files.onnxPath), e);
  }
  return items.map((_, b) => {
    const sliced: Record<string, ort.Tensor> = {};
    for (const n of model.attentionOutputs) {
      const t = outputs[n];
      if (!t) continue;
      const item = batchItem(t, b, items.length);
      if (!item) {
        if (t.dims.length >= 4) throw new NotBatchable();
        continue;
      }
      sliced[n] = item;
    }
    const attention = stackAttention(sliced, model.attentionOutputs);
    const lt = model.logitsOutput ? outputs[model.logitsOutput] : undefined;
    let logits: Float32Array | undefined;
    if (lt) {
      const all = toFloat32(lt);
      if (all.length % items.length !== 0) throw new NotBatchable();
      const per = all.length / items.length;
      logits = all.slice(b * per, (b + 1) * per);
    }
    return { attention, logits };
  });
}

/** The batch size for this model: > 1 only when its pixel input's batch axis is symbolic. */
export function batchSizeFor(model: LoadedModel | undefined, wanted = DEFAULT_BATCH): number {
  if (!model) return 1;
  const input = feedInputs(model.info).find((i) => i.name === model.inputName);
  const b0 = input?.dims?.[0];
  return typeof b0 === 'number' && b0 > 0 ? 1 : Math.max(1, Math.min(MAX_BATCH, Math.floor(wanted)));
}

/**
 * Runs the gallery. `emit` receives the start and each entry (in sorted order within a batch, batches in
 * order); the result is the summary. Cancellation stops between batches (CANCELLED): what was emitted stays.
 */
export async function runGallery(
  req: GalleryRequest,
  getModel: (p: string) => Promise<LoadedModel>,
  ctl: RunControl = noControl,
  emit: (p: GalleryPartial) => void = ctl.emit ?? (() => {}),
): Promise<GallerySummary> {
  const t0 = performance.now();
  const paths = listGallery(req.source);
  ctl.progress(`0 of ${paths.length} images`, 0);
  const model = req.modelPath ? await getModel(req.modelPath) : undefined;
  let batch = batchSizeFor(model, req.batchSize);
  const provider = model ? providerStatus() : { name: 'cpu' };
  emit({
    kind: 'start',
    paths,
    model: { path: model?.files.onnxPath ?? null, name: model?.files.name ?? 'raw attention' },
    batchSize: batch,
    provider,
  });
  const patchSize = model?.patchSize ?? RAW_DEFAULTS.patchSize;
  const k = req.topK ?? 5;

  // Read-ahead: up to two batches of images being decoded while the model runs.
  const ahead: Promise<PrepResult>[] = [];
  let started = 0;
  const fill = () => {
    while (started < paths.length && ahead.length < 2 * batch) {
      const i = started++;
      ahead.push(prepare(i, paths[i], model, req.maxPixels));
    }
  };
  fill();

  let done = 0;
  let nFailed = 0;
  let carry: Prepared | undefined; // an image whose shape differs from the batch before it
  const finish = (entries: GalleryEntry[]) => {
    entries.sort((a, b) => a.index - b.index);
    for (const entry of entries) {
      emit({ kind: 'entry', entry });
      if ('error' in entry) nFailed++;
    }
    done += entries.length;
    const s = (performance.now() - t0) / 1000;
    const eta = done > 0 ? (s / done) * (paths.length - done) : 0;
    ctl.progress(
      `${done} of ${paths.length} images${done < paths.length ? `, about ${Math.ceil(eta)} s left` : ''}`,
      paths.length ? done / paths.length : 1,
    );
  };

  while (done < paths.length) {
    ctl.checkCancelled();
    const entries: GalleryEntry[] = [];
    const items: Prepared[] = carry ? [carry] : [];
    carry = undefined;
    while (items.length < batch && ahead.length > 0) {
      const p = await ahead.shift()!;
      fill();
      if (failed(p)) {
        entries.push(p);
        continue;
      }
      if (items.length > 0 && (p.h !== items[0].h || p.w !== items[0].w)) {
        carry = p;
        break;
      }
      items.push(p);
    }
    if (items.length > 0) {
      fill(); // the next images decode while this batch runs
      const tRun = performance.now();
      let outcomes: (RunOutcome | GalleryErrorEntry)[];
      try {
        outcomes = model
          ? await runBatch(model, items)
          : await Promise.all(items.map(async (it) => ({ attention: await rawAttentionOrt(it.pixels, 3, it.h, it.w, patchSize) })));
      } catch (e) {
        if (!(e instanceof NotBatchable)) outcomes = items.map((it) => errorEntry(it.index, it.path, e));
        else {
          batch = 1; // this export's batched outputs do not split per image: one by one from now on
          outcomes = [];
          for (const it of items)
            outcomes.push(
              await runBatch(model!, [it]).then(
                (r) => r[0],
                (err) => errorEntry(it.index, it.path, err),
              ),
            );
        }
      }
      const inferenceMs = (performance.now() - tRun) / items.length;
      items.forEach((it, b) => {
        const o = outcomes[b];
        if ('error' in o) {
          entries.push(o);
          return;
        }
        const ta = performance.now();
        try {
          entries.push(summarise(it, o, model, patchSize, k, inferenceMs, ta));
        } catch (e) {
          entries.push(errorEntry(it.index, it.path, e));
        }
      });
    }
    finish(entries);
  }
  const ok = done - nFailed;
  return { count: done, failed: nFailed, imagesPerSecond: ok / Math.max(1e-9, (performance.now() - t0) / 1000) };
}

/** The per-image summary: rollout of CLS (mean fusion), top-k and entropy of the softmax, timings. */
function summarise(
  it: Prepared,
  o: RunOutcome,
  model: LoadedModel | undefined,
  patchSize: number,
  k: number,
  inferenceMs: number,
  ta: number,
): GalleryImageEntry {
  const grid: [number, number] = [Math.floor(it.h / patchSize), Math.floor(it.w / patchSize)];
  const special = model
    ? detectSpecialTokens(o.attention.tokens, grid, model.files.config)
    : { cls: true, distillation: false, registers: 0 };
  const rollout = rolloutRowWasm(o.attention, { fusion: 'mean', discardRatio: 0 }).slice(firstPatchIndex(special));
  const predictions = o.logits ? topK(o.logits, k, model?.files.config.id2label) : [];
  const entropy = o.logits ? predictionEntropy(o.logits) : null;
  const analysis = performance.now() - ta;
  return {
    index: it.index,
    path: it.path,
    image: { width: it.width, height: it.height },
    predictions,
    grid,
    rollout,
    predictionEntropy: entropy,
    timingsMs: {
      decode: it.decodeMs,
      preprocess: it.preprocessMs,
      inference: inferenceMs,
      analysis,
      total: it.decodeMs + it.preprocessMs + inferenceMs + analysis,
    },
    thumbnail: it.thumbnail,
  };
}
