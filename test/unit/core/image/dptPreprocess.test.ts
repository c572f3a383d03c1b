// DPT preprocessing (src/core/image/dptPreprocess.ts): Hugging Face DPTImageProcessor's output size
// (keep_aspect_ratio, ensure_multiple_of, Python's half-to-even rounding) against hand-computed answers
// and HF's own examples, the input plan for fixed and dynamic graphs, and the pixels it produces.
import assert from 'node:assert/strict';
import test from 'node:test';
import sharp from 'sharp';
import { decodeImage } from '../../../../src/core/image/image';
import {
  MAX_AREA_FACTOR,
  constrainToMultipleOf,
  dptResizeOutputSize,
  planDenseInput,
  preprocessDense,
  pyRound,
} from '../../../../src/core/image/dptPreprocess';

test('pyRound is Python 3 round(): halves go to the even neighbour', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, 20.5, 21.5, 1.4999, 2.5001, 7].map(pyRound), [0, 2, 2, 4, 20, 22, 1, 3, 7]);
});

test('constrain_to_multiple_of: nearest multiple, floor above max, ceil below min', () => {
  assert.equal(constrainToMultipleOf(690.67, 14), 686); // 49.33 → 49
  assert.equal(constrainToMultipleOf(384, 32), 384);
  assert.equal(constrainToMultipleOf(400, 32, 0, 390), 384); // 12.5 → 12 (even) = 384 ≤ 390 anyway
  assert.equal(constrainToMultipleOf(410, 32, 0, 400), 384); // nearest 416 > 400 → floor
  assert.equal(constrainToMultipleOf(10, 32, 32), 32); // nearest 0 < min → ceil
});

test('get_resize_output_image_size: HF semantics (scale as little as possible) on known cases', () => {
  // 640×480 photo, DPT size 384, multiple 32: height scale 0.8 is nearer to 1 than width's 0.6 → fit height.
  assert.deepEqual(dptResizeOutputSize(480, 640, 384, 384, true, 32), [384, 512]);
  // Depth Anything (518, multiple 14) on the same photo: the known [518, 686] pixel_values of HF's docs.
  assert.deepEqual(dptResizeOutputSize(480, 640, 518, 518, true, 14), [518, 686]);
  // HF's test_keep_aspect_ratio: a 489×640 image, size 512, multiple 32 → [512, 672].
  assert.deepEqual(dptResizeOutputSize(489, 640, 512, 512, true, 32), [512, 672]);
  // Width nearer to 1 → fit width: 300×1000 to 512: width scale 0.512 vs height 1.707.
  assert.deepEqual(dptResizeOutputSize(300, 1000, 512, 512, true, 32), [160, 512]);
  // Python's round: 656/32 = 20.5 → 20 (banker's), not 21.
  assert.deepEqual(dptResizeOutputSize(512, 656, 512, 512, true, 32), [512, 640]);
  // keep_aspect_ratio false: the target itself (rounded to the multiple).
  assert.deepEqual(dptResizeOutputSize(480, 640, 384, 384, false, 1), [384, 384]);
  assert.deepEqual(dptResizeOutputSize(480, 640, 390, 390, false, 32), [384, 384]);
});

test('input plan: fixed graphs use their size (with a note when stretched); dynamic graphs keep the aspect ratio', () => {
  const fixed = { fixedSize: [128, 128] as [number, number], inputSize: [128, 128] as [number, number], patchSize: 16 };
  assert.deepEqual(planDenseInput(336, 448, {}, fixed), { size: [128, 128], notes: [] });
  const stretched = planDenseInput(300, 1200, {}, fixed);
  assert.deepEqual(stretched.size, [128, 128]);
  assert.match(stretched.notes[0], /stretched/);

  const dynamic = { inputSize: [384, 384] as [number, number], patchSize: 16 };
  const dpt = { size: { height: 384, width: 384 }, keep_aspect_ratio: true, ensure_multiple_of: 32 };
  assert.deepEqual(planDenseInput(480, 640, dpt, dynamic).size, [384, 512]);
  // keep_aspect_ratio false in the config: a dynamic graph still gets the image's aspect ratio.
  assert.deepEqual(planDenseInput(480, 640, { ...dpt, keep_aspect_ratio: false }, dynamic).size, [384, 512]);
  // ensure_multiple_of 1 (or absent): 2 × patch, so DPT's stride-2 level sees an even grid.
  assert.deepEqual(planDenseInput(480, 640, { size: { height: 384, width: 384 }, ensure_multiple_of: 1 }, dynamic).size, [384, 512]);
  // Depth Anything: patch 14, multiple 14.
  assert.deepEqual(
    planDenseInput(480, 640, { size: { height: 518, width: 518 }, ensure_multiple_of: 14 }, { inputSize: [518, 518], patchSize: 14 }).size,
    [518, 686],
  );
  // A multiple that is not a multiple of the patch: the least common multiple (lcm(12, 16) = 48).
  const lcm = planDenseInput(480, 640, { size: { height: 384, width: 384 }, ensure_multiple_of: 12 }, dynamic).size;
  assert.ok(
    lcm.every((s) => s % 48 === 0),
    `${lcm}`,
  );
  // Without a size in the config: the model's nominal size.
  assert.deepEqual(planDenseInput(480, 640, {}, dynamic).size, [384, 512]);
});

test('input plan: a far larger or extremely long image is handled: capped area, at least one multiple per side, a note', () => {
  const dynamic = { inputSize: [384, 384] as [number, number], patchSize: 16 };
  const cfg = { size: { height: 384, width: 384 }, ensure_multiple_of: 32 };
  // 12000×9000: same aspect ratio as 640×480, just scaled: no cap needed.
  assert.deepEqual(planDenseInput(9000, 12000, cfg, dynamic), { size: [384, 512], notes: [] });
  // 200×20000 (h×w): fit height (scale 1.92) → 384×38400 → 100 × the configured area: capped.
  const long = planDenseInput(200, 20000, cfg, dynamic);
  assert.ok(long.size[0] * long.size[1] <= MAX_AREA_FACTOR * 384 * 384, `${long.size}`);
  assert.ok(long.size.every((s) => s % 32 === 0 && s >= 32));
  assert.ok(long.size[1] / long.size[0] > 50, 'keeps (most of) the aspect ratio');
  assert.match(long.notes[0], /smaller size/);
  // 10000×100 (h×w): the width would round to 0: at least one multiple.
  const thin = planDenseInput(10000, 100, cfg, dynamic);
  assert.ok(thin.size[1] >= 32 && thin.size[0] % 32 === 0, `${thin.size}`);
});

test('preprocessDense: exact size, bicubic resize, rescale and normalise to CHW; no resampling at the same size', async () => {
  const w = 6,
    h = 4;
  const rgb = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) rgb.set([i * 10, 255 - i * 10, 128], i * 3);
  const png = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
  const img = await decodeImage(png, 'x.png');
  const cfg = { image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] };
  const same = await preprocessDense(img, cfg, [h, w]);
  assert.deepEqual([same.height, same.width, same.pixels.length], [h, w, 3 * h * w]);
  for (let i = 0; i < w * h; i++) {
    assert.ok(Math.abs(same.pixels[i] - ((i * 10) / 255 - 0.5) / 0.5) < 1e-6, 'R');
    assert.ok(Math.abs(same.pixels[w * h + i] - ((255 - i * 10) / 255 - 0.5) / 0.5) < 1e-6, 'G');
    assert.ok(Math.abs(same.pixels[2 * w * h + i] - (128 / 255 - 0.5) / 0.5) < 1e-6, 'B');
  }
  assert.deepEqual(same.sourceRect, [0, 0, w, h]);
  const bigger = await preprocessDense(img, { ...cfg, resample: 3 }, [32, 64]);
  assert.deepEqual([bigger.height, bigger.width, bigger.pixels.length], [32, 64, 3 * 32 * 64]);
  // The blue plane is constant: any resampling keeps it.
  assert.ok(bigger.pixels.subarray(2 * 32 * 64).every((v) => Math.abs(v - (128 / 255 - 0.5) / 0.5) < 0.01));
});
