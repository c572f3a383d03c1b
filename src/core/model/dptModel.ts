// What makes an ONNX graph a Dense Prediction Transformer, read from its structure (no weights): the
// dense output (`predicted_depth` [B,h,w] or segmentation `logits` [B,C,h,w], by name, else by rank) and
// the four reassembled levels of the neck (1/4, 1/8, 1/16, 1/32 for patch 16), which the loader adds as
// extra graph outputs so the panel can show the multi-level features. The neck is found by node names
// first (HF `…/reassemble_stage/layers.{i}/…`, MiDaS / original DPT `…/act_postprocess{i+1}/…`), else by
// shape after the first run (see pickNeckByShape). Engine-side; imports only the ONNX structure types.
import type { NodeInfo, OnnxModelInfo, ValueInfo } from '../onnx/onnxModel';

export interface DenseGraph {
  /** `predicted_depth`-like output: [B,h,w] or [B,1,h,w]. */
  depthOutput?: string;
  /** Segmentation logits [B,C,h,w]. */
  segmentationOutput?: string;
  /**
   * How the neck levels are found. 'names': `neckOutputs` are the four levels, finest first. 'shape':
   * `neckOutputs` are candidates (every Conv/ConvTranspose output after the backbone's last Softmax);
   * the first run picks the four (pickNeckByShape) and stores them in `neckChosen`. 'none': no neck.
   */
  neckSource: 'names' | 'shape' | 'none';
  neckOutputs: string[];
  neckChosen?: string[];
  /** When the graph has no attention to tap (fused or absent): why, for DenseResult.notes. */
  attentionProblem?: string;
}

const isNum = (d: unknown): d is number => typeof d === 'number' && d > 0;

/**
 * Whether declared output dims [.., h, w] can be a map of the input image: both spatial dims symbolic, or
 * both numbers at one common scale of the input (e.g. [1, 384, 384] for a 384×384 input). A sequence
 * like `last_hidden_state` [1, "sequence", 768] or [1, 197, 768] is not.
 */
function imageLike(dims: (number | string | null)[], input: ValueInfo): boolean {
  const [h, w] = dims.slice(-2);
  if (!isNum(h) || !isNum(w)) return !isNum(h) && !isNum(w);
  const [ih, iw] = input.dims?.slice(2) ?? [];
  // Same aspect ratio as the input, up to the rounding of one output pixel.
  return !isNum(ih) || !isNum(iw) || Math.abs(h * iw - w * ih) <= Math.max(ih, iw);
}

/** A graph's dense outputs; undefined when it has none (e.g. a classifier or a feature extractor). */
export function findDenseOutputs(
  info: OnnxModelInfo,
  input: ValueInfo,
  exclude: string[],
): Pick<DenseGraph, 'depthOutput' | 'segmentationOutput'> | undefined {
  const outs = info.outputs.filter((o) => !exclude.includes(o.name));
  const rank = (o: ValueInfo) => o.dims?.length;
  const depthLike = (o: ValueInfo) => (rank(o) === 3 || (rank(o) === 4 && o.dims![1] === 1)) && imageLike(o.dims!, input);
  // By name first (any rank: a wrong rank is reported at run time), then by shape.
  const depth =
    outs.find((o) => /^predicted_depth$/i.test(o.name)) ??
    outs.find((o) => /depth/i.test(o.name) && rank(o) !== 2) ??
    outs.find((o) => depthLike(o) && !/logit|hidden|pool|embed/i.test(o.name));
  const seg =
    outs.find((o) => o.name === 'logits' && rank(o) === 4) ??
    outs.find(
      (o) =>
        o !== depth && rank(o) === 4 && isNum(o.dims![1]) && o.dims![1] > 1 && imageLike(o.dims!, input) && !/hidden|feature/i.test(o.name),
    );
  if (!depth && !seg) return undefined;
  return { depthOutput: depth?.name, segmentationOutput: seg?.name };
}

/** Scope patterns of the reassemble level i: HF (DPT, DPT-hybrid, Depth Anything) and MiDaS / original DPT. */
const NECK_SCOPES = (i: number) => [new RegExp(`reassemble_stage/layers\\.${i}/`), new RegExp(`act_postprocess${i + 1}[/.]`)];

/** The four reassembled levels by node name: the last node (graph order is topological) of each level's scope. */
export function findNeckByName(nodes: NodeInfo[]): string[] | undefined {
  for (const scopes of [0, 1].map((k) => [0, 1, 2, 3].map((i) => NECK_SCOPES(i)[k]))) {
    const outs = scopes.map((re) => {
      let last: NodeInfo | undefined;
      for (const n of nodes) if (re.test(n.name)) last = n;
      return last?.outputs[0];
    });
    if (outs.every((o): o is string => !!o)) return outs;
  }
  return undefined;
}

/** Index of the node after the backbone: the one following the last Softmax (the neck reads the last layers). */
function afterBackbone(nodes: NodeInfo[]): number {
  let last = -1;
  nodes.forEach((n, i) => {
    if (n.opType === 'Softmax') last = i;
  });
  return last + 1;
}

/** Candidates for the shape-based neck search: outputs of Conv/ConvTranspose nodes after the backbone. */
export function neckCandidates(nodes: NodeInfo[], exclude: Set<string>): string[] {
  return nodes
    .slice(afterBackbone(nodes))
    .filter((n) => (n.opType === 'Conv' || n.opType === 'ConvTranspose') && (n.domain === '' || n.domain === 'ai.onnx'))
    .map((n) => n.outputs[0])
    .filter((o) => !exclude.has(o));
}

/** Spatial sizes [h, w] of the four levels for a patch grid: HF reassemble factors 4, 2, 1, ½ (Conv stride 2, padding 1: ⌈g/2⌉). */
export function neckLevelSizes(grid: [number, number]): [number, number][] {
  const [gh, gw] = grid;
  return [
    [4 * gh, 4 * gw],
    [2 * gh, 2 * gw],
    [gh, gw],
    [Math.ceil(gh / 2), Math.ceil(gw / 2)],
  ];
}

/**
 * Picks the reassembled levels among the candidates once their shapes are known (after a run). A level is
 * the input of the neck conv that follows it: the first size-preserving Conv (after the backbone) whose
 * input is a candidate at that level's size. This skips the 1×1 projections inside the reassemble
 * blocks (their inputs come from a Reshape, not a Conv), which sit at the grid size too.
 */
export function pickNeckByShape(nodes: NodeInfo[], dims: Map<string, readonly number[]>, grid: [number, number]): string[] | undefined {
  const sizes = neckLevelSizes(grid);
  const found: (string | undefined)[] = [undefined, undefined, undefined, undefined];
  for (const n of nodes.slice(afterBackbone(nodes))) {
    if (n.opType !== 'Conv') continue;
    const input = dims.get(n.inputs[0]);
    const output = dims.get(n.outputs[0]);
    if (!input || !output || input.length !== 4 || output.length !== 4 || input[2] !== output[2] || input[3] !== output[3]) continue;
    const level = sizes.findIndex(([h, w]) => input[2] === h && input[3] === w);
    if (level >= 0 && !found[level]) found[level] = n.inputs[0];
  }
  return found.every((f): f is string => !!f) ? found : undefined;
}

/** The dense outputs and the neck of a graph (undefined when it is not a dense-prediction model). */
export function describeDenseGraph(info: OnnxModelInfo, input: ValueInfo, exclude: string[]): DenseGraph | undefined {
  const outputs = findDenseOutputs(info, input, exclude);
  if (!outputs) return undefined;
  const named = findNeckByName(info.nodes);
  if (named) return { ...outputs, neckSource: 'names', neckOutputs: named };
  const candidates = neckCandidates(info.nodes, new Set(info.outputs.map((o) => o.name)));
  return { ...outputs, neckSource: candidates.length > 0 ? 'shape' : 'none', neckOutputs: candidates };
}
