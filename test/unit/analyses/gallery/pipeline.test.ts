// The gallery end to end through a real engine and the CLI: a fixture folder with good and broken
// images, the JSON contract, sorted order, error entries, batched runs equal to one-by-one runs and to
// the single-image attention command, streaming, cancellation that keeps what is done, and globs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { EngineClient } from '../../../../src/client/engineClient';
import { VitLensError } from '../../../../src/shared/errors';
import { globToRegExp, listGallery } from '../../../../src/analyses/gallery/listing';
import type { GalleryPartial } from '../../../../src/analyses/gallery/types';
import { sampleScenePng } from '../../../fixtures/builders/sampleImages';
import { cliJson, distDir, fixtureModels, maxAbsDiff, runCli, tempDir } from '../../support';

let dir: string;
let client: EngineClient;
const TIMEOUT_MS = 180_000;
const cli = (...args: string[]) => runCli(args, TIMEOUT_MS);
const GOOD = ['a-scene.png', 'b-small.jpg', 'c-wide.webp', 'd-tall.png', 'e-bmp.bmp'];
const BAD: Record<string, string> = {
  'bad-corrupt.png': 'IMAGE_UNSUPPORTED',
  'bad-empty.jpg': 'IMAGE_EMPTY',
  'bad-folder.png': 'IMAGE_NOT_A_FILE',
  'bad-vector.svg': 'IMAGE_UNSUPPORTED',
};

before(async () => {
  dir = tempDir('vit-lens-gallery-');
  const scene = await sampleScenePng();
  fs.writeFileSync(path.join(dir, 'a-scene.png'), scene);
  fs.writeFileSync(path.join(dir, 'b-small.jpg'), await sharp(scene).resize(90, 70).jpeg().toBuffer());
  fs.writeFileSync(path.join(dir, 'c-wide.webp'), await sharp(scene).resize(300, 100, { fit: 'fill' }).webp().toBuffer());
  fs.writeFileSync(path.join(dir, 'd-tall.png'), await sharp(scene).rotate(90).png().toBuffer());
  fs.writeFileSync(
    path.join(dir, 'e-bmp.bmp'),
    (await import('../../../fixtures/builders/sampleImages')).bmp24(40, 30, (x, y) => [x * 6, y * 8, 128]),
  );
  fs.writeFileSync(path.join(dir, 'bad-corrupt.png'), Buffer.from('\x89PNG\r\n\x1a\nnot really a png'));
  fs.writeFileSync(path.join(dir, 'bad-empty.jpg'), Buffer.alloc(0));
  fs.mkdirSync(path.join(dir, 'bad-folder.png'));
  fs.writeFileSync(path.join(dir, 'bad-vector.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not listed');
  client = new EngineClient({ enginePath: path.join(distDir, 'engine.js'), killAfterCancelMs: 5000 });
});
after(() => client?.dispose());

test('a folder lists its image-named entries sorted; globs match across folders', () => {
  const listed = listGallery(dir).map((p) => path.basename(p));
  assert.deepEqual(listed, [...GOOD, ...Object.keys(BAD)].sort());
  assert.deepEqual(
    listGallery(path.join(dir, '*.png')).map((p) => path.basename(p)),
    ['a-scene.png', 'bad-corrupt.png', 'd-tall.png'],
  );
  assert.ok(globToRegExp('**/*.{png,jpg}').test('x/y/z.jpg'));
  assert.ok(globToRegExp('**/*.{png,jpg}').test('z.png'));
  assert.ok(!globToRegExp('*.png').test('x/z.png'));
  assert.ok(globToRegExp('img[0-9].png').test('img3.png') && !globToRegExp('img[!0-9].png').test('img3.png'));
  assert.throws(
    () => listGallery(path.join(dir, 'nope')),
    (e: VitLensError) => e.code === 'IMAGE_NOT_FOUND',
  );
});

test('vit-lens attention <dir> --json follows the contract: entries in sorted order, errors listed, the run goes on', () => {
  const out = path.join(dir, 'out', 'gallery.json');
  const html = path.join(dir, 'out', 'gallery.html');
  const r = cli('attention', dir, '--model', fixtureModels()['vit-tiny-batch'], '--json', out, '--html', html, '--top', '3', '--jobs', '4');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.deepEqual(Object.keys(j), ['model', 'images', 'summary']);
  assert.deepEqual(
    j.images.map((e: { path: string }) => path.basename(e.path)),
    [...GOOD, ...Object.keys(BAD)].sort(),
  );
  for (const e of j.images) {
    const name = path.basename(e.path);
    if (BAD[name]) {
      assert.deepEqual(Object.keys(e), ['path', 'error'], name);
      assert.equal(e.error.code, BAD[name], name);
      assert.match(e.error.message, new RegExp(name.replace('.', '\\.')));
      continue;
    }
    assert.deepEqual(Object.keys(e), ['path', 'image', 'predictions', 'rollout', 'predictionEntropy', 'timingsMs'], name);
    assert.deepEqual(Object.keys(e.image), ['width', 'height']);
    assert.equal(e.predictions.length, 3);
    assert.equal(e.rollout.length, 16); // 64² input, 16-pixel patches
    const mass = e.rollout.reduce((a: number, b: number) => a + b, 0);
    assert.ok(mass > 0 && mass < 1, `rollout over the patches is part of a probability row: ${mass}`);
    assert.ok(e.predictionEntropy > 0 && e.predictionEntropy <= Math.log(10) + 1e-6);
    assert.deepEqual(Object.keys(e.timingsMs), ['decode', 'preprocess', 'inference', 'analysis', 'total']);
  }
  assert.deepEqual(j.summary.count, GOOD.length + Object.keys(BAD).length);
  assert.equal(j.summary.failed, Object.keys(BAD).length);
  assert.ok(j.summary.imagesPerSecond > 0);
  assert.match(r.stdout, /batch 4/);
  const page = fs.readFileSync(html, 'utf8');
  assert.match(page, /id="vit-lens-data"/);
  assert.doesNotMatch(page, /<script[^>]+src=/i);
  assert.doesNotMatch(page, /<(img|link)[^>]+(src|href)=["']?(https?:|\/\/)/i);
});

test('batched runs equal one-by-one runs and the single-image attention command', () => {
  const model = fixtureModels()['vit-tiny-batch'];
  const docs = ['1', '8'].map((jobs) => {
    const out = path.join(dir, `jobs-${jobs}.json`);
    const { stdout, json } = cliJson(['attention', dir, '--model', model, '--json', out, '--jobs', jobs], TIMEOUT_MS);
    assert.match(stdout, new RegExp(`batch ${jobs}`));
    return json;
  });
  const ok = (d: { images: { rollout?: number[] }[] }) => d.images.filter((e) => e.rollout);
  ok(docs[0]).forEach((e, i) => assert.ok(maxAbsDiff(e.rollout!, ok(docs[1])[i].rollout!) < 1e-5));
  const single = path.join(dir, 'single.json');
  assert.equal(cli('attention', path.join(dir, 'c-wide.webp'), '--model', model, '--json', single, '--top', '5').status, 0);
  const s = JSON.parse(fs.readFileSync(single, 'utf8'));
  const g = docs[1].images.find((e: { path: string }) => e.path.endsWith('c-wide.webp'));
  assert.ok(maxAbsDiff(g.rollout, s.rollout.map) < 1e-5);
  assert.deepEqual(
    g.predictions.map((p: { index: number }) => p.index),
    s.predictions.map((p: { index: number }) => p.index),
  );
  assert.ok(
    maxAbsDiff(
      g.predictions.map((p: { probability: number }) => p.probability),
      s.predictions.map((p: { probability: number }) => p.probability),
    ) < 1e-5,
  );
});

test('a fixed-batch model runs one by one; raw attention needs no model; a glob works', () => {
  const out = path.join(dir, 'fixed.json');
  const r = cli('attention', path.join(dir, '*.{png,webp}'), '--model', fixtureModels()['vit-tiny'], '--json', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /batch 1/);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.deepEqual(
    j.images.map((e: { path: string }) => path.basename(e.path)),
    ['a-scene.png', 'bad-corrupt.png', 'c-wide.webp', 'd-tall.png'],
  );
  assert.equal(j.images[0].rollout.length, 196);
  const raw = path.join(dir, 'raw.json');
  assert.equal(cli('attention', dir, '--json', raw).status, 0);
  const rj = JSON.parse(fs.readFileSync(raw, 'utf8'));
  assert.equal(rj.model.path, null);
  const first = rj.images.find((e: { rollout?: number[] }) => e.rollout);
  assert.deepEqual(first.predictions, []);
  assert.equal(first.predictionEntropy, null);
  assert.equal(cli('attention', dir, '--jobs', '0').status, 2);
  assert.equal(cli('attention', path.join(dir, 'a-scene.png'), '--jobs', '2').status, 2, '--jobs is for folders');
});

test('entries stream as they finish; a cancel keeps what was done and the engine stays up', async () => {
  const many = tempDir('vit-lens-gallery-many-');
  const png = fs.readFileSync(path.join(dir, 'a-scene.png'));
  for (let i = 0; i < 60; i++) fs.writeFileSync(path.join(many, `img${String(i).padStart(3, '0')}.png`), png);
  const parts: GalleryPartial[] = [];
  const abort = new AbortController();
  const run = client.request(
    'gallery',
    { source: many, modelPath: fixtureModels()['vit-tiny'], topK: 1 },
    {
      signal: abort.signal,
      onPartial: (p) => {
        parts.push(p as GalleryPartial);
        if (parts.length === 6) abort.abort();
      },
    },
  );
  await assert.rejects(run, (e: VitLensError) => e.code === 'CANCELLED');
  assert.equal(parts[0].kind, 'start');
  assert.equal((parts[0] as Extract<GalleryPartial, { kind: 'start' }>).paths.length, 60);
  const entries = parts.filter((p) => p.kind === 'entry');
  assert.ok(entries.length >= 5 && entries.length < 60, `${entries.length} entries before the cancel`);
  entries.forEach((p, i) => assert.equal(p.kind === 'entry' && p.entry.index, i));
  const pong = await client.request('ping', {});
  assert.ok(pong.pid > 0);
  // And a whole run afterwards: the summary counts every image.
  const summary = await client.request('gallery', { source: many, modelPath: fixtureModels()['vit-tiny-batch'] }, {});
  assert.equal(summary.count, 60);
  assert.equal(summary.failed, 0);
});

test('--provider: an unknown provider falls back to the CPU with a note; cpu runs quietly', () => {
  const r = cli('attention', dir, '--provider', 'nosuch', '--model', fixtureModels()['vit-tiny-batch']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /execution provider "nosuch" is not offered by this onnxruntime-node \(it offers cpu, .*\); running on the CPU\./);
  // cuda is listed by the linux-x64 package but needs CUDA libraries: where they are missing, it falls back too.
  const cuda = cli('attention', path.join(dir, 'a-scene.png'), '--provider', 'cuda', '--model', fixtureModels()['vit-tiny-batch']);
  assert.equal(cuda.status, 0, cuda.stderr);
  if (!/running on the CPU/.test(cuda.stderr)) assert.doesNotMatch(cuda.stderr, /failed/);
  const cpu = cli('attention', path.join(dir, 'a-scene.png'), '--provider', 'cpu', '--model', fixtureModels()['vit-tiny-batch']);
  assert.equal(cpu.status, 0, cpu.stderr);
  assert.doesNotMatch(cpu.stderr, /running on the CPU/);
  assert.equal(cli('attention', dir, '--provider', 'a b').status, 2);
});
