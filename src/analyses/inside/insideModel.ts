// A ViT loaded to look inside it: a session whose outputs also carry the residual stream (the tensor
// after the embeddings and after every block, found in the graph, see graph.ts) and the attention
// probabilities (attention outputs, or the Softmax nodes tapped). A model without a residual stream (a
// CNN) or without attention probabilities (fused attention) still loads when it has the other: what is
// missing is kept as a VitLensError, which the views show in their place. Engine side.
import path from 'node:path';
import { SHOWABLE_ATTENTION, VitLensError } from '../../shared/errors';
import { ElemType, OnnxModelInfo, addGraphOutputs } from '../../core/onnx/onnxModel';
import { attentionSoftmaxes } from '../../core/onnx/keyMask';
import {
  FUSED_OPS,
  SessionModel,
  attentionLikeOutputs,
  classLogitsOutput,
  createSession,
  findPatchSize,
  modelGraphOf,
  parseModelInfo,
  readModelSkeleton,
} from '../../core/model/vitModel';
import { countAttentionNodes, findResidualStream } from './graph';

export interface InsideModel extends SessionModel {
  /** Residual-stream tensors [L + 1], or why there are none. */
  stream: string[] | VitLensError;
  /** Attention outputs in layer order, or why there are none. */
  attention: string[] | VitLensError;
  patchSize: number;
}

/** The graph of an ONNX file (its skeleton: weights not read), with MODEL_NOT_ONNX for other files. */
export function readModelGraph(onnxPath: string): OnnxModelInfo {
  return parseModelInfo(readModelSkeleton(onnxPath), path.basename(onnxPath));
}

/** Why a model has no attention probabilities to show, or undefined when it has them. */
export function attentionProblem(info: OnnxModelInfo, file: string): VitLensError | undefined {
  if (attentionLikeOutputs(info).length > 0) return undefined;
  const { softmax, fused } = countAttentionNodes(info, FUSED_OPS);
  if (softmax > 0) return undefined;
  return fused > 0
    ? new VitLensError(
        'MODEL_FUSED_ATTENTION',
        `${file} computes attention in ${fused} fused com.microsoft attention node(s), which never expose the attention probabilities: no attention received, no attention maps.`,
        'Re-export without ORT\'s transformer optimiser (plain torch.onnx / Optimum, attn_implementation="eager") to see them.',
      )
    : new VitLensError('MODEL_NOT_VIT', `${file} has no self-attention (no Softmax nodes, no attention outputs).`, SHOWABLE_ATTENTION);
}

export async function loadInsideModel(modelPath: string): Promise<InsideModel> {
  const { files, file, mtimeMs, bytes, info, input, fixed, size } = modelGraphOf(modelPath);
  const attnProblem = attentionProblem(info, file);
  const listed = attentionLikeOutputs(info);
  const attention: string[] | VitLensError =
    attnProblem ?? (listed.length > 0 ? listed : attentionSoftmaxes(info).map((n) => n.outputs[0]));
  const { softmax, fused } = countAttentionNodes(info, FUSED_OPS);
  const found = findResidualStream(info, listed.length > 0 ? listed.length : softmax || fused || undefined);
  // ORT's transformer optimiser folds each residual Add into the next LayerNorm (SkipLayerNormalization),
  // whose sum is no tensor of the graph: say so rather than "not a ViT".
  const skipNorms = info.nodes.filter((n) => /^Skip(Simplified)?LayerNormalization$/.test(n.opType) && n.domain === 'com.microsoft').length;
  const stream: string[] | VitLensError = found
    ? found.tensors
    : skipNorms > 0
      ? new VitLensError(
          'MODEL_FUSED_ATTENTION',
          `${file} folds its residual connections into ${skipNorms} fused com.microsoft SkipLayerNormalization node(s): the residual stream is no tensor of the graph, so there are no token norms or patch features to show.`,
          "Re-export without ORT's transformer optimiser (the plain torch.onnx / Optimum export) to see them.",
        )
      : new VitLensError(
          'MODEL_NOT_VIT',
          `${file} has no transformer residual stream: no chain of blocks x ← x + f(x) (two residual Adds per block) in its graph${fused > 0 ? ' (its attention is fused)' : ''}, so there are no tokens to show.`,
          `Token norms and patch features need a vision transformer (ViT, DeiT, DINO, DINOv2, a DPT backbone). ${SHOWABLE_ATTENTION}`,
        );
  const extra = [...(Array.isArray(stream) ? stream : []), ...(Array.isArray(attention) ? attention : [])];
  const existing = new Set(info.outputs.map((o) => o.name));
  const elemType = input.elemType === ElemType.FLOAT16 ? ElemType.FLOAT16 : ElemType.FLOAT;
  const added = [...new Set(extra)].filter((n) => !existing.has(n));
  const sessionBytes = added.length
    ? addGraphOutputs(
        bytes,
        added.map((name) => ({ name, elemType })),
      )
    : bytes;
  const session = await createSession(sessionBytes, files.onnxPath);
  const logitsOutput = classLogitsOutput(info, extra);
  return {
    files,
    info,
    session,
    inputName: input.name,
    fixedSize: fixed,
    inputSize: size,
    logitsOutput,
    mtimeMs,
    stream,
    attention,
    patchSize: findPatchSize(info, files.config) ?? 16,
  };
}
