// Pure parts of the DPT panel (webview/panels/dense) and its message protocol: the depth display mapping
// (percentile / min–max ranges, flat maps), colouring, the 16-bit PNG encoder (decoded back with sharp),
// the .npy writer (header parsed here independently), legend state, relief geometry and camera, UI state,
// result checking and exports. Expected values are worked out by hand in the comments.
import test from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { DenseResult, SegmentClass } from '../../../src/analyses/dense/types';
import { parseDenseWebviewMessage, type DensePanelSettings } from '../../../src/analyses/dense/messages';
import { parseWebviewMessage } from '../../../src/analyses/attention/messages';
import { colormapAt, colormapLut } from '../../../src/maths/colormaps';
import {
  colorizeDepth,
  displayRange,
  displayValue,
  finiteRange,
  rawCellOf,
  trustedStats,
} from '../../../webview/panels/dense/depthDisplay';
import { crc32, encodePng16, filteredScanlines16, pngChunk } from '../../../src/maths/png16';
import { encodeNpyFloat32 } from '../../../src/maths/npy';
import {
  colorizeLabels,
  fitLegend,
  formatShare,
  isClassVisible,
  isolateClass,
  sortLegend,
  toggleHidden,
} from '../../../webview/panels/dense/legend';
import {
  buildReliefMesh,
  clampOrbit,
  lookAt,
  multiply,
  orbitEye,
  orbitMatrices,
  perspective,
  reliefGridSize,
  sampleBilinear,
  transformPoint,
} from '../../../webview/panels/dense/mesh';
import { applyDenseSettings, defaultDenseState, fitDenseState, parseDenseState, viewsFor } from '../../../webview/panels/dense/denseState';
import { reviveDenseResult } from '../../../webview/panels/dense/denseData';
import { reviveSlice } from '../../../webview/shell/sliceStore';
import { denseExportName } from '../../../webview/panels/dense/denseExport';
import { denseJson, denseJsonText } from '../../../src/analyses/dense/json';

/** The panel's Save JSON as the page builds it: the CLI's document plus the display mapping. */
const panelJson = (
  r: Parameters<typeof denseJson>[0],
  st: { normalization: string; invert: boolean; depthColormap: string },
  range: { used: string; lo: number; hi: number; flat: boolean } | null,
  png16: { min: number; max: number } | null,
) =>
  denseJsonText(
    denseJson(r, {
      display: {
        normalization: range?.used ?? st.normalization,
        lo: range?.lo ?? NaN,
        hi: range?.hi ?? NaN,
        invert: st.invert,
        colormap: st.depthColormap,
        flat: range?.flat ?? false,
      },
      png16: png16 ?? { min: r.depth?.min ?? NaN, max: r.depth?.max ?? NaN },
    }),
  );

const close = (a: number, b: number, tol = 1e-6) => Math.abs(a - b) <= tol;
const hex = (rgb: readonly number[]) => '#' + rgb.map((v) => v.toString(16).padStart(2, '0')).join('');

// ---------------------------------------------------------------- depth display

test('finiteRange skips NaN and ±Infinity in one pass', () => {
  assert.deepEqual(finiteRange([3, NaN, -2, Infinity, 7, -Infinity]), { min: -2, max: 7 });
  assert.ok(Number.isNaN(finiteRange([NaN]).min));
  assert.ok(Number.isNaN(finiteRange([]).max));
});

test('trustedStats keeps consistent stats and recomputes broken ones from raw', () => {
  const raw = new Float32Array([1, 2, 3, 4, 5]);
  assert.deepEqual(trustedStats({ raw, min: 0, max: 9, p2: 1, p98: 8 }), { min: 0, max: 9, p2: 1, p98: 8, nonFinite: 0 });
  // Recomputed: np.percentile([1, 2, 3, 4, 5], 2) = 1 + 0.02·4·(2 − 1) = 1.08.
  const fixed = trustedStats({ raw, min: NaN, max: 9, p2: 1, p98: 8 });
  assert.equal(fixed.min, 1);
  assert.equal(fixed.max, 5);
  assert.ok(close(fixed.p2, 1.08, 1e-6));
  // p2 > p98 is inconsistent too.
  assert.equal(trustedStats({ raw, min: 0, max: 9, p2: 7, p98: 3 }).max, 5);
});

test('display range: percentile, min–max, flat maps and outlier-only spread', () => {
  const st = { min: 0, max: 10, p2: 2, p98: 6 };
  assert.deepEqual(displayRange(st, 'percentile'), { lo: 2, hi: 6, used: 'percentile', flat: false, note: null });
  assert.deepEqual(displayRange(st, 'minmax'), { lo: 0, hi: 10, used: 'minmax', flat: false, note: null });
  const flat = displayRange({ min: 0.5, max: 0.5, p2: 0.5, p98: 0.5 }, 'percentile');
  assert.equal(flat.flat, true);
  assert.match(flat.note ?? '', /flat/);
  // Float32 noise on a flat map is still flat: a span of 1e-9 around 3.
  assert.equal(displayRange({ min: 3, max: 3 + 1e-9, p2: 3, p98: 3 }, 'minmax').flat, true);
  // 98 % of the values equal, outliers at both ends: the robust range is flat, min–max is used.
  const outliers = displayRange({ min: -1, max: 100, p2: 0, p98: 0 }, 'percentile');
  assert.equal(outliers.used, 'minmax');
  assert.equal(outliers.flat, false);
  assert.deepEqual([outliers.lo, outliers.hi], [-1, 100]);
  assert.match(outliers.note ?? '', /percentile/);
  const empty = displayRange({ min: NaN, max: NaN, p2: NaN, p98: NaN }, 'minmax');
  assert.equal(empty.flat, true);
  assert.match(empty.note ?? '', /no finite/);
});

test('display values clamp to [0, 1], invert, flat → 0.5, NaN stays NaN (never NaN from a flat map)', () => {
  const r = displayRange({ min: 0, max: 10, p2: 2, p98: 6 }, 'percentile');
  assert.equal(displayValue(4, r, false), 0.5);
  assert.equal(displayValue(3, r, false), 0.25);
  assert.equal(displayValue(1, r, false), 0);
  assert.equal(displayValue(7, r, false), 1);
  assert.equal(displayValue(3, r, true), 0.75);
  assert.equal(displayValue(7, r, true), 0);
  assert.ok(Number.isNaN(displayValue(NaN, r, false)));
  assert.ok(Number.isNaN(displayValue(Infinity, r, false)));
  const flat = displayRange({ min: 2, max: 2, p2: 2, p98: 2 }, 'minmax');
  assert.equal(displayValue(2, flat, false), 0.5);
  assert.equal(displayValue(2, flat, true), 0.5);
});

test('colorizeDepth: LUT colour of round(t·255), transparent for non-finite values', () => {
  const r = displayRange({ min: 2, max: 6, p2: 2, p98: 6 }, 'minmax');
  const gray = colormapLut('gray');
  // t = 0, 0.5, 1 → LUT entries 0, 128 (round(127.5)), 255 → gray 0, 128, 255.
  assert.deepEqual(
    Array.from(colorizeDepth([2, 4, 6, NaN], r, false, gray)),
    [0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 0, 0, 0, 0],
  );
  assert.deepEqual(Array.from(colorizeDepth([2, 6], r, true, gray)), [255, 255, 255, 255, 0, 0, 0, 255]);
  const inferno = colormapLut('inferno');
  assert.deepEqual(Array.from(colorizeDepth([6], r, false, inferno).slice(0, 3)), [0xfc, 0xff, 0xa4]);
});

test('depth colormaps: Spectral_r is ColorBrewer Spectral reversed, gray is linear', () => {
  assert.equal(hex(colormapAt('Spectral_r', 0)), '#5e4fa2');
  assert.equal(hex(colormapAt('Spectral_r', 0.5)), '#ffffbf');
  assert.equal(hex(colormapAt('Spectral_r', 1)), '#9e0142');
  // Halfway between stops 1 (#3288bd) and 2 (#66c2a5): t = 0.15 → (50+102)/2, (136+194)/2, (189+165)/2.
  assert.deepEqual(colormapAt('Spectral_r', 0.15), [76, 165, 177]);
  assert.deepEqual(colormapAt('gray', 0), [0, 0, 0]);
  assert.deepEqual(colormapAt('gray', 0.25), [64, 64, 64]);
  assert.deepEqual(colormapAt('gray', 1), [255, 255, 255]);
  assert.equal(colormapLut('Spectral_r').length, 768);
});

test('rawCellOf maps view pixels to model-resolution cells by pixel centres', () => {
  assert.deepEqual(rawCellOf(0, 0, 640, 448, 320, 224), [0, 0]);
  assert.deepEqual(rawCellOf(1, 1, 640, 448, 320, 224), [0, 0]); // (1.5 · 0.5) = 0.75
  assert.deepEqual(rawCellOf(2, 3, 640, 448, 320, 224), [1, 1]); // 1.25, 1.75
  assert.deepEqual(rawCellOf(639, 447, 640, 448, 320, 224), [223, 319]);
  // 10 view pixels over 3 cells: x = 4 → 4.5·0.3 = 1.35 → 1; x = 9 → 2.85 → 2.
  assert.deepEqual(rawCellOf(4, 0, 10, 1, 3, 1), [0, 1]);
  assert.deepEqual(rawCellOf(9, 0, 10, 1, 3, 1), [0, 2]);
});

// ---------------------------------------------------------------- PNG 16

test("crc32 matches the standard check value and PNG's IEND CRC", () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  const iend = pngChunk('IEND', new Uint8Array(0));
  assert.deepEqual(Array.from(iend), [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
  assert.throws(() => pngChunk('ID1T', new Uint8Array(0)), /chunk type/);
});

test('filter 1 (Sub) on 16-bit samples subtracts the byte two before', () => {
  // Row [0x0102, 0x0304]: filter 1, then 0x01−0, 0x02−0, 0x03−0x01, 0x04−0x02.
  assert.deepEqual(Array.from(filteredScanlines16(new Uint16Array([0x0102, 0x0304]), 2, 1)), [1, 1, 2, 2, 2]);
  // Wrap-around mod 256: [0xff00, 0x0001] → 0xff, 0x00, (0x00 − 0xff) & 255 = 1, 1.
  assert.deepEqual(Array.from(filteredScanlines16(new Uint16Array([0xff00, 0x0001]), 2, 1)), [1, 0xff, 0, 1, 1]);
});

test('encodePng16 writes a 16-bit grayscale PNG that sharp decodes to the same values', async () => {
  const values = new Uint16Array([0, 1, 256, 65535, 1000, 40000]);
  const png = await encodePng16(values, 3, 2, { Software: 'ViT Lens', Description: 'scale = 1' });
  assert.deepEqual(Array.from(png.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10]);
  const meta = await sharp(png).metadata();
  assert.equal(meta.width, 3);
  assert.equal(meta.height, 2);
  assert.equal(meta.depth, 'ushort');
  assert.equal(meta.channels, 1);
  assert.deepEqual(
    meta.comments?.map((c) => `${c.keyword}=${c.text}`),
    ['Software=ViT Lens', 'Description=scale = 1'],
  );
  const decode = async (bytes: Uint8Array) => {
    const { data, info } = await sharp(bytes).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 1);
    return Array.from(new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2));
  };
  assert.deepEqual(await decode(png), Array.from(values));
  // A larger, odd-sized image with every kind of byte pattern.
  let s = 12345;
  const big = Uint16Array.from({ length: 37 * 23 }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16);
  assert.deepEqual(await decode(await encodePng16(big, 37, 23)), Array.from(big));
  await assert.rejects(encodePng16(values, 4, 2), /6 values for a 4×2 PNG/);
  await assert.rejects(encodePng16(values, 0, 2), /bad PNG size/);
});

// ---------------------------------------------------------------- npy

/** An independent reader of the .npy v1.0 layout. */
function readNpy(bytes: Uint8Array): {
  version: [number, number];
  header: string;
  descr: string;
  fortran: string;
  shape: number[];
  offset: number;
  data: Float32Array;
} {
  assert.deepEqual(Array.from(bytes.subarray(0, 6)), [0x93, ...Array.from('NUMPY', (c) => c.charCodeAt(0))]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getUint16(8, true);
  const header = String.fromCharCode(...bytes.subarray(10, 10 + headerLen));
  const descr = header.match(/'descr':\s*'([^']+)'/)?.[1] ?? '';
  const fortran = header.match(/'fortran_order':\s*(True|False)/)?.[1] ?? '';
  const shape = (header.match(/'shape':\s*\(([^)]*)\)/)?.[1] ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map(Number);
  const offset = 10 + headerLen;
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i, true);
  return { version: [bytes[6], bytes[7]], header, descr, fortran, shape, offset, data };
}

test('encodeNpyFloat32 writes a valid .npy 1.0: header dict, 64-byte alignment, little-endian float32 in C order', () => {
  const a = new Float32Array([1.5, -2, 3.25, NaN, Infinity, 0.1]);
  const bytes = encodeNpyFloat32(a, [2, 3]);
  const r = readNpy(bytes);
  assert.deepEqual(r.version, [1, 0]);
  assert.equal(r.descr, '<f4');
  assert.equal(r.fortran, 'False');
  assert.deepEqual(r.shape, [2, 3]);
  assert.equal(r.offset % 64, 0);
  assert.ok(r.header.endsWith('\n'));
  assert.match(r.header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
  assert.equal(bytes.length, r.offset + 6 * 4);
  assert.deepEqual(Array.from(r.data.subarray(0, 3)), [1.5, -2, 3.25]);
  assert.ok(Number.isNaN(r.data[3]));
  assert.equal(r.data[4], Infinity);
  assert.equal(r.data[5], a[5]); // the same float32, bit for bit
  // 1-D shapes are written as (n,).
  assert.deepEqual(readNpy(encodeNpyFloat32(new Float32Array(5), [5])).shape, [5]);
  assert.match(readNpy(encodeNpyFloat32(new Float32Array(5), [5])).header, /'shape': \(5,\)/);
  assert.throws(() => encodeNpyFloat32(a, [4, 2]), /holds 8 values, the array has 6/);
  assert.throws(() => encodeNpyFloat32(a, [2, -3]), /bad \.npy shape/);
});

// ---------------------------------------------------------------- legend

const cls = (id: number, area: number, name = `c${id}`): SegmentClass => ({ id, name, color: [id, 2 * id, 3 * id], area });

test('legend: sorted by area (ties by id), isolate and hide', () => {
  assert.deepEqual(
    sortLegend([cls(3, 0.1), cls(1, 0.5), cls(7, 0.1), cls(0, 0.3)]).map((c) => c.id),
    [1, 0, 3, 7],
  );
  let s = { isolated: null as number | null, hidden: [] as number[] };
  s = toggleHidden(s, 5);
  s = toggleHidden(s, 2);
  assert.deepEqual(s, { isolated: null, hidden: [2, 5] });
  assert.equal(isClassVisible(s, 2), false);
  assert.equal(isClassVisible(s, 3), true);
  // Isolating a hidden class shows it alone and unhides it.
  s = isolateClass(s, 5);
  assert.deepEqual(s, { isolated: 5, hidden: [2] });
  assert.equal(isClassVisible(s, 5), true);
  assert.equal(isClassVisible(s, 3), false);
  // Clicking the isolated class again shows everything but the hidden ones.
  assert.deepEqual(isolateClass(s, 5), { isolated: null, hidden: [2] });
  // Hiding the isolated class ends the isolation.
  assert.deepEqual(toggleHidden(s, 5), { isolated: null, hidden: [2, 5] });
  assert.deepEqual(toggleHidden({ isolated: null, hidden: [2, 5] }, 2), { isolated: null, hidden: [5] });
  assert.deepEqual(fitLegend({ isolated: 9, hidden: [1, 4, 8] }, [1, 2, 8]), { isolated: null, hidden: [1, 8] });
  assert.deepEqual(fitLegend({ isolated: 2, hidden: [] }, [1, 2, 8]), { isolated: 2, hidden: [] });
});

test('formatShare', () => {
  assert.equal(formatShare(0.421), '42.1 %');
  assert.equal(formatShare(0.0035), '0.35 %');
  assert.equal(formatShare(0.00001), '< 0.01 %');
  assert.equal(formatShare(0), '0 %');
});

test('colorizeLabels: palette by id, hidden classes transparent, emphasis dims the others', () => {
  const classes = [cls(0, 0.5), cls(2, 0.25)];
  const labels = new Uint16Array([0, 2, 1, 7]);
  const px = Array.from(colorizeLabels(labels, classes, 3, { legend: { isolated: null, hidden: [] }, emphasis: null }));
  // id 0 → (0,0,0) opaque; id 2 → (2,4,6); id 1 (no entry) grey; id 7 (out of range) transparent.
  assert.deepEqual(px, [0, 0, 0, 255, 2, 4, 6, 255, 128, 128, 128, 255, 128, 128, 128, 0]);
  const hidden = colorizeLabels(labels, classes, 3, { legend: { isolated: null, hidden: [2] }, emphasis: null });
  assert.equal(hidden[7], 0);
  assert.equal(hidden[3], 255);
  const iso = colorizeLabels(labels, classes, 3, { legend: { isolated: 2, hidden: [] }, emphasis: null });
  assert.deepEqual([iso[3], iso[7], iso[11]], [0, 255, 0]);
  const emph = colorizeLabels(labels, classes, 3, { legend: { isolated: null, hidden: [] }, emphasis: 2 });
  assert.deepEqual([emph[3], emph[7], emph[11]], [90, 255, 90]);
});

// ---------------------------------------------------------------- relief geometry and camera

test('relief grid: ≤ 256 vertices on the long side, never more than the pixels', () => {
  assert.deepEqual(reliefGridSize(640, 448), [256, 179]);
  assert.deepEqual(reliefGridSize(448, 640), [179, 256]);
  assert.deepEqual(reliefGridSize(100, 50), [100, 50]);
  assert.deepEqual(reliefGridSize(3000, 3000, 96), [96, 96]);
  assert.deepEqual(reliefGridSize(1, 1), [2, 2]);
  assert.equal(sampleBilinear([0, 1, 2, 3], 2, 2, 0.5, 0.5), 1.5);
  assert.equal(sampleBilinear([0, 1, 2, 3], 2, 2, 5, -1), 1); // clamped to (1, 0)
});

test('relief mesh of a ramp: positions, heights, normals, winding', () => {
  // 3 × 2 depth [[0, 1, 2], [0, 1, 2]], min–max 0..2, height 1: z = 0, 0.5, 1 along x.
  const range = displayRange({ min: 0, max: 2, p2: 0, p98: 2 }, 'minmax');
  const m = buildReliefMesh(new Float32Array([0, 1, 2, 0, 1, 2]), 3, 2, range, false, 1);
  assert.equal(m.cols, 3);
  assert.equal(m.rows, 2);
  // The long side (3 px) spans x ∈ [−1, 1]; the short side y ∈ [−2/3, 2/3], top row at +2/3.
  const v = (i: number) => Array.from(m.positions.subarray(i * 3, i * 3 + 3));
  assert.ok(
    v(0).every((x, k) => close(x, [-1, 2 / 3, 0][k])),
    String(v(0)),
  );
  assert.ok(
    v(1).every((x, k) => close(x, [0, 2 / 3, 0.5][k])),
    String(v(1)),
  );
  assert.ok(
    v(5).every((x, k) => close(x, [1, -2 / 3, 1][k])),
    String(v(5)),
  );
  assert.deepEqual(Array.from(m.uvs.subarray(10, 12)), [1, 1]);
  // dz/dx = 0.5 everywhere → n = (−0.5, 0, 1)/√1.25.
  for (let i = 0; i < 6; i++) {
    assert.ok(
      close(m.normals[i * 3], -0.5 / Math.sqrt(1.25), 1e-6) &&
        close(m.normals[i * 3 + 1], 0, 1e-6) &&
        close(m.normals[i * 3 + 2], 1 / Math.sqrt(1.25), 1e-6),
    );
  }
  assert.ok(m.indices instanceof Uint16Array);
  assert.deepEqual(Array.from(m.indices), [0, 3, 1, 1, 3, 4, 1, 4, 2, 2, 4, 5]);
  // Every triangle faces +z on a flat mesh (counter-clockwise seen from the viewer).
  const flat = buildReliefMesh(new Float32Array(6), 3, 2, range, false, 0);
  for (let t = 0; t < flat.indices.length; t += 3) {
    const [a, b, c] = [0, 1, 2].map((k) => Array.from(flat.positions.subarray(flat.indices[t + k] * 3, flat.indices[t + k] * 3 + 3)));
    const cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    assert.ok(cross > 0, `triangle ${t / 3} winds clockwise`);
  }
  // Inverted: the near side is low.
  const inv = buildReliefMesh(new Float32Array([0, 1, 2, 0, 1, 2]), 3, 2, range, true, 1);
  assert.equal(inv.positions[2], 1);
  assert.equal(inv.positions[8], 0);
  // NaN depth → height 0.
  assert.equal(buildReliefMesh(new Float32Array([NaN, 1, 2, 0, 1, 2]), 3, 2, range, false, 1).positions[2], 0);
});

test('camera: perspective, lookAt and the orbit match hand-computed projections', () => {
  // Camera at (0, 0, 3) looking at the origin, 40° field of view, square viewport.
  const f = 1 / Math.tan((20 * Math.PI) / 180);
  const mvp = multiply(perspective((40 * Math.PI) / 180, 1, 0.05, 50), lookAt([0, 0, 3], [0, 0, 0], [0, 1, 0]));
  const [x, y, , w] = transformPoint(mvp, [1, 0.5, 0]);
  assert.ok(close(w, 3, 1e-5)); // distance along the view direction
  assert.ok(close(x / w, f / 3, 1e-5) && close(y / w, (0.5 * f) / 3, 1e-5));
  // Near and far planes map to NDC z = −1 and +1.
  const near = transformPoint(mvp, [0, 0, 3 - 0.05]);
  const far = transformPoint(mvp, [0, 0, 3 - 50]);
  assert.ok(close(near[2] / near[3], -1, 1e-4) && close(far[2] / far[3], 1, 1e-4));
  // Aspect 2: x is squeezed by 2.
  const wide = multiply(perspective((40 * Math.PI) / 180, 2, 0.05, 50), lookAt([0, 0, 3], [0, 0, 0], [0, 1, 0]));
  const pw = transformPoint(wide, [1, 0, 0]);
  assert.ok(close(pw[0] / pw[3], f / 6, 1e-5));
  // Orbit: yaw 90° puts the eye on +x; pitch 90° would be straight above (clamped to 85°).
  const e = orbitEye({ yaw: 90, pitch: 0, distance: 2 });
  assert.ok(close(e[0], 2) && close(e[1], 0) && close(e[2], 0, 1e-9));
  assert.deepEqual(clampOrbit({ yaw: 190, pitch: 100, distance: 100 }), { yaw: -170, pitch: 85, distance: 8 });
  assert.deepEqual(clampOrbit({ yaw: -540, pitch: -100, distance: 0 }), { yaw: -180, pitch: -85, distance: 1.2 });
  // The orbit centre (0, 0, zc) projects to the middle of the screen.
  const { mvp: om } = orbitMatrices({ yaw: -28, pitch: 22, distance: 3.2 }, 1.5, 0.2);
  const c = transformPoint(om, [0, 0, 0.2]);
  assert.ok(close(c[0] / c[3], 0, 1e-5) && close(c[1] / c[3], 0, 1e-5) && close(c[3], 3.2, 1e-4));
});

// ---------------------------------------------------------------- state, protocol, data, exports

function denseResult(task: 'depth' | 'segmentation', over: Partial<DenseResult> = {}): DenseResult {
  const w = 4;
  const hgt = 2;
  const tokens = 1 + 2 * 2;
  return {
    task,
    image: { path: 'imgs/My photo (1).jpg', width: 8, height: 4 },
    model: {
      path: 'm/dpt.onnx',
      name: 'dpt',
      inputSize: [32, 32],
      patchSize: 16,
      numLayers: 2,
      numHeads: 2,
      specialTokens: { cls: true, distillation: false, registers: 0 },
      attentionSource: 'tapped',
    },
    depth:
      task === 'depth'
        ? {
            raw: new Float32Array([1, 2, 3, 4]),
            rawHeight: 2,
            rawWidth: 2,
            view: new Float32Array(w * hgt).fill(2),
            min: 1,
            max: 4,
            p2: 1.06,
            p98: 3.94,
          }
        : undefined,
    segmentation:
      task === 'segmentation'
        ? {
            labels: new Uint16Array([0, 0, 2, 2, 0, 0, 2, 5]),
            numClasses: 6,
            classes: [cls(0, 0.5, 'wall'), cls(2, 0.375, 'sky'), cls(5, 0.125, 'tree')],
          }
        : undefined,
    features: [
      {
        name: 'reassemble 1/4 (layer 2)',
        stride: 4,
        channels: 8,
        height: 2,
        width: 2,
        rgb: new Uint8Array(12),
        explained: [0.5, 0.2, 0.1],
      },
    ],
    attention: { layers: 2, heads: 2, tokens, data: new Float32Array(2 * 2 * tokens * tokens).fill(1 / tokens) },
    grid: [2, 2],
    firstPatchToken: 1,
    notes: [],
    timingsMs: { decode: 1, modelLoad: 0, preprocess: 2, inference: 3, postprocess: 4, total: 10 },
    view: { png: new Uint8Array([137, 80]), width: w, height: hgt, sourceRect: [0, 0, 8, 4] },
    ...over,
  };
}

const settings: DensePanelSettings = {
  depthColormap: 'Spectral_r',
  normalization: 'minmax',
  opacity: 0.4,
  attentionColormap: 'viridis',
  fusion: 'max',
  discardRatio: 0.5,
};

test('dense UI state: restored fields validated, settings applied once, fitted to a result', () => {
  const d = defaultDenseState();
  assert.deepEqual(parseDenseState(undefined), d);
  assert.deepEqual(
    parseDenseState({
      view: 'x',
      depthColormap: 'jet',
      normalization: 'zscore',
      opacity: 2,
      swipe: -1,
      orbit: { yaw: 'a' },
      legend: { isolated: -3, hidden: [1] },
      attention: { mode: 'flow', layer: 1.5, head: -1 },
      reliefHeight: 7,
    }),
    d,
  );
  const s = parseDenseState({
    view: 'relief',
    depthColormap: 'gray',
    invert: true,
    swipe: 0.3,
    orbit: { yaw: 400, pitch: 10, distance: 3 },
    legend: { isolated: null, hidden: [4, 1, 4] },
    attention: { mode: 'rollout', layer: 2, head: 'mean', query: 3, colormap: 'magma', fusion: 'min', discardRatio: 0.2 },
    imagePath: 'a.png',
    task: 'depth',
  });
  assert.equal(s.view, 'relief');
  assert.equal(s.depthColormap, 'gray');
  assert.equal(s.invert, true);
  assert.equal(s.swipe, 0.3);
  assert.equal(s.orbit.yaw, 40); // 400° wrapped
  assert.deepEqual(s.legend, { isolated: null, hidden: [1, 4] });
  assert.equal(s.attention.mode, 'rollout');
  assert.equal(s.attention.colormap, 'magma');
  assert.equal(s.imagePath, 'a.png');

  const applied = applyDenseSettings(d, settings);
  assert.equal(applied.depthColormap, 'Spectral_r');
  assert.equal(applied.attention.fusion, 'max');
  // The user then picks gray; the same settings arriving again do not override it; changed ones do.
  const picked = { ...applied, depthColormap: 'gray' as const };
  assert.equal(applyDenseSettings(picked, settings).depthColormap, 'gray');
  assert.equal(applyDenseSettings(picked, { ...settings, opacity: 0.9 }).depthColormap, 'Spectral_r');

  assert.deepEqual(viewsFor('segmentation'), ['side', 'overlay', 'swipe']);
  const seg = fitDenseState({ ...d, view: 'relief', legend: { isolated: 9, hidden: [2, 3] } }, denseResult('segmentation'));
  assert.equal(seg.view, 'overlay');
  // Each task opens with its own view; a view picked for the same task survives a new result.
  assert.equal(fitDenseState({ ...d, view: 'swipe', task: 'depth' }, denseResult('segmentation')).view, 'overlay');
  assert.equal(fitDenseState({ ...d, view: 'swipe', task: 'segmentation' }, denseResult('segmentation')).view, 'swipe');
  assert.equal(fitDenseState({ ...d, view: 'overlay' }, denseResult('depth')).view, 'side');
  assert.deepEqual(seg.legend, { isolated: null, hidden: [2] });
  assert.equal(seg.attention.layer, 1); // last layer of a new shape
  assert.equal(seg.attention.query, 0); // CLS
  assert.equal(seg.task, 'segmentation');
  assert.equal(seg.modelPath, 'm/dpt.onnx');
  // Same shape: the user's layer/query survive; out-of-range ones are clamped.
  const again = fitDenseState({ ...seg, attention: { ...seg.attention, layer: 0, query: 3 } }, denseResult('segmentation'));
  assert.deepEqual([again.attention.layer, again.attention.query], [0, 3]);
  const clamped = fitDenseState({ ...seg, attention: { ...seg.attention, layer: 7, query: 99, head: 5 } }, denseResult('segmentation'));
  assert.deepEqual([clamped.attention.layer, clamped.attention.query, clamped.attention.head], [1, 0, 'mean']);
});

test('parseDenseWebviewMessage accepts the protocol and rejects anything else', () => {
  const bytes = new Uint8Array([1, 2]);
  assert.deepEqual(parseDenseWebviewMessage({ type: 'ready', junk: 1 }), { type: 'ready' });
  assert.deepEqual(parseDenseWebviewMessage({ type: 'rendered', task: 'segmentation', view: 'overlay', classes: 8, features: 4 }), {
    type: 'rendered',
    task: 'segmentation',
    view: 'overlay',
    classes: 8,
    features: 4,
  });
  assert.deepEqual(parseDenseWebviewMessage({ type: 'painted', task: 'depth', view: 'side', at: 1234.5, junk: 1 }), {
    type: 'painted',
    task: 'depth',
    view: 'side',
    at: 1234.5,
  });
  assert.equal(parseDenseWebviewMessage({ type: 'painted', task: 'depth', view: 'side', at: 'soon' }), undefined);
  assert.equal(parseDenseWebviewMessage({ type: 'painted', task: 'depth', view: 'sideways', at: 1 }), undefined);
  assert.deepEqual(parseDenseWebviewMessage({ type: 'rendered', task: 'depth', view: 'relief', features: 0 }), {
    type: 'rendered',
    task: 'depth',
    view: 'relief',
    features: 0,
  });
  for (const [format, name] of [
    ['png', 'a-depth-map.png'],
    ['png16', 'a-depth16.png'],
    ['npy', 'a-depth-raw.npy'],
    ['json', 'a-depth.json'],
  ]) {
    assert.deepEqual(parseDenseWebviewMessage({ type: 'export', requestId: 3, format, suggestedName: name, bytes }), {
      type: 'export',
      requestId: 3,
      format,
      suggestedName: name,
      bytes,
    });
  }
  assert.deepEqual(parseDenseWebviewMessage({ type: 'action', action: 'chooseModel' }), { type: 'action', action: 'chooseModel' });
  assert.equal(parseDenseWebviewMessage({ type: 'log', level: 'warn', message: 'x'.repeat(5000) })?.type, 'log');
  assert.deepEqual(
    parseDenseWebviewMessage({ type: 'needSlice', resultId: 2, query: 7, rollout: { fusion: 'max', discardRatio: 0.9, startLayer: 0 } }),
    { type: 'needSlice', resultId: 2, query: 7, rollout: { fusion: 'max', discardRatio: 0.9, startLayer: 0 } },
  );
  const bad: unknown[] = [
    null,
    'ready',
    { type: 'nope' },
    { type: 'rendered', task: 'classify', view: 'side', features: 1 },
    { type: 'rendered', task: 'depth', view: '3d', features: 1 },
    { type: 'rendered', task: 'depth', view: 'side', features: -1 },
    { type: 'rendered', task: 'depth', view: 'side', features: 1, classes: 1.5 },
    { type: 'export', requestId: 1, format: 'tiff', suggestedName: 'a.tiff', bytes },
    { type: 'export', requestId: 1, format: 'npy', suggestedName: 'a.png', bytes }, // extension does not match
    { type: 'export', requestId: 1, format: 'png', suggestedName: '../x.png', bytes },
    { type: 'export', requestId: -1, format: 'png', suggestedName: 'x.png', bytes },
    { type: 'export', requestId: 1, format: 'png', suggestedName: 'x.png', bytes: [1, 2] },
    { type: 'action', action: 'rm -rf' },
    { type: 'log', level: 'debug', message: 'x' },
    { type: 'needSlice', resultId: 2, query: 7, rollout: { fusion: 'max', discardRatio: 1, startLayer: 0 } },
    { type: 'needSlice', resultId: 2, query: -1, rollout: { fusion: 'mean', discardRatio: 0, startLayer: 0 } },
    { type: 'needSlice', resultId: 2, query: 1 },
  ];
  for (const m of bad) assert.equal(parseDenseWebviewMessage(m), undefined, JSON.stringify(m));
  // The attention panel's validator shares the same pieces and still behaves.
  assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
  assert.equal(parseWebviewMessage({ type: 'log', level: 'info', message: 'x'.repeat(3000) })?.type, 'log');
  assert.equal(parseWebviewMessage({ type: 'export', requestId: 1, format: 'npy', suggestedName: 'a.npy', bytes }), undefined);
  assert.equal(parseWebviewMessage({ type: 'action', action: 'nope' }), undefined);
});

test('reviveDenseResult revives typed arrays, checks shapes, drops broken optional parts with a note', () => {
  // Labels as little-endian bytes (how typed JSON carries them) and as a plain array.
  const labels = new Uint16Array([0, 0, 2, 2, 0, 0, 2, 300]);
  const asBytes = reviveDenseResult(
    denseResult('segmentation', {
      segmentation: { labels: new Uint8Array(labels.buffer) as unknown as Uint16Array, numClasses: 301, classes: [] },
    }),
  );
  assert.ok(asBytes.segmentation!.labels instanceof Uint16Array);
  assert.deepEqual(Array.from(asBytes.segmentation!.labels), Array.from(labels));
  const plain = reviveDenseResult(
    denseResult('segmentation', { segmentation: { labels: Array.from(labels) as unknown as Uint16Array, numClasses: 301, classes: [] } }),
  );
  assert.deepEqual(Array.from(plain.segmentation!.labels), Array.from(labels));
  // A depth map posted as an object of numbers (lenient), and one of the wrong length (an error naming the field).
  const r = denseResult('depth');
  const obj = reviveDenseResult({ ...r, depth: { ...r.depth!, raw: { 0: 1, 1: 2, 2: 3, 3: 4 } as unknown as Float32Array } });
  assert.ok(obj.depth!.raw instanceof Float32Array);
  assert.throws(
    () => reviveDenseResult({ ...r, depth: { ...r.depth!, view: new Float32Array(5) } }),
    /depth\.view has 5 values; its shape \[2, 4\] needs 8/,
  );
  assert.throws(() => reviveDenseResult({ ...r, depth: undefined }), /without a depth map/);
  assert.throws(() => reviveDenseResult({ ...r, task: 'classify' as 'depth' }), /unknown task/);
  assert.throws(() => reviveDenseResult(null), /empty/);
  // Attention that does not fit the grid, a feature level with the wrong byte count: left out, with notes.
  const broken = reviveDenseResult(
    denseResult('depth', {
      attention: { layers: 1, heads: 1, tokens: 3, data: new Float32Array(9) },
      features: [{ name: 'x', stride: 8, channels: 4, height: 2, width: 2, rgb: new Uint8Array(5), explained: [0.1, 0.1, 0.1] }],
    }),
  );
  assert.equal(broken.attention, undefined);
  assert.equal(broken.features.length, 0);
  assert.equal(broken.notes.length, 2);
  assert.match(broken.notes.join(' '), /3 tokens do not fit a 2×2 grid after 1 special tokens/);
  assert.match(broken.notes.join(' '), /features\[0\]\.rgb has 5 values/);
  // The host may keep the tensor: a shape without data is accepted as it is.
  const shapeOnly = reviveDenseResult(
    denseResult('depth', { attention: { layers: 2, heads: 2, tokens: 5 } as unknown as DenseResult['attention'] }),
  );
  assert.deepEqual(shapeOnly.attention, { layers: 2, heads: 2, tokens: 5 });
  assert.equal(shapeOnly.notes.length, 0);
});

test('reviveSlice checks a host slice against the attention shape', () => {
  const shape = { layers: 2, heads: 2, tokens: 5 };
  const ok = reviveSlice(
    {
      query: 3,
      rows: Array.from({ length: 20 }, () => 0.2) as unknown as Float32Array,
      rollout: { fusion: 'mean', discardRatio: 0, startLayer: 0, map: new Float32Array(4) },
    },
    shape,
    4,
  );
  assert.ok(ok.rows instanceof Float32Array);
  assert.equal(ok.query, 3);
  assert.throws(
    () =>
      reviveSlice(
        { query: 3, rows: new Float32Array(19), rollout: { fusion: 'mean', discardRatio: 0, startLayer: 0, map: new Float32Array(4) } },
        shape,
        4,
      ),
    /slice\.rows has 19 values; its shape \[2, 2, 5\] needs 20/,
  );
  assert.throws(
    () =>
      reviveSlice(
        { query: 3, rows: new Float32Array(20), rollout: { fusion: 'mean', discardRatio: 0, startLayer: 0, map: new Float32Array(5) } },
        shape,
        4,
      ),
    /rollout\.map/,
  );
});

test("export names pass the host's validator; the JSON (the CLI's document plus the display) holds sizes, ranges, classes and timings (no NaN)", () => {
  const r = denseResult('depth');
  const st = defaultDenseState();
  const names = (['png', 'png16', 'npy', 'json'] as const).map((f) => denseExportName(r, st, f));
  assert.deepEqual(names, [
    'My photo _1_-depth-map.png',
    'My photo _1_-depth16.png',
    'My photo _1_-depth-raw.npy',
    'My photo _1_-depth.json',
  ]);
  for (const [i, f] of (['png', 'png16', 'npy', 'json'] as const).entries()) {
    assert.ok(
      parseDenseWebviewMessage({ type: 'export', requestId: 1, format: f, suggestedName: names[i], bytes: new Uint8Array(1) }),
      names[i],
    );
  }
  assert.equal(denseExportName(r, { view: 'swipe' }, 'png'), 'My photo _1_-depth-swipe.png');
  const range = displayRange({ min: 1, max: 4, p2: 1.06, p98: 3.94 }, 'percentile');
  const j = JSON.parse(panelJson(r, { ...st, invert: true }, range, { min: 2, max: 2 }));
  assert.deepEqual(j.depth.outputSize, [2, 2]);
  assert.deepEqual(j.viewSize, [2, 4]);
  assert.deepEqual([j.depth.min, j.depth.max, j.depth.p2, j.depth.p98], [1, 4, 1.06, 3.94]);
  assert.deepEqual(j.depth.display, { normalization: 'percentile', lo: 1.06, hi: 3.94, invert: true, colormap: 'inferno', flat: false });
  assert.deepEqual(j.depth.png16, { min: 2, max: 2 });
  assert.equal(j.timingsMs.total, 10);
  assert.deepEqual(j.features[0].explained, [0.5, 0.2, 0.1]);
  assert.deepEqual(j.features[0].size, [2, 2]);
  assert.deepEqual(j.panel.attention, { layers: 2, heads: 2, tokens: 5, firstPatchToken: 1 });
  assert.deepEqual(Object.keys(j).slice(0, 5), ['task', 'image', 'model', 'grid', 'viewSize'], 'the CLI document first');
  const seg = JSON.parse(panelJson(denseResult('segmentation'), st, null, null));
  assert.equal(seg.depth, undefined);
  assert.equal(seg.segmentation.outputSize, null);
  assert.deepEqual(
    seg.segmentation.classes.map((c: SegmentClass) => `${c.id}:${c.name}:${c.area}`),
    ['0:wall:0.5', '2:sky:0.375', '5:tree:0.125'],
  );
  // JSON has no NaN: non-finite numbers are written as null.
  const nan = JSON.parse(panelJson(r, st, null, { min: NaN, max: NaN }));
  assert.equal(nan.depth.display.lo, null);
  assert.equal(nan.depth.png16.min, null);
});
