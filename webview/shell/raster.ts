// Turning a patch map (gh·gw values, row-major) into pixels: min–max scaling for display, nearest or
// bilinear upsampling, colormap lookup. Pure (typed arrays in, typed arrays out) so it is unit-testable;
// must not import vscode or Node. Number labels are format.ts's.

export interface Range {
  min: number;
  max: number;
}

export function valueRange(map: ArrayLike<number>): Range {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min)) return { min: 0, max: 0 };
  return { min, max };
}

/** Min–max scaled copy in [0, 1] (display only); a constant map becomes all 0. */
export function normalize(map: ArrayLike<number>, range: Range = valueRange(map)): Float32Array {
  const out = new Float32Array(map.length);
  const span = range.max - range.min;
  if (!(span > 0)) return out;
  for (let i = 0; i < map.length; i++) out[i] = (map[i] - range.min) / span;
  return out;
}

interface Axis {
  i0: Int32Array;
  i1: Int32Array;
  f: Float32Array;
}

/** Source cell indices and weights for every output pixel along one axis. */
function axis(cells: number, pixels: number, smooth: boolean): Axis {
  const i0 = new Int32Array(pixels);
  const i1 = new Int32Array(pixels);
  const f = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    const x = ((p + 0.5) * cells) / pixels;
    if (!smooth) {
      const c = Math.min(cells - 1, Math.floor(x));
      i0[p] = c;
      i1[p] = c;
      continue;
    }
    const s = Math.min(cells - 1, Math.max(0, x - 0.5));
    const a = Math.floor(s);
    i0[p] = a;
    i1[p] = Math.min(cells - 1, a + 1);
    f[p] = s - a;
  }
  return { i0, i1, f };
}

/**
 * RGBA pixels (width × height, opaque) of a gh × gw map scaled to [0, 1] with min–max, colour from `lut`
 * (256 × RGB). `smooth` interpolates the values bilinearly before the colour lookup.
 */
export function rasterize(
  map: ArrayLike<number>,
  grid: readonly [number, number],
  width: number,
  height: number,
  lut: Uint8ClampedArray,
  smooth: boolean,
  out: Uint8ClampedArray = new Uint8ClampedArray(width * height * 4),
): Uint8ClampedArray {
  const [gh, gw] = grid;
  const v = normalize(map);
  const ax = axis(gw, width, smooth);
  const ay = axis(gh, height, smooth);
  let o = 0;
  for (let y = 0; y < height; y++) {
    const r0 = ay.i0[y] * gw;
    const r1 = ay.i1[y] * gw;
    const fy = ay.f[y];
    for (let x = 0; x < width; x++) {
      const c0 = ax.i0[x];
      const c1 = ax.i1[x];
      const fx = ax.f[x];
      const top = v[r0 + c0] + (v[r0 + c1] - v[r0 + c0]) * fx;
      const bottom = v[r1 + c0] + (v[r1 + c1] - v[r1 + c0]) * fx;
      const t = top + (bottom - top) * fy;
      const k = Math.round(t * 255) * 3;
      out[o++] = lut[k];
      out[o++] = lut[k + 1];
      out[o++] = lut[k + 2];
      out[o++] = 255;
    }
  }
  return out;
}
