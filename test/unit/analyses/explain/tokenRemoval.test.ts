// Exact token removal against PyTorch: small ViTs exported by torch.onnx (test/fixtures/torch-token-removal,
// made by scripts/torch-crosscheck/token_removal.py) whose reference logits come from PyTorch runs with the
// removed tokens literally dropped from the sequence after the embeddings. onnxruntime on the key-masked
// graph (src/core/onnx/keyMask.ts) must give the same class probabilities to 1e-5, for plain ViT, DINOv2
// with registers and DeiT (distillation token kept); the mask-free run must give the model's own logits
// to 1e-6; and a head that pools patch outputs must be reported as not exact (and is not).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import * as ort from 'onnxruntime-node';
import { loadMaskedModel, maskedLogits } from '../../../../src/analyses/explain/maskedModel';
import { classProbability } from '../../../../src/maths/explain';
import { maxAbsDiff, repoRoot } from '../../support';

const dir = path.join(repoRoot, 'test', 'fixtures', 'torch-token-removal');
const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as {
  grid: [number, number];
  subsets: number[][];
  variants: Record<string, { specialTokens: number; logits: number[]; dropped: number[][] }>;
};
const raw = fs.readFileSync(path.join(dir, '..', 'torch-vit', 'pixel_values.f32'));
const pixels = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
const P = expected.grid[0] * expected.grid[1];
const probs = (logits: ArrayLike<number>) => Array.from(logits, (_, c) => classProbability(logits, c));

/** removed[b][t] for each subset: patch j is token specials + j. */
const removedTokens = (specials: number) =>
  expected.subsets.map((s) => {
    const r = new Uint8Array(specials + P);
    for (const j of s) r[specials + j] = 1;
    return r;
  });

for (const variant of ['vit', 'registers', 'deit'] as const) {
  test(`token removal = PyTorch with the tokens dropped (${variant}, ${expected.subsets.length} subsets)`, async () => {
    const ref = expected.variants[variant];
    const model = await loadMaskedModel(path.join(dir, variant, 'model.onnx'));
    try {
      assert.equal(model.pooledHead, false);
      const tokens = ref.specialTokens + P;
      // The mask-free run is the model's own: the same as the untouched graph in onnxruntime, and as PyTorch.
      const [own] = await maskedLogits(model, pixels, 32, 48, tokens, [new Uint8Array(tokens)], 1);
      const plain = await ort.InferenceSession.create(path.join(dir, variant, 'model.onnx'));
      const bare = (await plain.run({ pixel_values: new ort.Tensor('float32', pixels, [1, 3, 32, 48]) })).logits.data as Float32Array;
      await plain.release();
      assert.ok(maxAbsDiff(own, bare) <= 1e-6, `mask-free vs untouched graph: ${maxAbsDiff(own, bare)}`);
      assert.ok(maxAbsDiff(probs(own), probs(ref.logits)) < 1e-5, 'mask-free vs PyTorch');
      const masked = await maskedLogits(model, pixels, 32, 48, tokens, removedTokens(ref.specialTokens), 8);
      let worst = 0;
      masked.forEach((l, i) => (worst = Math.max(worst, maxAbsDiff(probs(l), probs(ref.dropped[i])))));
      assert.ok(worst < 1e-5, `max |Δp| over subsets and classes: ${worst}`);
      // The removal changes the prediction (the test is not vacuous).
      const moved = masked.reduce((m, l) => Math.max(m, maxAbsDiff(probs(l), probs(own))), 0);
      assert.ok(moved > 1e-2, `removals move p by up to ${moved}`);
    } finally {
      await model.session.release();
    }
  });
}

test('a head that pools patch outputs is detected: key masking is not exact there, and differs from dropping', async () => {
  const ref = expected.variants.pooled;
  const model = await loadMaskedModel(path.join(dir, 'pooled', 'model.onnx'));
  try {
    assert.equal(model.pooledHead, true);
    const masked = await maskedLogits(model, pixels, 32, 48, 1 + P, removedTokens(1), 8);
    const worst = masked.reduce((m, l, i) => Math.max(m, maxAbsDiff(probs(l), probs(ref.dropped[i]))), 0);
    assert.ok(worst > 1e-3, `pooled: masked vs dropped differ by ${worst}`);
  } finally {
    await model.session.release();
  }
});
