// Pure attention analyses: CLS/query maps, rollout, raw attention, head statistics, top-k, DINO masks.
// Shared by the engine, the CLI and the webview (the panel recomputes views when the user moves a
// control, and the standalone HTML report has no engine), so this module imports only types and
// touches neither Node nor the DOM.
import type {
  AttentionShape,
  AttentionSlice,
  AttentionTensor,
  HeadFusion,
  HeadStat,
  Prediction,
  RolloutSettings,
} from '../shared/attentionTypes';

/** A tensor's shape without its data (what a panel's result carries instead of the tensor). */
export const shapeOf = (t: AttentionShape): AttentionShape => ({ layers: t.layers, heads: t.heads, tokens: t.tokens });

/** Offset of row `query` of head `head` in layer `layer`: data is [L, H, N, N]. */
function rowOffset(t: AttentionTensor, layer: number, head: number, query: number): number {
  return ((layer * t.heads + head) * t.tokens + query) * t.tokens;
}

/** Attention row of one query token (length N); `head: 'mean'` averages the heads. */
export function attentionRow(t: AttentionTensor, layer: number, head: number | 'mean', query: number): Float32Array {
  const n = t.tokens;
  if (head !== 'mean') return t.data.subarray(rowOffset(t, layer, head, query), rowOffset(t, layer, head, query) + n);
  const out = new Float32Array(n);
  for (let h = 0; h < t.heads; h++) {
    const o = rowOffset(t, layer, h, query);
    for (let j = 0; j < n; j++) out[j] += t.data[o + j];
  }
  for (let j = 0; j < n; j++) out[j] /= t.heads;
  return out;
}

/** A query's attention to the patch tokens only (length gh·gw, row-major on the grid), raw probabilities. */
export function patchMap(t: AttentionTensor, layer: number, head: number | 'mean', query: number, firstPatch: number): Float32Array {
  return attentionRow(t, layer, head, query).slice(firstPatch);
}

/** DINO's per-head maps: A_l[h, CLS, patches] for every layer and head → [layer][head][gh·gw]. */
export function clsMaps(t: AttentionTensor, firstPatch: number): Float32Array[][] {
  const maps: Float32Array[][] = [];
  for (let l = 0; l < t.layers; l++) {
    maps.push([]);
    for (let h = 0; h < t.heads; h++) maps[l].push(patchMap(t, l, h, 0, firstPatch));
  }
  return maps;
}

/** One query's row in every layer and head: [L, H, N] (L·H·N values read, unlike its rollout's pass over the whole tensor). */
export function queryRows(t: AttentionTensor, query: number): Float32Array {
  const n = t.tokens;
  const rows = new Float32Array(t.layers * t.heads * n);
  for (let l = 0; l < t.layers; l++) {
    for (let h = 0; h < t.heads; h++)
      rows.set(t.data.subarray(rowOffset(t, l, h, query), rowOffset(t, l, h, query) + n), (l * t.heads + h) * n);
  }
  return rows;
}

/**
 * One query's slice of the full tensor: its row in every layer and head ([L, H, N]) and its rollout row.
 * `row`: how the rollout row is computed (the engine passes its WebAssembly one, same maths).
 */
export function attentionSlice(
  t: AttentionTensor,
  firstPatch: number,
  query: number,
  rollout: RolloutSettings,
  row: (t: AttentionTensor, opts: RolloutOptions) => Float32Array = rolloutRow,
): AttentionSlice {
  return { query, rows: queryRows(t, query), rollout: { ...rollout, map: row(t, { ...rollout, query }).slice(firstPatch) } };
}

/** patchMap on a slice's rows ([L, H, N]): the query's attention to the patches in one layer and head (or their mean). */
export function slicePatchMap(
  rows: Float32Array,
  shape: AttentionShape,
  layer: number,
  head: number | 'mean',
  firstPatch: number,
): Float32Array {
  const n = shape.tokens;
  const row = (h: number) => rows.subarray((layer * shape.heads + h) * n, (layer * shape.heads + h + 1) * n);
  if (head !== 'mean') return row(head).slice(firstPatch);
  const out = new Float32Array(n - firstPatch);
  for (let h = 0; h < shape.heads; h++) {
    const r = row(h);
    for (let j = firstPatch; j < n; j++) out[j - firstPatch] += r[j];
  }
  for (let j = 0; j < out.length; j++) out[j] /= shape.heads;
  return out;
}

/** Fuse the heads of one layer into an N×N matrix (mean, max or min over heads). */
export function fuseHeads(t: AttentionTensor, layer: number, fusion: HeadFusion): Float32Array {
  const nn = t.tokens * t.tokens;
  const out = new Float32Array(nn);
  const base = layer * t.heads * nn;
  out.set(t.data.subarray(base, base + nn));
  for (let h = 1; h < t.heads; h++) {
    const o = base + h * nn;
    if (fusion === 'mean') for (let i = 0; i < nn; i++) out[i] += t.data[o + i];
    else if (fusion === 'max') for (let i = 0; i < nn; i++) out[i] = Math.max(out[i], t.data[o + i]);
    else for (let i = 0; i < nn; i++) out[i] = Math.min(out[i], t.data[o + i]);
  }
  if (fusion === 'mean') for (let i = 0; i < nn; i++) out[i] /= t.heads;
  return out;
}

/**
 * Selects in place: afterwards a[k] is the k-th smallest (0-based), everything before it ≤ and after it ≥
 * (Hoare partition quickselect, middle pivot; O(n) expected). Returns a[k].
 */
export function selectKth(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k];
}

/**
 * vit-explain's discard: zero the k = ⌊N²·ratio⌋ smallest entries of the fused matrix (ties broken by
 * index, as a stable argsort), never the CLS→CLS entry (flat index 0). In place.
 */
export function discardLowest(fused: Float32Array, ratio: number): void {
  const k = Math.floor(fused.length * ratio);
  if (k <= 0) return;
  const threshold = selectKth(Float32Array.from(fused), k - 1); // on a copy: `fused` keeps its order
  let below = 0;
  for (let i = 0; i < fused.length; i++) if (fused[i] < threshold) below++;
  let tiesToDrop = k - below; // entries equal to the threshold dropped in index order
  for (let i = 0; i < fused.length; i++) {
    const v = fused[i];
    const drop = v < threshold || (v === threshold && tiesToDrop-- > 0);
    if (drop && i !== 0) fused[i] = 0;
  }
}

export interface RolloutOptions {
  fusion: HeadFusion;
  /** Fraction of the lowest fused attentions zeroed per layer, 0 ≤ r < 1. */
  discardRatio: number;
  /** First layer included (0-based); layers before it are skipped. */
  startLayer?: number;
  /** Query token whose row of R is returned (CLS = 0). */
  query?: number;
}

/**
 * Attention rollout (Abnar & Zuidema 2020): Â_l = rownorm(0.5·fuse(A_l) + 0.5·I), R = Â_L ⋯ Â_1.
 * Returns row `query` of R (length N), computed as e_qᵀ·Â_L·…·Â_1 with one vector–matrix product per
 * layer: O(L·N²) instead of the O(L·N³) matrix chain. Rows are normalised with their own sums
 * (vit-explain#16 divided columns instead).
 */
export function rolloutRow(t: AttentionTensor, opts: RolloutOptions): Float32Array {
  const n = t.tokens;
  const start = opts.startLayer ?? 0;
  let v = new Float64Array(n);
  v[opts.query ?? 0] = 1;
  for (let l = t.layers - 1; l >= start; l--) {
    const a = fuseHeads(t, l, opts.fusion);
    if (opts.discardRatio > 0) discardLowest(a, opts.discardRatio);
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * n;
      let rowSum = 0.5; // the identity's share before halving the fused row: 0.5·Σ_j A_ij + 0.5
      for (let j = 0; j < n; j++) rowSum += 0.5 * a[o + j];
      const w = v[i] / rowSum;
      if (w === 0) continue;
      for (let j = 0; j < n; j++) next[j] += w * 0.5 * a[o + j];
      next[i] += w * 0.5;
    }
    v = next;
  }
  return Float32Array.from(v);
}

/** Rollout map over the patches: R[query, patches] (length gh·gw), not rescaled. */
export function rolloutMap(t: AttentionTensor, firstPatch: number, opts: RolloutOptions): Float32Array {
  return rolloutRow(t, opts).slice(firstPatch);
}

/**
 * Raw attention (no pretraining): X = the P × (C·p²) matrix of the normalised pixels of each patch,
 * A = softmax(X·Xᵀ/√(C·p²)). A mean-of-patches query is put first, in the CLS slot, so the result has
 * the layout of a 1-layer, 1-head ViT: tokens = [mean query, patches row-major].
 * @param pixels CHW float tensor [C, H, W] (batch 1), already normalised as for the model.
 */
export function rawAttention(pixels: Float32Array, channels: number, height: number, width: number, patch: number): AttentionTensor {
  const gh = Math.floor(height / patch);
  const gw = Math.floor(width / patch);
  const p = gh * gw;
  const d = channels * patch * patch;
  const n = p + 1;
  // X: [N, d]; row 0 is the mean of the patch rows.
  const x = new Float32Array(n * d);
  for (let r = 0; r < gh; r++) {
    for (let c = 0; c < gw; c++) {
      const row = (1 + r * gw + c) * d;
      let k = 0;
      for (let ch = 0; ch < channels; ch++) {
        for (let y = 0; y < patch; y++) {
          const src = ch * height * width + (r * patch + y) * width + c * patch;
          for (let xx = 0; xx < patch; xx++) x[row + k++] = pixels[src + xx];
        }
      }
    }
  }
  for (let i = 1; i < n; i++) for (let k = 0; k < d; k++) x[k] += x[i * d + k] / p;
  // Gram matrix G = X·Xᵀ/√d, symmetric: compute j ≥ i once (half the work of the 197×768×197 product).
  const scale = 1 / Math.sqrt(d);
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    const xi = i * d;
    for (let j = i; j < n; j++) {
      const xj = j * d;
      let d0 = 0,
        d1 = 0,
        d2 = 0,
        d3 = 0; // four accumulators: independent chains run in parallel
      let k = 0;
      for (; k + 3 < d; k += 4) {
        d0 += x[xi + k] * x[xj + k];
        d1 += x[xi + k + 1] * x[xj + k + 1];
        d2 += x[xi + k + 2] * x[xj + k + 2];
        d3 += x[xi + k + 3] * x[xj + k + 3];
      }
      for (; k < d; k++) d0 += x[xi + k] * x[xj + k];
      data[i * n + j] = data[j * n + i] = (d0 + d1 + d2 + d3) * scale;
    }
  }
  // Row-wise softmax, in place.
  for (let i = 0; i < n; i++) {
    const o = i * n;
    let max = -Infinity;
    for (let j = 0; j < n; j++) if (data[o + j] > max) max = data[o + j];
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(data[o + j] - max);
      data[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < n; j++) data[o + j] /= sum;
  }
  return { layers: 1, heads: 1, tokens: n, data };
}

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
const LN2 = Math.LN2;

/**
 * ln(x) for a normal float32 x > 0, absolute error < 1e-6: x = 2^e·m with m in [1, 2), and
 * ln m = 2·atanh((m−1)/(m+1)) by its series to t⁹. Exact enough to build the table below and to test it.
 */
export function lnFloat32(x: number): number {
  f32[0] = x;
  const bits = i32[0];
  const e = ((bits >>> 23) & 0xff) - 127;
  i32[0] = (bits & 0x007fffff) | 0x3f800000;
  const m = f32[0];
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  return e * LN2 + 2 * t * (1 + t2 * (1 / 3 + t2 * (1 / 5 + t2 * (1 / 7 + t2 / 9))));
}

// ln of a float32 straight from its bits: exponent·ln2 + ln(mantissa), the mantissa's ln read from a
// table indexed by its top 14 bits, holding ln at each bin's midpoint (error ≤ 2⁻¹⁵ ≈ 3e-5). 14 bits is
// the sweet spot: the 128 KiB table stays in cache (16 bits was 5× slower here), and linear
// interpolation in a smaller table cost 60% more time. No function call, no scratch buffer: the
// entropy loop reads the attention's own bytes as int32.
const LN_TABLE_BITS = 14;
const LN_SHIFT = 23 - LN_TABLE_BITS;
const LN_MASK = (1 << LN_TABLE_BITS) - 1;
const LN_TABLE = new Float64Array(1 << LN_TABLE_BITS);
for (let i = 0; i < LN_TABLE.length; i++) LN_TABLE[i] = Math.log(1 + (i + 0.5) / LN_TABLE.length);

/** −Σ a·ln a over values[start..end) (a ≥ 0; zeros and denormals contribute ≈ 0). `bits` is the same memory as int32. */
function entropySum(values: Float32Array, bits: Int32Array, start: number, end: number): number {
  let sum = 0;
  for (let k = start; k < end; k++) {
    const b = bits[k];
    sum -= values[k] * ((((b >>> 23) & 0xff) - 127) * LN2 + LN_TABLE[(b >>> LN_SHIFT) & LN_MASK]);
  }
  return sum;
}

/** Pairwise patch-centre distances in pixels, [P, P], cached for the last grid (the same for every run of a model). */
let distanceCache: { key: string; dist: Float32Array } | undefined;
export function patchDistances(gh: number, gw: number, patchSize: number): Float32Array {
  const key = `${gh}x${gw}@${patchSize}`;
  if (distanceCache?.key === key) return distanceCache.dist;
  const p = gh * gw;
  const dist = new Float32Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) {
      const dy = Math.floor(i / gw) - Math.floor(j / gw);
      const dx = (i % gw) - (j % gw);
      dist[i * p + j] = Math.hypot(dy, dx) * patchSize;
    }
  }
  distanceCache = { key, dist };
  return dist;
}

/**
 * Per layer and head (ViT paper, Fig. 7):
 * - meanDistance: mean over query patches i of Σ_j A[i,j]·‖centre_i − centre_j‖ in input pixels, with i, j
 *   over patch tokens and A the raw probabilities (not renormalised over the patches);
 * - entropy: mean over all N query rows of −Σ_j A[i,j]·ln A[i,j] over all N columns (nats).
 * One pass over the 144 × 197² entries of ViT-B: this is the hot loop of the analysis stage.
 */
export function headStatistics(t: AttentionTensor, grid: [number, number], patchSize: number, firstPatch: number): HeadStat[] {
  const [gh, gw] = grid;
  const p = gh * gw;
  const n = t.tokens;
  const dist = patchDistances(gh, gw, patchSize);
  const a = t.data; // hoisted: property loads inside the hot loops defeat V8's optimiser
  const bits = new Int32Array(a.buffer, a.byteOffset, a.length);
  const stats: HeadStat[] = [];
  for (let l = 0; l < t.layers; l++) {
    for (let h = 0; h < t.heads; h++) {
      const head = (l * t.heads + h) * n * n;
      let distance = 0;
      for (let i = 0; i < p; i++) {
        const o = head + (firstPatch + i) * n + firstPatch;
        const di = i * p;
        let s0 = 0,
          s1 = 0; // two accumulators: independent chains run in parallel
        let j = 0;
        for (; j + 1 < p; j += 2) {
          s0 += a[o + j] * dist[di + j];
          s1 += a[o + j + 1] * dist[di + j + 1];
        }
        if (j < p) s0 += a[o + j] * dist[di + j];
        distance += s0 + s1;
      }
      const entropy = entropySum(a, bits, head, head + n * n);
      stats.push({ layer: l, head: h, meanDistance: distance / p, entropy: entropy / n });
    }
  }
  return stats;
}

/** The label of class i: config.json's id2label, else "class i". */
export function classLabel(i: number, id2label?: Record<string, string>): string {
  return id2label?.[String(i)] ?? `class ${i}`;
}

/** Every class's label, for a model with `count` classes. */
export function classLabels(count: number, id2label?: Record<string, string>): string[] {
  return Array.from({ length: count }, (_, i) => classLabel(i, id2label));
}

/** Softmax of the logits, the k most probable classes, labels from id2label (or "class N"). */
export function topK(logits: ArrayLike<number>, k: number, id2label?: Record<string, string>): Prediction[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const probs = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    probs[i] = Math.exp(logits[i] - max);
    sum += probs[i];
  }
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
  return order.slice(0, Math.max(0, k)).map((index) => ({
    index,
    label: classLabel(index, id2label),
    probability: probs[index] / sum,
  }));
}

/**
 * DINO's attention-mass mask: keep the patches holding the top τ of the map's mass. Sort ascending,
 * normalise to sum 1, cumulative sum c; keep where c > 1 − τ. Returns 1 for kept patches.
 */
export function massThresholdMask(map: ArrayLike<number>, tau: number): Uint8Array {
  const order = Array.from({ length: map.length }, (_, i) => i).sort((a, b) => map[a] - map[b]);
  let total = 0;
  for (let i = 0; i < map.length; i++) total += map[i];
  const mask = new Uint8Array(map.length);
  let cum = 0;
  for (const i of order) {
    cum += total > 0 ? map[i] / total : 1 / map.length;
    if (cum > 1 - tau) mask[i] = 1;
  }
  return mask;
}

/**
 * Entropy of the predicted class distribution, in nats: H(p) = −Σ_i p_i·ln p_i with p = softmax(logits)
 * (Shannon 1948). Computed from the logits as H = ln Z − Σ_i p_i·(x_i − m), Z = Σ_i e^(x_i − m), which
 * needs no log of a probability that underflowed to 0. 0 for one certain class, ln C for a uniform one.
 */
export function predictionEntropy(logits: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let z = 0;
  let weighted = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i] - max);
    z += e;
    weighted += e * (logits[i] - max);
  }
  return Math.log(z) - weighted / z;
}
