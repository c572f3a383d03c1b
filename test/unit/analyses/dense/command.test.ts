// `vit-lens depth` and `vit-lens segment` end to end (a real process, a real engine) on the tiny DPT
// fixtures: PNG / 16-bit PNG at the original size, the .npy file (parsed here, and by numpy when the
// system Python has it), the JSON contract, and bad arguments and models.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { classColor } from '../../../../src/maths/dense';
import { EngineClient } from '../../../../src/client/engineClient';
import { denseJson } from '../../../../src/analyses/dense/json';
import type { DenseMapPartial } from '../../../../src/analyses/dense/types';
import { writeSampleScene } from '../../../fixtures/builders/sampleImages';
import { cli, distDir, fixtureModels, tempDir } from '../../support';

let dir: string;
let image: string;

before(async () => {
  dir = tempDir('vit-lens-dense-cli-');
  // Not 448×336: an odd size, so "the original size" is visible in every output.
  image = await writeSampleScene(dir, 301, 227);
});

/** Parses a .npy v1.0 float32 file: header dict and values. */
function readNpy(file: string): { header: string; values: Float32Array } {
  const b = fs.readFileSync(file);
  assert.deepEqual([...b.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 'magic and version 1.0');
  const len = b.readUInt16LE(8);
  assert.equal((10 + len) % 64, 0, 'data aligned to 64 bytes');
  const header = b.subarray(10, 10 + len).toString('latin1');
  assert.ok(header.endsWith('\n'));
  return { header, values: new Float32Array(b.buffer.slice(b.byteOffset + 10 + len, b.byteOffset + b.length)) };
}

test('depth: --png (inferno), --png16 (16-bit gray) at the original size, --npy raw map, --json contract', async () => {
  const out = (f: string) => path.join(dir, f);
  const r = cli(
    'depth',
    image,
    '--model',
    fixtureModels()['dpt-tiny-depth'],
    '--png',
    out('d.png'),
    '--png16',
    out('d16.png'),
    '--npy',
    out('d.npy'),
    '--json',
    out('d.json'),
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /depth 128×128 \(relative inverse depth\): min [\d.]+ · p2/);
  assert.match(r.stdout, /neck: reassemble 1\/4 \(layer 1\) 16×32×32/);

  const colour = await sharp(out('d.png')).metadata();
  assert.deepEqual([colour.width, colour.height, colour.channels, colour.depth], [301, 227, 3, 'uchar']);
  const gray = await sharp(out('d16.png')).metadata();
  assert.deepEqual([gray.width, gray.height, gray.channels, gray.depth], [301, 227, 1, 'ushort']);
  const g16 = await sharp(out('d16.png')).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
  const values16 = new Uint16Array(g16.buffer, g16.byteOffset, g16.length / 2);
  assert.equal(Math.max(...values16), 65535, 'min–max scaled: the nearest pixel is white');
  assert.ok(Math.min(...values16) < 2000, 'and the farthest nearly black (bicubic can dip just below the raw minimum: clamped)');

  const j = JSON.parse(fs.readFileSync(out('d.json'), 'utf8'));
  assert.deepEqual(Object.keys(j), ['task', 'image', 'model', 'grid', 'viewSize', 'depth', 'features', 'notes', 'timingsMs']);
  assert.equal(j.task, 'depth');
  assert.deepEqual(j.image, { path: image, width: 301, height: 227 });
  assert.deepEqual(Object.keys(j.model), ['path', 'inputSize', 'patchSize', 'numLayers', 'numHeads', 'attentionSource']);
  assert.deepEqual(j.model.inputSize, [128, 128]);
  assert.equal(j.model.attentionSource, 'tapped');
  assert.deepEqual(j.viewSize, [227, 301]);
  assert.deepEqual(Object.keys(j.depth), ['outputSize', 'min', 'max', 'p2', 'p98']);
  assert.deepEqual(j.depth.outputSize, [128, 128]);
  assert.deepEqual(
    j.features.map((f: { stride: number; size: number[] }) => [f.stride, ...f.size]),
    [
      [4, 32, 32],
      [8, 16, 16],
      [16, 8, 8],
      [32, 4, 4],
    ],
  );
  assert.deepEqual(Object.keys(j.timingsMs), ['decode', 'modelLoad', 'preprocess', 'inference', 'postprocess', 'total']);

  const npy = readNpy(out('d.npy'));
  assert.match(npy.header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(128, 128\), \} *\n$/);
  assert.equal(npy.values.length, 128 * 128);
  assert.ok(Math.abs(Math.min(...npy.values) - j.depth.min) < 1e-5 * Math.abs(j.depth.min));
  assert.ok(Math.abs(Math.max(...npy.values) - j.depth.max) < 1e-5 * Math.abs(j.depth.max));
});

test('depth --npy loads in numpy (when the system Python has it) with the same values', (t) => {
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0);
  if (!python) {
    t.skip('no Python with numpy');
    return;
  }
  const file = path.join(dir, 'np.npy');
  assert.equal(cli('depth', image, '--model', fixtureModels()['dpt-tiny-depth-dynamic'], '--npy', file).status, 0);
  const own = readNpy(file);
  const py = spawnSync(
    python,
    [
      '-c',
      `import numpy as np, sys; a = np.load(sys.argv[1]); print(a.dtype, a.shape, a.flags['C_CONTIGUOUS'], repr(float(a[0, 0])), repr(float(a[-1, -1])))`,
      file,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(py.status, 0, py.stderr);
  const [dtype, ...rest] = py.stdout.trim().split(' ');
  assert.equal(dtype, 'float32');
  assert.match(rest.join(' '), /^\(128, 160\) True /); // 301×227 image on the dynamic model: 160×128 (keep aspect, multiple 32)
  const [first, last] = rest.slice(-2).map(Number);
  assert.equal(first, own.values[0]);
  assert.equal(last, own.values[own.values.length - 1]);
});

test('segment: --png palette colours at the original size, classes with area share in --json and on stdout', async () => {
  const png = path.join(dir, 's.png');
  const json = path.join(dir, 's.json');
  const r = cli('segment', image, '--model', fixtureModels()['dpt-tiny-segmentation'], '--png', png, '--json', json);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\d+ of 150 classes present:/);
  const j = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.deepEqual(Object.keys(j), ['task', 'image', 'model', 'grid', 'viewSize', 'segmentation', 'features', 'notes', 'timingsMs']);
  assert.deepEqual(Object.keys(j.segmentation), ['outputSize', 'numClasses', 'classes']);
  assert.deepEqual(j.segmentation.outputSize, [128, 128]);
  const classes: { id: number; name: string; color: number[]; area: number }[] = j.segmentation.classes;
  assert.ok(classes.length >= 2);
  assert.ok(Math.abs(classes.reduce((a, c) => a + c.area, 0) - 1) < 1e-5);
  for (let i = 1; i < classes.length; i++) assert.ok(classes[i - 1].area >= classes[i].area);
  for (const c of classes) assert.deepEqual(c.color, classColor(c.id));
  for (const c of classes.slice(0, 10))
    assert.match(r.stdout, new RegExp(`${c.name.replace(/[()]/g, '.')} \\(${c.id}\\)`), 'the ten largest on stdout');
  if (classes.length > 10) assert.match(r.stdout, new RegExp(`… ${classes.length - 10} more \\(see --json\\)`));
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [301, 227, 3]);
  const allowed = new Set(classes.map((c) => c.color.join()));
  const seen = new Map<string, number>();
  for (let i = 0; i < data.length; i += 3) {
    const k = `${data[i]},${data[i + 1]},${data[i + 2]}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  for (const k of seen.keys()) assert.ok(allowed.has(k), `pixel colour ${k} is a listed class's colour`);
  // The largest class covers about its share of the PNG too (nearest-neighbour scaling of the view labels).
  assert.ok(Math.abs(seen.get(classes[0].color.join())! / (301 * 227) - classes[0].area) < 0.02);
});

test('bad arguments exit 2 with usage; wrong models exit 1 with a specific message', () => {
  const m = fixtureModels();
  const noModel = cli('depth', image);
  assert.equal(noModel.status, 2);
  assert.match(noModel.stderr, /depth needs --model/);
  assert.equal(cli('segment', image, '--model', m['dpt-tiny-segmentation'], '--npy', 'x.npy').status, 2, 'segment has no --npy');
  assert.equal(cli('depth', '--model', m['dpt-tiny-depth']).status, 2);
  const wrong = cli('segment', image, '--model', m['dpt-tiny-depth']);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /is a depth model .*not a semantic-segmentation model[\s\S]*vit-lens depth/);
  const classifier = cli('depth', image, '--model', m['vit-tiny']);
  assert.equal(classifier.status, 1);
  assert.match(classifier.stderr, /is an image classifier/);
  const missing = cli('depth', path.join(dir, 'nope.png'), '--model', m['dpt-tiny-depth']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /Image not found/);
});

test('engine: densePanel sends the map ahead (a partial without features or attention), then the whole result; denseShapes and dense agree', async () => {
  const client = new EngineClient({ enginePath: path.join(distDir, 'engine.js') });
  try {
    const params = { imagePath: image, modelPath: fixtureModels()['dpt-tiny-depth'], task: 'depth' as const };
    const events: string[] = [];
    let map: DenseMapPartial | undefined;
    const panel = await client.request(
      'densePanel',
      { ...params, rollout: { fusion: 'mean', discardRatio: 0, startLayer: 0 } },
      {
        onPartial: (p) => {
          events.push('partial');
          map = p as DenseMapPartial;
        },
      },
    );
    events.push('result');
    assert.deepEqual(events, ['partial', 'result']);
    assert.equal(map?.kind, 'map');
    assert.deepEqual(map.result.features, []);
    assert.equal((map.result as { attention?: unknown }).attention, undefined);
    assert.deepEqual(map.result.depth, panel.result.depth);
    assert.equal(panel.result.features.length, 4);
    assert.deepEqual(panel.result.attention, { layers: 4, heads: 2, tokens: 65 });
    if (panel.attentionKey) await client.request('release', { attentionKey: panel.attentionKey });
    const shapes = await client.request('denseShapes', params);
    const full = await client.request('dense', params);
    const doc = (r: Parameters<typeof denseJson>[0]) => ({ ...denseJson(r), timingsMs: null });
    assert.deepEqual(doc(shapes), doc(full));
    assert.deepEqual(shapes.attention, { layers: 4, heads: 2, tokens: 65 });
  } finally {
    client.dispose();
  }
});
