// A/B comparison of two models' attention on one image (pure maths, runs everywhere): the rollout
// difference map, per-head deltas of the ViT paper's statistics, and how much each layer's attention
// changed, as the mean total-variation distance between the two models' rows.
import type { AttentionTensor, HeadStat } from '../shared/attentionTypes';

/** rollout(a) − rollout(b), element-wise (same patch grid). */
export function rolloutDifference(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  if (a.length !== b.length) throw new RangeError(`rollout maps differ in length: ${a.length} and ${b.length}`);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

/** Per (layer, head) present in both: meanDistance and entropy of a minus those of b. */
export function headDeltas(a: readonly HeadStat[], b: readonly HeadStat[]): HeadStat[] {
  const byKey = new Map(b.map((s) => [`${s.layer}/${s.head}`, s]));
  const out: HeadStat[] = [];
  for (const s of a) {
    const t = byKey.get(`${s.layer}/${s.head}`);
    if (t) out.push({ layer: s.layer, head: s.head, meanDistance: s.meanDistance - t.meanDistance, entropy: s.entropy - t.entropy });
  }
  return out;
}

/**
 * layerChange[l] = mean over heads h and query rows i of TV(A_a[l,h,i,:], A_b[l,h,i,:]), with the total
 * variation distance TV(p, q) = ½·Σ_j |p_j − q_j| ∈ [0, 1] (Levin, Peres & Wilmer, Markov Chains and
 * Mixing Times, §4.1). Both tensors need the same heads and tokens; layers are paired by index up to the
 * shallower model's depth.
 */
export function layerChange(a: AttentionTensor, b: AttentionTensor): Float64Array {
  if (a.heads !== b.heads || a.tokens !== b.tokens)
    throw new RangeError(`attention shapes differ: ${a.heads}×${a.tokens} and ${b.heads}×${b.tokens}`);
  const n = a.tokens;
  const layers = Math.min(a.layers, b.layers);
  const perLayer = a.heads * n * n;
  const out = new Float64Array(layers);
  for (let l = 0; l < layers; l++) {
    let sum = 0;
    const o = l * perLayer;
    for (let i = 0; i < perLayer; i++) sum += Math.abs(a.data[o + i] - b.data[o + i]);
    out[l] = (0.5 * sum) / (a.heads * n); // ½·Σ_j per row, averaged over H·N rows
  }
  return out;
}

/** Layers sorted by how much their attention changed, most first. */
export function layersByChange(change: ArrayLike<number>): number[] {
  return Array.from({ length: change.length }, (_, l) => l).sort((x, y) => change[y] - change[x] || x - y);
}
