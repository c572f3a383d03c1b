// The WebAssembly head statistics must equal an independent float64 brute force (Math.log, nested
// loops) and the JS reference, on shapes whose N² is not a multiple of 4, with register tokens,
// non-square grids, exact zeros (0·ln 0 = 0) and subnormals (which the kernel reads as 0).
import assert from 'node:assert/strict';
import test from 'node:test';
import { headStatistics } from '../../../../src/maths/attention';
import { headStatisticsWasm } from '../../../../src/analyses/attention/wasm/headStatsWasm';
import type { AttentionTensor } from '../../../../src/shared/attentionTypes';
import { assertRowsSumToOne, randomAttention } from '../../support';

/** Float64 brute force of the definitions on headStatistics. */
function bruteForce(
  t: AttentionTensor,
  grid: [number, number],
  patchSize: number,
  firstPatch: number,
): { meanDistance: number; entropy: number }[] {
  const [gh, gw] = grid;
  const n = t.tokens;
  const p = gh * gw;
  const out = [];
  for (let l = 0; l < t.layers; l++) {
    for (let h = 0; h < t.heads; h++) {
      const at = (i: number, j: number) => t.data[((l * t.heads + h) * n + i) * n + j];
      let distance = 0;
      for (let i = 0; i < p; i++) {
        for (let j = 0; j < p; j++) {
          const dy = Math.floor(i / gw) - Math.floor(j / gw);
          const dx = (i % gw) - (j % gw);
          distance += at(firstPatch + i, firstPatch + j) * Math.sqrt(dy * dy + dx * dx) * patchSize;
        }
      }
      let entropy = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const a = at(i, j);
          if (a > 0) entropy -= a * Math.log(a);
        }
      out.push({ meanDistance: distance / p, entropy: entropy / n });
    }
  }
  return out;
}

/** Sets some entries of every row (where `value(row, column)` is defined) and renormalises the rows. */
function withEntries(t: AttentionTensor, value: (row: number, column: number) => number | undefined): AttentionTensor {
  const n = t.tokens;
  const data = t.data.slice();
  for (let r = 0; r < data.length / n; r++) {
    let sum = 0;
    for (let j = 0; j < n; j++) {
      data[r * n + j] = value(r, j) ?? data[r * n + j];
      sum += data[r * n + j];
    }
    for (let j = 0; j < n; j++) data[r * n + j] /= sum;
  }
  return { ...t, data };
}

/** Sparse attention, as after masking: a third of the entries exactly 0. */
const withZeros = (t: AttentionTensor) => withEntries(t, (r, j) => ((r + j) % 3 === 0 ? 0 : undefined));
/** Softmax underflow: a quarter of the entries float32 subnormals (below 2^-126). */
const withSubnormals = (t: AttentionTensor) => withEntries(t, (r, j) => ((r + j) % 4 === 1 ? 1e-39 * ((j % 7) + 1) : undefined));

const cases: { name: string; t: AttentionTensor; grid: [number, number]; patch: number; first: number }[] = [
  { name: 'CLS + 7×7, N² = 2500', t: randomAttention(2, 3, 50, 7), grid: [7, 7], patch: 16, first: 1 },
  { name: 'CLS + 4×6 (non-square), N² = 625', t: randomAttention(3, 2, 25, 3, 0.3), grid: [4, 6], patch: 8, first: 1 },
  { name: 'CLS + 4 registers + 3×5, N² = 400', t: randomAttention(1, 4, 20, 11, 6), grid: [3, 5], patch: 14, first: 5 },
  { name: 'no CLS, 3×3 with zeros, N² = 81', t: withZeros(randomAttention(2, 2, 9, 5)), grid: [3, 3], patch: 16, first: 0 },
  {
    name: 'CLS + 5×5 with subnormals (read as 0), N² = 676',
    t: withSubnormals(randomAttention(2, 3, 26, 17)),
    grid: [5, 5],
    patch: 16,
    first: 1,
  },
  { name: 'ViT-B shape 12×12×197 peaked', t: randomAttention(2, 12, 197, 13, 8), grid: [14, 14], patch: 16, first: 1 },
];

for (const c of cases) {
  test(`head statistics in WebAssembly equal a float64 brute force: ${c.name}`, () => {
    assertRowsSumToOne(c.t); // every attention row sums to 1
    const got = headStatisticsWasm(c.t, c.grid, c.patch, c.first);
    const want = bruteForce(c.t, c.grid, c.patch, c.first);
    const ref = headStatistics(c.t, c.grid, c.patch, c.first);
    assert.equal(got.length, c.t.layers * c.t.heads);
    got.forEach((s, i) => {
      assert.equal(s.layer, ref[i].layer);
      assert.equal(s.head, ref[i].head);
      // float32 products summed in float32 lanes: relative 1e-5 on distance, 1e-5 nats on entropy
      assert.ok(
        Math.abs(s.meanDistance - want[i].meanDistance) <= 1e-5 * Math.max(1, want[i].meanDistance),
        `L${s.layer}H${s.head} distance ${s.meanDistance} vs ${want[i].meanDistance}`,
      );
      assert.ok(Math.abs(s.entropy - want[i].entropy) < 1e-5, `L${s.layer}H${s.head} entropy ${s.entropy} vs ${want[i].entropy}`);
    });
  });
}

test('head statistics in WebAssembly: a smaller tensor after a larger one reads no stale padding', () => {
  headStatisticsWasm(randomAttention(1, 12, 197, 2), [14, 14], 16, 1);
  const small = randomAttention(1, 3, 10, 4);
  const got = headStatisticsWasm(small, [3, 3], 16, 1);
  bruteForce(small, [3, 3], 16, 1).forEach((w, i) => assert.ok(Math.abs(got[i].entropy - w.entropy) < 1e-5));
});

test('head statistics in WebAssembly: a grid larger than the tokens is refused', () => {
  assert.throws(
    () => headStatisticsWasm(randomAttention(1, 1, 5, 1), [3, 3], 16, 1),
    /3×3 grid after 1 special tokens needs more than the 5 tokens/,
  );
});
