// `vit-lens demo` on a fresh checkout: the demo models that ship in models/demo/ run on the generated
// scenes; every file of the contract is written and the prediction matches the scene's truth.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { spearman } from '../../../src/maths/ranks';
import { runCli, tempDir } from '../support';

test('vit-lens demo writes the scenes with their truth, the attention and depth reports, and predicts the scene correctly', () => {
  const out = tempDir('vitlens-demo-');
  const r = runCli(['demo', '--out', out], 600_000);
  assert.equal(r.status, 0, r.stderr);
  for (const f of [
    'scene.png',
    'scene.json',
    'attention.json',
    'attention.html',
    'depth-scene.png',
    'depth-truth.npy',
    'depth.json',
    'depth.npy',
    'depth.html',
  ]) {
    assert.ok(fs.existsSync(path.join(out, f)), f);
  }
  const scene = JSON.parse(fs.readFileSync(path.join(out, 'scene.json'), 'utf8'));
  assert.equal(scene.objects.length, 1);
  const [o] = scene.objects;
  assert.deepEqual(Object.keys(o), ['class', 'label', 'box', 'mask']);
  assert.ok(fs.existsSync(path.join(out, o.mask)), o.mask);
  const attention = JSON.parse(fs.readFileSync(path.join(out, 'attention.json'), 'utf8'));
  assert.equal(attention.predictions[0].label, o.label, 'the demo ViT finds the object');
  assert.equal(attention.model.attentionSource, 'tapped');
  assert.match(r.stdout, new RegExp(`predicted ${o.label} .*truth: ${o.label} ✓`));
  // depth.npy (the model's output) and depth-truth.npy (1/z) order the pixels alike: both are 128×96 float32.
  const npy = (f: string) => {
    const b = fs.readFileSync(path.join(out, f));
    const n = b.readUInt16LE(8);
    return new Float32Array(b.buffer.slice(b.byteOffset + 10 + n, b.byteOffset + b.length));
  };
  const predicted = npy('depth.npy');
  const truth = npy('depth-truth.npy');
  assert.equal(predicted.length, truth.length);
  assert.ok(spearman(predicted, truth) > 0.9, `Spearman ${spearman(predicted, truth)}`);
  assert.ok(
    fs.readFileSync(path.join(out, 'attention.html'), 'utf8').includes('Trained on procedurally generated shapes'),
    'the report says what the model was trained on',
  );
});

test('spearman: ties share their mean rank; equals a hand-computed value', () => {
  // ranks a = [1, 2.5, 2.5, 4], b = [4, 3, 2, 1] → ρ = -cov/… = -0.9486833
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [4, 3, 2, 1]) + 0.9486833) < 1e-6);
  assert.equal(spearman([1, 2, 3], [10, 20, 30]), 1);
});
