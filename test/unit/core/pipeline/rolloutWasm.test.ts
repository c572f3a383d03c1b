// The WebAssembly rollout must equal an independent float64 brute force (the O(L·N³) matrix chain of
// Abnar & Zuidema's definition, then row `query`) and the JS reference rolloutRow, for every fusion,
// query and start layer, on token counts that are and are not multiples of 4, with exact zeros.
import assert from 'node:assert/strict';
import test from 'node:test';
import { rolloutRow, type RolloutOptions } from '../../../../src/maths/attention';
import { rolloutRowWasm } from '../../../../src/core/pipeline/rolloutWasm';
import type { AttentionTensor, HeadFusion } from '../../../../src/shared/attentionTypes';
import { randomAttention } from '../../support';

/** R = Â_L ⋯ Â_start as full float64 matrices, Â = rownorm(0.5·fuse(A) + 0.5·I); its row `query`. */
function bruteForce(t: AttentionTensor, o: RolloutOptions): Float64Array {
  const n = t.tokens;
  const at = (l: number, h: number, i: number, j: number) => t.data[((l * t.heads + h) * n + i) * n + j];
  let r: Float64Array | undefined; // R so far: Â_L ⋯ Â_l
  for (let l = t.layers - 1; l >= (o.startLayer ?? 0); l--) {
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < n; j++) {
        const hs = Array.from({ length: t.heads }, (_, h) => at(l, h, i, j));
        const f = o.fusion === 'mean' ? hs.reduce((x, y) => x + y) / t.heads : o.fusion === 'max' ? Math.max(...hs) : Math.min(...hs);
        a[i * n + j] = 0.5 * f + (i === j ? 0.5 : 0);
        sum += a[i * n + j];
      }
      for (let j = 0; j < n; j++) a[i * n + j] /= sum;
    }
    if (!r) r = a;
    else {
      const m = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) m[i * n + j] += r[i * n + k] * a[k * n + j];
      r = m;
    }
  }
  const q = o.query ?? 0;
  return r!.slice(q * n, (q + 1) * n);
}

const maxRelDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let j = 0; j < a.length; j++) d = Math.max(d, Math.abs(a[j] - b[j]) / Math.max(Math.abs(b[j]), 1e-30));
  return d;
};

/** A third of the entries exactly 0 (as after masking), rows renormalised. */
function withZeros(t: AttentionTensor): AttentionTensor {
  const data = t.data.slice();
  for (let r = 0; r < data.length / t.tokens; r++) {
    let sum = 0;
    for (let j = 0; j < t.tokens; j++) {
      if ((r + j) % 3 === 0) data[r * t.tokens + j] = 0;
      sum += data[r * t.tokens + j];
    }
    for (let j = 0; j < t.tokens; j++) data[r * t.tokens + j] /= sum;
  }
  return { ...t, data };
}

const tensors: [string, AttentionTensor][] = [
  ['3 layers × 2 heads, N = 10 (not a multiple of 4)', randomAttention(3, 2, 10, 3)],
  ['2 layers × 3 heads, N = 16', randomAttention(2, 3, 16, 5, 0.5)],
  ['4 layers × 1 head, N = 7', randomAttention(4, 1, 7, 9, 4)],
  ['2 layers × 4 heads, N = 13, a third zeros', withZeros(randomAttention(2, 4, 13, 11))],
];

for (const [name, t] of tensors) {
  for (const fusion of ['mean', 'max', 'min'] as HeadFusion[]) {
    test(`rollout in WebAssembly equals the float64 matrix chain and rolloutRow: ${name}, ${fusion}`, () => {
      for (const [query, startLayer] of [
        [0, 0],
        [t.tokens - 1, 0],
        [2, t.layers - 1],
        [1, 1],
      ]) {
        const o: RolloutOptions = { fusion, discardRatio: 0, query, startLayer };
        const got = rolloutRowWasm(t, o);
        assert.equal(got.length, t.tokens);
        assert.ok(maxRelDiff(got, bruteForce(t, o)) < 1e-5, `query ${query}, start ${startLayer}: vs brute force`);
        assert.ok(maxRelDiff(got, rolloutRow(t, o)) < 1e-6, `query ${query}, start ${startLayer}: vs rolloutRow`);
      }
    });
  }
}

test('rollout in WebAssembly: a smaller tensor after a ViT-B-sized one reads no stale memory', () => {
  rolloutRowWasm(randomAttention(2, 12, 197, 2), { fusion: 'mean', discardRatio: 0 });
  const small = randomAttention(2, 2, 6, 4);
  const o: RolloutOptions = { fusion: 'mean', discardRatio: 0, query: 3 };
  assert.ok(maxRelDiff(rolloutRowWasm(small, o), bruteForce(small, o)) < 1e-5);
});

test('rollout in WebAssembly: with a discard ratio it is rolloutRow (the discard orders the whole fused matrix)', () => {
  const t = randomAttention(3, 3, 12, 8);
  const o: RolloutOptions = { fusion: 'max', discardRatio: 0.4, query: 5, startLayer: 1 };
  assert.deepEqual(rolloutRowWasm(t, o), rolloutRow(t, o));
});
