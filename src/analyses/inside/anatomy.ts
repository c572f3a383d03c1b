// A ViT's anatomy from its weights alone (no image, no inference): the patch-embedding filters' principal
// components (Dosovitskiy et al. 2021, Fig. 7 left) and the cosine similarity of the learned position
// embeddings (Fig. 7 centre). Only the two initializers are read (initializers.ts skips the others'
// bytes). Engine side.
import path from 'node:path';
import { cosineSimilarity, pca } from '../../maths/inside';
import { VitLensError, toErrorInfo } from '../../shared/errors';
import { readInitializers, type InitializerHeader } from '../../core/onnx/initializers';
import { ProtobufError } from '../../core/onnx/protobuf';
import { findPatchSize, modelInputSize, pixelInput, resolveModelFiles, type HfConfig } from '../../core/model/vitModel';
import type { OnnxModelInfo } from '../../core/onnx/onnxModel';
import { findPatchConv } from './graph';
import { readModelGraph } from './insideModel';
import type { AnatomyResult, PatchEmbeddingAnatomy, PositionEmbeddingAnatomy, Unavailable } from './types';

/** Filters' principal components shown, as in the ViT paper's Fig. 7. */
export const FILTER_COMPONENTS = 28;

const isSquare = (n: number) => n >= 4 && Number.isInteger(Math.sqrt(n));

/**
 * Whether an initializer looks like a learned position table for embedding width `dim`: [1, N, D] or
 * [N, D] named like one (pos…), or a [1, D, gh, gw] grid named so (stored as an image for resizing).
 */
export function isPositionTable(h: InitializerHeader, dim: number): boolean {
  if (!/pos/i.test(h.name)) return false;
  const d = h.dims;
  if (d.length === 3) return d[0] === 1 && d[2] === dim && d[1] >= 4;
  if (d.length === 2) return d[1] === dim && d[0] >= 4;
  if (d.length === 4) return d[0] === 1 && d[1] === dim && d[2] * d[3] >= 4;
  return false;
}

/**
 * The patch rows of a position table and their grid. Rank 3/2 tables hold [lead + gh·gw] rows: the CLS
 * (and DeiT's distillation) positions first; lead is the count that makes the rest the run-time grid, or
 * else a square grid (DINOv2 stores 37×37 and interpolates). Rank 4 tables [1, D, gh, gw] are transposed.
 */
export function positionRows(
  shape: number[],
  data: Float32Array,
  dim: number,
  runtimeGrid: [number, number],
  config: HfConfig,
): { rows: Float32Array; grid: [number, number]; leading: number } | undefined {
  if (shape.length === 4) {
    const [, , gh, gw] = shape;
    const rows = new Float32Array(gh * gw * dim);
    for (let d = 0; d < dim; d++) for (let p = 0; p < gh * gw; p++) rows[p * dim + d] = data[d * gh * gw + p];
    return { rows, grid: [gh, gw], leading: 0 };
  }
  const n = shape.length === 3 ? shape[1] : shape[0];
  const leads = config.model_type === 'deit' ? [2, 1, 0] : [1, 0, 2];
  const target = runtimeGrid[0] * runtimeGrid[1];
  let lead = leads.find((l) => n - l === target);
  let grid: [number, number] | undefined = lead !== undefined ? runtimeGrid : undefined;
  if (lead === undefined) {
    lead = leads.find((l) => isSquare(n - l));
    if (lead !== undefined) grid = [Math.sqrt(n - lead), Math.sqrt(n - lead)];
  }
  if (lead === undefined || !grid) return undefined;
  return { rows: data.slice(lead * dim, n * dim), grid, leading: lead };
}

function unavailable(e: VitLensError): Unavailable {
  return { unavailable: toErrorInfo(e) };
}

/** Patch-embedding PCA: the D filters as rows of 3·p·p values, mean-centred, top components. */
export function filterAnatomy(weight: string, shape: [number, number, number, number], data: Float32Array): PatchEmbeddingAnatomy {
  const [dim, c, p, q] = shape;
  const cols = c * p * q;
  const k = Math.min(FILTER_COMPONENTS, dim, cols);
  const out = pca(data, dim, cols, k);
  const components = new Float32Array(k * cols);
  out.components.forEach((v, i) => components.set(v, i * cols));
  return { weight, shape, components, count: k, explainedVarianceRatio: out.explainedVarianceRatio };
}

export function computeAnatomy(modelPath: string): AnatomyResult {
  const files = resolveModelFiles(modelPath);
  const file = path.basename(files.onnxPath);
  const info: OnnxModelInfo = readModelGraph(files.onnxPath);
  const input = pixelInput(info, file);
  const { size } = modelInputSize(input, files);
  const conv = findPatchConv(info);
  const patchSize = conv?.patch ?? findPatchSize(info, files.config) ?? 16;
  const runtimeGrid: [number, number] = [Math.floor(size[0] / patchSize), Math.floor(size[1] / patchSize)];
  let dim = 0;
  let tables: ReturnType<typeof readInitializers>;
  // One pass over the file: the conv weight (its name is known from the graph), and position-table
  // candidates, recognised by name and shape (the conv weight comes first in torch exports, which fixes D;
  // otherwise the config's hidden_size does).
  const hidden = typeof files.config.hidden_size === 'number' ? files.config.hidden_size : undefined;
  try {
    tables = readInitializers(files.onnxPath, (h) => {
      if (conv && h.name === conv.weight) {
        dim = h.dims[0];
        return true;
      }
      const d = dim || hidden;
      return d !== undefined ? isPositionTable(h, d) : /pos/i.test(h.name) && h.dims.length >= 2 && h.dims.length <= 4;
    });
  } catch (e) {
    if (e instanceof ProtobufError)
      throw new VitLensError(
        'MODEL_NOT_ONNX',
        `${file}: its weights cannot be read (${e.message}).`,
        'Re-export the model; the file may be truncated.',
      );
    throw e;
  }
  const w = conv ? tables.tensors.get(conv.weight) : undefined;
  let patchEmbedding: AnatomyResult['patchEmbedding'];
  if (!conv)
    patchEmbedding = unavailable(
      new VitLensError(
        'MODEL_NO_PATCH_EMBEDDING',
        `${file} has no patch-embedding convolution (a Conv whose kernel equals its stride, as ViTs cut the image into patches), so there are no patch filters to show.`,
        'This is a CNN, a hybrid whose patches come from CNN features, or a model that embeds patches with a MatMul; the filters view needs a ViT-style Conv patch embedding.',
      ),
    );
  else if (!w || w.dims.length !== 4)
    patchEmbedding = unavailable(
      new VitLensError(
        'MODEL_NO_PATCH_EMBEDDING',
        `${file}: the patch convolution's weight ${conv.weight} is not a 4-D float initializer.`,
        'Re-export the model with its weights as float initializers.',
      ),
    );
  else patchEmbedding = filterAnatomy(conv.weight, w.dims as [number, number, number, number], w.data);
  if (!dim && w) dim = w.dims[0];
  dim ||= hidden ?? 0;

  const candidates = [...tables.tensors.values()].filter((t) => t.name !== conv?.weight && dim > 0 && isPositionTable(t, dim));
  // The largest table wins (DPT-hybrid-style exports keep a CLS position beside it).
  candidates.sort((a, b) => b.data.length - a.data.length);
  let positionEmbedding: AnatomyResult['positionEmbedding'] | undefined;
  for (const t of candidates) {
    const rows = positionRows(t.dims, t.data, dim, runtimeGrid, files.config);
    if (!rows) continue;
    const pos: PositionEmbeddingAnatomy = {
      table: t.name,
      shape: t.dims,
      leading: rows.leading,
      grid: rows.grid,
      runtimeGrid,
      similarity: cosineSimilarity(rows.rows, rows.grid[0] * rows.grid[1], dim),
    };
    positionEmbedding = pos;
    break;
  }
  positionEmbedding ??= unavailable(
    new VitLensError(
      'MODEL_NO_POSITION_TABLE',
      candidates.length
        ? `${file}: the position table ${candidates[0].name} [${candidates[0].dims.join(', ')}] does not lay out on a patch grid (expected CLS rows plus gh·gw positions).`
        : `${file} has no learned position-embedding table (an initializer [1, N, ${dim || 'D'}] named like position_embeddings): its positions are computed (sinusoidal) or relative, or it has none.`,
      'The position-similarity view needs a learned absolute position table (ViT, DeiT, DINO, DINOv2, DPT).',
    ),
  );
  return {
    model: { path: files.onnxPath, name: files.name, inputSize: size, patchSize },
    patchEmbedding,
    positionEmbedding,
    bytesRead: tables.payloadBytesRead,
  };
}
