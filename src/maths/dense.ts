// Pure maths of dense predictions (DPT depth and segmentation), shared by the engine, the CLI and the
// webview: PyTorch-exact resampling (bicubic and bilinear, align_corners=False), the segmentation argmax
// of bilinearly upsampled logits without materialising them, depth statistics, class areas and the
// ADE20K palette, 16-bit depth, and the PCA → RGB view of a feature map. Imports only types and the
// ADE20K table; touches neither Node nor the DOM. Typed arrays throughout, no per-pixel allocation.
import type { SegmentClass } from '../analyses/dense/types';
import { ADE20K_PALETTE } from './ade20k';
import { selectKth } from './attention';

const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------------
// Resampling with PyTorch's F.interpolate semantics (aten/src/ATen/native/UpSample.h), align_corners=False,
// output size given (scale = in/out), no antialias. Coordinates in float32 as PyTorch computes them.

/** Per output index: 4 source indices (clamped to the border) and 4 weights of the cubic kernel, a = −0.75. */
export interface CubicTaps {
  index: Int32Array;
  weight: Float64Array;
}

/** PyTorch's cubic convolution weights for fractional offset t: [W(t+1), W(t), W(1−t), W(2−t)], A = −0.75. */
export function cubicWeights(t: number, a = -0.75): [number, number, number, number] {
  const near = (x: number) => ((a + 2) * x - (a + 3)) * x * x + 1; // |x| ≤ 1
  const far = (x: number) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; // 1 < |x| < 2
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/** Taps of bicubic resampling along one axis (source = scale·(dst + 0.5) − 0.5, not clamped; indices clamped). */
export function cubicTaps(inSize: number, outSize: number): CubicTaps {
  const scale = f32(inSize / outSize);
  const index = new Int32Array(outSize * 4);
  const weight = new Float64Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    const real = f32(f32(scale * f32(o + 0.5)) - 0.5);
    const i0 = Math.floor(real);
    const w = cubicWeights(f32(real - i0));
    for (let k = 0; k < 4; k++) {
      index[o * 4 + k] = Math.min(Math.max(i0 - 1 + k, 0), inSize - 1);
      weight[o * 4 + k] = w[k];
    }
  }
  return { index, weight };
}

/**
 * Bicubic resize of a [srcH, srcW] map to [dstH, dstW], as torch.nn.functional.interpolate(mode="bicubic",
 * align_corners=False): separable, rows first into a [srcH, dstW] buffer, then columns.
 */
export function resizeBicubic(src: ArrayLike<number>, srcH: number, srcW: number, dstH: number, dstW: number): Float32Array {
  const tx = cubicTaps(srcW, dstW);
  const ty = cubicTaps(srcH, dstH);
  const rows = new Float64Array(srcH * dstW);
  for (let y = 0; y < srcH; y++) {
    const o = y * srcW;
    for (let x = 0; x < dstW; x++) {
      const k = x * 4;
      rows[y * dstW + x] =
        tx.weight[k] * src[o + tx.index[k]] +
        tx.weight[k + 1] * src[o + tx.index[k + 1]] +
        tx.weight[k + 2] * src[o + tx.index[k + 2]] +
        tx.weight[k + 3] * src[o + tx.index[k + 3]];
    }
  }
  const out = new Float32Array(dstH * dstW);
  for (let y = 0; y < dstH; y++) {
    const k = y * 4;
    const r0 = ty.index[k] * dstW,
      r1 = ty.index[k + 1] * dstW,
      r2 = ty.index[k + 2] * dstW,
      r3 = ty.index[k + 3] * dstW;
    const w0 = ty.weight[k],
      w1 = ty.weight[k + 1],
      w2 = ty.weight[k + 2],
      w3 = ty.weight[k + 3];
    const o = y * dstW;
    for (let x = 0; x < dstW; x++) out[o + x] = w0 * rows[r0 + x] + w1 * rows[r1 + x] + w2 * rows[r2 + x] + w3 * rows[r3 + x];
  }
  return out;
}

/** Per output index: the two source indices and their weights of linear resampling (source clamped at 0). */
export interface LinearTaps {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float64Array;
  w1: Float64Array;
}

export function linearTaps(inSize: number, outSize: number): LinearTaps {
  const scale = f32(inSize / outSize);
  const taps: LinearTaps = {
    i0: new Int32Array(outSize),
    i1: new Int32Array(outSize),
    w0: new Float64Array(outSize),
    w1: new Float64Array(outSize),
  };
  for (let o = 0; o < outSize; o++) {
    const real = Math.max(0, f32(f32(scale * f32(o + 0.5)) - 0.5));
    const i0 = Math.floor(real);
    const lambda = Math.min(Math.max(f32(real - i0), 0), 1);
    taps.i0[o] = i0;
    taps.i1[o] = i0 + (i0 < inSize - 1 ? 1 : 0);
    taps.w1[o] = lambda;
    taps.w0[o] = f32(1 - lambda);
  }
  return taps;
}

/** Bilinear resize of one [srcH, srcW] map (torch mode="bilinear", align_corners=False). */
export function resizeBilinear(src: ArrayLike<number>, srcH: number, srcW: number, dstH: number, dstW: number): Float32Array {
  const tx = linearTaps(srcW, dstW);
  const ty = linearTaps(srcH, dstH);
  const out = new Float32Array(dstH * dstW);
  for (let y = 0; y < dstH; y++) {
    const a = ty.i0[y] * srcW,
      b = ty.i1[y] * srcW,
      wa = ty.w0[y],
      wb = ty.w1[y];
    for (let x = 0; x < dstW; x++) {
      const x0 = tx.i0[x],
        x1 = tx.i1[x];
      out[y * dstW + x] = wa * (tx.w0[x] * src[a + x0] + tx.w1[x] * src[a + x1]) + wb * (tx.w0[x] * src[b + x0] + tx.w1[x] * src[b + x1]);
    }
  }
  return out;
}

/**
 * Segmentation labels: argmax over classes of the logits [C, srcH, srcW] upsampled bilinearly
 * (align_corners=False) to [dstH, dstW], as HF's post_process_semantic_segmentation; ties go to the lower
 * class id (torch.argmax). Non-finite logits never win. The upsampled logits (C × dstH × dstW) are never
 * materialised, and most pixels never look at all C classes: each source pixel's best class and
 * second-best logit bound every other class, so a pixel whose best corner class beats that bound is
 * decided by those ≤ 4 classes; the others (near class boundaries) scan all classes. Both paths compute
 * a class's value the same way (rows mixed in float32, then columns), so the result does not depend on
 * which path a pixel took.
 */
export function upsampledArgmax(
  logits: Float32Array,
  classes: number,
  srcH: number,
  srcW: number,
  dstH: number,
  dstW: number,
): Uint16Array {
  if (classes > 65536) throw new RangeError(`${classes} classes do not fit 16-bit labels`);
  const plane = srcH * srcW;
  const labels = new Uint16Array(dstH * dstW);
  if (classes <= 1) return labels;
  // Per source pixel: best class (lowest id among equals), best and second-best logit.
  const top = new Uint16Array(plane);
  const first = new Float32Array(plane).fill(-Infinity);
  const second = new Float32Array(plane).fill(-Infinity);
  for (let c = 0; c < classes; c++) {
    const o = c * plane;
    for (let p = 0; p < plane; p++) {
      const v = logits[o + p];
      if (v > first[p]) {
        second[p] = first[p];
        first[p] = v;
        top[p] = c;
      } else if (v > second[p]) second[p] = v;
    }
  }
  const tx = linearTaps(srcW, dstW);
  const ty = linearTaps(srcH, dstH);
  // Full scans read source rows transposed to [srcW, C] (classes contiguous); the two latest are kept.
  const cache = [
    { row: -1, data: new Float32Array(srcW * classes) },
    { row: -1, data: new Float32Array(srcW * classes) },
  ];
  const transposed = (row: number, keep: number): Float32Array => {
    const hit = cache.find((c) => c.row === row);
    if (hit) return hit.data;
    const slot = cache[0].row === keep ? cache[1] : cache[0];
    const d = slot.data;
    const o = row * srcW;
    for (let c = 0; c < classes; c++) {
      const base = c * plane + o;
      for (let x = 0; x < srcW; x++) d[x * classes + c] = logits[base + x];
    }
    slot.row = row;
    return d;
  };
  const candidates = new Int32Array(4);
  for (let y = 0; y < dstH; y++) {
    const y0 = ty.i0[y],
      y1 = ty.i1[y];
    const w0 = ty.w0[y],
      w1 = ty.w1[y];
    const row0 = y0 * srcW,
      row1 = y1 * srcW;
    for (let x = 0; x < dstW; x++) {
      const x0 = tx.i0[x],
        x1 = tx.i1[x];
      const u = tx.w0[x],
        v = tx.w1[x];
      const p00 = row0 + x0,
        p01 = row0 + x1,
        p10 = row1 + x0,
        p11 = row1 + x1;
      // The corners' best classes, ascending and distinct (insertion into ≤ 4 slots).
      let k = 0;
      for (let corner = 0; corner < 4; corner++) {
        const cls = top[corner === 0 ? p00 : corner === 1 ? p01 : corner === 2 ? p10 : p11];
        let at = k;
        while (at > 0 && candidates[at - 1] > cls) at--;
        if (at > 0 && candidates[at - 1] === cls) continue;
        for (let j = k; j > at; j--) candidates[j] = candidates[j - 1];
        candidates[at] = cls;
        k++;
      }
      let best = candidates[0];
      let bestValue = -Infinity;
      for (let j = 0; j < k; j++) {
        const o = candidates[j] * plane;
        const value = u * f32(w0 * logits[o + p00] + w1 * logits[o + p10]) + v * f32(w0 * logits[o + p01] + w1 * logits[o + p11]);
        if (value > bestValue) {
          bestValue = value;
          best = candidates[j];
        }
      }
      // Any other class is ≤ its second-best logit at every corner: bounded by the same interpolation.
      const bound = u * (w0 * second[p00] + w1 * second[p10]) + v * (w0 * second[p01] + w1 * second[p11]);
      if (!(bestValue > bound + 1e-6 * (Math.abs(bound) + Math.abs(bestValue)) + 1e-30)) {
        const r0 = transposed(y0, y1);
        const r1 = transposed(y1, y0);
        const a = x0 * classes,
          b = x1 * classes;
        best = 0;
        bestValue = -Infinity;
        for (let c = 0; c < classes; c++) {
          const value = u * f32(w0 * r0[a + c] + w1 * r1[a + c]) + v * f32(w0 * r0[b + c] + w1 * r1[b + c]);
          if (value > bestValue) {
            bestValue = value;
            best = c;
          }
        }
      }
      labels[y * dstW + x] = best;
    }
  }
  return labels;
}

// ---------------------------------------------------------------------------------------------------
// Depth

export interface DepthStats {
  /** Over finite values only; NaN when there are none. */
  min: number;
  max: number;
  /** 2nd and 98th percentiles (numpy's default "linear" interpolation between order statistics). */
  p2: number;
  p98: number;
  /** How many values were NaN or ±Infinity. */
  nonFinite: number;
}

/** numpy.percentile(sorted, q) with linear interpolation, for an ascending array. */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** numpy.percentile(values, q) (linear interpolation) by selection, reordering `a` in place. */
function percentileBySelection(a: Float32Array, q: number): number {
  const pos = (q / 100) * (a.length - 1);
  const lo = Math.floor(pos);
  const low = selectKth(a, lo);
  if (lo + 1 >= a.length || pos === lo) return low;
  let next = Infinity; // the (lo+1)-th smallest: the least of the upper part
  for (let i = lo + 1; i < a.length; i++) if (a[i] < next) next = a[i];
  return low + (next - low) * (pos - lo);
}

export function depthStats(values: ArrayLike<number>): DepthStats {
  const finite = new Float32Array(values.length);
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) continue; // NaN or ±Infinity (Number.isFinite without the call)
    finite[n++] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const a = finite.subarray(0, n);
  return {
    min: n ? min : NaN,
    max: n ? max : NaN,
    p2: n ? percentileBySelection(a, 2) : NaN,
    p98: n ? percentileBySelection(a, 98) : NaN,
    nonFinite: values.length - n,
  };
}

/** A copy with NaN and −Infinity replaced by `min`, +Infinity by `max` (so resampling cannot spread them). */
export function clampNonFinite(values: Float32Array, min: number, max: number): Float32Array {
  const out = Float32Array.from(values);
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) out[i] = out[i] === Infinity ? max : min;
  return out;
}

/** Position of v in [lo, hi] as 0..1 (clamped); 0 for a flat range or a non-finite value. */
export function unitRange(v: number, lo: number, hi: number): number {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span) || !Number.isFinite(v)) return 0;
  const t = (v - lo) / span;
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

/** Min–max normalisation to 16 bits (0..65535), as the grayscale depth export stores it; flat maps are 0. */
export function depthToUint16(values: ArrayLike<number>, min: number, max: number): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(unitRange(values[i], min, max) * 65535);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Segmentation classes

/** Colour of a class id: the ADE20K palette for ids 0..149, golden-angle hues beyond (models with more classes). */
export function classColor(id: number): [number, number, number] {
  const p = ADE20K_PALETTE[id];
  if (p) return [p[0], p[1], p[2]];
  const hue = (id * 137.508) % 360;
  const f = (n: number) => {
    const k = (n + hue / 30) % 12;
    return Math.round(255 * (0.55 - 0.45 * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** The classes present in `labels` with their area share, largest first (ties: lower id first). */
export function segmentClasses(labels: Uint16Array, numClasses: number, id2label?: Record<string, string>): SegmentClass[] {
  const counts = new Uint32Array(Math.max(numClasses, 1));
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  const out: SegmentClass[] = [];
  counts.forEach((n, id) => {
    if (n > 0) out.push({ id, name: id2label?.[String(id)] ?? `class ${id}`, color: classColor(id), area: n / labels.length });
  });
  return out.sort((a, b) => b.area - a.area || a.id - b.id);
}

// ---------------------------------------------------------------------------------------------------
// Feature maps → RGB by PCA

export interface PcaOptions {
  /** At most this many pixels (a regular subsample) fit the components; all pixels are projected. */
  maxFitPixels?: number;
  /** Percentiles mapped to 0 and 255 per component (robust to outliers). */
  lowPercentile?: number;
  highPercentile?: number;
  /** Relative residual the eigenvectors are computed to (default 1e-7: far below what 8-bit colours show). */
  tolerance?: number;
  /** false: components and explained variance only, `rgb` empty (a caller that draws nothing: the CLI's JSON). */
  colours?: boolean;
}

export interface PcaResult {
  /** [height, width, 3] bytes: components 1, 2, 3 → R, G, B (empty with `colours: false`). */
  rgb: Uint8Array;
  /** Share of the total variance of each component (0 when there are fewer than 3). */
  explained: [number, number, number];
  /** The unit component vectors in channel space, [k][channels] (sign: largest |entry| positive). */
  components: Float64Array[];
}

/**
 * The top-k eigenpairs of a symmetric positive semi-definite n×n matrix (row-major) by the Lanczos
 * method with full reorthogonalisation (Golub & Van Loan, Matrix Computations, §10.1–10.3): one
 * matrix–vector product per step builds a Krylov basis Q and the tridiagonal T = QᵀAQ, whose top Ritz
 * pairs converge far faster than a block power method on a slowly decaying spectrum (the 384-channel
 * neck level: ~40 products against ~25 iterations × 8 of subspace iteration). Stops when every one of
 * the k Ritz pairs has the residual ‖A·x − θ·x‖ = |β_j·y_j| ≤ tol·θ₁, or when the basis spans an
 * invariant subspace (exact), or at n steps. Deterministic start (an LCG). Eigenvalues descending.
 */
export function topEigenpairs(matrix: Float64Array, n: number, k: number, tol = 1e-9): { values: number[]; vectors: Float64Array[] } {
  k = Math.min(k, n);
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  const basis: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = []; // beta[j]: the coupling of basis[j] and basis[j + 1]
  let q: Float64Array = Float64Array.from({ length: n }, rand);
  let norm = Math.sqrt(dot(q, q));
  for (let t = 0; t < n; t++) q[t] /= norm;
  let ritz: { values: number[]; vectors: Float64Array[] } | undefined;
  let checked = 0; // steps at the last convergence check: checks grow apart (each costs a Jacobi of T)
  for (let j = 0; j < n; j++) {
    basis.push(q);
    const w = matVec(matrix, n, q);
    alpha.push(dot(q, w));
    // Full reorthogonalisation against the whole basis, twice (Kahan–Parlett): w ⟂ Q to rounding.
    for (let pass = 0; pass < 2; pass++)
      for (const b of basis) {
        const d = dot(w, b);
        for (let t = 0; t < n; t++) w[t] -= d * b[t];
      }
    norm = Math.sqrt(dot(w, w));
    const steps = j + 1;
    const invariant = norm <= 1e-12 * Math.max(Math.abs(alpha[0]), 1e-300) * Math.sqrt(n);
    if (invariant) norm = 0; // T decouples here: its eigenpairs so far are exact
    beta.push(norm);
    if (steps >= k && (invariant || steps === n || steps - checked >= Math.max(4, checked >> 3))) {
      checked = steps;
      // Ritz pairs: eigenpairs of T (steps × steps, tridiagonal), by Jacobi.
      const tri = new Float64Array(steps * steps);
      for (let i = 0; i < steps; i++) {
        tri[i * steps + i] = alpha[i];
        if (i + 1 < steps) tri[i * steps + i + 1] = tri[(i + 1) * steps + i] = beta[i];
      }
      const eig = jacobiEigen(tri, steps);
      const scale = Math.max(Math.abs(eig.values[0]), 1e-300);
      let worst = 0;
      for (let i = 0; i < k; i++) worst = Math.max(worst, Math.abs(norm * eig.vectors[i][steps - 1]) / scale);
      if (invariant || steps === n || worst <= tol) {
        ritz = {
          values: eig.values.slice(0, k),
          vectors: eig.vectors.slice(0, k).map((y) => combine(basis, y, n)),
        };
        break;
      }
    }
    if (invariant) {
      // Fewer than k directions carry the matrix (rank < k): go on from a fresh direction ⟂ the basis
      // (eigenvalue 0 to rounding), so that k pairs come back as from a full solver.
      q = Float64Array.from({ length: n }, rand);
      for (let pass = 0; pass < 2; pass++)
        for (const b of basis) {
          const d = dot(q, b);
          for (let t = 0; t < n; t++) q[t] -= d * b[t];
        }
      norm = Math.sqrt(dot(q, q));
      if (norm < 1e-8) break;
    } else q = w;
    for (let t = 0; t < n; t++) q[t] /= norm;
  }
  const out = ritz!;
  // Unit length to rounding (the basis is orthonormal to ~1e-15).
  for (const v of out.vectors) {
    const l = Math.sqrt(dot(v, v)) || 1;
    for (let t = 0; t < n; t++) v[t] /= l;
  }
  return out;
}

function matVec(m: Float64Array, n: number, v: Float64Array): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * n;
    let s0 = 0,
      s1 = 0;
    let j = 0;
    for (; j + 1 < n; j += 2) {
      s0 += m[o + j] * v[j];
      s1 += m[o + j + 1] * v[j + 1];
    }
    if (j < n) s0 += m[o + j] * v[j];
    out[i] = s0 + s1;
  }
  return out;
}

/**
 * The top-k eigenpairs by subspace iteration with Rayleigh–Ritz (block of min(n, k + 5) vectors,
 * deterministic start), to a relative residual of `tol`: the solver before topEigenpairs' Lanczos,
 * kept as the tests' second reference. Eigenvalues descending.
 */
export function subspaceEigenpairs(
  matrix: Float64Array,
  n: number,
  k: number,
  tol = 1e-9,
  maxIterations = 500,
): { values: number[]; vectors: Float64Array[] } {
  const b = Math.min(n, k + 5);
  // Deterministic start: a fixed pseudo-random block (an LCG), so results never depend on the run.
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  let q: Float64Array[] = Array.from({ length: b }, () => Float64Array.from({ length: n }, rand));
  orthonormalise(q);
  let values: number[] = [];
  let vectors: Float64Array[] = q;
  for (let it = 0; it < maxIterations; it++) {
    const z = blockMatVec(matrix, n, q);
    // Rayleigh–Ritz: the small b×b problem H = Qᵀ·A·Q, solved exactly by Jacobi.
    const h = new Float64Array(b * b);
    for (let i = 0; i < b; i++) for (let j = i; j < b; j++) h[i * b + j] = h[j * b + i] = dot(q[i], z[j]);
    const { values: theta, vectors: y } = jacobiEigen(h, b);
    const ritz = y.map((coef) => combine(q, coef, n));
    const az = y.map((coef) => combine(z, coef, n));
    values = theta;
    vectors = ritz;
    const scale = Math.max(Math.abs(theta[0]), 1e-300);
    let worst = 0;
    for (let i = 0; i < Math.min(k, b); i++) {
      let r = 0;
      for (let j = 0; j < n; j++) {
        const d = az[i][j] - theta[i] * ritz[i][j];
        r += d * d;
      }
      worst = Math.max(worst, Math.sqrt(r) / scale);
    }
    if (worst <= tol) break;
    q = az; // next block: A·(Ritz vectors), re-orthonormalised
    orthonormalise(q);
  }
  return { values: values.slice(0, k), vectors: vectors.slice(0, k) };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** M·v for every vector of a block, one pass over M (each row read once, from cache, for all vectors). */
function blockMatVec(m: Float64Array, n: number, vs: Float64Array[]): Float64Array[] {
  const out = vs.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const row = m.subarray(i * n, (i + 1) * n);
    for (let b = 0; b < vs.length; b++) {
      const v = vs[b];
      let s0 = 0,
        s1 = 0;
      let j = 0;
      for (; j + 1 < n; j += 2) {
        s0 += row[j] * v[j];
        s1 += row[j + 1] * v[j + 1];
      }
      if (j < n) s0 += row[j] * v[j];
      out[b][i] = s0 + s1;
    }
  }
  return out;
}

function combine(basis: Float64Array[], coef: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < basis.length; i++) {
    const v = basis[i];
    const c = coef[i];
    for (let j = 0; j < n; j++) out[j] += c * v[j];
  }
  return out;
}

/** Modified Gram–Schmidt, in place; a vector that collapses (rank deficiency) is replaced by a fresh unit vector. */
function orthonormalise(vs: Float64Array[]): void {
  const n = vs[0].length;
  const removeProjections = (v: Float64Array, upTo: number) => {
    for (let j = 0; j < upTo; j++) {
      const u = vs[j];
      const d = dot(v, u);
      for (let t = 0; t < n; t++) v[t] -= d * u[t];
    }
  };
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i];
    removeProjections(v, i);
    removeProjections(v, i); // twice is enough (Kahan–Parlett)
    let norm = Math.sqrt(dot(v, v));
    if (norm < 1e-12) {
      v.fill(0);
      v[i % n] = 1;
      removeProjections(v, i);
      norm = Math.sqrt(dot(v, v)) || 1;
    }
    for (let t = 0; t < n; t++) v[t] /= norm;
  }
}

/** Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations; eigenvalues descending. */
export function jacobiEigen(matrix: Float64Array, n: number): { values: number[]; vectors: Float64Array[] } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let r = p + 1; r < n; r++) off += a[p * n + r] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let r = p + 1; r < n; r++) {
        const apr = a[p * n + r];
        if (Math.abs(apr) < 1e-300) continue;
        const theta = (a[r * n + r] - a[p * n + p]) / (2 * apr);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // columns p, r
          const akp = a[k * n + p],
            akr = a[k * n + r];
          a[k * n + p] = c * akp - s * akr;
          a[k * n + r] = s * akp + c * akr;
        }
        for (let k = 0; k < n; k++) {
          // rows p, r
          const apk = a[p * n + k],
            ark = a[r * n + k];
          a[p * n + k] = c * apk - s * ark;
          a[r * n + k] = s * apk + c * ark;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p],
            vkr = v[k * n + r];
          v[k * n + p] = c * vkp - s * vkr;
          v[k * n + r] = s * vkp + c * vkr;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y] - a[x * n + x]);
  return {
    values: order.map((i) => a[i * n + i]),
    vectors: order.map((i) => Float64Array.from({ length: n }, (_, k) => v[k * n + i])),
  };
}

/** Centred fitting samples of a feature map [C, H·W]: a regular subsample of at most `maxFitPixels` pixels. */
export interface PcaSamples {
  /** [m, C] row-major, each channel minus its mean over the m samples. */
  x: Float32Array;
  m: number;
  channels: number;
  mean: Float64Array;
  /** Trace of the covariance: the total variance the components' shares are taken of. */
  total: number;
}

export function pcaSamples(features: Float32Array, channels: number, pixels: number, maxFitPixels = 4096): PcaSamples {
  const stride = Math.max(1, Math.ceil(pixels / maxFitPixels));
  const m = Math.ceil(pixels / stride);
  const mean = new Float64Array(channels);
  const x = new Float32Array(m * channels);
  let total = 0;
  for (let c = 0; c < channels; c++) {
    const o = c * pixels;
    let s = 0;
    for (let i = 0, p = 0; i < m; i++, p += stride) s += features[o + p];
    const mu = (mean[c] = s / m);
    for (let i = 0, p = 0; i < m; i++, p += stride) {
      const v = features[o + p] - mu;
      x[i * channels + c] = v;
      total += v * v;
    }
  }
  return { x, m, channels, mean, total: total / Math.max(m - 1, 1) };
}

/** Whether the scatter matrix is the C×C covariance (else the m×m Gram matrix: fewer samples than channels). */
export const usesCovariance = (s: PcaSamples) => s.channels <= s.m;

/**
 * The smaller scatter matrix of the centred samples, divided by m − 1: the covariance XᵀX (C×C) when
 * C ≤ m, else the Gram matrix XXᵀ (m×m), which has the same non-zero eigenvalues. Row-major, symmetric.
 */
export function scatterMatrix(s: PcaSamples): Float64Array {
  const { x, m, channels: c } = s;
  const cov = usesCovariance(s);
  const k = cov ? c : m;
  // Rows of the operand as contiguous vectors: channels (covariance) or samples (Gram).
  const rows = cov
    ? Array.from({ length: c }, (_, a) => Float32Array.from({ length: m }, (_, i) => x[i * c + a]))
    : Array.from({ length: m }, (_, i) => x.subarray(i * c, (i + 1) * c));
  const out = new Float64Array(k * k);
  const scale = 1 / Math.max(m - 1, 1);
  for (let a = 0; a < k; a++) {
    const ra = rows[a];
    for (let b = a; b < k; b++) {
      const rb = rows[b];
      let d0 = 0,
        d1 = 0,
        d2 = 0,
        d3 = 0; // independent accumulators
      let t = 0;
      for (; t + 3 < ra.length; t += 4) {
        d0 += ra[t] * rb[t];
        d1 += ra[t + 1] * rb[t + 1];
        d2 += ra[t + 2] * rb[t + 2];
        d3 += ra[t + 3] * rb[t + 3];
      }
      for (; t < ra.length; t++) d0 += ra[t] * rb[t];
      out[a * k + b] = out[b * k + a] = (d0 + d1 + d2 + d3) * scale;
    }
  }
  return out;
}

/**
 * Scores of every pixel on each component: s_k[p] = Σ_c v_k[c]·(f[c, p] − mean[c]), features [C, n]. One
 * pass over the features for all components (the map is read once, not once per component); each score
 * is accumulated in float32 over the channels in order, skipping zero weights, so it equals the
 * per-component loop bit for bit.
 */
export function projectScores(features: Float32Array, n: number, mean: Float64Array, components: Float64Array[]): Float32Array[] {
  const scores = components.map(() => new Float32Array(n));
  const channels = mean.length;
  for (let c = 0; c < channels; c++) {
    const o = c * n;
    const shift = mean[c];
    if (components.length === 3 && components.every((v) => v[c] !== 0)) {
      // The usual case: three scores per feature value read.
      const [s0, s1, s2] = scores;
      const w0 = components[0][c],
        w1 = components[1][c],
        w2 = components[2][c];
      for (let p = 0; p < n; p++) {
        const f = features[o + p] - shift;
        s0[p] += w0 * f;
        s1[p] += w1 * f;
        s2[p] += w2 * f;
      }
      continue;
    }
    for (let k = 0; k < components.length; k++) {
      const w = components[k][c];
      if (w === 0) continue;
      const sc = scores[k];
      for (let p = 0; p < n; p++) sc[p] += w * (features[o + p] - shift);
    }
  }
  return scores;
}

/**
 * PCA → RGB from the samples and their scatter matrix (see scatterMatrix; the engine computes it with
 * onnxruntime). The top three eigenvectors are the components (from the Gram matrix, v = Xᵀu / ‖Xᵀu‖);
 * each component's sign is fixed so that its largest-magnitude entry is positive; its scores over all
 * pixels are mapped linearly from the [low, high] percentiles to 0..255. A component with no variance
 * (≤ 1e-9 of the total) is flat: 0, explaining 0.
 */
export function pcaFromScatter(
  features: Float32Array,
  height: number,
  width: number,
  s: PcaSamples,
  scatter: ArrayLike<number>,
  opts: PcaOptions = {},
): PcaResult {
  const { x, m, channels, mean, total } = s;
  const n = height * width;
  const k = Math.min(3, channels, Math.max(m - 1, 0));
  const components: Float64Array[] = [];
  const values: number[] = [];
  if (k > 0 && total > 0) {
    const size = usesCovariance(s) ? channels : m;
    const eig = topEigenpairs(Float64Array.from(scatter), size, k, opts.tolerance ?? 1e-7);
    eig.vectors.forEach((u, i) => {
      let v = u;
      if (!usesCovariance(s)) {
        v = new Float64Array(channels); // v = Xᵀu / ‖Xᵀu‖
        for (let j = 0; j < m; j++) {
          const w = u[j];
          if (w !== 0) for (let c = 0; c < channels; c++) v[c] += w * x[j * channels + c];
        }
        const norm = Math.sqrt(dot(v, v)) || 1;
        for (let c = 0; c < channels; c++) v[c] /= norm;
      }
      components.push(v);
      values.push(eig.values[i]);
    });
  }
  for (const v of components) {
    let at = 0;
    for (let c = 1; c < v.length; c++) if (Math.abs(v[c]) > Math.abs(v[at])) at = c;
    if (v[at] < 0) for (let c = 0; c < v.length; c++) v[c] = -v[c];
  }
  const explained: [number, number, number] = [0, 0, 0];
  const shown = components.map((_, ci) => values[ci] > total * 1e-9);
  if (opts.colours === false) {
    shown.forEach((on, ci) => (explained[ci] = on ? values[ci] / total : 0));
    return { rgb: new Uint8Array(0), explained, components };
  }
  const rgb = new Uint8Array(n * 3);
  const scores = projectScores(
    features,
    n,
    mean,
    components.filter((_, ci) => shown[ci]),
  );
  let next = 0;
  components.forEach((_, ci) => {
    if (!shown[ci]) return;
    explained[ci] = values[ci] / total;
    const sc = scores[next++];
    // Percentiles by selection on a scratch copy (no sort): the same order statistics as numpy's.
    const scratch = Float32Array.from(sc);
    const lo = percentileBySelection(scratch, opts.lowPercentile ?? 1);
    const hi = percentileBySelection(scratch, opts.highPercentile ?? 99);
    for (let p = 0; p < n; p++) rgb[p * 3 + ci] = Math.round(255 * unitRange(sc[p], lo, hi));
  });
  return { rgb, explained, components };
}

/**
 * PCA of a feature map [C, H, W] (channels as variables, pixels as samples): the first three principal
 * components → R, G, B, all in JS (see pcaSamples, scatterMatrix, pcaFromScatter).
 */
export function pcaRgb(features: Float32Array, channels: number, height: number, width: number, opts: PcaOptions = {}): PcaResult {
  const s = pcaSamples(features, channels, height * width, opts.maxFitPixels);
  return pcaFromScatter(features, height, width, s, scatterMatrix(s), opts);
}
