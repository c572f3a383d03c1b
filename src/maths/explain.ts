// The maths of class-specific maps and their faithfulness, over the P = gh·gw patches of a grid
// (row-major). Pure: no onnxruntime, no Node; the explain pipeline (src/analyses/explain) feeds it scores of masked runs.
//   Occlusion sensitivity (Zeiler & Fergus 2014, over tokens): O[j] = mean over the w×w windows W (stride
//     1, inside the grid) that contain j of s(∅) − s(W), s = the target's score with W removed.
//   RISE (Petsiuk et al. 2018, over tokens): R[j] = Σ_i s(mask_i)·keep_i[j] / (n·p), keep_i[j] ~ Bernoulli(p).
//   Perturbation test (Chefer et al., CVPR 2021): remove k_i = ⌊i·P/10⌋ patches (i = 0…9) in the map's
//     order; AUC = 100 × Σ_{i=0}^{8} 0.1·(y_i + y_{i+1})/2.
import { Rng } from './rng';

export type ScoreKind = 'probability' | 'logOdds';

/** Softmax probability of class c (float64, max-subtracted). */
export function classProbability(logits: ArrayLike<number>, c: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return Math.exp(logits[c] - max) / sum;
}

/**
 * The score of c: p_c, or its log-odds log(p_c / (1 − p_c)) computed from the logits without forming p_c
 * (log p_c − log Σ_{i≠c} p_i), so it stays finite when p_c rounds to 1.
 */
export function classScore(logits: ArrayLike<number>, c: number, kind: ScoreKind): number {
  if (kind === 'probability') return classProbability(logits, c);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (i !== c) max = Math.max(max, logits[i]);
  let rest = 0;
  for (let i = 0; i < logits.length; i++) if (i !== c) rest += Math.exp(logits[i] - max);
  return logits[c] - (max + Math.log(rest));
}

/** A w×w window of patches by its top-left patch. */
export interface Window {
  row: number;
  col: number;
}

/** Every w×w window inside a gh×gw grid at stride 1, row-major by top-left patch. */
export function slidingWindows(grid: [number, number], w: number): Window[] {
  const [gh, gw] = grid;
  const out: Window[] = [];
  for (let row = 0; row + w <= gh; row++) for (let col = 0; col + w <= gw; col++) out.push({ row, col });
  return out;
}

/** Window starts 0, w, 2w, … along one side, plus g − w when that leaves the end uncovered. */
function tileStarts(g: number, w: number): number[] {
  const starts: number[] = [];
  for (let s = 0; s + w <= g; s += w) starts.push(s);
  if (starts.length && starts[starts.length - 1] + w < g) starts.push(g - w);
  return starts;
}

/**
 * The coarse pass: non-overlapping windows that tile the grid (the last row/column of windows shifted in
 * when w does not divide the side). They are stride-1 windows, so the fine pass reuses their runs.
 */
export function coarseWindows(grid: [number, number], w: number): Window[] {
  const rows = tileStarts(grid[0], w);
  const cols = tileStarts(grid[1], w);
  return rows.flatMap((row) => cols.map((col) => ({ row, col })));
}

/** The patches (row-major indices) of a window. */
export function windowPatches(win: Window, w: number, gridWidth: number): number[] {
  const out: number[] = [];
  for (let r = win.row; r < win.row + w; r++) for (let c = win.col; c < win.col + w; c++) out.push(r * gridWidth + c);
  return out;
}

/** Occlusion sums as windows come in: O[j] is the mean drop of the windows seen so far that contain j. */
export class OcclusionMap {
  private readonly sum: Float64Array;
  private readonly count: Uint32Array;
  constructor(
    readonly grid: [number, number],
    readonly w: number,
  ) {
    this.sum = new Float64Array(grid[0] * grid[1]);
    this.count = new Uint32Array(grid[0] * grid[1]);
  }

  /** Adds one window's drop s(∅) − s(W). */
  add(win: Window, drop: number): void {
    for (const j of windowPatches(win, this.w, this.grid[1])) {
      this.sum[j] += drop;
      this.count[j]++;
    }
  }

  /** The map so far (0 where no window has been seen yet). */
  values(): Float32Array {
    return Float32Array.from(this.sum, (s, j) => (this.count[j] ? s / this.count[j] : 0));
  }
}

/** The keep masks of RISE over tokens: n subsets of the P patches, each patch kept with probability p, seeded. */
export function riseKeeps(n: number, patches: number, seed: number, p = 0.5): Uint8Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Uint8Array.from({ length: patches }, () => (rng.next() < p ? 1 : 0)));
}

/** The RISE estimate as samples come in: R[j] = Σ_i s_i·keep_i[j] / (n_seen·p). */
export class RiseMap {
  private readonly sum: Float64Array;
  private seen = 0;
  constructor(
    patches: number,
    readonly p = 0.5,
  ) {
    this.sum = new Float64Array(patches);
  }

  add(keep: ArrayLike<number>, score: number): void {
    for (let j = 0; j < this.sum.length; j++) if (keep[j]) this.sum[j] += score;
    this.seen++;
  }

  get samples(): number {
    return this.seen;
  }

  values(): Float32Array {
    const d = this.seen * this.p;
    return Float32Array.from(this.sum, (s) => (d ? s / d : 0));
  }
}

/** A seeded random map, uniform in [0, 1): the floor every map should beat. */
export function randomMap(patches: number, seed: number): Float32Array {
  const rng = new Rng(seed ^ 0x5eed);
  return Float32Array.from({ length: patches }, () => rng.next());
}

/**
 * Patch order for removal. 'positive': highest value first; 'negative': lowest first. Ties (and NaN,
 * which sorts as −∞) are broken by the lower patch index in both.
 */
export function removalOrder(map: ArrayLike<number>, direction: 'positive' | 'negative'): number[] {
  const v = (j: number) => (Number.isNaN(map[j]) ? -Infinity : map[j]);
  const sign = direction === 'positive' ? -1 : 1;
  return Array.from({ length: map.length }, (_, j) => j).sort((a, b) => sign * (v(a) - v(b)) || a - b);
}

/** The fractions of the perturbation test, 0, 0.1, …, 0.9. */
export const PERTURBATION_FRACTIONS = Array.from({ length: 10 }, (_, i) => i / 10);

/** k_i = ⌊i·P/10⌋ patches removed at step i = 0…9 (integer arithmetic: no float rounding). */
export function perturbationCounts(patches: number): number[] {
  return PERTURBATION_FRACTIONS.map((_, i) => Math.floor((i * patches) / 10));
}

/** AUC = 100 × Σ_{i=0}^{n−2} Δ·(y_i + y_{i+1})/2 with Δ = 1/(n − 1)·(n − 1)/10 = 0.1 for the ten steps. */
export function perturbationAuc(y: readonly number[]): number {
  let s = 0;
  for (let i = 0; i + 1 < y.length; i++) s += (0.1 * (y[i] + y[i + 1])) / 2;
  return 100 * s;
}

/**
 * RISE's deletion / insertion curves at one-patch steps: y_k after k = 0…P patches removed (deletion) or
 * inserted into an all-removed sequence (insertion); AUC = trapezoid over k/P ∈ [0, 1], × 100.
 */
export function stepCurveAuc(y: readonly number[]): number {
  const n = y.length - 1;
  if (n <= 0) return NaN;
  let s = 0;
  for (let k = 0; k < n; k++) s += (y[k] + y[k + 1]) / 2;
  return (100 * s) / n;
}

/**
 * Pixel-fill removal for a CNN (no tokens): sets the cells removed[j] ≠ 0 of a [3, H, W] normalised plane
 * to 0, the dataset's mean colour after (x − mean) / std. Cells are `cell`-pixel squares in row-major
 * order over a ⌈H / cell⌉ × ⌈W / cell⌉ grid (the last row and column may be narrower). In place.
 */
export function fillCells(plane: Float32Array, removed: ArrayLike<boolean | number>, height: number, width: number, cell: number): void {
  const gw = Math.ceil(width / cell);
  const area = height * width;
  for (let j = 0; j < removed.length; j++) {
    if (!removed[j]) continue;
    const y0 = Math.floor(j / gw) * cell;
    const x0 = (j % gw) * cell;
    const y1 = Math.min(height, y0 + cell);
    const x1 = Math.min(width, x0 + cell);
    for (let c = 0; c < 3; c++) for (let y = y0; y < y1; y++) plane.fill(0, c * area + y * width + x0, c * area + y * width + x1);
  }
}
