// Where a ViT's insides are in its ONNX graph: the residual stream (the tensor after the embeddings and
// after every block), the patch-embedding convolution, and the learned position-embedding table. From
// the graph's structure only (node inputs/outputs, initializer names); no weights are read here.
// Engine side.
import type { NodeInfo, OnnxModelInfo } from '../../core/onnx/onnxModel';

/** The residual stream of a ViT: x₀ (after the embeddings, the first block's input) and x_l after block l. */
export interface ResidualStream {
  /** Tensor names, [L + 1]: embeddings, then the output of every block. */
  tensors: string[];
}

/** Tensors that are constants: initializers and Constant node outputs. */
function constants(info: OnnxModelInfo): Set<string> {
  const c = new Set(info.initializerNames);
  for (const n of info.nodes) if (n.opType === 'Constant') for (const o of n.outputs) c.add(o);
  return c;
}

/** Whether tensor `y` depends on tensor `x` (x is an ancestor of y), by a backward walk from y's producer. */
function dependsOn(y: string, x: string, producer: Map<string, NodeInfo>, isConst: Set<string>): boolean {
  const seen = new Set<string>();
  const stack = [y];
  while (stack.length) {
    const t = stack.pop()!;
    if (t === x) return true;
    if (seen.has(t) || isConst.has(t)) continue;
    seen.add(t);
    const p = producer.get(t);
    if (p) for (const i of p.inputs) if (i) stack.push(i);
  }
  return false;
}

/**
 * The residual stream: a transformer block is x ← x + f(x) twice (attention, then MLP; Vaswani et al.
 * 2017, pre-LN as in Dosovitskiy et al. 2021, eq. 2–3), so in the graph it is a chain of Add nodes
 * whose one input is the previous Add's output and whose other input depends on it. The longest such
 * chain is the encoder (a CNN's residual chains break at every downsampling projection); its length must
 * be even (two residual Adds per block); when `blocks` is given (the attention layers counted in the
 * graph) a chain of that many blocks is preferred. Returns undefined when there is no such chain.
 */
export function findResidualStream(info: OnnxModelInfo, blocks?: number): ResidualStream | undefined {
  const isConst = constants(info);
  const producer = new Map<string, NodeInfo>();
  for (const n of info.nodes) for (const o of n.outputs) producer.set(o, n);
  // Residual Adds: out = skip + branch(skip). `skip` is the stream tensor.
  const residual = new Map<string, { skip: string; out: string }>(); // keyed by skip tensor
  for (const n of info.nodes) {
    if (n.opType !== 'Add' || n.inputs.length !== 2) continue;
    const [a, b] = n.inputs;
    if (!a || !b || isConst.has(a) || isConst.has(b)) continue;
    const skip = dependsOn(b, a, producer, isConst) ? a : dependsOn(a, b, producer, isConst) ? b : undefined;
    if (skip !== undefined && !residual.has(skip)) residual.set(skip, { skip, out: n.outputs[0] });
  }
  const outs = new Set([...residual.values()].map((r) => r.out));
  let best: string[] = [];
  for (const start of residual.keys()) {
    if (outs.has(start)) continue; // not a chain start
    const chain = [start];
    let t = start;
    while (residual.has(t) && chain.length < 100000) {
      t = residual.get(t)!.out;
      chain.push(t);
    }
    const adds = chain.length - 1;
    const fits = (c: number) => c % 2 === 0 && (blocks === undefined || blocks === 0 || c === 2 * blocks);
    const bestAdds = best.length - 1;
    if ((fits(adds) && !fits(bestAdds)) || (fits(adds) === fits(bestAdds) && adds > bestAdds)) best = chain;
  }
  const adds = best.length - 1;
  if (adds < 2 || adds % 2 !== 0) return undefined;
  return { tensors: best.filter((_, i) => i % 2 === 0) };
}

/** The patch embedding: a Conv with a square kernel equal to its stride (> 1) and a constant weight. */
export function findPatchConv(info: OnnxModelInfo): { node: NodeInfo; weight: string; patch: number } | undefined {
  const isConst = constants(info);
  for (const n of info.nodes) {
    const k = n.attributes.kernel_shape?.ints;
    const s = n.attributes.strides?.ints;
    if (n.opType !== 'Conv' || !k || !s || k.length !== 2 || k[0] !== k[1] || s[0] !== k[0] || s[1] !== k[1] || k[0] < 2) continue;
    if ((n.attributes.group?.i ?? 1) !== 1) continue;
    if (n.inputs[1] && isConst.has(n.inputs[1])) return { node: n, weight: n.inputs[1], patch: k[0] };
  }
  return undefined;
}

/** Attention layers in the graph: Softmax nodes (unfused) or fused attention nodes. */
export function countAttentionNodes(info: OnnxModelInfo, fusedOps: ReadonlySet<string>): { softmax: number; fused: number } {
  let softmax = 0;
  let fused = 0;
  for (const n of info.nodes) {
    if (n.opType === 'Softmax' && (n.domain === '' || n.domain === 'ai.onnx')) softmax++;
    if (fusedOps.has(n.opType) && n.domain === 'com.microsoft') fused++;
  }
  return { softmax, fused };
}
