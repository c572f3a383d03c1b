// Exact token removal by graph surgery (issue "Why this class"). A ViT's tokens interact only through
// attention, so dropping a set S of tokens from the sequence is the same, for every token that stays,
// as giving the keys in S a score of −∞ before every attention Softmax: exp(−∞) = 0, the kept rows
// renormalise over the kept keys, and nothing of S ever reaches CLS, the registers or a kept patch.
// This file adds one float graph input, the key mask [B, 1, 1, N] (0 = kept, MASK_REMOVED = removed),
// broadcast over heads and queries, and an Add of it in front of every Softmax; no weight and no other
// node changes. (Removed tokens are still computed as queries, but no kept token reads them; a head that
// pools patch outputs does read them: see pooledPatchHead.)
import { bytesField, fields } from './protobuf';
import { ElemType, encodeValueInfo, type NodeInfo, type OnnxModelInfo } from './onnxModel';

/** The added graph input. */
export const KEY_MASK_INPUT = 'vitlens_key_mask';

/**
 * The score added to a removed key. −1e9 rather than −∞: exp underflows to exactly 0 all the same (every
 * row keeps at least CLS, so its max is a kept score), and a fully masked row could never give NaN.
 * Float16 models get the largest negative half instead (−65504).
 */
export const MASK_REMOVED = -1e9;

export class KeyMaskError extends Error {}

/** The Softmax nodes the tap finds (ai.onnx domain): one per attention layer in a ViT. */
export function attentionSoftmaxes(info: OnnxModelInfo): NodeInfo[] {
  return info.nodes.filter((n) => n.opType === 'Softmax' && (n.domain === '' || n.domain === 'ai.onnx'));
}

/**
 * Whether a Softmax normalises over the last axis of a rank-4 score tensor, the key axis of [B,H,N,N].
 * Opset ≥ 13 defaults to −1; older opsets default to 1 and flatten the rest, so they must say 3 or −1.
 */
function overLastAxis(n: NodeInfo, opset: number): boolean {
  const axis = n.attributes.axis?.i;
  return axis === undefined ? opset >= 13 : axis === -1 || axis === 3;
}

/**
 * The model bytes with the key mask input and an Add in front of every attention Softmax. `elemType` is
 * the scores' type (the pixel input's: float or float16). Each Add goes right before its Softmax in the
 * node list, which keeps the graph topologically sorted. Throws KeyMaskError when there is nothing to
 * mask or a Softmax is not over the key axis.
 */
export function addKeyMask(model: Buffer, info: OnnxModelInfo, elemType: number = ElemType.FLOAT): Buffer {
  const softmaxes = attentionSoftmaxes(info);
  if (softmaxes.length === 0) throw new KeyMaskError('the graph has no Softmax nodes to mask');
  const opset = info.opsets[''] ?? 1;
  const bad = softmaxes.find((n) => !overLastAxis(n, opset));
  if (bad) throw new KeyMaskError(`Softmax ${bad.name || bad.outputs[0]} does not normalise over the last (key) axis`);
  if (info.inputs.some((i) => i.name === KEY_MASK_INPUT)) throw new KeyMaskError(`the graph already has an input ${KEY_MASK_INPUT}`);
  const targets = new Set(softmaxes.map((n) => n.outputs[0]));

  let graph: { start: number; end: number; bytes: Buffer } | undefined;
  for (const f of fields(model)) if (f.field === 7 && f.wire === 2) graph = f;
  if (!graph) throw new KeyMaskError('no ONNX graph found');
  const parts: Buffer[] = [];
  let k = 0;
  for (const g of fields(graph.bytes)) {
    const raw = graph.bytes.subarray(g.start, g.end);
    if (g.field !== 1 || g.wire !== 2) {
      parts.push(raw);
      continue;
    }
    // NodeProto: input = 1, output = 2, name = 3, op_type = 4, domain = 7.
    const nodeFields = [...fields(g.bytes)];
    const output = nodeFields.find((x) => x.field === 2);
    const op = nodeFields.find((x) => x.field === 4);
    if (!output || !op || op.bytes.toString('utf8') !== 'Softmax' || !targets.has(output.bytes.toString('utf8'))) {
      parts.push(raw);
      continue;
    }
    const firstInput = nodeFields.find((x) => x.field === 1);
    if (!firstInput) throw new KeyMaskError('a Softmax without an input');
    const scores = firstInput.bytes.toString('utf8');
    const masked = `${scores}/vitlens_masked_${k}`;
    const add = Buffer.concat([
      bytesField(1, scores),
      bytesField(1, KEY_MASK_INPUT),
      bytesField(2, masked),
      bytesField(3, `/vitlens/key_mask/Add_${k++}`),
      bytesField(4, 'Add'),
    ]);
    parts.push(bytesField(1, add));
    // The Softmax itself, its first input renamed; every other field byte for byte.
    const softmax = Buffer.concat(nodeFields.map((x) => (x === firstInput ? bytesField(1, masked) : g.bytes.subarray(x.start, x.end))));
    parts.push(bytesField(1, softmax));
  }
  // GraphProto.input = 11: [batch, 1, 1, tokens], both symbolic (the token count depends on the input size).
  parts.push(bytesField(11, encodeValueInfo(KEY_MASK_INPUT, elemType, ['vitlens_batch', 1, 1, 'vitlens_tokens'])));
  return Buffer.concat([model.subarray(0, graph.start), bytesField(7, Buffer.concat(parts)), model.subarray(graph.end)]);
}

/** Binary float16 of MASK_REMOVED's stand-in, −65504 (0xFBFF). */
const HALF_REMOVED = 0xfbff;

/**
 * Fills a key mask for `removed.length` runs: removed[b][t] true → token t removed in run b. Float32 or
 * the float16 bit patterns (Uint16Array), as the mask input's type asks.
 */
export function keyMaskData(removed: ArrayLike<boolean | number>[], tokens: number, elemType: number): Float32Array | Uint16Array {
  const half = elemType === ElemType.FLOAT16;
  const out = half ? new Uint16Array(removed.length * tokens) : new Float32Array(removed.length * tokens);
  removed.forEach((r, b) => {
    for (let t = 0; t < tokens; t++) if (r[t]) out[b * tokens + t] = half ? HALF_REMOVED : MASK_REMOVED;
  });
  return out;
}

/** The reduce ops a classifier head may pool the sequence with. */
const POOLS = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'GlobalAveragePool', 'GlobalMaxPool']);

/**
 * Whether the head reads patch outputs through a pool (e.g. DINOv2's classifier on [CLS, mean of the
 * patch tokens]): key masking keeps removed tokens out of every attention, not out of such a pool, so
 * the removal is not exact there. Looks for a reduce over the token axis (axes 1 or −2 of [B, N, D];
 * LayerNorm's reduces are over −1 / 2) after the last Softmax; a reduce whose axes come as an input
 * (opset ≥ 18) counts as a pool unless it is LayerNorm's mean (x − mean) or variance (√(var + ε)).
 */
export function pooledPatchHead(info: OnnxModelInfo): boolean {
  const softmaxes = attentionSoftmaxes(info);
  if (softmaxes.length === 0) return false;
  const last = info.nodes.lastIndexOf(softmaxes[softmaxes.length - 1]);
  const consumers = (name: string) => info.nodes.filter((n) => n.inputs.includes(name));
  return info.nodes.slice(last + 1).some((n) => {
    if (!POOLS.has(n.opType)) return false;
    if (n.opType.startsWith('Global')) return true;
    const axes = n.attributes.axes?.ints;
    if (axes) return axes.includes(1) || axes.includes(-2);
    if (n.inputs.length < 2) return true; // no axes: reduces over everything, tokens included
    // LayerNorm's mean is subtracted from x; its variance gets ε added and goes into Sqrt.
    const layerNormLike = consumers(n.outputs[0]).some(
      (c) => c.opType === 'Sub' || (c.opType === 'Add' && consumers(c.outputs[0]).some((d) => d.opType === 'Sqrt')),
    );
    return !layerNormLike;
  });
}
