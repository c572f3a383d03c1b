// "Inside the ViT" against an independent computation: scripts/torch-crosscheck/export_inside.py builds a
// DINOv2-with-registers-style ViT in PyTorch (LayerScale, 4 registers), exports it with torch.onnx and
// computes in numpy float64 the filters' PCA, the position similarity, the residual-stream norms, the
// attention received and the patch features' PCA (test/fixtures/torch-inside/expected.json). Here ViT Lens
// reads the exported file (its own graph walk, initializer reader, taps and maths) and must agree to 1e-5
// (PCA up to the sign of each component; relative to the size of the values for norms, which are ~10,
// and of each component's largest score).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { computeAnatomy } from '../../../../src/analyses/inside/anatomy';
import { loadInsideModel, type InsideModel } from '../../../../src/analyses/inside/insideModel';
import { analyseFeatures, patchFeatures, tokenRun } from '../../../../src/analyses/inside/pipeline';
import { repoRoot } from '../../support';

const dir = path.join(repoRoot, 'test', 'fixtures', 'torch-inside');
const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
const [, , height, width] = expected.input as number[];
const buf = fs.readFileSync(path.join(dir, 'pixel_values.f32'));
const pixels = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
const TOL = 1e-5;

let model: InsideModel;
before(async () => {
  model = await loadInsideModel(path.join(dir, 'model'));
});
after(async () => {
  await model?.session.release();
});

/** max |a − b| / max(1, |b|) over the entries. */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

/**
 * max |s·a − b| / max(1, ‖b‖∞) with s = ±1 flipping `a` to `b`'s sign (a principal direction is defined up
 * to its sign): relative to the vector's scale, as float32 runs of two runtimes agree to a few ulps of it.
 */
function upToSign(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let dot = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    scale = Math.max(scale, Math.abs(b[i]));
  }
  const s = dot < 0 ? -1 : 1;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(s * a[i] - b[i]) / scale);
  return worst;
}

test('anatomy: the filters’ principal components and explained variance, and the position similarity, match numpy', () => {
  const r = computeAnatomy(path.join(dir, 'model'));
  assert.ok(!('unavailable' in r.patchEmbedding) && !('unavailable' in r.positionEmbedding));
  const pe = r.patchEmbedding;
  assert.deepEqual(pe.shape, expected.anatomy.shape);
  const cols = pe.shape[1] * pe.shape[2] * pe.shape[3];
  assert.equal(pe.count, expected.anatomy.components.length);
  expected.anatomy.components.forEach((c: number[], k: number) => {
    const d = upToSign(pe.components.subarray(k * cols, (k + 1) * cols), c);
    assert.ok(d < TOL, `component ${k}: ${d}`);
  });
  assert.ok(maxRelDiff(pe.explainedVarianceRatio, expected.anatomy.explainedVarianceRatio) < TOL);
  const pos = r.positionEmbedding;
  assert.deepEqual(pos.grid, expected.anatomy.positionGrid);
  assert.equal(pos.leading, 1);
  assert.ok(maxRelDiff(pos.similarity, expected.anatomy.similarity.flat()) < TOL);
  // Only the two tensors were read: the conv weight [32,3,8,8] and the table [1,37,32], float32.
  assert.equal(r.bytesRead, 4 * (32 * 3 * 8 * 8 + 37 * 32));
});

test('tokens: residual-stream norms [L+1][N] and attention received [L][N] match PyTorch', async () => {
  const run = await tokenRun(model, { pixels, height, width });
  assert.equal(run.tokens, expected.tokens.count);
  assert.equal(run.special.registers, expected.tokens.registers);
  assert.equal(run.firstPatch, expected.tokens.firstPatch);
  const { norms, attentionReceived } = run.analysis;
  assert.equal(norms.length, expected.norms.length);
  norms.forEach((n, l) => {
    const d = maxRelDiff(n, expected.norms[l]);
    assert.ok(d < TOL, `norms row ${l}: ${d}`);
  });
  assert.ok(Array.isArray(attentionReceived));
  attentionReceived.forEach((a, l) => {
    const d = maxRelDiff(a, expected.attentionReceived[l]);
    assert.ok(d < TOL, `attentionReceived layer ${l}: ${d}`);
  });
  // Nothing is planted in this model: the outlier test flags nothing.
  assert.deepEqual(run.analysis.outliers, []);
});

test('features: PCA of the patch tokens (explained variance, scores up to sign) matches numpy', async () => {
  for (const [layerText, ref] of Object.entries(
    expected.features as Record<string, { explainedVarianceRatio: number[]; scores: number[][] }>,
  )) {
    const f = await patchFeatures(model, { pixels, height, width }, Number(layerText));
    const a = analyseFeatures([f.patches], f.dim, f.grid);
    assert.ok(maxRelDiff(a.explainedVarianceRatio, ref.explainedVarianceRatio) < TOL, `layer ${layerText} EVR`);
    ref.scores.forEach((s, k) => {
      const d = upToSign(a.images[0].components[k], s);
      assert.ok(d < TOL, `layer ${layerText} component ${k}: ${d}`);
    });
  }
});
