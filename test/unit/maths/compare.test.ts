// The comparison maths against brute force: total variation per row written out with explicit loops,
// deltas and differences element by element.
import assert from 'node:assert/strict';
import test from 'node:test';
import { headDeltas, layerChange, layersByChange, rolloutDifference } from '../../../src/maths/compare';
import { predictionEntropy } from '../../../src/maths/attention';
import { randomAttention } from '../support';

/** ½·Σ_j |p_j − q_j| per (layer, head, query) row, averaged over heads and rows. */
function bruteLayerChange(a: ReturnType<typeof randomAttention>, b: ReturnType<typeof randomAttention>): number[] {
  const n = a.tokens;
  const out: number[] = [];
  for (let l = 0; l < Math.min(a.layers, b.layers); l++) {
    let total = 0;
    for (let hd = 0; hd < a.heads; hd++)
      for (let i = 0; i < n; i++) {
        let tv = 0;
        for (let j = 0; j < n; j++) {
          const at = (t: typeof a) => t.data[((l * t.heads + hd) * n + i) * n + j];
          tv += Math.abs(at(a) - at(b));
        }
        total += tv / 2;
      }
    out.push(total / (a.heads * n));
  }
  return out;
}

test('layerChange is the mean total variation of the rows, in [0, 1]; 0 for equal tensors', () => {
  const a = randomAttention(3, 2, 7, 1);
  const b = randomAttention(4, 2, 7, 2);
  const got = Array.from(layerChange(a, b));
  const want = bruteLayerChange(a, b);
  assert.equal(got.length, 3);
  got.forEach((v, l) => {
    assert.ok(Math.abs(v - want[l]) < 1e-9);
    assert.ok(v > 0 && v <= 1);
  });
  assert.deepEqual(Array.from(layerChange(a, a)), [0, 0, 0]);
  assert.throws(() => layerChange(a, randomAttention(3, 3, 7)), RangeError);
  assert.deepEqual(layersByChange([0.1, 0.3, 0.2]), [1, 2, 0]);
});

test('rolloutDifference and headDeltas are a − b, over what both have', () => {
  assert.deepEqual(Array.from(rolloutDifference([0.5, 0.25], [0.25, 0.5])), [0.25, -0.25]);
  assert.throws(() => rolloutDifference([1], [1, 2]), RangeError);
  const a = [
    { layer: 0, head: 0, meanDistance: 10, entropy: 2 },
    { layer: 0, head: 1, meanDistance: 5, entropy: 1 },
    { layer: 1, head: 0, meanDistance: 3, entropy: 0.5 },
  ];
  const b = [
    { layer: 0, head: 0, meanDistance: 4, entropy: 2.5 },
    { layer: 0, head: 1, meanDistance: 5, entropy: 1 },
  ];
  assert.deepEqual(headDeltas(a, b), [
    { layer: 0, head: 0, meanDistance: 6, entropy: -0.5 },
    { layer: 0, head: 1, meanDistance: 0, entropy: 0 },
  ]);
});

test('predictionEntropy equals −Σ p·ln p of the softmax, also where probabilities underflow', () => {
  const logits = [2, -1, 0.5, 3, 0];
  const z = logits.reduce((s, x) => s + Math.exp(x), 0);
  const brute = -logits.reduce((s, x) => s + (Math.exp(x) / z) * Math.log(Math.exp(x) / z), 0);
  assert.ok(Math.abs(predictionEntropy(logits) - brute) < 1e-12);
  assert.ok(Math.abs(predictionEntropy([0, 0, 0, 0]) - Math.log(4)) < 1e-12);
  assert.ok(predictionEntropy([1000, 0, -1000]) < 1e-12 && predictionEntropy([1000, 0, -1000]) >= 0);
});
