// Cross-check against PyTorch: a tiny DPT (HF DPTForDepthEstimation structure) exported by torch.onnx
// (test/fixtures/torch-dpt, made by scripts/torch-crosscheck/export_dpt.py). On the same pixel tensor,
// ViT Lens's predicted_depth, tapped attention and name-found neck levels must equal PyTorch's to 1e-4;
// from the image file, the pipeline and `vit-lens depth --npy` must too (the "done" criterion).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  depthFromOutput,
  featureLevels,
  planDenseFetches,
  runDenseModel,
  runDensePipeline,
  denseOutputFor,
} from '../../../../src/analyses/dense/pipeline';
import { stackAttention } from '../../../../src/core/pipeline/attentionOutputs';
import { LoadedModel, loadVitModel } from '../../../../src/core/model/vitModel';
import { assertRowsSumToOne, cli, maxAbsDiff, repoRoot, tempDir } from '../../support';

const dir = path.join(repoRoot, 'test', 'fixtures', 'torch-dpt');
const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
const f32 = (file: string) => {
  const raw = fs.readFileSync(path.join(dir, file));
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
};
const modelPath = path.join(dir, 'model', 'model.onnx');
let model: LoadedModel;

before(async () => {
  model = await loadVitModel(modelPath);
});
after(async () => {
  await model.session.release();
});

test('the torch.onnx export is read as a DPT: predicted_depth, 4 tapped Softmax nodes, the neck by HF node names', () => {
  assert.equal(model.dense?.depthOutput, 'predicted_depth');
  assert.equal(model.dense?.neckSource, 'names');
  assert.deepEqual(
    model.dense?.neckOutputs,
    expected.neckNodes.map((n: { output: string }) => n.output),
  );
  assert.equal(model.attentionSource, 'tapped');
  assert.equal(model.attentionOutputs.length, 4);
  assert.deepEqual(model.fixedSize, [64, 96]);
  assert.equal(model.patchSize, 16);
});

test('same pixel tensor: depth, attention and neck levels equal PyTorch to 1e-4; statistics and PCA equal numpy', async () => {
  const pixels = f32('pixel_values.f32');
  const pre = { pixels, height: 64, width: 96, sourceRect: [0, 0, 96, 64] as [number, number, number, number] };
  const { dense, output } = denseOutputFor(model, 'depth');
  const plan = planDenseFetches(model, dense, output, pre);
  const { outputs } = await runDenseModel(model, plan, pre);

  const notes: string[] = [];
  const depth = depthFromOutput(outputs[output], output, { width: 96, height: 64 }, notes);
  const torchDepth = f32('predicted_depth.f32');
  assert.deepEqual([depth.rawHeight, depth.rawWidth], [64, 96]);
  const depthDiff = maxAbsDiff(depth.raw, torchDepth);
  assert.ok(depthDiff < 1e-4, `predicted_depth differs from PyTorch by ${depthDiff}`);
  // At the model's own size the view is the raw map (bicubic at scale 1 is the identity).
  assert.ok(maxAbsDiff(depth.view, torchDepth) < 1e-4);
  for (const k of ['min', 'max', 'p2', 'p98'] as const) assert.ok(Math.abs(depth[k] - expected.depthStats[k]) < 1e-4, k);
  assert.deepEqual(notes, []);

  const attention = stackAttention(outputs, plan.attention);
  assert.deepEqual([attention.layers, attention.heads, attention.tokens], [4, 4, 25]);
  assertRowsSumToOne(attention, 1e-5);
  assert.ok(maxAbsDiff(attention.data, f32('attentions.f32')) < 1e-4, 'attention probabilities');

  const torchNeck = f32('neck.f32');
  let offset = 0;
  plan.neck.forEach((name, i) => {
    const shape = expected.neckShapes[i];
    const t = outputs[name];
    assert.deepEqual(t.dims, [1, ...shape]);
    const n = shape[0] * shape[1] * shape[2];
    assert.ok(maxAbsDiff(t.data as Float32Array, torchNeck.subarray(offset, offset + n)) < 1e-4, `neck level ${i}`);
    offset += n;
  });
  const levels = await featureLevels(outputs, plan.neck, [64, 96], model.files.config.backbone_out_indices, notes);
  assert.deepEqual(
    levels.map((l) => l.stride),
    [4, 8, 16, 32],
  );
  levels.forEach((l, i) => assert.ok(maxAbsDiff(l.explained, expected.pca[i].explained) < 1e-4, `PCA level ${i}`));
});

test('from the image file: the pipeline and `vit-lens depth --npy` equal PyTorch to 1e-4', async () => {
  const image = path.join(dir, 'image.png');
  const r = await runDensePipeline({ imagePath: image, modelPath, task: 'depth' }, async () => model);
  assert.deepEqual(r.model.inputSize, [64, 96]);
  assert.deepEqual(r.grid, [4, 6]);
  assert.deepEqual([r.view.width, r.view.height], [96, 64]);
  assert.ok(maxAbsDiff(r.depth!.raw, f32('predicted_depth.f32')) < 1e-4);
  assert.ok(maxAbsDiff(r.attention!.data, f32('attentions.f32')) < 1e-4);

  const out = path.join(tempDir('vit-lens-torch-dpt-'), 'depth.npy');
  const depth = cli('depth', image, '--model', path.join(dir, 'model'), '--npy', out);
  assert.equal(depth.status, 0, depth.stderr);
  const npy = fs.readFileSync(out);
  const headerLength = npy.readUInt16LE(8);
  assert.match(npy.subarray(10, 10 + headerLength).toString('latin1'), /'descr': '<f4', 'fortran_order': False, 'shape': \(64, 96\)/);
  const values = new Float32Array(npy.buffer.slice(npy.byteOffset + 10 + headerLength, npy.byteOffset + npy.length));
  const diff = maxAbsDiff(values, f32('predicted_depth.f32'));
  assert.ok(diff < 1e-4, `--npy differs from PyTorch by ${diff}`);
});
