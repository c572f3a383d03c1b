// The maths of "Inside the ViT" (src/analyses/inside): principal components (of the patch-embedding
// filters, of patch features), cosine similarity of position embeddings, residual-stream norms, the
// attention each token receives, the high-norm outlier test of Darcet et al. 2023, the DINOv2-style
// foreground cut, and the smallest box holding a share of an attention map's mass (hard attention).
// Pure: float64 accumulation, no imports beyond types; the engine, the CLI and the webview may use it.

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major): Householder reduction to tridiagonal form
 * (tred2), then the implicit QL algorithm (tql2). Adapted from the public-domain JAMA package
 * (Martin & Wilkinson's Algol procedures, Handbook for Automatic Computation vol. II, via EISPACK).
 * Returns the eigenvalues in descending order with their unit eigenvectors.
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array[] } {
  // W = Vᵀ of the algorithm (W[c][r] = V[r][c]): every inner loop of tred2 and tql2 then walks a
  // contiguous row instead of striding down a column (several times faster at n = 768). W starts as the
  // matrix, which is symmetric.
  const W: Float64Array[] = Array.from({ length: n }, (_, i) => Float64Array.from({ length: n }, (_, j) => matrix[j * n + i]));
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: [] };
  // ---- tred2: V (held as W) becomes the orthogonal transform, d/e the tridiagonal's diagonal/off-diagonal.
  for (let j = 0; j < n; j++) d[j] = W[j][n - 1];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = W[j][i - 1];
        W[j][i] = 0;
        W[i][j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        W[i][j] = f;
        g = e[j] + W[j][j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += W[j][k] * d[k];
          e[k] += W[j][k] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) W[j][k] -= f * e[k] + g * d[k];
        d[j] = W[j][i - 1];
        W[j][i] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    W[i][n - 1] = W[i][i];
    W[i][i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = W[i + 1][k] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += W[i + 1][k] * W[j][k];
        for (let k = 0; k <= i; k++) W[j][k] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) W[i + 1][k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = W[j][n - 1];
    W[j][n - 1] = 0;
  }
  W[n - 1][n - 1] = 1;
  e[0] = 0;
  // The QL sweeps rotate pairs of columns of V: rows of Z = W.
  const Z = W;
  // ---- tql2
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      for (let iter = 0; iter < 60; iter++) {
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const zi = Z[i];
          const zi1 = Z[i + 1];
          for (let k = 0; k < n; k++) {
            h = zi1[k];
            zi1[k] = s * zi[k] + c * h;
            zi[k] = c * zi[k] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        if (!(Math.abs(e[l]) > eps * tst1)) break;
      }
    }
    d[l] += f;
    e[l] = 0;
  }
  // Rows of Z are the eigenvectors; sort descending by eigenvalue.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[b] - d[a]);
  return { values: Float64Array.from(order, (i) => d[i]), vectors: order.map((c) => Z[c]) };
}

export interface PcaOutput {
  /** Unit principal directions in column space, [k][cols], largest variance first. */
  components: Float64Array[];
  /** Scores of each (mean-centred) row on each component, [k][rows]. */
  scores: Float64Array[];
  /** λ_i / Σλ: each component's share of the total variance (trace of the covariance). */
  explainedVarianceRatio: number[];
  /** The mean row that was subtracted, [cols]. */
  mean: Float64Array;
}

/**
 * PCA of `rows` × `cols` data (row-major): rows mean-centred, covariance C = XᵀX/rows, its top k
 * eigenvectors (Pearson 1901; Jolliffe, Principal Component Analysis, 2002, §1.1). When rows < cols the
 * rows×rows Gram matrix XXᵀ is decomposed instead (same non-zero eigenvalues; v = Xᵀu/‖Xᵀu‖), so the
 * cost is cubic in min(rows, cols). Sign: each component's largest-magnitude entry is positive.
 */
export function pca(data: ArrayLike<number>, rows: number, cols: number, k: number): PcaOutput {
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c] += data[r * cols + c];
  for (let c = 0; c < cols; c++) mean[c] /= Math.max(1, rows);
  const x = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) x[r * cols + c] = data[r * cols + c] - mean[c];
  let total = 0;
  for (let i = 0; i < x.length; i++) total += x[i] * x[i];
  const rank = Math.min(k, rows, cols);
  let components: Float64Array[];
  let values: number[];
  if (rows < cols) {
    const gram = new Float64Array(rows * rows);
    for (let i = 0; i < rows; i++)
      for (let j = i; j < rows; j++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += x[i * cols + c] * x[j * cols + c];
        gram[i * rows + j] = gram[j * rows + i] = s;
      }
    const eig = symmetricEigen(gram, rows);
    values = Array.from(eig.values.subarray(0, rank));
    components = eig.vectors.slice(0, rank).map((u) => {
      const v = new Float64Array(cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) v[c] += x[r * cols + c] * u[r];
      return normalise(v);
    });
  } else {
    const cov = new Float64Array(cols * cols);
    for (let r = 0; r < rows; r++)
      for (let i = 0; i < cols; i++) {
        const xi = x[r * cols + i];
        if (xi === 0) continue;
        for (let j = i; j < cols; j++) cov[i * cols + j] += xi * x[r * cols + j];
      }
    for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) cov[i * cols + j] = cov[j * cols + i];
    const eig = symmetricEigen(cov, cols);
    values = Array.from(eig.values.subarray(0, rank));
    components = eig.vectors.slice(0, rank);
  }
  for (const v of components) {
    let big = 0;
    for (let i = 0; i < v.length; i++) if (Math.abs(v[i]) > Math.abs(v[big])) big = i;
    if (v[big] < 0) for (let i = 0; i < v.length; i++) v[i] = -v[i];
  }
  const scores = components.map((v) => {
    const s = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let acc = 0;
      for (let c = 0; c < cols; c++) acc += x[r * cols + c] * v[c];
      s[r] = acc;
    }
    return s;
  });
  return { components, scores, explainedVarianceRatio: values.map((l) => (total > 0 ? Math.max(0, l) / total : 0)), mean };
}

function normalise(v: Float64Array): Float64Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

/** cos(r_i, r_j) = r_i·r_j / (‖r_i‖‖r_j‖) for every pair of rows: [rows·rows] row-major (0 for a zero row). */
export function cosineSimilarity(data: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += data[r * cols + c] ** 2;
    norms[r] = Math.sqrt(s);
  }
  const out = new Float32Array(rows * rows);
  for (let i = 0; i < rows; i++)
    for (let j = i; j < rows; j++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += data[i * cols + c] * data[j * cols + c];
      const den = norms[i] * norms[j];
      out[i * rows + j] = out[j * rows + i] = den > 0 ? s / den : 0;
    }
  return out;
}

/** ‖x_t‖₂ of every token of one residual-stream tensor x [tokens, dim] (batch 0). */
export function tokenNorms(x: ArrayLike<number>, tokens: number, dim: number): Float64Array {
  const out = new Float64Array(tokens);
  for (let t = 0; t < tokens; t++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += x[t * dim + d] ** 2;
    out[t] = Math.sqrt(s);
  }
  return out;
}

/**
 * received[l][t] = (1/(H·N)) Σ_h Σ_q A_l[h][q][t]: the mean over heads and queries of the attention to
 * token t in layer l. `data` is [layers, heads, tokens, tokens], row-major.
 */
export function attentionReceived(data: ArrayLike<number>, layers: number, heads: number, tokens: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let l = 0; l < layers; l++) {
    const r = new Float64Array(tokens);
    for (let h = 0; h < heads; h++) {
      const base = (l * heads + h) * tokens * tokens;
      for (let q = 0; q < tokens; q++) for (let t = 0; t < tokens; t++) r[t] += data[base + q * tokens + t];
    }
    for (let t = 0; t < tokens; t++) r[t] /= heads * tokens;
    out.push(r);
  }
  return out;
}

/** The outlier test's constants: a robust z-score above Z (MAD scaled to σ) and a norm above RATIO × the median. */
export const OUTLIER_Z = 8;
export const OUTLIER_RATIO = 2;

export interface NormOutlier {
  /** Row of `norms` (0 = after the embeddings, l = after block l). */
  layer: number;
  /** Token index in the sequence. */
  token: number;
  norm: number;
}

function median(sorted: ArrayLike<number>): number {
  const n = sorted.length;
  return n === 0 ? 0 : n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/**
 * High-norm patch tokens (Darcet, Oquab, Mairal, Bojanowski 2023, "Vision Transformers Need Registers",
 * §2.1: a few patch tokens of the later layers have norms far above the bimodal bulk). For every row
 * l ≥ `fromLayer` of `norms` [L+1][N], among the patch tokens (index ≥ firstPatch): a token is an outlier
 * when its robust z-score (norm − median) / (1.4826·MAD) exceeds OUTLIER_Z and its norm exceeds
 * OUTLIER_RATIO × the median (Hampel's MAD outlier rule; Rousseeuw & Croux 1993). Sorted by layer, token.
 */
export function highNormOutliers(norms: readonly ArrayLike<number>[], firstPatch: number, fromLayer: number): NormOutlier[] {
  const out: NormOutlier[] = [];
  for (let l = Math.max(0, fromLayer); l < norms.length; l++) {
    const row = Array.from(norms[l]).slice(firstPatch);
    if (row.length < 4) continue;
    const sorted = Float64Array.from(row).sort();
    const med = median(sorted);
    const mad = median(Float64Array.from(sorted, (v) => Math.abs(v - med)).sort());
    const sigma = 1.4826 * mad;
    row.forEach((v, i) => {
      const z = sigma > 0 ? (v - med) / sigma : v > med ? Infinity : 0;
      if (z > OUTLIER_Z && v > OUTLIER_RATIO * med) out.push({ layer: l, token: firstPatch + i, norm: v });
    });
  }
  return out;
}

/** The first norm row the outlier test looks at: the second half of the blocks (Darcet et al. see them from mid-depth on). */
export const lateLayersFrom = (blocks: number): number => Math.floor(blocks / 2) + 1;

/**
 * The DINOv2-style foreground cut (Oquab et al. 2023, Fig. 1 and the repository's PCA demo): patches whose
 * first principal component score is above 0 (the mean-centred scores' midpoint), with the component's
 * sign chosen so that the border patches are background (their mean score ≤ 0). `first` holds the scores
 * of `images` grids of gh×gw, one after another; returns the sign applied (±1) and the 0/1 masks.
 */
export function foregroundCut(first: ArrayLike<number>, gh: number, gw: number, images: number): { sign: 1 | -1; masks: Uint8Array[] } {
  let border = 0;
  let count = 0;
  for (let i = 0; i < images; i++)
    for (let r = 0; r < gh; r++)
      for (let c = 0; c < gw; c++)
        if (r === 0 || c === 0 || r === gh - 1 || c === gw - 1) {
          border += first[i * gh * gw + r * gw + c];
          count++;
        }
  const sign: 1 | -1 = count > 0 && border / count > 0 ? -1 : 1;
  const masks = Array.from({ length: images }, (_, i) =>
    Uint8Array.from({ length: gh * gw }, (_, p) => (sign * first[i * gh * gw + p] > 0 ? 1 : 0)),
  );
  return { sign, masks };
}

/**
 * The smallest axis-aligned box of patches holding at least `tau` of a map's mass (map ≥ 0, [gh·gw]
 * row-major): every box is scored with a 2-D prefix sum (summed-area table, Crow 1984), O(gh²·gw²).
 * Ties: the larger mass, then the first in row-major order. Returns [r0, c0, r1, c1] inclusive and its mass share.
 */
export function smallestMassBox(
  map: ArrayLike<number>,
  gh: number,
  gw: number,
  tau: number,
): { box: [number, number, number, number]; mass: number } {
  const S = new Float64Array((gh + 1) * (gw + 1));
  for (let r = 0; r < gh; r++)
    for (let c = 0; c < gw; c++)
      S[(r + 1) * (gw + 1) + c + 1] =
        Math.max(0, map[r * gw + c]) + S[r * (gw + 1) + c + 1] + S[(r + 1) * (gw + 1) + c] - S[r * (gw + 1) + c];
  const total = S[gh * (gw + 1) + gw];
  let best: [number, number, number, number] = [0, 0, gh - 1, gw - 1];
  let bestArea = gh * gw;
  let bestMass = total;
  if (total <= 0) return { box: best, mass: 1 };
  const need = tau * total * (1 - 1e-12);
  for (let r0 = 0; r0 < gh; r0++)
    for (let c0 = 0; c0 < gw; c0++)
      for (let r1 = r0; r1 < gh; r1++)
        for (let c1 = c0; c1 < gw; c1++) {
          const area = (r1 - r0 + 1) * (c1 - c0 + 1);
          if (area > bestArea) break;
          const m = S[(r1 + 1) * (gw + 1) + c1 + 1] - S[r0 * (gw + 1) + c1 + 1] - S[(r1 + 1) * (gw + 1) + c0] + S[r0 * (gw + 1) + c0];
          if (m >= need && (area < bestArea || m > bestMass)) {
            best = [r0, c0, r1, c1];
            bestArea = area;
            bestMass = m;
          }
        }
  return { box: best, mass: bestMass / total };
}

/**
 * The first three component maps of several images as RGB bytes, [images][gh·gw·3]: each component
 * min–max scaled to 0…255 over all images together (so colours compare across images), as the DINOv2
 * PCA pictures show them. Fewer than three components leave their channels at 0.
 */
export function componentsToRgb(images: readonly (readonly ArrayLike<number>[])[]): Uint8Array[] {
  const k = Math.min(3, images[0]?.length ?? 0);
  const lo = new Array<number>(3).fill(Infinity);
  const hi = new Array<number>(3).fill(-Infinity);
  for (const comps of images)
    for (let c = 0; c < k; c++)
      for (let i = 0; i < comps[c].length; i++) {
        lo[c] = Math.min(lo[c], comps[c][i]);
        hi[c] = Math.max(hi[c], comps[c][i]);
      }
  return images.map((comps) => {
    const n = comps[0]?.length ?? 0;
    const out = new Uint8Array(n * 3);
    for (let c = 0; c < k; c++) {
      const span = hi[c] - lo[c];
      for (let i = 0; i < n; i++) out[i * 3 + c] = span > 0 ? Math.round((255 * (comps[c][i] - lo[c])) / span) : 128;
    }
    return out;
  });
}

/**
 * Attention with some tokens taken out as keys: A'_l[h][q, j] = A[q, j]·[j ∉ X] / Σ_k A[q, k]·[k ∉ X]
 * (every row renormalised over the kept keys; a row with nothing kept stays as it was). The "exclude
 * flagged tokens and registers" view: the map and rollout as if the artefacts were not there to soak up
 * attention. `data` is [layers, heads, tokens, tokens]; returns a new array.
 */
export function excludeKeys(
  data: ArrayLike<number>,
  layers: number,
  heads: number,
  tokens: number,
  excluded: readonly number[],
): Float32Array {
  const out = Float32Array.from(data);
  const drop = new Uint8Array(tokens);
  for (const t of excluded) if (t >= 0 && t < tokens) drop[t] = 1;
  for (let r = 0; r < layers * heads * tokens; r++) {
    const o = r * tokens;
    let kept = 0;
    for (let j = 0; j < tokens; j++) if (!drop[j]) kept += out[o + j];
    if (!(kept > 0)) continue;
    for (let j = 0; j < tokens; j++) out[o + j] = drop[j] ? 0 : out[o + j] / kept;
  }
  return out;
}
