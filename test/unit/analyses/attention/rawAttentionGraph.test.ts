// The onnxruntime raw-attention graph must equal the readable JS reference (analysis/attention.ts
// rawAttention, itself checked against a brute force in analysis.test.ts).
import assert from 'node:assert/strict';
import test from 'node:test';
import { rawAttention } from '../../../../src/maths/attention';
import { rawAttentionOrt } from '../../../../src/analyses/attention/rawAttentionGraph';
import { assertRowsSumToOne, maxAbsDiff } from '../../support';

for (const [c, h, w, p] of [
  [3, 224, 224, 16],
  [3, 96, 160, 16],
  [3, 50, 37, 8],
  [1, 8, 8, 4],
]) {
  test(`raw attention in onnxruntime equals the JS reference (${c}×${h}×${w}, patch ${p})`, async () => {
    const pixels = Float32Array.from({ length: c * h * w }, (_, i) => Math.sin(i * 0.37) * Math.cos(i * 0.011) * 1.5);
    const ref = rawAttention(pixels, c, h, w, p);
    const got = await rawAttentionOrt(pixels, c, h, w, p);
    assert.equal(got.tokens, ref.tokens);
    assert.equal(got.tokens, 1 + Math.floor(h / p) * Math.floor(w / p));
    assertRowsSumToOne(got, 1e-5);
    assert.ok(maxAbsDiff(got.data, ref.data) < 1e-5, `max diff ${maxAbsDiff(got.data, ref.data)}`);
  });
}
