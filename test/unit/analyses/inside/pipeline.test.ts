// "Inside the ViT" on the fixture models: the planted high-norm token is flagged and nothing else; the
// views work on the ViT, DeiT, DINOv2-with-registers and DPT fixtures; a CNN and a fused-attention
// model get clear refusals per view; the initializer reader reads only what it is asked for; the JSON
// contracts carry the field names; the CLI writes them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { computeAnatomy, isPositionTable, positionRows } from '../../../../src/analyses/inside/anatomy';
import { findResidualStream } from '../../../../src/analyses/inside/graph';
import { loadInsideModel, readModelGraph, type InsideModel } from '../../../../src/analyses/inside/insideModel';
import { featureLayer, gridBoxToImage, runFeaturesPipeline, runTokensPipeline } from '../../../../src/analyses/inside/pipeline';
import { anatomyJson, featuresJson, tokensJson } from '../../../../src/analyses/inside/json';
import { readInitializers } from '../../../../src/core/onnx/initializers';
import { VitLensError } from '../../../../src/shared/errors';
import { writeSampleScene } from '../../../fixtures/builders/sampleImages';
import { cli, distDir, fixtureModels, hasSharedImages, sharedImages, tempDir } from '../../support';

let dir: string;
let scene: string;
let plain: string;
const loaded: InsideModel[] = [];
const get = async (p: string) => {
  const m = await loadInsideModel(p);
  loaded.push(m);
  return m;
};

before(async () => {
  dir = tempDir('vit-lens-inside-');
  scene = await writeSampleScene(dir, 320, 240);
  // A flat grey image: no structure at all, so any outlier comes from the model, not the picture.
  plain = path.join(dir, 'grey.png');
  const sharp = (await import('sharp')).default;
  await sharp({ create: { width: 96, height: 96, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .png()
    .toFile(plain);
});
after(async () => {
  await Promise.all(loaded.map((m) => m.session.release()));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the planted high-norm token is flagged, in the later blocks only, and nothing else (two images)', async () => {
  const model = fixtureModels()['vit-tiny-registers-planted'];
  for (const image of [scene, plain]) {
    const r = await runTokensPipeline({ imagePath: image, modelPath: model }, get);
    assert.equal(r.tokens.registers, 4);
    assert.equal(r.tokens.firstPatch, 5);
    assert.equal(r.blocks, 4);
    assert.equal(r.norms.length, 5);
    assert.equal(r.norms[0].length, r.tokens.count);
    const flagged = new Set(r.outliers.map((o) => o.token));
    assert.deepEqual([...flagged], [5], `flagged ${[...flagged]}`); // patch 0 (top-left) only
    // Planted in block 2 (0-based), so rows 3 and 4 carry it; the test looks at rows ≥ 3.
    assert.deepEqual(
      r.outliers.map((o) => o.layer),
      [3, 4],
    );
    for (const o of r.outliers) assert.equal(o.norm, r.norms[o.layer][o.token]);
    assert.ok(r.norms[2][5] < 3 * r.norms[2][6], 'not high before the planting block');
    assert.ok(Array.isArray(r.attentionReceived) && r.attentionReceived.length === 4);
    // Excluding the planted patch and the registers takes them out of the rollout (R[CLS, patch 0] = 0).
    assert.ok(r.rollout);
    assert.deepEqual(r.rollout.excludedTokens, [1, 2, 3, 4, 5]);
    assert.equal(r.rollout.excluded[0], 0);
    assert.ok(r.rollout.map[0] > 0);
  }
});

test('the same architecture without the plant flags nothing', async () => {
  for (const name of ['vit-tiny', 'vit-tiny-registers', 'deit-tiny-distilled', 'dpt-tiny-depth', 'vit-tiny-nonsquare']) {
    const r = await runTokensPipeline({ imagePath: scene, modelPath: fixtureModels()[name] }, get);
    assert.deepEqual(r.outliers, [], name);
  }
});

test('tokens, features and anatomy work on the ViT, DeiT, DINOv2-with-registers and DPT fixtures', async () => {
  const cases: [string, { cls: boolean; distillation: boolean; registers: number; leading: number }][] = [
    ['vit-tiny', { cls: true, distillation: false, registers: 0, leading: 1 }],
    ['deit-tiny-distilled', { cls: true, distillation: true, registers: 0, leading: 2 }],
    ['vit-tiny-registers', { cls: true, distillation: false, registers: 4, leading: 1 }],
    ['dpt-tiny-depth', { cls: true, distillation: false, registers: 0, leading: 1 }],
    ['dpt-tiny-depth-dynamic', { cls: true, distillation: false, registers: 0, leading: 0 }],
  ];
  for (const [name, want] of cases) {
    const modelPath = fixtureModels()[name];
    const t = await runTokensPipeline({ imagePath: scene, modelPath }, get);
    assert.equal(t.tokens.cls, want.cls, name);
    assert.equal(t.tokens.distillation, want.distillation, name);
    assert.equal(t.tokens.registers, want.registers, name);
    assert.ok(
      t.norms.every((row) => row.every((v) => Number.isFinite(v) && v > 0)),
      name,
    );
    const rec = t.attentionReceived;
    assert.ok(Array.isArray(rec), name);
    // Every query row sums to 1, so the mean over heads and queries of a layer sums to 1 over tokens.
    for (const row of rec) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4, name);
    const f = await runFeaturesPipeline({ imagePaths: [scene], modelPath, layer: -1 }, get);
    assert.equal(f.layer, t.blocks, name);
    assert.equal(f.images[0].components.length, 3);
    assert.equal(f.images[0].components[0].length, f.grid[0] * f.grid[1]);
    const evr = f.explainedVarianceRatio;
    assert.ok(evr[0] >= evr[1] && evr[1] >= evr[2] && evr[0] + evr[1] + evr[2] <= 1 + 1e-9, name);
    const a = computeAnatomy(modelPath);
    assert.ok(!('unavailable' in a.patchEmbedding), name);
    assert.ok(!('unavailable' in a.positionEmbedding), name);
    assert.equal(a.positionEmbedding.leading, want.leading, name);
    // A position is most similar to itself.
    const P = a.positionEmbedding.grid[0] * a.positionEmbedding.grid[1];
    for (let i = 0; i < P; i++) assert.ok(Math.abs(a.positionEmbedding.similarity[i * P + i] - 1) < 1e-5);
  }
});

test('a CNN and a fused-attention model: every view says what it cannot show', async () => {
  const cnn = computeAnatomy(fixtureModels()['cnn-tiny']);
  assert.ok('unavailable' in cnn.patchEmbedding && cnn.patchEmbedding.unavailable.code === 'MODEL_NO_PATCH_EMBEDDING');
  assert.ok('unavailable' in cnn.positionEmbedding && cnn.positionEmbedding.unavailable.code === 'MODEL_NO_POSITION_TABLE');
  assert.match(cnn.patchEmbedding.unavailable.message, /no patch-embedding convolution/);
  const fused = computeAnatomy(fixtureModels()['fused-attention']);
  assert.ok(!('unavailable' in fused.patchEmbedding), 'its patch conv is there');
  assert.ok(
    'unavailable' in fused.positionEmbedding && /no learned position-embedding table/.test(fused.positionEmbedding.unavailable.message),
  );
  for (const name of ['cnn-tiny', 'fused-attention']) {
    const modelPath = fixtureModels()[name];
    await assert.rejects(runTokensPipeline({ imagePath: scene, modelPath }, get), (e: VitLensError) => {
      assert.equal(e.code, 'MODEL_NOT_VIT');
      assert.match(e.message, /no transformer residual stream/);
      if (name === 'fused-attention') assert.match(e.message, /fused/);
      return true;
    });
    await assert.rejects(runFeaturesPipeline({ imagePaths: [scene], modelPath, layer: 0 }, get), /no transformer residual stream/);
  }
});

test('fused attention with a plain residual stream: norms and features shown, attention received refused', async () => {
  const modelPath = fixtureModels()['fused-attention-residual'];
  const t = await runTokensPipeline({ imagePath: scene, modelPath }, get);
  assert.equal(t.norms.length, 3);
  assert.equal(t.tokens.count, 17);
  assert.ok('unavailable' in t.attentionReceived);
  assert.equal(t.attentionReceived.unavailable.code, 'MODEL_FUSED_ATTENTION');
  assert.match(t.attentionReceived.unavailable.message, /never expose the attention probabilities/);
  assert.equal(t.rollout, undefined);
  const j = tokensJson(t) as Record<string, unknown>;
  assert.equal(j.attentionReceived, null);
  assert.equal((j.attentionUnavailable as { code: string }).code, 'MODEL_FUSED_ATTENTION');
  const f = await runFeaturesPipeline({ imagePaths: [scene], modelPath, layer: 1 }, get);
  assert.equal(f.images[0].components[0].length, 16);
  const a = computeAnatomy(modelPath);
  assert.ok(!('unavailable' in a.patchEmbedding) && !('unavailable' in a.positionEmbedding));
});

test('the residual stream is the chain of residual Adds: L + 1 tensors, the first the embeddings', () => {
  const info = readModelGraph(fixtureModels()['vit-tiny-registers']);
  const s = findResidualStream(info, 2);
  assert.ok(s);
  assert.equal(s.tensors.length, 3);
  // x₀ is the [CLS, registers, patches] concatenation; the rest are the blocks' second residual Adds.
  assert.equal(info.nodes.find((n) => n.outputs[0] === s.tensors[0])?.opType, 'Concat');
  for (const t of s.tensors.slice(1)) assert.match(info.nodes.find((n) => n.outputs[0] === t)!.name, /^\/encoder\/layer\.\d\//);
  assert.equal(findResidualStream(readModelGraph(fixtureModels()['cnn-tiny'])), undefined);
});

test('readInitializers reads only the tensors asked for, from inline or external data', () => {
  for (const name of ['vit-tiny', 'vit-tiny-external']) {
    const { tensors, payloadBytesRead } = readInitializers(fixtureModels()[name], (h) => h.name.startsWith('cls_token'));
    assert.equal(tensors.size, 1, name);
    const t = [...tensors.values()][0];
    assert.deepEqual(t.dims, [1, 1, name === 'vit-tiny' ? 48 : 32]);
    assert.equal(payloadBytesRead, t.data.length * 4);
  }
  const none = readInitializers(fixtureModels()['vit-tiny'], () => false);
  assert.equal(none.tensors.size, 0);
  assert.equal(none.payloadBytesRead, 0);
});

test('feature layers: −1 is the last block; a layer the model lacks is a clear error', () => {
  assert.equal(featureLayer(-1, 4), 4);
  assert.equal(featureLayer(0, 4), 0);
  assert.throws(() => featureLayer(5, 4), /does not exist: this model has 4 blocks/);
  assert.throws(() => featureLayer(-6, 4), /does not exist/);
});

test('a grid box maps to image pixels through the region the model saw', () => {
  assert.deepEqual(gridBoxToImage([0, 0, 0, 0], [4, 4], [0, 0, 64, 64], { width: 64, height: 64 }), [0, 0, 16, 16]);
  assert.deepEqual(gridBoxToImage([1, 2, 3, 3], [4, 4], [10, 0, 80, 40], { width: 100, height: 40 }), [50, 10, 90, 40]);
});

test('the JSON contracts carry the issue’s field names', async () => {
  const modelPath = fixtureModels()['vit-tiny-registers'];
  const a = anatomyJson(computeAnatomy(modelPath)) as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(a.patchEmbedding).filter((k) => ['shape', 'components', 'explainedVarianceRatio'].includes(k)).length, 3);
  assert.deepEqual(a.patchEmbedding.shape, [32, 3, 16, 16]);
  assert.equal((a.patchEmbedding.components as number[][])[0].length, 3 * 16 * 16);
  assert.deepEqual(a.positionEmbedding.grid, [4, 4]);
  assert.equal((a.positionEmbedding.similarity as number[][]).length, 16);
  const t = tokensJson(await runTokensPipeline({ imagePath: scene, modelPath }, get)) as Record<string, unknown>;
  assert.deepEqual(t.tokens, { count: 21, cls: 0, distillation: null, registers: [1, 2, 3, 4], firstPatch: 5 });
  for (const k of ['norms', 'outliers', 'attentionReceived']) assert.ok(k in t, k);
  assert.equal((t.norms as number[][]).length, 3);
  assert.equal((t.attentionReceived as number[][]).length, 2);
  const f = featuresJson(await runFeaturesPipeline({ imagePaths: [scene, plain], modelPath, layer: 1 }, get)) as Record<string, unknown>;
  for (const k of ['layer', 'grid', 'explainedVarianceRatio', 'components', 'foreground']) assert.ok(k in f, k);
  assert.equal((f.components as number[][]).length, 3);
  assert.equal((f.images as unknown[]).length, 2);
});

test(
  'vit-lens anatomy / tokens / features write their JSON; anatomy refuses a CNN with exit code 1',
  { skip: !fs.existsSync(path.join(distDir, 'cli.js')) },
  () => {
    const model = fixtureModels()['vit-tiny-registers-planted'];
    const out = path.join(dir, 'cli');
    let r = cli('anatomy', '--model', model, '--json', path.join(out, 'anatomy.json'), '--html', path.join(out, 'anatomy.html'));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(JSON.parse(fs.readFileSync(path.join(out, 'anatomy.json'), 'utf8')).patchEmbedding.explainedVarianceRatio.length === 28);
    assert.match(fs.readFileSync(path.join(out, 'anatomy.html'), 'utf8'), /vit-lens-data/);
    const image = hasSharedImages ? path.join(sharedImages, 'chelsea.png') : scene;
    r = cli('tokens', image, '--model', model, '--json', path.join(out, 'tokens.json'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /high-norm token 5 \(patch row 0, col 0\)/);
    const tok = JSON.parse(fs.readFileSync(path.join(out, 'tokens.json'), 'utf8'));
    assert.deepEqual([...new Set(tok.outliers.map((o: { token: number }) => o.token))], [5]);
    r = cli(
      'features',
      image,
      scene,
      '--model',
      model,
      '--layer',
      '-1',
      '--json',
      path.join(out, 'features.json'),
      '--png',
      path.join(out, 'f.png'),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.statSync(path.join(out, 'f.png')).size > 0);
    r = cli('features', image, '--model', model);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--layer/);
    r = cli('anatomy', '--model', fixtureModels()['cnn-tiny']);
    assert.equal(r.status, 1);
    assert.match(r.stdout + r.stderr, /no patch-embedding convolution/);
  },
);

test('position tables: DINOv2’s stored 37×37 grid is kept (and differs from the run-time grid), DeiT skips two rows', () => {
  const dim = 4;
  const stored = 1 + 37 * 37;
  const data = Float32Array.from({ length: stored * dim }, (_, i) => i);
  const dino = positionRows([1, stored, dim], data, dim, [16, 16], { model_type: 'dinov2' });
  assert.ok(dino);
  assert.deepEqual(dino.grid, [37, 37]);
  assert.equal(dino.leading, 1);
  assert.equal(dino.rows[0], dim); // row 1 of the table: the CLS row is skipped
  const deit = positionRows([1, 2 + 16, dim], Float32Array.from({ length: 18 * dim }), dim, [4, 4], { model_type: 'deit' });
  assert.equal(deit?.leading, 2);
  // A table that lays out on no grid, and tensors that are no position table.
  assert.equal(positionRows([1, 1 + 7, dim], Float32Array.from({ length: 8 * dim }), dim, [4, 4], {}), undefined);
  assert.ok(!isPositionTable({ name: 'relative_position_bias_table', dims: [732, 12], dataType: 1 }, 768), 'BEiT: relative, per head');
  assert.ok(!isPositionTable({ name: 'register_tokens', dims: [1, 4, 768], dataType: 1 }, 768));
  assert.ok(isPositionTable({ name: 'vision_model.embeddings.position_embedding.weight', dims: [50, 768], dataType: 1 }, 768), 'CLIP');
});
