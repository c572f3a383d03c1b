// Colormaps as 256-entry RGB lookup tables, built from a few control points (matplotlib's perceptually
// uniform maps sampled at 11 stops, Google's turbo polynomial, the classic piecewise-linear jet, and for
// depth maps ColorBrewer's Spectral reversed (matplotlib's Spectral_r, as Depth Anything shows depth) and gray).
// Pure: no DOM, so the unit tests can check endpoints and luminance.
import type { ColormapName } from '../shared/panelProtocol';
import type { DepthColormapName } from '../analyses/dense/messages';

/** Every colormap this module draws: the attention panel's and the depth panel's. */
export type AnyColormapName = ColormapName | DepthColormapName;

const hexStops: Record<'viridis' | 'inferno' | 'magma' | 'Spectral_r', string[]> = {
  viridis: ['#440154', '#482475', '#414487', '#355f8d', '#2a788e', '#21918c', '#22a884', '#44bf70', '#7ad151', '#bddf26', '#fde725'],
  inferno: ['#000004', '#160b39', '#420a68', '#6a176e', '#932667', '#bc3754', '#dd513a', '#f37819', '#fca50a', '#f6d746', '#fcffa4'],
  magma: ['#000004', '#140e36', '#3b0f70', '#641a80', '#8c2981', '#b73779', '#de4968', '#f7705c', '#fe9f6d', '#fecf92', '#fcfdbf'],
  // matplotlib's Spectral is exactly these 11 ColorBrewer colours, linearly interpolated; _r reverses it.
  Spectral_r: ['#5e4fa2', '#3288bd', '#66c2a5', '#abdda4', '#e6f598', '#ffffbf', '#fee08b', '#fdae61', '#f46d43', '#d53e4f', '#9e0142'],
};

function parseHex(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

/** Polynomial approximation of turbo (A. Mikhailov, Google AI, 2019), 0..255; good inside, off at the ends. */
function turboPoly(t: number): [number, number, number] {
  const r = 0.13572138 + t * (4.6153926 + t * (-42.66032258 + t * (132.13108234 + t * (-152.94239396 + t * 59.28637943))));
  const g = 0.09140261 + t * (2.19418839 + t * (4.84296658 + t * (-14.18503333 + t * (4.27729857 + t * 2.82956604))));
  const b = 0.1066733 + t * (12.64194608 + t * (-60.58204836 + t * (110.36276771 + t * (-89.90310912 + t * 27.34824973))));
  return [clamp01(r) * 255, clamp01(g) * 255, clamp01(b) * 255];
}

/** Turbo control points: the exact end colours, the polynomial in between. */
const turboStops: [number, number, number][] = Array.from({ length: 13 }, (_, i) =>
  i === 0 ? [48, 18, 59] : i === 12 ? [122, 4, 3] : turboPoly(i / 12),
);

function lerpStops(stops: readonly (readonly number[])[], t: number): [number, number, number] {
  const x = t * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

const parsedStops = new Map<string, [number, number, number][]>();

/** Unrounded RGB (0..255) of a colormap at t ∈ [0, 1]. */
export function colormapFloat(name: AnyColormapName, t: number): [number, number, number] {
  t = clamp01(t);
  if (name === 'turbo') return lerpStops(turboStops, t);
  if (name === 'gray') return [t * 255, t * 255, t * 255];
  if (name === 'jet') {
    const ch = (c: number) => clamp01(1.5 - Math.abs(4 * t - c)) * 255;
    return [ch(3), ch(2), ch(1)];
  }
  const key = name in hexStops ? name : 'viridis';
  let stops = parsedStops.get(key);
  if (!stops) parsedStops.set(key, (stops = hexStops[key as keyof typeof hexStops].map(parseHex)));
  return lerpStops(stops, t);
}

/** RGB (0..255 integers) of a colormap at t ∈ [0, 1]. */
export function colormapAt(name: AnyColormapName, t: number): [number, number, number] {
  const [r, g, b] = colormapFloat(name, t);
  return [Math.round(r), Math.round(g), Math.round(b)];
}

const cache = new Map<AnyColormapName, Uint8ClampedArray>();

/** 256 × RGB lookup table (index = round(t·255)). Cached per name. */
export function colormapLut(name: AnyColormapName): Uint8ClampedArray {
  let lut = cache.get(name);
  if (!lut) {
    lut = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) lut.set(colormapAt(name, i / 255), i * 3);
    cache.set(name, lut);
  }
  return lut;
}

/** WCAG relative luminance of an sRGB colour (0..255 channels). */
export function relativeLuminance([r, g, b]: readonly number[]): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export const colormapLabels: Record<AnyColormapName, string> = {
  viridis: 'Viridis',
  inferno: 'Inferno',
  magma: 'Magma',
  turbo: 'Turbo',
  jet: 'Jet',
  Spectral_r: 'Spectral (reversed)',
  gray: 'Gray',
};
