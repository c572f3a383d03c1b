// The `vit-lens` CLI end to end (a real process, a real engine): every fixture model, the JSON
// contract, the self-contained HTML report, and bad arguments and inputs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { writeSampleScene } from '../../fixtures/builders/sampleImages';
import { cli, cliJson, fixtureModels, maxAbsDiff, tempDir } from '../support';

let dir: string;
let image: string;

before(async () => {
  dir = tempDir('vit-lens-cli-');
  image = await writeSampleScene(dir);
});

const ATTENTION_MODELS = [
  'vit-tiny',
  'vit-tiny-attn',
  'deit-tiny-distilled',
  'vit-tiny-registers',
  'vit-tiny-nonsquare',
  'vit-tiny-external',
];

for (const name of ATTENTION_MODELS) {
  test(`attention --json on ${name} follows the contract`, () => {
    const out = path.join(dir, `${name}.json`);
    const r = cli('attention', image, '--model', fixtureModels()[name], '--json', out, '--top', '3', '--fusion', 'max', '--discard', '0.5');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.deepEqual(Object.keys(j), ['image', 'model', 'grid', 'predictions', 'clsAttention', 'rollout', 'headStats', 'timingsMs']);
    assert.deepEqual(Object.keys(j.image), ['path', 'width', 'height']);
    assert.deepEqual(Object.keys(j.model), ['path', 'inputSize', 'patchSize', 'numLayers', 'numHeads', 'specialTokens', 'attentionSource']);
    assert.deepEqual(Object.keys(j.model.specialTokens), ['cls', 'distillation', 'registers']);
    const [gh, gw] = j.grid;
    assert.equal(j.clsAttention.length, j.model.numLayers);
    assert.equal(j.clsAttention[0].length, j.model.numHeads);
    assert.equal(j.clsAttention[0][0].length, gh * gw);
    assert.deepEqual(Object.keys(j.rollout), ['fusion', 'discardRatio', 'map']);
    assert.equal(j.rollout.fusion, 'max');
    assert.equal(j.rollout.discardRatio, 0.5);
    assert.equal(j.rollout.map.length, gh * gw);
    assert.equal(j.predictions.length, 3);
    assert.deepEqual(Object.keys(j.predictions[0]), ['index', 'label', 'probability']);
    assert.equal(j.headStats.length, j.model.numLayers * j.model.numHeads);
    assert.deepEqual(
      Object.keys(j.timingsMs).filter((k) => k !== 'modelLoad'),
      ['decode', 'preprocess', 'inference', 'analysis', 'total'],
    );
    assert.equal(j.model.attentionSource, name === 'vit-tiny-attn' ? 'outputs' : 'tapped');
    // CLS → patches is part of a row that sums to 1: the patch part is at most 1.
    for (const layer of j.clsAttention) for (const head of layer) assert.ok(head.reduce((a: number, b: number) => a + b, 0) <= 1 + 1e-4);
  });
}

test('attention without --model: raw attention, no predictions; --html writes a self-contained report', () => {
  const json = path.join(dir, 'raw.json');
  const html = path.join(dir, 'raw.html');
  const r = cli('attention', image, '--json', json, '--html', html);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(j.model.attentionSource, 'raw');
  assert.equal(j.model.path, null);
  assert.equal('predictions' in j, false);
  assert.deepEqual(j.grid, [14, 14]);
  const page = fs.readFileSync(html, 'utf8');
  assert.match(page, /id="vit-lens-data"/);
  assert.doesNotMatch(page, /<(script|link|img)[^>]+(src|href)=["']?(https?:|\/\/)/i, 'no external resources');
  assert.doesNotMatch(page, /<script[^>]+src=/i, 'scripts are inline');
});

test("--threads sets onnxruntime's threads per run, for any command, and changes no result", () => {
  const model = fixtureModels()['vit-tiny'];
  const results = ['1', '2'].map((threads) => {
    const out = path.join(dir, `threads-${threads}.json`);
    const { stdout, json } = cliJson(['attention', image, '--threads', threads, '--model', model, '--json', out]);
    assert.match(stdout, new RegExp(`onnxruntime threads: ${threads}\\)`));
    return json;
  });
  assert.ok(maxAbsDiff(results[0].clsAttention.flat(2), results[1].clsAttention.flat(2)) < 1e-6);
  assert.deepEqual(
    results[0].predictions.map((p: { index: number }) => p.index),
    results[1].predictions.map((p: { index: number }) => p.index),
  );
  for (const bad of ['0', '1.5', 'all']) {
    const r = cli('attention', image, `--threads=${bad}`);
    assert.equal(r.status, 2, bad);
    assert.match(r.stderr, /--threads must be a whole number from 1 to 256/);
  }
  assert.equal(cli('depth', image, '--threads').status, 2, 'a missing value is a usage error');
});

test('bad arguments exit 2 with usage; bad inputs exit 1 with a specific message', () => {
  const usage = cli('attention', image, '--fusion', 'median');
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--fusion must be mean, max or min/);
  assert.equal(cli('attention', image, '--discard', '1.5').status, 2);
  assert.equal(cli('frobnicate').status, 2);
  const fake = path.join(dir, 'fake.jpg');
  fs.writeFileSync(fake, 'hello');
  const bad = cli('attention', fake);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /fake\.jpg is not an image/);
  const cnn = cli('attention', image, '--model', fixtureModels()['cnn-tiny']);
  assert.equal(cnn.status, 1);
  assert.match(cnn.stderr, /no attention/);
  // A CNN with SE gates has no attention either, but the message names the command that shows its gates.
  const se = cli('attention', image, '--model', fixtureModels()['se-cnn-tiny']);
  assert.equal(se.status, 1);
  assert.match(se.stderr, /has SE\/CBAM gates[\s\S]*vit-lens gates /);
});
