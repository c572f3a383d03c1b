// Loading a ViT ONNX model and finding its attention. A model is an .onnx file, optionally in a Hugging
// Face folder layout (config.json and preprocessor_config.json beside it or one folder up, as in
// `onnx/model.onnx`). Attention source, in order: (1) outputs that already carry attention
// probabilities; (2) the outputs of the graph's Softmax nodes, added as extra graph outputs (the maths
// is unchanged); (3) fused attention, which has no probabilities to show: an error that says so.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { SHOWABLE_ATTENTION, VitLensError } from '../../shared/errors';
import type { PreprocessorConfig } from '../image/image';
import { ElemType, NotOnnxError, OnnxModelInfo, ValueInfo, addGraphOutputs, feedInputs, readOnnxModel } from '../onnx/onnxModel';
import { ProtobufError } from '../onnx/protobuf';
import { NotRegularFileError } from '../regularFile';
import { readSkeleton } from '../onnx/skeleton';
import { attentionSoftmaxes } from '../onnx/keyMask';
import { inferenceThreads } from '../onnx/threads';
import { createOnProvider } from '../onnx/providers';
import type { AttentionSource } from '../../shared/attentionTypes';
import { DenseGraph, describeDenseGraph } from './dptModel';

/** The parts of a HF config.json we use. */
export interface HfConfig {
  model_type?: string;
  id2label?: Record<string, string>;
  patch_size?: number;
  image_size?: number | number[];
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_register_tokens?: number;
  /** ViT Lens's own key: one line on what the model is (the demo models say what they were trained on). */
  vit_lens_description?: string;
  [key: string]: unknown;
}

/** The model summary's `description` field from config.json, when it has one. */
export function modelDescription(config: HfConfig | undefined): { description?: string } {
  const d = config?.vit_lens_description;
  return typeof d === 'string' && d.trim() ? { description: d.trim() } : {};
}

export interface ModelFiles {
  onnxPath: string;
  config: HfConfig;
  preprocessor: PreprocessorConfig;
  /** Folder name, or file name without extension. */
  name: string;
}

/** What every loaded model has (ViT/DPT here, SE/CBAM CNNs in gates.ts): a session over a graph we read. */
export interface SessionModel {
  files: ModelFiles;
  info: OnnxModelInfo;
  session: ort.InferenceSession;
  inputName: string;
  /** Fixed [H, W] of the graph's pixel input, or undefined when the graph accepts any size. */
  fixedSize?: [number, number];
  /** The size to feed: the fixed size, else the preprocessor's or config's. */
  inputSize: [number, number];
  logitsOutput?: string;
  /** File modification time when loaded: a changed file invalidates the cached session. */
  mtimeMs: number;
}

export interface LoadedModel extends SessionModel {
  attentionSource: Exclude<AttentionSource, 'raw'>;
  /** Output names carrying attention, in layer order. */
  attentionOutputs: string[];
  /** Tapped models loaded with `taps: 'last'`: only the last of attentionOutputs is an output of the session. */
  tappedLastOnly?: boolean;
  /** Patch size from config.json or the patch-embedding Conv's kernel. */
  patchSize: number;
  /** DPT depth / segmentation graphs: the dense output and the neck levels, added as outputs (see dptModel.ts). */
  dense?: DenseGraph;
}

/**
 * An onnxruntime session over (possibly rewritten) model bytes. External data (model.onnx.data, or the
 * .onnx file itself for a skeleton) is resolved relative to the original file, not to the buffer. Load failures get a specific error.
 */
export async function createSession(modelBytes: Buffer, onnxPath: string): Promise<ort.InferenceSession> {
  try {
    return await createOnProvider((executionProviders) =>
      ort.InferenceSession.create(modelBytes, {
        graphOptimizationLevel: 'all',
        intraOpNumThreads: inferenceThreads(),
        executionProviders,
        extra: { session: { model_external_initializers_file_folder_path: path.dirname(onnxPath) } },
      } as ort.InferenceSession.SessionOptions),
    );
  } catch (e) {
    const msg = (e as Error).message;
    const hint = /external data|\.data/i.test(msg)
      ? 'The weights file next to the model (e.g. model.onnx.data) is missing or unreadable: keep it in the same folder as the .onnx file.'
      : 'The file may be truncated or use operators this onnxruntime does not support; try re-exporting it.';
    throw new VitLensError('MODEL_LOAD_FAILED', `onnxruntime could not load ${path.basename(onnxPath)}: ${msg.split('\n')[0]}`, hint);
  }
}

export const FUSED_OPS = new Set([
  'Attention',
  'MultiHeadAttention',
  'PackedAttention',
  'PackedMultiHeadAttention',
  'GroupQueryAttention',
  'SparseAttention',
  'DecoderMaskedMultiHeadAttention',
]);

/** The graph's fused com.microsoft attention nodes (they never expose the attention probabilities). */
export function fusedAttentionNodes(info: OnnxModelInfo): OnnxModelInfo['nodes'] {
  return info.nodes.filter((n) => FUSED_OPS.has(n.opType) && n.domain === 'com.microsoft');
}

function readJson(file: string): Record<string, unknown> | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new VitLensError('MODEL_LOAD_FAILED', `${file} is not valid JSON (${(e as Error).message}).`, 'Fix or delete the file.');
  }
}

/** Resolves an .onnx file or a HF folder to its files. */
export function resolveModelFiles(modelPath: string): ModelFiles {
  let onnxPath = path.resolve(modelPath);
  if (!fs.existsSync(onnxPath))
    throw new VitLensError(
      'MODEL_NOT_FOUND',
      `Model not found: ${modelPath}.`,
      'Check the path, or choose a model with "ViT Lens: Use Model from File…".',
    );
  if (fs.statSync(onnxPath).isDirectory()) {
    const candidates = ['model.onnx', 'onnx/model.onnx'].map((c) => path.join(onnxPath, c));
    const found =
      candidates.find((c) => fs.existsSync(c)) ??
      fs
        .readdirSync(onnxPath)
        .filter((f) => f.endsWith('.onnx'))
        .map((f) => path.join(onnxPath, f))[0];
    if (!found)
      throw new VitLensError(
        'MODEL_NOT_FOUND',
        `No .onnx file in ${modelPath} (looked for model.onnx and onnx/model.onnx).`,
        'Point at the .onnx file itself.',
      );
    onnxPath = found;
  }
  const dir = path.dirname(onnxPath);
  const lookup = (file: string) => readJson(path.join(dir, file)) ?? readJson(path.join(dir, '..', file));
  const folder = path.basename(dir) === 'onnx' ? path.basename(path.dirname(dir)) : path.basename(onnxPath, '.onnx');
  return {
    onnxPath,
    config: (lookup('config.json') ?? {}) as HfConfig,
    preprocessor: (lookup('preprocessor_config.json') ?? {}) as PreprocessorConfig,
    name: folder,
  };
}

const isNum = (d: unknown): d is number => typeof d === 'number' && d > 0;

/** The pixel input: rank 4, 3 channels. */
export function pixelInput(info: OnnxModelInfo, file: string): ValueInfo {
  const feeds = feedInputs(info);
  if (feeds.length !== 1) {
    throw new VitLensError(
      'MODEL_BAD_INPUT',
      `${file} has ${feeds.length} inputs (${feeds.map((f) => f.name).join(', ')}); a ViT takes one image tensor.`,
      'Export the model with a single pixel_values input.',
    );
  }
  const input = feeds[0];
  if (input.dims && input.dims.length !== 4) {
    throw new VitLensError(
      'MODEL_BAD_INPUT',
      `${file}'s input "${input.name}" has rank ${input.dims.length}; expected [batch, 3, height, width].`,
      'Export the vision model with a 4-D pixel input.',
    );
  }
  if (input.dims && isNum(input.dims[1]) && input.dims[1] !== 3) {
    throw new VitLensError('MODEL_BAD_INPUT', `${file}'s input "${input.name}" has ${input.dims[1]} channels; expected 3 (RGB).`);
  }
  return input;
}

/** Patch size: config.json, else the kernel of a Conv with kernel = stride (the patch embedding). */
export function findPatchSize(info: OnnxModelInfo, config: HfConfig): number | undefined {
  if (isNum(config.patch_size)) return config.patch_size;
  for (const n of info.nodes) {
    const k = n.attributes.kernel_shape?.ints;
    const s = n.attributes.strides?.ints;
    if (n.opType === 'Conv' && k && s && k.length === 2 && k[0] === k[1] && s[0] === k[0] && s[1] === k[1] && k[0] > 1) return k[0];
  }
  return undefined;
}

/** Graph outputs that look like attention probabilities: rank 4 [B,H,N,N] or rank 5 (stacked layers), or named so (not logits or depth maps). */
export function attentionLikeOutputs(info: OnnxModelInfo): string[] {
  return info.outputs
    .filter((o) => {
      const d = o.dims;
      const square = d && d.length >= 4 && d[d.length - 1] !== null && d[d.length - 1] === d[d.length - 2];
      return (d?.length === 4 || d?.length === 5) && (square || /atten/i.test(o.name)) && !/logit|depth/i.test(o.name);
    })
    .map((o) => o.name);
}

export function modelInputSize(input: ValueInfo, files: ModelFiles): { fixed?: [number, number]; size: [number, number] } {
  const d = input.dims;
  if (d && isNum(d[2]) && isNum(d[3])) return { fixed: [d[2], d[3]], size: [d[2], d[3]] };
  const p = files.preprocessor;
  const crop = p.do_center_crop ? p.crop_size : undefined;
  const fromSize = (s: PreprocessorConfig['size'] | PreprocessorConfig['crop_size']): [number, number] | undefined =>
    typeof s === 'number'
      ? [s, s]
      : s && 'height' in s && s.height && s.width
        ? [s.height, s.width]
        : s && 'shortest_edge' in s && s.shortest_edge
          ? [s.shortest_edge, s.shortest_edge]
          : undefined;
  const img = files.config.image_size;
  const fromConfig: [number, number] | undefined =
    typeof img === 'number' ? [img, img] : Array.isArray(img) && img.length === 2 ? [img[0], img[1]] : undefined;
  return { size: fromSize(crop) ?? fromSize(p.size) ?? fromConfig ?? [224, 224] };
}

/**
 * The output with the image's class scores: `logits` (rank 2 or unknown: a segmentation model's `logits`
 * are [B,C,h,w], not class scores), else the first rank-2 output; never one of `not` (attention outputs).
 */
export function classLogitsOutput(info: OnnxModelInfo, not: readonly (string | undefined)[] = []): string | undefined {
  return (
    info.outputs.find((o) => o.name === 'logits' && (o.dims?.length ?? 2) === 2 && !not.includes(o.name))?.name ??
    info.outputs.find((o) => o.dims?.length === 2 && !not.includes(o.name))?.name
  );
}

/**
 * The model's skeleton (skeleton.ts): its structure, with every large initializer an external-data
 * reference into the file itself. Bytes that are not a protobuf give MODEL_NOT_ONNX.
 */
export function readModelSkeleton(onnxPath: string): Buffer {
  try {
    return readSkeleton(onnxPath).model;
  } catch (e) {
    if (e instanceof NotRegularFileError)
      throw new VitLensError(
        'MODEL_NOT_ONNX',
        `${path.basename(onnxPath)} is a ${e.kind}, not an ONNX model file.`,
        'Choose an .onnx file exported by torch.onnx or Optimum.',
      );
    if (e instanceof ProtobufError)
      throw new VitLensError(
        'MODEL_NOT_ONNX',
        `${path.basename(onnxPath)} is not an ONNX model: not a valid ONNX protobuf (${e.message}).`,
        'Choose an .onnx file exported by torch.onnx or Optimum.',
      );
    throw e;
  }
}

/** The structure of a model's (skeleton) bytes; bytes that are no ONNX graph give MODEL_NOT_ONNX. */
export function parseModelInfo(bytes: Buffer, file: string): OnnxModelInfo {
  try {
    return readOnnxModel(bytes);
  } catch (e) {
    if (e instanceof NotOnnxError)
      throw new VitLensError(
        'MODEL_NOT_ONNX',
        `${file} is not an ONNX model: ${e.message}.`,
        'Choose an .onnx file exported by torch.onnx or Optimum.',
      );
    throw e;
  }
}

/**
 * What every loader reads first: the model's files, its skeleton (the graph without the weights' bytes,
 * which stay in the file; see skeleton.ts: a few MB however big the model), the parsed graph, the pixel
 * input and its size.
 */
export function modelGraphOf(modelPath: string) {
  const files = resolveModelFiles(modelPath);
  const file = path.basename(files.onnxPath);
  const mtimeMs = fs.statSync(files.onnxPath).mtimeMs;
  const bytes = readModelSkeleton(files.onnxPath);
  const info = parseModelInfo(bytes, file);
  const input = pixelInput(info, file);
  const { fixed, size } = modelInputSize(input, files);
  return { files, file, mtimeMs, bytes, info, input, fixed, size };
}

/**
 * Loads a model and prepares the session that yields attention. The session is created from the
 * model's skeleton (tapped or not) with the model's folder as the external-data folder: onnxruntime
 * reads the weights from the file itself (or `model.onnx.data` beside it), once, as from a path.
 */
export async function loadVitModel(modelPath: string, opts: { taps?: 'all' | 'last' } = {}): Promise<LoadedModel> {
  const { files, file, mtimeMs, bytes, info, input, fixed, size } = modelGraphOf(modelPath);

  let attentionSource: LoadedModel['attentionSource'];
  let attentionOutputs = attentionLikeOutputs(info);
  const dense = describeDenseGraph(info, input, attentionOutputs);
  const extraOutputs: string[] = [];
  if (attentionOutputs.length > 0) {
    attentionSource = 'outputs';
  } else {
    const softmaxes = attentionSoftmaxes(info);
    const fused = fusedAttentionNodes(info);
    if (softmaxes.length === 0) {
      const problem =
        fused.length > 0
          ? new VitLensError(
              'MODEL_FUSED_ATTENTION',
              `${file} computes attention with ${fused.length} fused com.microsoft.${fused[0].opType} node(s), which never expose the attention probabilities.`,
              'Re-export without ORT\'s transformer optimiser (use the plain torch.onnx / Optimum export), and in PyTorch disable the SDPA fast path (attn_implementation="eager"); or export with output_attentions=True.',
            )
          : new VitLensError(
              'MODEL_NOT_VIT',
              `${file} has no attention: no Softmax nodes and no attention outputs.`,
              `${SHOWABLE_ATTENTION} Choose such a model.`,
            );
      // A DPT without attention to show still predicts depth / classes: only its attention section is empty.
      if (!dense) throw problem;
      dense.attentionProblem = `${problem.message} ${problem.hint}`;
    }
    attentionSource = 'tapped';
    attentionOutputs = softmaxes.map((n) => n.outputs[0]);
    // 'last': for callers that need the attention's shape only. onnxruntime allocates every graph output
    // of a run, fetched or not (measured: +192 MB on DPT-B at 384² for 12 unfetched Softmax outputs).
    extraOutputs.push(...(opts.taps === 'last' ? attentionOutputs.slice(-1) : attentionOutputs));
  }
  if (dense) extraOutputs.push(...dense.neckOutputs);
  const existing = new Set(info.outputs.map((o) => o.name));
  const elemType = input.elemType === ElemType.FLOAT16 ? ElemType.FLOAT16 : ElemType.FLOAT;
  const added = [...new Set(extraOutputs)].filter((n) => !existing.has(n));
  const sessionBytes =
    added.length > 0
      ? addGraphOutputs(
          bytes,
          added.map((name) => ({ name, elemType })),
        )
      : bytes;
  const logitsOutput = classLogitsOutput(info, [...attentionOutputs, ...(dense ? [dense.segmentationOutput] : [])]);

  const session = await createSession(sessionBytes, files.onnxPath);
  const patchSize = findPatchSize(info, files.config) ?? 16;
  return {
    files,
    info,
    session,
    inputName: input.name,
    fixedSize: fixed,
    inputSize: size,
    attentionSource,
    attentionOutputs,
    ...(opts.taps === 'last' && attentionSource === 'tapped' ? { tappedLastOnly: true } : {}),
    logitsOutput,
    patchSize,
    mtimeMs,
    dense,
  };
}
