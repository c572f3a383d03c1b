// The gallery page's order and filter, and the collector the CLI and the panel feed.
import assert from 'node:assert/strict';
import test from 'node:test';
import { GalleryCollector, galleryJson } from '../../../src/analyses/gallery/json';
import type { GalleryEntry } from '../../../src/analyses/gallery/types';
import { classCounts, parseGalleryUiState, visibleEntries } from '../../../webview/panels/gallery/galleryState';

const ok = (index: number, name: string, label: string, probability: number, entropy: number): GalleryEntry => ({
  index,
  path: `/d/${name}`,
  image: { width: 10, height: 10 },
  predictions: [{ index: 0, label, probability }],
  grid: [1, 2],
  rollout: new Float32Array([0.25, 0.5]),
  predictionEntropy: entropy,
  timingsMs: { decode: 1, preprocess: 1, inference: 1, analysis: 1, total: 4 },
  thumbnail: { jpeg: new Uint8Array(1), width: 1, height: 1 },
});
const bad = (index: number, name: string): GalleryEntry => ({
  index,
  path: `/d/${name}`,
  error: { code: 'IMAGE_CORRUPT', message: `${name} is broken` },
});
const entries = [ok(0, 'a.png', 'cat', 0.5, 1.2), bad(1, 'b.png'), ok(2, 'c.png', 'dog', 0.9, 0.3), ok(3, 'd.png', 'cat', 0.7, 2.0)];
const names = (es: GalleryEntry[]) => es.map((e) => e.path.slice(3));

test('sort by name, confidence, entropy, class; failed images last except by name', () => {
  assert.deepEqual(names(visibleEntries(entries, 'name', '')), ['a.png', 'b.png', 'c.png', 'd.png']);
  assert.deepEqual(names(visibleEntries(entries, 'confidence', '')), ['c.png', 'd.png', 'a.png', 'b.png']);
  assert.deepEqual(names(visibleEntries(entries, 'entropy', '')), ['d.png', 'a.png', 'c.png', 'b.png']);
  assert.deepEqual(names(visibleEntries(entries, 'class', '')), ['d.png', 'a.png', 'c.png', 'b.png']);
});

test('filter by predicted class, or the failed ones; class counts', () => {
  assert.deepEqual(names(visibleEntries(entries, 'name', 'cat')), ['a.png', 'd.png']);
  assert.deepEqual(names(visibleEntries(entries, 'name', '!errors')), ['b.png']);
  assert.deepEqual(classCounts(entries), [
    ['cat', 2],
    ['dog', 1],
  ]);
  assert.deepEqual(parseGalleryUiState({ sort: 'bogus', filter: 3, imagePath: '/d' }, { imagePath: '', sort: 'name', filter: '' }), {
    imagePath: '/d',
    sort: 'name',
    filter: '',
  });
});

test('the collector keeps entries in index order, knows an ETA, and summarises a cancelled run', () => {
  let t = 0;
  const c = new GalleryCollector(() => t);
  c.add({
    kind: 'start',
    paths: ['/d/a.png', '/d/b.png', '/d/c.png', '/d/d.png'],
    model: { path: '/m.onnx', name: 'm' },
    batchSize: 1,
    provider: { name: 'cpu' },
  });
  t = 1000;
  c.add({ kind: 'entry', entry: entries[1] });
  t = 2000;
  c.add({ kind: 'entry', entry: entries[0] });
  assert.deepEqual(
    c.entries.map((e) => e.index),
    [0, 1],
  );
  assert.equal(c.etaSeconds(), 2);
  assert.equal(c.progressLabel(), '2 of 4 images, about 2 s left');
  assert.deepEqual(c.summary(true), { count: 2, failed: 1, imagesPerSecond: 0.5, cancelled: true });
  const j = galleryJson(c.start!.model, c.entries, c.summary(true)) as {
    images: Record<string, unknown>[];
    summary: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(j.images[0]), ['path', 'image', 'predictions', 'rollout', 'predictionEntropy', 'timingsMs']);
  assert.deepEqual(j.images[1], { path: '/d/b.png', error: { code: 'IMAGE_CORRUPT', message: 'b.png is broken' } });
  assert.equal(j.summary.cancelled, true);
});
