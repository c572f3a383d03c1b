// The explain analysis's own session: the model with the key mask input (src/core/onnx/keyMask.ts) and
// no attention taps (a masked run fetches the logits only, so it costs what a bare run costs). Loaded
// from the model's skeleton like the attention session, cached by the engine beside it. Engine side.
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { inferenceFailed } from '../../core/pipeline/control';
import { ElemType, type OnnxModelInfo } from '../../core/onnx/onnxModel';
import { KEY_MASK_INPUT, KeyMaskError, addKeyMask, attentionSoftmaxes, keyMaskData, pooledPatchHead } from '../../core/onnx/keyMask';
import {
  fusedAttentionNodes,
  attentionLikeOutputs,
  classLogitsOutput,
  createSession,
  findPatchSize,
  modelGraphOf,
  type SessionModel,
} from '../../core/model/vitModel';
import { SHOWABLE_ATTENTION, VitLensError } from '../../shared/errors';
import { findDenseOutputs } from '../../core/model/dptModel';
import { fillCells } from '../../maths/explain';
import { PIXEL_FILL_CELL, type ExplainRemoval } from './types';

export interface MaskedModel extends SessionModel {
  /** What a masked run scores: a classifier's logits, or a DPT's predicted depth (its ViT backbone masked). */
  target: 'classifier' | 'depth';
  /** The output fetched: the class logits, or the depth map. */
  output: string;
  patchSize: number;
  /** The key mask's element type (the pixel input's: float or float16). */
  maskType: number;
  /** The export's batch axis is symbolic: many masks per run. Set to false when a batched run fails. */
  dynamicBatch: boolean;
  /** The output's dims without the batch axis, from the last run ([classes], or [h, w] / [1, h, w] of a depth map). */
  outputDims?: readonly number[];
  /** The head pools patch outputs (key masking does not take removed tokens out of that pool). */
  pooledHead: boolean;
  /**
   * 'key-mask': the session has the key mask input; 'pixel-fill' (a CNN): the plain session, patches removed
   * by filling `patchSize`-pixel cells of the input (src/maths/explain.ts fillCells).
   */
  removal: ExplainRemoval;
}

function refuse(info: OnnxModelInfo, file: string): never {
  const fused = fusedAttentionNodes(info);
  if (fused.length)
    throw new VitLensError(
      'MODEL_FUSED_ATTENTION',
      `${file} computes attention with fused com.microsoft.${fused[0].opType} nodes: there is no Softmax whose keys ViT Lens could mask, so tokens cannot be removed exactly.`,
      'Re-export without ORT\'s transformer optimiser and with attn_implementation="eager".',
    );
  throw new VitLensError(
    'MODEL_NOT_VIT',
    `${file} has no attention Softmax, so it has no tokens to remove: class-specific maps by token removal need a vision transformer.`,
    `${SHOWABLE_ATTENTION} For a CNN, pixel-fill occlusion approximates removal: vit-lens explain --removal pixel-fill, or "Why this class" in its gates panel.`,
  );
}

export async function loadMaskedModel(modelPath: string): Promise<MaskedModel> {
  const { files, file, mtimeMs, bytes, info, input, fixed, size } = modelGraphOf(modelPath);
  if (attentionSoftmaxes(info).length === 0) refuse(info, file);
  // A DPT: its dense outputs first (a segmentation model's `logits` are no class scores of the image).
  const dense = findDenseOutputs(info, input, attentionLikeOutputs(info));
  const logitsOutput = dense ? undefined : classLogitsOutput(info, []);
  const output = logitsOutput ?? dense?.depthOutput;
  if (!output)
    throw new VitLensError(
      'MODEL_WRONG_TASK',
      dense
        ? `${file} is a segmentation model: explaining a segmentation is not supported yet (depth models and classifiers are).`
        : `${file} has no class logits (no rank-2 output) and no depth output: class-specific maps need a classifier or a DPT depth model.`,
      'Choose an image-classification ViT (ViTForImageClassification, DeiT, DINOv2 with a classifier head) or a DPT depth model.',
    );
  const maskType = input.elemType === ElemType.FLOAT16 ? ElemType.FLOAT16 : ElemType.FLOAT;
  let masked: Buffer;
  try {
    masked = addKeyMask(bytes, info, maskType);
  } catch (e) {
    if (e instanceof KeyMaskError)
      throw new VitLensError(
        'MODEL_NOT_VIT',
        `${file}: cannot remove tokens by key masking: ${e.message}.`,
        'Export the model with eager attention.',
      );
    throw e;
  }
  const batchDim = input.dims?.[0];
  return {
    files,
    info,
    session: await createSession(masked, files.onnxPath),
    inputName: input.name,
    fixedSize: fixed,
    inputSize: size,
    target: logitsOutput ? 'classifier' : 'depth',
    output,
    mtimeMs,
    patchSize: findPatchSize(info, files.config) ?? 16,
    maskType,
    dynamicBatch: !(typeof batchDim === 'number' && batchDim > 0),
    // A DPT's neck reads every token's output, removed ones included: like a pooled head, not exact.
    pooledHead: logitsOutput ? pooledPatchHead(info) : true,
    removal: 'key-mask',
  };
}

/** A CNN classifier for pixel-fill removal: its own plain session (no taps, no key mask). */
export async function loadPixelFillModel(modelPath: string): Promise<MaskedModel> {
  const { files, file, mtimeMs, bytes, info, input, fixed, size } = modelGraphOf(modelPath);
  if (attentionSoftmaxes(info).length > 0 || fusedAttentionNodes(info).length > 0)
    throw new VitLensError(
      'BAD_REQUEST',
      `${file} is a vision transformer: its tokens are removed exactly by key masking; pixel-fill occlusion is only for CNNs, which have no tokens.`,
      'Leave out --removal (key-mask is the default).',
    );
  const output = classLogitsOutput(info, []);
  if (!output)
    throw new VitLensError(
      'MODEL_WRONG_TASK',
      `${file} has no class logits (no rank-2 output): pixel-fill occlusion explains a classifier's class.`,
      'Choose an image classifier.',
    );
  const batchDim = input.dims?.[0];
  return {
    files,
    info,
    session: await createSession(bytes, files.onnxPath),
    inputName: input.name,
    fixedSize: fixed,
    inputSize: size,
    target: 'classifier',
    output,
    mtimeMs,
    patchSize: PIXEL_FILL_CELL,
    maskType: ElemType.FLOAT,
    dynamicBatch: !(typeof batchDim === 'number' && batchDim > 0),
    pooledHead: false,
    removal: 'pixel-fill',
  };
}

/**
 * The output (logits, or the depth map) of one masked run per row of `removed` (removed[b][t]: token t
 * removed in run b), in batches of up to `batch` when the batch axis is dynamic, else one by one.
 * `pixels` is the [1, 3, H, W] image. A batched run that fails (an export whose Reshapes fix batch 1)
 * turns batching off for this model. Returns [runs][classes] (or [runs][h·w]).
 */
export async function maskedLogits(
  model: MaskedModel,
  pixels: Float32Array,
  height: number,
  width: number,
  tokens: number,
  removed: ArrayLike<boolean | number>[],
  batch: number,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const per = 3 * height * width;
  for (let start = 0; start < removed.length;) {
    const b = model.dynamicBatch ? Math.min(batch, removed.length - start) : 1;
    const rows = removed.slice(start, start + b);
    let x = pixels;
    if (b > 1) {
      x = new Float32Array(b * per);
      for (let i = 0; i < b; i++) x.set(pixels.subarray(0, per), i * per);
    }
    const maskType = model.maskType === ElemType.FLOAT16 ? 'float16' : 'float32';
    let feeds: Record<string, ort.Tensor>;
    if (model.removal === 'pixel-fill') {
      // Each row's own copy of the image, its removed cells filled; `tokens` is the cell count.
      x = new Float32Array(b * per);
      for (let i = 0; i < b; i++) {
        const plane = x.subarray(i * per, (i + 1) * per);
        plane.set(pixels.subarray(0, per));
        fillCells(plane, rows[i], height, width, model.patchSize);
      }
      feeds = { [model.inputName]: new ort.Tensor('float32', x, [b, 3, height, width]) };
    } else
      feeds = {
        [model.inputName]: new ort.Tensor('float32', x, [b, 3, height, width]),
        [KEY_MASK_INPUT]: new ort.Tensor(maskType, keyMaskData(rows, tokens, model.maskType), [b, 1, 1, tokens]),
      };
    let logits: ort.Tensor;
    try {
      logits = (await model.session.run(feeds, [model.output]))[model.output];
    } catch (e) {
      if (b > 1) {
        model.dynamicBatch = false; // retry this chunk one mask at a time
        continue;
      }
      throw inferenceFailed(`the masked ${path.basename(model.files.onnxPath)}`, e);
    }
    const data = logits.data as Float32Array;
    model.outputDims = logits.dims.slice(1);
    const classes = data.length / b;
    for (let i = 0; i < b; i++) out.push(data.slice(i * classes, (i + 1) * classes));
    start += b;
  }
  return out;
}
