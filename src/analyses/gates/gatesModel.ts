// Finding the channel and spatial gates of a CNN in its ONNX graph (SE-Net, SE-ResNet, EfficientNet,
// MobileNetV3, CBAM), and loading such a model so that every gate can be read when it runs.
// A gate is a Sigmoid or HardSigmoid whose output — possibly through Reshape/Unsqueeze/Expand, as
// torch's view/unsqueeze/expand_as export — multiplies a feature map U. SiLU/Swish (x·σ(x)) and
// hard-swish (x·HardSigmoid(x)) are activations, not gates: the Mul's other input is the gate's own input.
// Shapes are rarely in the graph, so the gate tensors and their U are added as extra graph outputs
// (addGraphOutputs: every other byte kept) and classified by their runtime dims (classifyGate).
// Engine side: imports onnxruntime-node; never imported by the host or the webview (the host asks the
// engine's `modelKind` call instead of calling detectModelKind).
import fs from 'node:fs';
import path from 'node:path';
import { SHOWABLE_ATTENTION, VitLensError } from '../../shared/errors';
import { ElemType, NodeInfo, NotOnnxError, OnnxModelInfo, addGraphOutputs, readOnnxModel } from '../../core/onnx/onnxModel';
import type { GateKind, GateOp, ModelKindInfo } from './types';
import {
  FUSED_OPS,
  ModelFiles,
  SessionModel,
  attentionLikeOutputs,
  createSession,
  modelInputSize,
  pixelInput,
  resolveModelFiles,
} from '../../core/model/vitModel';

const GATE_OPS: ReadonlySet<string> = new Set<GateOp>(['Sigmoid', 'HardSigmoid']);
/** Ops that only reshape, broadcast or copy values: what lies between a gate and its Mul in torch exports. */
const PASS_THROUGH = new Set(['Reshape', 'Unsqueeze', 'Squeeze', 'Expand', 'Tile', 'Identity', 'Cast']);
/** How many pass-through ops we follow from a gate to its Mul (CBAM: Unsqueeze, Unsqueeze, Expand). */
const MAX_HOPS = 6;

const isOnnxOp = (n: NodeInfo) => n.domain === '' || n.domain === 'ai.onnx';
/** Nodes often have no name; the first output's name is unique and shown by Netron too. */
export const nodeLabel = (n: NodeInfo) => n.name || n.outputs[0];

/** A Sigmoid/HardSigmoid that multiplies another tensor: a gate if the runtime shapes say so. */
export interface GateCandidate {
  node: string;
  op: GateOp;
  /** The gate op's output, tapped as-is (e.g. [N, C] when a Reshape follows). */
  gateTensor: string;
  /** The Mul's other input: the feature map U. */
  featureTensor: string;
  mulNode: string;
  /** Rank of the gate op in topological order: depth order of the blocks. */
  order: number;
}

interface GraphIndex {
  producer: Map<string, NodeInfo>;
  consumers: Map<string, NodeInfo[]>;
  /** Initializers and Constant outputs: a Mul with one of these scales, it does not gate. */
  constants: Set<string>;
}

function indexGraph(info: OnnxModelInfo): GraphIndex {
  const producer = new Map<string, NodeInfo>();
  const consumers = new Map<string, NodeInfo[]>();
  const constants = new Set(info.initializerNames);
  for (const n of info.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    if (n.opType === 'Constant') for (const o of n.outputs) constants.add(o);
    for (const i of n.inputs) {
      if (!i) continue;
      const list = consumers.get(i);
      if (list) list.push(n);
      else consumers.set(i, [n]);
    }
  }
  return { producer, consumers, constants };
}

/**
 * Topological rank of every node (Kahn's algorithm; ties keep file order). ONNX requires files to be
 * sorted already, but ranking ourselves keeps the block order right for files that are not.
 */
export function topologicalRank(info: OnnxModelInfo): Map<NodeInfo, number> {
  const idx = indexGraph(info);
  const pending = new Map<NodeInfo, number>();
  for (const n of info.nodes) pending.set(n, new Set(n.inputs.filter((i) => i && idx.producer.has(i))).size);
  const ready = info.nodes.filter((n) => pending.get(n) === 0);
  const position = new Map(info.nodes.map((n, i) => [n, i]));
  const rank = new Map<NodeInfo, number>();
  while (ready.length > 0) {
    ready.sort((a, b) => position.get(a)! - position.get(b)!);
    const n = ready.shift()!;
    rank.set(n, rank.size);
    const released = new Set<NodeInfo>();
    for (const o of n.outputs) for (const c of idx.consumers.get(o) ?? []) released.add(c);
    for (const c of released) {
      const left = pending.get(c)! - new Set(c.inputs.filter((i) => i && idx.producer.get(i) === n)).size;
      pending.set(c, left);
      if (left === 0) ready.push(c);
    }
  }
  // A cycle (invalid graph) leaves nodes unranked: put them last, in file order.
  for (const n of info.nodes) if (!rank.has(n)) rank.set(n, rank.size);
  return rank;
}

/** The tensor a value was before pass-through ops: Reshape(Expand(x)) → x. */
function sourceOf(tensor: string, idx: GraphIndex): string {
  let t = tensor;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const p = idx.producer.get(t);
    if (!p || !isOnnxOp(p) || !PASS_THROUGH.has(p.opType)) break;
    t = p.inputs[0];
  }
  return t;
}

/** The Mul nodes a gate's output reaches through pass-through ops, with the Mul input it arrives on. */
function gateMuls(gateTensor: string, idx: GraphIndex): { mul: NodeInfo; via: string }[] {
  const found: { mul: NodeInfo; via: string }[] = [];
  let frontier = [gateTensor];
  for (let hop = 0; hop <= MAX_HOPS && frontier.length > 0; hop++) {
    const next: string[] = [];
    for (const t of frontier) {
      for (const c of idx.consumers.get(t) ?? []) {
        if (!isOnnxOp(c)) continue;
        if (c.opType === 'Mul') found.push({ mul: c, via: t });
        else if (PASS_THROUGH.has(c.opType) && c.inputs[0] === t) next.push(...c.outputs);
      }
    }
    frontier = next;
  }
  return found;
}

/**
 * Gate candidates of a graph, in depth order: every Sigmoid/HardSigmoid whose output multiplies a
 * non-constant tensor that is not its own input (that would be SiLU/Swish or hard-swish).
 */
export function findGateCandidates(info: OnnxModelInfo): GateCandidate[] {
  const idx = indexGraph(info);
  const candidates: (Omit<GateCandidate, 'order'> & { gateNode: NodeInfo })[] = [];
  for (const n of info.nodes) {
    if (!isOnnxOp(n) || !GATE_OPS.has(n.opType) || !n.outputs[0]) continue;
    const activationInput = sourceOf(n.inputs[0], idx);
    for (const { mul, via } of gateMuls(n.outputs[0], idx)) {
      const other = mul.inputs[0] === via ? mul.inputs[1] : mul.inputs[0];
      if (!other || sourceOf(other, idx) === n.outputs[0]) continue; // σ(x)·σ(x)
      if (idx.constants.has(sourceOf(other, idx))) continue; // x·σ(y) with a constant: a scale
      if (sourceOf(other, idx) === activationInput) continue; // x·σ(x): SiLU / Swish / hard-swish
      candidates.push({
        gateNode: n,
        node: nodeLabel(n),
        op: n.opType as GateOp,
        gateTensor: n.outputs[0],
        featureTensor: other,
        mulNode: nodeLabel(mul),
      });
      break; // one Mul per gate: the first one found is the gating product
    }
  }
  if (candidates.length === 0) return [];
  const rank = topologicalRank(info);
  return candidates.map(({ gateNode, ...c }) => ({ ...c, order: rank.get(gateNode)! })).sort((a, b) => a.order - b.order);
}

/**
 * What a candidate gates, from runtime shapes. U must be a feature map [N, C, H, W] with H·W > 1 (an
 * SE on pooled [N, C, 1, 1] features has no map to show). Channel gate: [N, C, 1, 1], [N, C, 1] or
 * [N, C] with C > 1. Spatial gate: [N, 1, H, W]. Anything else
 * (an element-wise GLU [N, C, H, W], a recurrent cell's [N, hidden]) is not a gate we show.
 */
export function classifyGate(gate: readonly number[], feature: readonly number[]): GateKind | undefined {
  if (feature.length !== 4) return undefined;
  const [n, c, h, w] = feature;
  if (h * w <= 1 || !(gate[0] === 1 || gate[0] === n)) return undefined;
  const channel = c > 1 && gate[1] === c && gate.slice(2).every((d) => d === 1) && gate.length >= 2 && gate.length <= 4;
  if (channel) return 'channel';
  const spatial = gate.length === 4 && gate[1] === 1 && gate[2] === h && gate[3] === w;
  return spatial ? 'spatial' : undefined;
}

function readGraph(files: ModelFiles): { bytes: Buffer; info: OnnxModelInfo } {
  const bytes = fs.readFileSync(files.onnxPath);
  try {
    return { bytes, info: readOnnxModel(bytes) };
  } catch (e) {
    if (e instanceof NotOnnxError)
      throw new VitLensError(
        'MODEL_NOT_ONNX',
        `${path.basename(files.onnxPath)} is not an ONNX model: ${e.message}.`,
        'Choose an .onnx file exported by torch.onnx or Optimum.',
      );
    throw e;
  }
}

/** Where a graph's self-attention is: attention outputs, a Softmax feeding a MatMul/Einsum (probs·V), or fused ops. */
function attentionIn(info: OnnxModelInfo): ModelKindInfo['attention'] {
  if (attentionLikeOutputs(info).length > 0) return 'outputs';
  const idx = indexGraph(info);
  const feedsMatMul = (t: string, hops = 0): boolean =>
    hops <= MAX_HOPS &&
    (idx.consumers.get(t) ?? []).some(
      (c) =>
        c.opType === 'MatMul' ||
        c.opType === 'Einsum' ||
        ((PASS_THROUGH.has(c.opType) || c.opType === 'Dropout') && c.outputs.some((o) => feedsMatMul(o, hops + 1))),
    );
  if (info.nodes.some((n) => n.opType === 'Softmax' && isOnnxOp(n) && feedsMatMul(n.outputs[0]))) return 'softmax';
  if (info.nodes.some((n) => n.domain === 'com.microsoft' && FUSED_OPS.has(n.opType))) return 'fused';
  return null;
}

/** The message of a model that has neither gates nor attention. */
function noGatesError(file: string, detail: string): VitLensError {
  return new VitLensError('MODEL_NO_GATES', `${file} has no attention and no SE/CBAM gates: ${detail}`, SHOWABLE_ATTENTION);
}

/**
 * Which pipeline a model needs, from its graph only (no session): 'vit' when it has self-attention
 * (it wins when a hybrid has both; `gateCandidates` still counts the gates), 'gates' when a
 * Sigmoid/HardSigmoid multiplies a feature map, else 'none' with the message to show.
 */
export function detectModelKind(modelPath: string): ModelKindInfo {
  const files = resolveModelFiles(modelPath);
  const { info } = readGraph(files);
  const attention = attentionIn(info);
  const gateCandidates = findGateCandidates(info).length;
  const base = { onnxPath: files.onnxPath, attention, gateCandidates };
  if (attention) return { kind: 'vit', ...base };
  if (gateCandidates > 0) return { kind: 'gates', ...base };
  const e = noGatesError(
    path.basename(files.onnxPath),
    'no Softmax feeds a MatMul and no Sigmoid or HardSigmoid multiplies a feature map.',
  );
  return { kind: 'none', ...base, message: `${e.message} ${e.hint}` };
}

export interface LoadedGatesModel extends SessionModel {
  /** Gate candidates in depth order; their gate and feature tensors are graph outputs of `session`. */
  candidates: GateCandidate[];
}

/**
 * Loads a CNN with gates: finds the candidates, adds their gate and feature tensors as graph outputs,
 * and creates the session from those bytes with the model's folder as the external-data folder (as
 * loadVitModel does), so `model.onnx.data` keeps working. Throws MODEL_NO_GATES when there are none.
 */
export async function loadGatesModel(modelPath: string): Promise<LoadedGatesModel> {
  const files = resolveModelFiles(modelPath);
  const file = path.basename(files.onnxPath);
  const mtimeMs = fs.statSync(files.onnxPath).mtimeMs;
  const { bytes, info } = readGraph(files);
  const input = pixelInput(info, file);
  if (input.elemType !== ElemType.FLOAT) {
    throw new VitLensError(
      'MODEL_BAD_INPUT',
      `${file}'s input "${input.name}" is not float32 (ONNX type ${input.elemType}).`,
      'Export the model with a float32 pixel input.',
    );
  }
  const { fixed, size } = modelInputSize(input, files);
  const candidates = findGateCandidates(info);
  if (candidates.length === 0) {
    if (attentionIn(info)) {
      throw new VitLensError(
        'MODEL_NO_GATES',
        `${file} has no SE/CBAM gates: no Sigmoid or HardSigmoid multiplies a feature map.`,
        'It has self-attention: use "ViT Lens: Show Attention" or `vit-lens attention` on it.',
      );
    }
    throw noGatesError(file, 'no Sigmoid or HardSigmoid multiplies a feature map (Sigmoids used as SiLU/Swish, x·σ(x), are activations).');
  }
  const existing = new Set(info.outputs.map((o) => o.name));
  const taps = [...new Set(candidates.flatMap((c) => [c.gateTensor, c.featureTensor]))].filter((t) => !existing.has(t));
  const sessionBytes = addGraphOutputs(
    bytes,
    taps.map((name) => ({ name, elemType: ElemType.FLOAT })),
  );
  const logitsOutput = info.outputs.find((o) => o.name === 'logits')?.name ?? info.outputs.find((o) => o.dims?.length === 2)?.name;
  const session = await createSession(sessionBytes, files.onnxPath);
  return { files, info, session, inputName: input.name, fixedSize: fixed, inputSize: size, candidates, logitsOutput, mtimeMs };
}

/** For the runtime check: a model whose candidates all failed classifyGate. */
export function noGateShapesError(model: Pick<LoadedGatesModel, 'candidates' | 'files'>, shapes: string[]): VitLensError {
  return noGatesError(
    path.basename(model.files.onnxPath),
    `its ${model.candidates.length} Sigmoid·Mul product(s) gate neither channels ([N, C, 1, 1]) nor positions ([N, 1, H, W]) of a feature map (${shapes.slice(0, 3).join('; ')}).`,
  );
}
