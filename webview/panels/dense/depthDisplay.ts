// Depth (relative inverse depth, larger = nearer) to display values: the min–max or robust-percentile
// display range (flat and non-finite maps handled), the 0..1 mapping with invert, colouring through a
// 256-entry LUT, and the model-resolution cell under a view pixel. The statistics themselves (min, max,
// numpy-style percentiles) are src/maths/dense's, shared with the engine. Pure: no DOM; must not import
// vscode or Node (the unit tests run it).
import { depthStats, type DepthStats } from '../../../src/maths/dense';
import type { DepthMap } from '../../../src/analyses/dense/types';
import type { DepthNormalization } from '../../../src/analyses/dense/messages';

export type { DepthStats };

/** min and max over the finite values ({NaN, NaN} when there are none); one pass, no sort. */
export function finiteRange(values: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min && v > -Infinity) min = v;
    if (v > max && v < Infinity) max = v;
  }
  return min <= max ? { min, max } : { min: NaN, max: NaN };
}

/** The stats a result carries, or recomputed from `raw` when they are missing or inconsistent. */
export function trustedStats(d: Pick<DepthMap, 'raw' | 'min' | 'max' | 'p2' | 'p98'>): DepthStats {
  const ok = [d.min, d.max, d.p2, d.p98].every(Number.isFinite) && d.min <= d.p2 && d.p2 <= d.p98 && d.p98 <= d.max;
  if (ok) return { min: d.min, max: d.max, p2: d.p2, p98: d.p98, nonFinite: 0 };
  return depthStats(d.raw);
}

export interface DisplayRange {
  /** Values ≤ lo get the colormap's first colour, ≥ hi its last (before invert). */
  lo: number;
  hi: number;
  /** The range actually used (percentile falls back to min–max when the robust range is flat). */
  used: DepthNormalization;
  /** No spread at all: every value is shown with the colormap's middle colour. */
  flat: boolean;
  /** Why the display differs from what was asked, for the panel's notes; null when it does not. */
  note: string | null;
}

/** A span this small relative to the values is float32 noise, not depth. */
function isFlat(lo: number, hi: number): boolean {
  const span = hi - lo;
  return !(span > 1e-6 * Math.max(1e-12, Math.abs(lo), Math.abs(hi)));
}

export function displayRange(s: Pick<DepthStats, 'min' | 'max' | 'p2' | 'p98'>, mode: DepthNormalization): DisplayRange {
  if (!Number.isFinite(s.min) || !Number.isFinite(s.max)) {
    return { lo: 0, hi: 1, used: 'minmax', flat: true, note: 'The depth map has no finite values: nothing to show.' };
  }
  if (isFlat(s.min, s.max)) {
    return {
      lo: s.min,
      hi: s.max,
      used: 'minmax',
      flat: true,
      note: `The depth map is flat (every value ≈ ${fmt(s.min)}): shown in one colour.`,
    };
  }
  if (mode === 'percentile') {
    if (Number.isFinite(s.p2) && Number.isFinite(s.p98) && !isFlat(s.p2, s.p98))
      return { lo: s.p2, hi: s.p98, used: 'percentile', flat: false, note: null };
    return {
      lo: s.min,
      hi: s.max,
      used: 'minmax',
      flat: false,
      note: 'The 2nd–98th percentile range is flat (a few outliers hold all the spread): min–max is used instead.',
    };
  }
  return { lo: s.min, hi: s.max, used: 'minmax', flat: false, note: null };
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : String(Number(v.toPrecision(5))));

/** 0..1 display position of a depth value (clamped; 0.5 for a flat range; NaN for a non-finite value). */
export function displayValue(v: number, r: DisplayRange, invert: boolean): number {
  if (!Number.isFinite(v)) return NaN;
  let t = r.flat ? 0.5 : (v - r.lo) / (r.hi - r.lo);
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return invert ? 1 - t : t;
}

/**
 * RGBA pixels of a depth map: colour = lut[round(t·255)] with t = displayValue; non-finite values are
 * transparent. `out` has 4 bytes per value.
 */
export function colorizeDepth(
  values: ArrayLike<number>,
  r: DisplayRange,
  invert: boolean,
  lut: Uint8ClampedArray,
  out: Uint8ClampedArray = new Uint8ClampedArray(values.length * 4),
): Uint8ClampedArray {
  for (let i = 0, o = 0; i < values.length; i++, o += 4) {
    const t = displayValue(values[i], r, invert);
    if (Number.isNaN(t)) {
      out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
      continue;
    }
    const k = Math.round(t * 255) * 3;
    out[o] = lut[k];
    out[o + 1] = lut[k + 1];
    out[o + 2] = lut[k + 2];
    out[o + 3] = 255;
  }
  return out;
}

/** The model-resolution cell [row, col] under view pixel (x, y): nearest by pixel centres. */
export function rawCellOf(x: number, y: number, viewW: number, viewH: number, rawW: number, rawH: number): [number, number] {
  const col = Math.min(rawW - 1, Math.max(0, Math.floor(((x + 0.5) * rawW) / viewW)));
  const row = Math.min(rawH - 1, Math.max(0, Math.floor(((y + 0.5) * rawH) / viewH)));
  return [row, col];
}
