// Attention analyses against hand-computed answers and brute-force references.
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  attentionRow,
  clsMaps,
  discardLowest,
  fuseHeads,
  headStatistics,
  massThresholdMask,
  rawAttention,
  rolloutMap,
  rolloutRow,
  topK,
} from '../../../src/maths/attention';
import type { AttentionTensor, HeadFusion } from '../../../src/shared/attentionTypes';
import { assertRowsSumToOne, maxAbsDiff, randomAttention } from '../support';

/** Brute force: R = Â_L ⋯ Â_1 as full N×N matrix products, in float64. */
function bruteRollout(t: AttentionTensor, fusion: HeadFusion, discard: number, start = 0): number[][] {
  const n = t.tokens;
  let r: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let l = start; l < t.layers; l++) {
    const f = fuseHeads(t, l, fusion);
    if (discard > 0) {
      // Stable argsort of the flattened matrix, the k smallest zeroed except flat index 0.
      const order = Array.from(f.keys()).sort((a, b) => f[a] - f[b] || a - b);
      for (const idx of order.slice(0, Math.floor(n * n * discard))) if (idx !== 0) f[idx] = 0;
    }
    const a = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => 0.5 * f[i * n + j] + (i === j ? 0.5 : 0)));
    for (const row of a) {
      const s = row.reduce((x, y) => x + y, 0);
      row.forEach((_, j) => (row[j] /= s));
    }
    r = a.map((row) => r[0].map((_, j) => row.reduce((acc, v, k) => acc + v * r[k][j], 0)));
  }
  return r;
}

test('attention rows of the test tensors sum to 1', () => {
  assertRowsSumToOne(randomAttention(3, 4, 10));
});

test('attentionRow and clsMaps pick the right entries; head mean averages', () => {
  // 1 layer, 2 heads, 3 tokens [CLS, p0, p1]
  const data = Float32Array.from([
    0.5,
    0.3,
    0.2,
    0.1,
    0.8,
    0.1,
    0.2,
    0.2,
    0.6, // head 0
    0.1,
    0.6,
    0.3,
    0.3,
    0.3,
    0.4,
    0.0,
    0.5,
    0.5, // head 1
  ]);
  const t = { layers: 1, heads: 2, tokens: 3, data };
  assert.deepEqual(Array.from(attentionRow(t, 0, 1, 1)), Array.from(Float32Array.from([0.3, 0.3, 0.4])));
  assert.ok(maxAbsDiff(attentionRow(t, 0, 'mean', 0), [0.3, 0.45, 0.25]) < 1e-7);
  const maps = clsMaps(t, 1);
  assert.ok(maxAbsDiff(maps[0][0], [0.3, 0.2]) < 1e-7);
  assert.ok(maxAbsDiff(maps[0][1], [0.6, 0.3]) < 1e-7);
});

test('rollout of a hand-computed 1-layer example', () => {
  // A = [[0.5,0.5],[0.2,0.8]]; Â = rownorm(0.5A + 0.5I) = [[0.75,0.25],[0.1,0.9]]; R[CLS] = [0.75, 0.25]
  const t = { layers: 1, heads: 1, tokens: 2, data: Float32Array.from([0.5, 0.5, 0.2, 0.8]) };
  assert.ok(maxAbsDiff(rolloutRow(t, { fusion: 'mean', discardRatio: 0 }), [0.75, 0.25]) < 1e-7);
  // Two identical layers: row 0 of Â² = [0.75·0.75 + 0.25·0.1, 0.75·0.25 + 0.25·0.9] = [0.5875, 0.4125]
  const t2 = { layers: 2, heads: 1, tokens: 2, data: Float32Array.from([0.5, 0.5, 0.2, 0.8, 0.5, 0.5, 0.2, 0.8]) };
  assert.ok(maxAbsDiff(rolloutRow(t2, { fusion: 'mean', discardRatio: 0 }), [0.5875, 0.4125]) < 1e-7);
  assert.ok(maxAbsDiff(rolloutMap(t2, 1, { fusion: 'mean', discardRatio: 0 }), [0.4125]) < 1e-7);
});

test('rollout equals the brute-force matrix product (fusions, discard ratios, start layers, queries)', () => {
  const t = randomAttention(4, 3, 9, 7);
  for (const fusion of ['mean', 'max', 'min'] as HeadFusion[]) {
    for (const discard of [0, 0.3, 0.9]) {
      for (const start of [0, 2]) {
        const ref = bruteRollout(t, fusion, discard, start);
        for (const query of [0, 5]) {
          const got = rolloutRow(t, { fusion, discardRatio: discard, startLayer: start, query });
          assert.ok(maxAbsDiff(got, ref[query]) < 1e-6, `${fusion} discard ${discard} start ${start} query ${query}`);
        }
      }
    }
  }
});

test('rollout rows are probability distributions', () => {
  const t = randomAttention(6, 2, 12, 3);
  const row = rolloutRow(t, { fusion: 'max', discardRatio: 0.5 });
  assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
});

test('discard zeroes exactly the k smallest entries, never CLS→CLS, ties in index order', () => {
  const f = Float32Array.from([0.01, 0.5, 0.02, 0.02, 0.3, 0.02, 0.1, 0.01, 0.02]);
  discardLowest(f, 0.5); // k = 4: indices 0 (0.01), 7 (0.01), 2, 3 (first two 0.02s); index 0 kept
  assert.deepEqual(Array.from(f), Array.from(Float32Array.from([0.01, 0.5, 0, 0, 0.3, 0.02, 0.1, 0, 0.02])));
});

test('raw attention: rows sum to 1 and match a brute-force softmax(X·Xᵀ/√d)', () => {
  const c = 3,
    h = 4,
    w = 6,
    p = 2;
  const pixels = Float32Array.from({ length: c * h * w }, (_, i) => Math.sin(i * 1.7) * 0.9);
  const t = rawAttention(pixels, c, h, w, p);
  assert.equal(t.tokens, 1 + (h / p) * (w / p));
  assertRowsSumToOne(t, 1e-5);
  // Brute force: patch vectors in (channel, y, x) order, mean vector first.
  const patches: number[][] = [];
  for (let r = 0; r < h / p; r++)
    for (let cc = 0; cc < w / p; cc++) {
      const v: number[] = [];
      for (let ch = 0; ch < c; ch++)
        for (let y = 0; y < p; y++) for (let x = 0; x < p; x++) v.push(pixels[ch * h * w + (r * p + y) * w + cc * p + x]);
      patches.push(v);
    }
  const mean = patches[0].map((_, k) => patches.reduce((a, v) => a + v[k], 0) / patches.length);
  const xs = [mean, ...patches];
  const d = c * p * p;
  for (let i = 0; i < xs.length; i++) {
    const logits = xs.map((xj) => xj.reduce((a, v, k) => a + v * xs[i][k], 0) / Math.sqrt(d));
    const m = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - m));
    const s = e.reduce((a, b) => a + b, 0);
    assert.ok(
      maxAbsDiff(
        t.data.subarray(i * t.tokens, (i + 1) * t.tokens),
        e.map((v) => v / s),
      ) < 1e-6,
    );
  }
});

test('head statistics: hand-computed distance and entropy', () => {
  // grid 1×2, patch 10 px, tokens [CLS, p0, p1]. Head attends p0→p1 with 0.5, p1→p0 with 0.25.
  const data = Float32Array.from([1 / 3, 1 / 3, 1 / 3, 0.25, 0.25, 0.5, 0.5, 0.25, 0.25]);
  const [s] = headStatistics({ layers: 1, heads: 1, tokens: 3, data }, [1, 2], 10, 1);
  // distance: p0: 0.5·10 = 5; p1: 0.25·10 = 2.5 → mean 3.75
  assert.ok(Math.abs(s.meanDistance - 3.75) < 1e-6);
  const h = (row: number[]) => -row.reduce((a, v) => a + v * Math.log(v), 0);
  const expected = (h([1 / 3, 1 / 3, 1 / 3]) + h([0.25, 0.25, 0.5]) + h([0.5, 0.25, 0.25])) / 3;
  // ln comes from a 14-bit table (error ≤ 2⁻¹⁵ per ln, so ≤ 3.1e-5 on a row's entropy).
  assert.ok(Math.abs(s.entropy - expected) < 3.1e-5);
});

test('head statistics: entropies of peaked and flat rows equal a Math.log brute force', () => {
  for (const temperature of [0.2, 2, 6]) {
    const t = randomAttention(2, 3, 50, 7, temperature);
    const stats = headStatistics(t, [7, 7], 16, 1);
    for (const s of stats) {
      let e = 0;
      const o = (s.layer * t.heads + s.head) * t.tokens * t.tokens;
      for (let k = 0; k < t.tokens * t.tokens; k++) {
        const a = t.data[o + k];
        if (a > 0) e -= a * Math.log(a);
      }
      assert.ok(Math.abs(s.entropy - e / t.tokens) < 3.1e-5, `T=${temperature} L${s.layer}H${s.head}: ${s.entropy} vs ${e / t.tokens}`);
    }
  }
});

test('topK: softmax probabilities, order, labels', () => {
  const preds = topK([1, 3, 2], 2, { '1': 'cat' });
  assert.deepEqual(
    preds.map((p) => [p.index, p.label]),
    [
      [1, 'cat'],
      [2, 'class 2'],
    ],
  );
  const z = Math.exp(1) + Math.exp(3) + Math.exp(2);
  assert.ok(Math.abs(preds[0].probability - Math.exp(3) / z) < 1e-12);
});

test('DINO attention-mass mask keeps the top τ of the mass', () => {
  // sorted ascending: 0.1, 0.2, 0.3, 0.4 → cumsum 0.1, 0.3, 0.6, 1.0; τ = 0.6 keeps c > 0.4: 0.3 and 0.4
  assert.deepEqual(Array.from(massThresholdMask([0.4, 0.1, 0.3, 0.2], 0.6)), [1, 0, 1, 0]);
});
