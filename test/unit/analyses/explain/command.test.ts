// `vit-lens explain` end to end (a real process, a real engine) on the trained demo classifier: the JSON
// contract's field names, --hard-attention from the class-specific map, --html with the explain view, and
// bad arguments (exit code 2 with the flag named; a class the model lacks: a specific error, exit 1).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { twoObjectScenePng } from '../../../fixtures/builders/sampleImages';
import { fixtureModels, repoRoot, runCli, tempDir } from '../../support';

const model = path.join(repoRoot, 'models', 'demo', 'shapes-vit');
let dir: string;
let image: string;
const cli = (...args: string[]) => runCli(['explain', ...args]);

before(async () => {
  dir = tempDir('vit-lens-explain-cli-');
  image = path.join(dir, 'two.png');
  fs.writeFileSync(image, await twoObjectScenePng());
});

test('explain --json: the contract (target, removal, maps, faithfulness of every map), hard attention, and the HTML report', () => {
  const json = path.join(dir, 'why.json');
  const html = path.join(dir, 'why.html');
  const r = cli(image, '--model', model, '--samples', '64', '--hard-attention', '0.5', '--json', json, '--html', html);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(fs.readFileSync(json, 'utf8'));
  for (const k of ['image', 'model', 'grid', 'target', 'removal', 'removalExact', 'maps', 'faithfulness', 'timingsMs', 'hardAttention'])
    assert.ok(k in doc, k);
  assert.deepEqual(doc.grid, [8, 8]);
  assert.deepEqual(Object.keys(doc.target).sort(), ['index', 'label', 'probability']);
  assert.equal(doc.removal, 'key-mask');
  assert.equal(doc.removalExact, true);
  assert.deepEqual(Object.keys(doc.maps).sort(), ['occlusion', 'rise']);
  assert.equal(doc.maps.occlusion.length, 64);
  assert.deepEqual(Object.keys(doc.faithfulness).sort(), ['attention', 'occlusion', 'random', 'raw', 'rise', 'rollout']);
  const f = doc.faithfulness.occlusion;
  assert.deepEqual(f.fractions, [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  assert.equal(f.positive.length, 10);
  assert.ok(f.positiveAuc < doc.faithfulness.random.positiveAuc, 'occlusion beats the random map on this scene');
  assert.equal(doc.hardAttention.map, 'occlusion');
  assert.equal(doc.hardAttention.box.length, 4);
  assert.match(r.stdout, /positive AUC \(lower is better\)/);
  const page = fs.readFileSync(html, 'utf8');
  assert.match(page, /"explain":/);
});

test('explain: bad arguments exit 2 naming the flag; an unknown label is a specific error', () => {
  for (const [args, re] of [
    [['--model', model, '--method', 'gradcam'], /--method/],
    [['--model', model, '--samples', '0'], /--samples/],
    [['--model', model, '--region', '1,2,3'], /--region/],
    [[], /--model/],
  ] as [string[], RegExp][]) {
    const r = cli(image, ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const r = cli(image, '--model', model, '--class', 'hexagon');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no class labelled "hexagon"/);
});

test('explain --region --html on a DPT depth model: the DPT report with its "Why this depth" card filled in', () => {
  const dpt = fixtureModels()['dpt-tiny-depth'];
  const json = path.join(dir, 'depth.json');
  const html = path.join(dir, 'depth.html');
  const r = cli(image, '--model', dpt, '--region', '0,0,32,32', '--method', 'occlusion', '--json', json, '--html', html);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(doc.score, 'meanDepth');
  assert.deepEqual(doc.region, [0, 0, 32, 32]);
  const page = fs.readFileSync(html, 'utf8');
  assert.match(page, /"explain":/);
  assert.match(page, /"task":"depth"/);
});
