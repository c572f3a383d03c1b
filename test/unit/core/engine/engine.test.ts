// The engine process end to end through its client (the same path the extension and CLI use): every
// fixture model, token layouts, attention from outputs vs tapped, external data, raw attention, bad
// models, cancellation, and an engine crash in the middle of a request.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { EngineClient } from '../../../../src/client/engineClient';
import { VitLensError } from '../../../../src/shared/errors';
import { GraphBuilder } from '../../../../src/core/onnx/onnxWriter';
import { sampleScenePng, writeSampleScene } from '../../../fixtures/builders/sampleImages';
import type { AttentionResult } from '../../../../src/shared/attentionTypes';
import { assertRowsSumToOne, distDir, fixtureModels, maxAbsDiff, tempDir } from '../../support';

let client: EngineClient;
let models: Record<string, string>;
let image: string;
let dir: string;

before(async () => {
  models = fixtureModels();
  dir = tempDir();
  image = await writeSampleScene(dir);
  client = new EngineClient({ enginePath: path.join(distDir, 'engine.js'), killAfterCancelMs: 2000 });
});
after(() => client.dispose());

const run = (modelPath: string | null, imagePath = image) => client.request('attention', { imagePath, modelPath });

async function rejectsCode(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VitLensError, String(e));
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message + ' ' + (e.hint ?? ''), pattern);
    return true;
  });
}

test('runs in a separate process', async () => {
  const pong = await client.request('ping', {});
  assert.notEqual(pong.pid, process.pid);
  assert.equal(pong.pid, client.pid);
});

test('vit-tiny: tapped attention, 4 layers × 3 heads, 14×14 grid, every row sums to 1, predictions', async () => {
  const r = await run(models['vit-tiny']);
  assert.equal(r.model.attentionSource, 'tapped');
  assert.deepEqual([r.attention.layers, r.attention.heads, r.attention.tokens], [4, 3, 197]);
  assert.deepEqual(r.grid, [14, 14]);
  assert.deepEqual(r.model.specialTokens, { cls: true, distillation: false, registers: 0 });
  assert.equal(r.firstPatchToken, 1);
  assertRowsSumToOne(r.attention);
  assertRowsSumToOne(r.baseline);
  assert.equal(r.baseline.tokens, 197);
  assert.equal(r.predictions?.length, 5);
  assert.ok(Math.abs(r.predictions!.reduce((a, p) => a + p.probability, 0)) <= 1 + 1e-6);
  assert.equal(r.headStats.length, 12);
  assert.ok(r.view.png.length > 1000 && r.view.width === 448 && r.view.height === 336);
  assert.ok(r.timingsMs.total >= r.timingsMs.inference);
});

test('attention from outputs equals attention tapped from the Softmax nodes (same weights)', async () => {
  const tapped = await run(models['vit-tiny']);
  const outputs = await run(models['vit-tiny-attn']);
  assert.equal(outputs.model.attentionSource, 'outputs');
  assert.equal(maxAbsDiff(tapped.attention.data, outputs.attention.data), 0);
  assert.deepEqual(tapped.predictions, outputs.predictions);
});

test('token layouts: DeiT distillation token, DINOv2 registers, non-square input', async () => {
  const deit = await run(models['deit-tiny-distilled']);
  assert.deepEqual(deit.model.specialTokens, { cls: true, distillation: true, registers: 0 });
  assert.equal(deit.firstPatchToken, 2);
  assert.deepEqual(deit.grid, [4, 4]);
  const reg = await run(models['vit-tiny-registers']);
  assert.deepEqual(reg.model.specialTokens, { cls: true, distillation: false, registers: 4 });
  assert.equal(reg.firstPatchToken, 5);
  assert.equal(reg.attention.tokens, 21);
  const wide = await run(models['vit-tiny-nonsquare']);
  assert.deepEqual(wide.grid, [6, 10]);
  assert.deepEqual(wide.model.inputSize, [96, 160]);
  for (const r of [deit, reg, wide]) assertRowsSumToOne(r.attention);
});

test('weights in an external-data file (model.onnx.data) load', async () => {
  assert.ok(fs.existsSync(path.join(path.dirname(models['vit-tiny-external']), 'model.onnx.data')));
  const r = await run(models['vit-tiny-external']);
  assert.equal(r.model.attentionSource, 'tapped');
  assertRowsSumToOne(r.attention);
});

test('HF folder layout: the folder resolves to onnx/model.onnx with its configs', async () => {
  const folder = path.dirname(path.dirname(models['vit-tiny']));
  const r: AttentionResult = await run(folder);
  assert.equal(r.model.name, 'vit-tiny');
  assert.equal(r.predictions?.[0].label.length ? true : false, true);
  assert.ok(!/^class \d+$/.test(r.predictions![0].label), 'labels come from id2label');
});

test('no model: raw attention with the ViT-B/16 layout', async () => {
  const r = await run(null);
  assert.equal(r.model.attentionSource, 'raw');
  assert.equal(r.predictions, undefined);
  assert.deepEqual([r.attention.layers, r.attention.heads, r.attention.tokens], [1, 1, 197]);
  assertRowsSumToOne(r.attention, 1e-5);
});

test('bad models get specific errors and the engine keeps serving', async () => {
  const pid = client.pid;
  await rejectsCode(run(models['cnn-tiny']), 'MODEL_NOT_VIT', /no attention/);
  await rejectsCode(run(models['fused-attention']), 'MODEL_FUSED_ATTENTION', /com\.microsoft\.Attention.*re-export/is);
  const notOnnx = path.join(dir, 'notes.onnx');
  fs.writeFileSync(notOnnx, 'just some text, not a protobuf');
  await rejectsCode(run(notOnnx), 'MODEL_NOT_ONNX', /notes\.onnx is not an ONNX model/);
  await rejectsCode(run(path.join(dir, 'missing.onnx')), 'MODEL_NOT_FOUND');
  // Wrong input rank: a [1,10] input.
  const g = new GraphBuilder();
  g.output(g.op('Softmax', [g.input('x', [1, 10])], { axis: -1 }, { outputNames: ['y'] })[0], [1, 10]);
  const rank2 = path.join(dir, 'rank2.onnx');
  fs.writeFileSync(rank2, g.build().model);
  await rejectsCode(run(rank2), 'MODEL_BAD_INPUT', /rank 2/);
  // Bad images through the engine.
  const empty = path.join(dir, 'empty.png');
  fs.writeFileSync(empty, '');
  await rejectsCode(run(models['vit-tiny'], empty), 'IMAGE_EMPTY');
  await rejectsCode(run(models['vit-tiny'], path.join(dir, 'nope.jpg')), 'IMAGE_NOT_FOUND');
  assert.equal(client.pid, pid, 'the engine did not restart');
  assertRowsSumToOne((await run(models['vit-tiny'])).attention);
});

test('a changed model file is reloaded (cache invalidated by mtime)', async () => {
  const copyDir = path.join(dir, 'copy');
  fs.cpSync(path.dirname(path.dirname(models['vit-tiny'])), copyDir, { recursive: true });
  const file = path.join(copyDir, 'onnx', 'model.onnx');
  const a = await run(file);
  fs.copyFileSync(models['vit-tiny-registers'], file);
  fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
  const b = await run(file);
  assert.notEqual(a.attention.tokens, b.attention.tokens);
});

test('cancelling: a cancelled request rejects with CANCELLED and the next one works', async () => {
  const ac = new AbortController();
  const p = client.request('attention', { imagePath: image, modelPath: models['vit-tiny'] }, { signal: ac.signal });
  ac.abort();
  await rejectsCode(p, 'CANCELLED');
  assertRowsSumToOne((await run(models['vit-tiny'])).attention);
});

test('an engine that dies mid-request rejects it with ENGINE_CRASHED and restarts on the next request', async () => {
  await client.request('ping', {});
  const pid = client.pid!;
  const p = run(models['vit-tiny']);
  process.kill(pid, 'SIGKILL');
  await rejectsCode(p, 'ENGINE_CRASHED');
  const r = await run(models['vit-tiny']);
  assertRowsSumToOne(r.attention);
  assert.notEqual(client.pid, pid);
});

test('panel runs: the engine keeps the tensor and serves slices equal to the full result; runs never share buffers; released results recycle', async () => {
  const { attentionSlice } = await import('../../../../src/maths/attention');
  const rollout = { fusion: 'max' as const, discardRatio: 0.3, startLayer: 1 };
  const other = path.join(dir, 'other.png');
  fs.writeFileSync(other, await sampleScenePng(300, 120));
  // Two panel runs of the same model (the second must not overwrite the first's tensor), then the full runs.
  const a = await client.request('attentionPanel', { imagePath: image, modelPath: models['vit-tiny'], rollout });
  const b = await client.request('attentionPanel', { imagePath: other, modelPath: models['vit-tiny'], rollout });
  const fullA = await run(models['vit-tiny']);
  const fullB = await run(models['vit-tiny'], other);
  assert.deepEqual(a.result.attention, { layers: 4, heads: 3, tokens: 197 });
  assert.equal((a.result as unknown as AttentionResult).attention.data, undefined, 'no tensor data crosses to the host');
  assert.notEqual(a.attentionKey, b.attentionKey);
  const expect = (full: AttentionResult, q: number) => attentionSlice(full.attention, full.firstPatchToken, q, rollout);
  assert.ok(maxAbsDiff(a.slice.rows, expect(fullA, 0).rows) < 1e-6 && maxAbsDiff(a.slice.rollout.map, expect(fullA, 0).rollout.map) < 1e-6);
  /** The engine's slice at `query` of each kept result equals the one from that result's full tensor. */
  const assertKeptSlices = async (kept: [{ attentionKey: string }, AttentionResult][], query: number, when: string) => {
    for (const [k, full] of kept) {
      const s = await client.request('slice', { attentionKey: k.attentionKey, query, rollout });
      assert.ok(maxAbsDiff(s.rows, expect(full, query).rows) < 1e-6, `rows of query ${query}${when}`);
      assert.ok(maxAbsDiff(s.rollout.map, expect(full, query).rollout.map) < 1e-6, `rollout of query ${query}${when}`);
    }
  };
  await assertKeptSlices(
    [
      [a, fullA],
      [b, fullB],
    ],
    50,
    '',
  );
  assert.ok(maxAbsDiff(fullA.attention.data, fullB.attention.data) > 1e-3, 'different images, different attention');
  await rejectsCode(client.request('slice', { attentionKey: 'nope', query: 0, rollout }), 'RESULT_EXPIRED');
  await rejectsCode(client.request('slice', { attentionKey: a.attentionKey, query: 197, rollout }), 'BAD_REQUEST');

  // A released result (its panel shows a newer one) is gone and its array serves later runs
  // (placedOutputs.ts); the still-kept result must come through those runs intact.
  assert.deepEqual(await client.request('release', { attentionKey: a.attentionKey }), { released: true });
  assert.deepEqual(await client.request('release', { attentionKey: a.attentionKey }), { released: false });
  await rejectsCode(client.request('slice', { attentionKey: a.attentionKey, query: 0, rollout }), 'RESULT_EXPIRED');
  const c = await client.request('attentionPanel', { imagePath: image, modelPath: models['vit-tiny'], rollout });
  const fullA2 = await run(models['vit-tiny']);
  assert.ok(maxAbsDiff(fullA2.attention.data, fullA.attention.data) < 1e-6, 'a run in a recycled array equals the first run');
  assertRowsSumToOne(fullA2.attention);
  await assertKeptSlices(
    [
      [b, fullB],
      [c, fullA],
    ],
    77,
    ', kept through later runs',
  );
});

test("the CLI's summary run: no tensor, baseline or view; its slice, statistics and predictions equal the full result's; the engine keeps nothing", async () => {
  const { attentionSlice } = await import('../../../../src/maths/attention');
  const rollout = { fusion: 'mean' as const, discardRatio: 0.1, startLayer: 0 };
  const kept = await client.request('attentionPanel', { imagePath: image, modelPath: models['vit-tiny'], rollout }); // one kept result
  const s = await client.request('attentionSummary', { imagePath: image, modelPath: models['vit-tiny'], rollout });
  const full = await run(models['vit-tiny']);
  assert.deepEqual(s.result.attention, { layers: 4, heads: 3, tokens: 197 });
  for (const absent of ['baseline', 'view']) assert.equal(absent in s.result, false, `no ${absent}`);
  const expect = attentionSlice(full.attention, full.firstPatchToken, 0, rollout);
  assert.ok(maxAbsDiff(s.slice.rows, expect.rows) < 1e-6 && maxAbsDiff(s.slice.rollout.map, expect.rollout.map) < 1e-6);
  assert.deepEqual(s.result.predictions, full.predictions);
  assert.deepEqual(s.result.headStats, full.headStats);
  // The summary's array was recycled, not kept: the panel's result is still the only one, and intact.
  const again = await client.request('slice', { attentionKey: kept.attentionKey, query: 0, rollout });
  assert.ok(maxAbsDiff(again.rows, expect.rows) < 1e-6, "the kept panel result survives the summary's recycled array");
  assert.deepEqual(await client.request('release', { attentionKey: kept.attentionKey }), { released: true });
});
