// `vit-lens compare` on two fixture models against a brute-force computation from each model's full
// attention (the engine's `attention` request): rolloutDifference, headDeltas and layerChange, the JSON
// contract, the note when grids differ, a checkpoint comparison, and bad arguments.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { EngineClient } from '../../../../src/client/engineClient';
import { rolloutMap } from '../../../../src/maths/attention';
import type { AttentionResult } from '../../../../src/shared/attentionTypes';
import { VitLensError } from '../../../../src/shared/errors';
import { writeSampleScene } from '../../../fixtures/builders/sampleImages';
import { cli, distDir, fixtureModels, maxAbsDiff, tempDir } from '../../support';

let dir: string;
let image: string;
let client: EngineClient;

before(async () => {
  dir = tempDir('vit-lens-compare-');
  image = await writeSampleScene(dir);
  client = new EngineClient({ enginePath: path.join(distDir, 'engine.js') });
});
after(() => client?.dispose());

/** Total variation, written out: for each layer, mean over heads h and rows i of ½·Σ_j |A − B|. */
function bruteLayerChange(a: AttentionResult, b: AttentionResult): number[] {
  const { layers, heads, tokens: n } = a.attention;
  return Array.from({ length: layers }, (_, l) => {
    let s = 0;
    for (let hd = 0; hd < heads; hd++)
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const k = ((l * heads + hd) * n + i) * n + j;
          s += 0.5 * Math.abs(a.attention.data[k] - b.attention.data[k]);
        }
    return s / (heads * n);
  });
}

test("compare --json equals a brute-force comparison of the two models' full attention", async () => {
  const [ma, mb] = [fixtureModels()['vit-tiny-batch'], fixtureModels()['vit-tiny-batch-b']];
  const out = path.join(dir, 'cmp.json');
  const html = path.join(dir, 'cmp.html');
  const r = cli('compare', image, '--model', ma, '--model-b', mb, '--json', out, '--html', html, '--fusion', 'max', '--discard', '0.25');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /layers that changed most/);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.deepEqual(Object.keys(j), ['a', 'b', 'rolloutDifference', 'headDeltas', 'layerChange']);
  assert.deepEqual(Object.keys(j.a), ['image', 'model', 'grid', 'predictions', 'clsAttention', 'rollout', 'headStats', 'timingsMs']);
  const [a, b] = await Promise.all([ma, mb].map((m) => client.request('attention', { imagePath: image, modelPath: m, topK: 5 })));
  const opts = { fusion: 'max' as const, discardRatio: 0.25, startLayer: 0 };
  const ra = rolloutMap(a.attention, a.firstPatchToken, opts);
  const rb = rolloutMap(b.attention, b.firstPatchToken, opts);
  assert.ok(maxAbsDiff(j.a.rollout.map, ra) < 1e-6);
  assert.ok(
    maxAbsDiff(
      j.rolloutDifference,
      Array.from(ra, (v, i) => v - rb[i]),
    ) < 1e-6,
  );
  assert.equal(j.headDeltas.length, a.headStats.length);
  j.headDeltas.forEach((d: { layer: number; head: number; meanDistance: number; entropy: number }, i: number) => {
    assert.deepEqual([d.layer, d.head], [a.headStats[i].layer, a.headStats[i].head]);
    assert.ok(Math.abs(d.meanDistance - (a.headStats[i].meanDistance - b.headStats[i].meanDistance)) < 1e-4);
    assert.ok(Math.abs(d.entropy - (a.headStats[i].entropy - b.headStats[i].entropy)) < 1e-5);
  });
  const brute = bruteLayerChange(a, b);
  assert.equal(j.layerChange.length, 3);
  j.layerChange.forEach((v: number, l: number) => {
    assert.ok(Math.abs(v - brute[l]) < 1e-6, `layer ${l}: ${v} vs ${brute[l]}`);
    assert.ok(v > 0.01);
  });
  const page = fs.readFileSync(html, 'utf8');
  assert.match(page, /id="vit-lens-data"/);
  assert.doesNotMatch(page, /<script[^>]+src=/i);
});

test('models on different grids: no difference map or layer change, a note, the maps side by side', () => {
  const out = path.join(dir, 'grids.json');
  const r = cli('compare', image, '--model', fixtureModels()['vit-tiny-batch'], '--model-b', fixtureModels()['vit-tiny'], '--json', out);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(j.rolloutDifference, null);
  assert.equal(j.layerChange, null);
  assert.match(j.note, /token grids differ \(4×4 and 14×14\)/);
  assert.equal(j.a.rollout.map.length, 16);
  assert.equal(j.b.rollout.map.length, 196);
});

test('a checkpoint: A against its own previous run; the same model gives zero change', async () => {
  const m = fixtureModels()['vit-tiny-batch'];
  const rollout = { fusion: 'mean' as const, discardRatio: 0, startLayer: 0 };
  const first = await client.request('compare', {
    imagePath: image,
    modelPath: m,
    modelPathB: fixtureModels()['vit-tiny-batch-b'],
    rollout,
  });
  const again = await client.request('compare', { imagePath: image, modelPath: m, againstKey: first.runKey, rollout });
  assert.equal(again.bIsPrevious, true);
  assert.deepEqual(again.comparison.layerChange, [0, 0, 0]);
  assert.ok(again.comparison.rolloutDifference!.every((v) => v === 0));
  await assert.rejects(
    client.request('compare', { imagePath: image, modelPath: m, againstKey: 'c999', rollout }),
    (e: VitLensError) => e.code === 'RESULT_EXPIRED',
  );
  await assert.rejects(
    client.request('compare', { imagePath: image, modelPath: m, rollout }),
    (e: VitLensError) => e.code === 'BAD_REQUEST',
  );
});

test('compare: bad arguments exit 2, a bad model exits 1 with its message', () => {
  assert.equal(cli('compare', image, '--model', fixtureModels()['vit-tiny']).status, 2);
  assert.equal(cli('compare', '--model', 'a', '--model-b', 'b').status, 2);
  const r = cli('compare', image, '--model', fixtureModels()['vit-tiny'], '--model-b', fixtureModels()['cnn-tiny']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no attention/);
});
