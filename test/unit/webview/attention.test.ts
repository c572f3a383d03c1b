// Pure parts of the panel (webview/): colormaps, rasterisation, UI state parsing, query helpers, exports.
import test from 'node:test';
import assert from 'node:assert/strict';
import { colormapNames } from '../../../src/shared/panelProtocol';
import type { AttentionResult } from '../../../src/shared/attentionTypes';
import { colormapAt, colormapFloat, colormapLut, relativeLuminance } from '../../../src/maths/colormaps';
import { normalize, rasterize, valueRange } from '../../../webview/shell/raster';
import { formatValue } from '../../../webview/shell/format';
import {
  applySettings,
  baselineQuery,
  defaultState,
  fitStateToResult,
  moveQuery,
  parseUiState,
  patchOfToken,
  safeStem,
  stepHead,
  tokenOfPatch,
} from '../../../webview/shell/state';
import { buildViewExport, exportFileName } from '../../../webview/panels/attention/exportData';
import { niceTicks } from '../../../webview/panels/attention/statsChart';

const hex = (rgb: readonly number[]) => '#' + rgb.map((v) => v.toString(16).padStart(2, '0')).join('');

test('viridis endpoints match matplotlib', () => {
  assert.equal(hex(colormapAt('viridis', 0)), '#440154');
  assert.equal(hex(colormapAt('viridis', 1)), '#fde725');
  assert.equal(hex(colormapAt('viridis', 0.5)), '#21918c');
  const lut = colormapLut('viridis');
  assert.equal(lut.length, 256 * 3);
  assert.deepEqual(Array.from(lut.slice(0, 3)), [0x44, 0x01, 0x54]);
  assert.deepEqual(Array.from(lut.slice(255 * 3)), [0xfd, 0xe7, 0x25]);
});

test('perceptual colormaps have monotonically increasing luminance', () => {
  for (const name of ['viridis', 'inferno', 'magma'] as const) {
    // The continuous map: strictly increasing.
    let prev = -1;
    for (let i = 0; i <= 1024; i++) {
      const y = relativeLuminance(colormapFloat(name, i / 1024));
      assert.ok(y > prev, `${name} luminance drops at t=${i / 1024}: ${prev} → ${y}`);
      prev = y;
    }
    // The 8-bit table: increasing up to channel rounding (≤ half a step), and strictly every 4 entries.
    const lut = colormapLut(name);
    const lum = Array.from({ length: 256 }, (_, i) => relativeLuminance(Array.from(lut.slice(i * 3, i * 3 + 3))));
    for (let i = 1; i < 256; i++) assert.ok(lum[i] >= lum[i - 1] - 2e-4, `${name} LUT luminance drops at ${i}`);
    for (let i = 4; i < 256; i++) assert.ok(lum[i] > lum[i - 4], `${name} LUT not increasing around ${i}`);
    assert.ok(lum[255] - lum[0] > 0.5);
  }
});

test('every colormap has 256 entries, clamps t, and known endpoints', () => {
  for (const name of colormapNames) {
    assert.equal(colormapLut(name).length, 768);
    assert.deepEqual(colormapAt(name, -1), colormapAt(name, 0));
    assert.deepEqual(colormapAt(name, 2), colormapAt(name, 1));
  }
  assert.equal(hex(colormapAt('inferno', 0)), '#000004');
  assert.equal(hex(colormapAt('magma', 1)), '#fcfdbf');
  assert.deepEqual(colormapAt('jet', 0), [0, 0, 128]);
  assert.deepEqual(colormapAt('jet', 1), [128, 0, 0]);
  assert.deepEqual(colormapAt('turbo', 0), [48, 18, 59]);
  assert.deepEqual(colormapAt('turbo', 1), [122, 4, 3]);
  const [r, g, b] = colormapAt('turbo', 0.5); // turbo's middle is green
  assert.ok(g > r && g > b, `turbo(0.5) = ${r},${g},${b}`);
});

test('normalize and rasterize: min–max scaling, nearest and smooth upsampling', () => {
  assert.deepEqual(valueRange([3, -1, 2]), { min: -1, max: 3 });
  assert.deepEqual(Array.from(normalize([5, 5, 5])), [0, 0, 0]);
  assert.deepEqual(Array.from(normalize([1, 3, 2])), [0, 1, 0.5]);
  const lut = colormapLut('viridis');
  // 1×2 map [0, 1] → 4×1 pixels: nearest gives two low then two high colours.
  const px = rasterize([0.1, 0.2], [1, 2], 4, 1, lut, false);
  assert.deepEqual(Array.from(px.slice(0, 4)), [0x44, 0x01, 0x54, 255]);
  assert.deepEqual(Array.from(px.slice(4, 8)), [0x44, 0x01, 0x54, 255]);
  assert.deepEqual(Array.from(px.slice(12, 16)), [0xfd, 0xe7, 0x25, 255]);
  const sm = rasterize([0, 1], [1, 2], 4, 1, lut, true);
  // Smooth: the outer pixels clamp to the cell values, the inner ones lie between.
  assert.deepEqual(Array.from(sm.slice(0, 3)), [0x44, 0x01, 0x54]);
  assert.deepEqual(Array.from(sm.slice(12, 15)), [0xfd, 0xe7, 0x25]);
  assert.notDeepEqual(Array.from(sm.slice(4, 7)), [0x44, 0x01, 0x54]);
  assert.equal(formatValue(0.012345), '0.0123');
  assert.equal(formatValue(1.5e-5), '1.50e-5');
  assert.equal(formatValue(0), '0');
});

test('parseUiState keeps valid fields and drops garbage', () => {
  const d = defaultState();
  assert.deepEqual(parseUiState(undefined), d);
  assert.deepEqual(parseUiState('nonsense'), d);
  const s = parseUiState({
    view: 'rollout',
    layer: 3,
    head: 'mean',
    query: 17,
    opacity: 0.3,
    colormap: 'magma',
    upsampling: 'smooth',
    threshold: true,
    tau: 0.4,
    fusion: 'max',
    discardRatio: 0.5,
    startLayer: 2,
    followMouse: true,
    metric: 'entropy',
  });
  assert.equal(s.view, 'rollout');
  assert.equal(s.layer, 3);
  assert.equal(s.query, 17);
  assert.equal(s.colormap, 'magma');
  assert.equal(s.fusion, 'max');
  assert.equal(s.metric, 'entropy');
  const bad = parseUiState({
    view: 'x',
    layer: 1.5,
    head: -2,
    query: -1,
    opacity: 3,
    colormap: 'rainbow',
    upsampling: 'cubic',
    tau: 0,
    fusion: 'sum',
    discardRatio: 1,
    startLayer: 'a',
    metric: 7,
    settingsSeen: { colormap: 'x' },
  });
  assert.deepEqual(bad, d);
});

function fakeResult(layers = 2, heads = 3, grid: [number, number] = [2, 3], firstPatch = 1): AttentionResult {
  const tokens = firstPatch + grid[0] * grid[1];
  const data = new Float32Array(layers * heads * tokens * tokens).fill(1 / tokens);
  const bt = 1 + grid[0] * grid[1];
  return {
    image: { path: 'C:\\pics\\my cat<1>.jpg', width: 30, height: 20 },
    model: {
      path: null,
      name: 'm',
      inputSize: [32, 48],
      patchSize: 16,
      numLayers: layers,
      numHeads: heads,
      specialTokens: { cls: firstPatch > 0, distillation: false, registers: 0 },
      attentionSource: 'outputs',
    },
    grid,
    firstPatchToken: firstPatch,
    attention: { layers, heads, tokens, data },
    baseline: { layers: 1, heads: 1, tokens: bt, data: new Float32Array(bt * bt).fill(1 / bt) },
    predictions: [{ index: 3, label: 'cat', probability: 0.9 }],
    headStats: [],
    timingsMs: { decode: 1, modelLoad: 0, preprocess: 1, inference: 1, analysis: 1, total: 4 },
    view: { png: new Uint8Array(0), width: 30, height: 20, sourceRect: [0, 0, 30, 20] },
  };
}

test('fitStateToResult resets on a new shape and clamps a restored state', () => {
  const r = fakeResult();
  const fresh = fitStateToResult(defaultState(), r);
  assert.equal(fresh.layer, 1);
  assert.equal(fresh.head, 'mean');
  assert.equal(fresh.query, 0);
  // Same shape: the user's picks survive.
  const kept = fitStateToResult({ ...fresh, layer: 0, head: 2, query: 4 }, r);
  assert.deepEqual([kept.layer, kept.head, kept.query], [0, 2, 4]);
  // Out-of-range values are clamped.
  const clamped = fitStateToResult({ ...fresh, layer: 9, head: 7, query: 99, startLayer: 5 }, r);
  assert.deepEqual([clamped.layer, clamped.head, clamped.query, clamped.startLayer], [1, 'mean', 0, 0]);
  // A single-head result always uses head 0; no CLS → the centre patch is the default query.
  const single = fitStateToResult(defaultState(), fakeResult(1, 1, [3, 3], 0));
  assert.equal(single.head, 0);
  assert.equal(single.query, 4);
});

test('host settings override the UI only when they change', () => {
  const settings = { colormap: 'inferno' as const, opacity: 0.5, fusion: 'min' as const, discardRatio: 0.8 };
  const a = applySettings(defaultState(), settings);
  assert.equal(a.colormap, 'inferno');
  const user = { ...a, colormap: 'jet' as const };
  assert.equal(applySettings(user, settings).colormap, 'jet');
  assert.equal(applySettings(user, { ...settings, opacity: 0.7 }).colormap, 'inferno');
});

test('query helpers map tokens, patches and the baseline', () => {
  const r = { grid: [2, 3] as [number, number], firstPatchToken: 2 };
  assert.equal(tokenOfPatch(r, 1, 2), 7);
  assert.deepEqual(patchOfToken(r, 7), { row: 1, col: 2 });
  assert.equal(patchOfToken(r, 0), null);
  assert.equal(patchOfToken(r, 1), null);
  assert.equal(patchOfToken(r, 8), null);
  assert.equal(baselineQuery(r, 0), 0);
  assert.equal(baselineQuery(r, 7), 6);
  assert.equal(moveQuery(r, 0, 0, 1), tokenOfPatch(r, 1, 1)); // from CLS: the centre patch
  assert.equal(moveQuery(r, 7, 0, 1), 7); // clamped at the edge
  assert.equal(moveQuery(r, 7, -1, -1), tokenOfPatch(r, 0, 1));
  assert.equal(stepHead('mean', 3, 1), 0);
  assert.equal(stepHead(2, 3, 1), 'mean');
  assert.equal(stepHead('mean', 3, -1), 2);
  assert.equal(stepHead('mean', 1, 1), 0);
  assert.equal(safeStem('C:\\pics\\my cat<1>.jpg'), 'my cat_1_');
  assert.equal(safeStem('/x/.hidden'), 'attention');
});

test('view export: numbers of the current view and a host-acceptable file name', () => {
  const r = fakeResult();
  const st = { ...fitStateToResult(defaultState(), r), query: 5 };
  const map = new Float32Array([1, 2, 3, 4, 5, 6]);
  const e = buildViewExport(r, st, map, new Uint8Array([0, 0, 0, 1, 1, 1]));
  assert.deepEqual(e.map, [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.deepEqual(e.threshold?.kept, [
    [0, 0, 0],
    [1, 1, 1],
  ]);
  assert.deepEqual(e.query, { token: 5, row: 1, col: 1, kind: 'patch' });
  assert.equal(e.min, 1);
  assert.equal(e.max, 6);
  assert.equal(e.layer, 1);
  assert.equal(e.rollout, null);
  assert.deepEqual(JSON.parse(JSON.stringify(e)).predictions, r.predictions);
  for (const view of ['attention', 'rollout', 'raw'] as const) {
    for (const ext of ['png', 'json'] as const) {
      const name = exportFileName(r, { ...st, view }, ext);
      assert.match(name, /^[\w.\- ]{1,120}$/, name);
      assert.ok(name.endsWith(`.${ext}`));
    }
  }
});

test('niceTicks covers the maximum with round steps', () => {
  assert.deepEqual(niceTicks(110), [0, 25, 50, 75, 100, 125]);
  assert.deepEqual(niceTicks(0), [0, 1]);
  const t = niceTicks(4.3);
  assert.ok(t[t.length - 1] >= 4.3 && t[0] === 0);
});
