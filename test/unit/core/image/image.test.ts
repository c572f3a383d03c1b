// Image decoding and preprocessing: formats, orientation, alpha, bit depth, HF resize/crop/normalise
// semantics, and every bad input the engine must reject with a specific error.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import zlib from 'node:zlib';
import sharp from 'sharp';
import type { Color } from 'sharp';
import { decodeImage, preprocess, toNormalisedChw } from '../../../../src/core/image/image';
import { VitLensError } from '../../../../src/shared/errors';
import { iccDescription, isSrgbProfile } from '../../../../src/core/image/iccProfile';
import { bmp24 } from '../../../fixtures/builders/sampleImages';
import { hasSharedImages, sharedImages } from '../../support';

const red = { r: 255, g: 0, b: 0 };
const solid = (w: number, h: number, channels: 3 | 4 = 3, background: Color = red) =>
  sharp({ create: { width: w, height: h, channels, background } });

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VitLensError, `expected VitLensError, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

test('decodes PNG, JPEG, WebP, GIF (first frame), TIFF and AVIF to 8-bit RGB', async () => {
  const base = solid(20, 10);
  const encoded: Record<string, Buffer> = {
    png: await base.clone().png().toBuffer(),
    jpeg: await base.clone().jpeg().toBuffer(),
    webp: await base.clone().webp({ lossless: true }).toBuffer(),
    gif: await base.clone().gif().toBuffer(),
    tiff: await base.clone().tiff().toBuffer(),
    heif: await base.clone().avif({ lossless: true }).toBuffer(),
  };
  for (const [format, bytes] of Object.entries(encoded)) {
    const img = await decodeImage(bytes, `x.${format}`);
    assert.equal(img.format, format);
    assert.deepEqual([img.width, img.height, img.rgb.length], [20, 10, 600], format);
    assert.ok(img.rgb[0] > 200 && img.rgb[1] < 40 && img.rgb[2] < 40, `${format} is red: ${img.rgb.subarray(0, 3)}`);
  }
});

test('decodes 24-bit BMP (bottom-up rows, BGR order, padded rows)', async () => {
  const img = await decodeImage(
    bmp24(3, 2, (x, y) => [x * 100, y * 200, 7]),
    'x.bmp',
  );
  assert.equal(img.format, 'bmp');
  assert.deepEqual([img.width, img.height], [3, 2]);
  assert.deepEqual(Array.from(img.rgb), [0, 0, 7, 100, 0, 7, 200, 0, 7, 0, 200, 7, 100, 200, 7, 200, 200, 7]);
  await rejectsWith(decodeImage(bmp24(3, 2, () => [0, 0, 0]).subarray(0, 60), 'cut.bmp'), 'IMAGE_CORRUPT', /truncated/);
});

test('applies EXIF orientation', async () => {
  // 20×10 stored, orientation 6 (rotate 90° clockwise to display) → 10×20
  const bytes = await solid(20, 10).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const img = await decodeImage(bytes, 'rotated.jpg');
  assert.deepEqual([img.width, img.height], [10, 20]);
});

test('flattens alpha onto white, converts grayscale and 16-bit to 8-bit RGB', async () => {
  const transparent = await solid(4, 4, 4, { r: 0, g: 0, b: 0, alpha: 0 }).png().toBuffer();
  const a = await decodeImage(transparent, 'alpha.png');
  assert.deepEqual(Array.from(a.rgb.subarray(0, 3)), [255, 255, 255]);
  const gray = await solid(4, 4, 3, { r: 100, g: 100, b: 100 }).toColourspace('b-w').png().toBuffer();
  assert.equal((await sharp(gray).metadata()).channels, 1);
  const g = await decodeImage(gray, 'gray.png');
  assert.equal(g.rgb.length, 4 * 4 * 3);
  const sixteen = await solid(4, 4).toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(sixteen).metadata()).depth, 'ushort');
  const s = await decodeImage(sixteen, '16bit.png');
  assert.deepEqual(Array.from(s.rgb.subarray(0, 3)), [255, 0, 0]);
});

test('rescale and normalise follow (x·rescale_factor − mean)/std, CHW order', () => {
  const hwc = Uint8Array.from([0, 128, 255, 255, 0, 51]); // 2 pixels
  const out = toNormalisedChw(hwc, 2, 1, { image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225] });
  const expect = [
    (0 - 0.485) / 0.229,
    (1 - 0.485) / 0.229,
    (128 / 255 - 0.456) / 0.224,
    (0 - 0.456) / 0.224,
    (1 - 0.406) / 0.225,
    (0.2 - 0.406) / 0.225,
  ];
  expect.forEach((v, i) => assert.ok(Math.abs(out[i] - v) < 1e-5, `${i}: ${out[i]} vs ${v}`));
  const defaults = toNormalisedChw(Uint8Array.from([255, 0, 0]), 1, 1, {});
  assert.deepEqual(Array.from(defaults), [1, -1, -1]); // mean = std = 0.5
});

test('resize to {height,width}; shortest_edge + center crop covers the middle of the image', async () => {
  // 300×200 image: left half black, right half white
  const img = await decodeImage(
    await sharp({ create: { width: 300, height: 200, channels: 3, background: 'black' } })
      .composite([{ input: await solid(150, 200, 3, { r: 255, g: 255, b: 255 }).png().toBuffer(), left: 150, top: 0 }])
      .png()
      .toBuffer(),
    'half.png',
  );
  const exact = await preprocess(img, { size: { height: 32, width: 48 } }, [32, 48], true);
  assert.deepEqual([exact.height, exact.width, exact.pixels.length], [32, 48, 3 * 32 * 48]);
  // shortest_edge 100 → 150×100, crop 100×100 → x from 25 to 125 of 150 (source: 50..250)
  const cropped = await preprocess(
    img,
    { size: { shortest_edge: 100 }, do_center_crop: true, crop_size: { height: 100, width: 100 } },
    [100, 100],
    true,
  );
  assert.deepEqual([cropped.height, cropped.width], [100, 100]);
  assert.deepEqual(
    cropped.sourceRect.map((v) => Math.round(v)),
    [50, 0, 200, 200],
  );
  const row = 50 * 100;
  assert.ok(cropped.pixels[row + 5] < -0.9 && cropped.pixels[row + 95] > 0.9, 'black on the left, white on the right');
  // A config that disagrees with a fixed graph size: the graph wins.
  const forced = await preprocess(img, { size: { height: 64, width: 64 } }, [32, 32], true);
  assert.deepEqual([forced.height, forced.width], [32, 32]);
});

test('bad images get specific errors', async () => {
  await rejectsWith(decodeImage(Buffer.alloc(0), 'empty.png'), 'IMAGE_EMPTY', /empty/);
  await rejectsWith(decodeImage(Buffer.from('this is not an image at all'), 'fake.png'), 'IMAGE_UNSUPPORTED', /fake\.png/);
  const png = await sharp({
    create: { width: 64, height: 64, channels: 3, background: 'gray', noise: { type: 'gaussian' as const, mean: 128, sigma: 30 } },
  })
    .png()
    .toBuffer();
  await rejectsWith(decodeImage(png.subarray(0, Math.floor(png.length / 2)), 'cut.png'), 'IMAGE_CORRUPT', /corrupt or truncated/);
  const jpeg = await sharp({
    create: { width: 64, height: 64, channels: 3, background: 'gray', noise: { type: 'gaussian' as const, mean: 128, sigma: 30 } },
  })
    .jpeg()
    .toBuffer();
  await rejectsWith(decodeImage(jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'cut.jpg'), 'IMAGE_CORRUPT');
  await rejectsWith(decodeImage(png, 'big.png', 1000), 'IMAGE_TOO_LARGE', /megapixels/);
  // A decompression bomb: a small PNG whose header claims 30000×30000 pixels (IHDR patched, CRC fixed).
  const bomb = Buffer.from(await solid(8, 8).png().toBuffer());
  bomb.writeUInt32BE(30000, 16);
  bomb.writeUInt32BE(30000, 20);
  bomb.writeUInt32BE(zlib.crc32(bomb.subarray(12, 29)), 29);
  await rejectsWith(decodeImage(bomb, 'bomb.png'), 'IMAGE_TOO_LARGE', /900\.0 megapixels/);
});

/** A minimal ICC v2 profile: the 128-byte header, one tag entry, a 'desc' tag holding `text` in ASCII. */
function iccV2WithDescription(text: string): Buffer {
  const icc = Buffer.alloc(144 + 12 + text.length + 1);
  icc.writeUInt32BE(1, 128); // tag count
  icc.write('desc', 132, 'latin1');
  icc.writeUInt32BE(144, 136); // tag offset
  icc.writeUInt32BE(icc.length - 144, 140); // tag size
  icc.write('desc', 144, 'latin1'); // tag type, then 4 reserved bytes
  icc.writeUInt32BE(text.length + 1, 152); // ASCII length with its NUL
  icc.write(text, 156, 'latin1');
  return icc;
}

test('colour profiles: an sRGB one is skipped (sRGB → sRGB is the identity), others are converted to sRGB', async () => {
  const width = 16;
  const height = 16;
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37 + (i >> 5)) % 256;
  const tagged = (profile: string) =>
    sharp(raw, { raw: { width, height, channels: 3 } })
      .withIccProfile(profile)
      .png()
      .toBuffer();
  const srgb = await tagged('srgb');
  const p3 = await tagged('p3');
  // Descriptions: libvips' own profiles are ICC v4 ('mluc' text), the classic HP sRGB profile is v2 ('desc').
  assert.equal(iccDescription((await sharp(srgb).metadata()).icc!), 'sRGB');
  assert.equal(iccDescription((await sharp(p3).metadata()).icc!), 'sP3C');
  assert.equal(iccDescription(iccV2WithDescription('sRGB IEC61966-2.1')), 'sRGB IEC61966-2.1');
  assert.equal(isSrgbProfile(iccV2WithDescription('sRGB IEC61966-2.1')), true);
  assert.equal(isSrgbProfile(iccV2WithDescription('Adobe RGB (1998)')), false);
  assert.equal(isSrgbProfile(undefined), false);
  assert.equal(isSrgbProfile(iccV2WithDescription('sRGB IEC61966-2.1').subarray(0, 150)), false, 'a truncated profile is not trusted');

  // The shortcut's premise, checked against libvips' conversion: same pixels as converting the sRGB profile.
  const converted = (png: Buffer) => sharp(png).raw().toBuffer();
  const decodedSrgb = await decodeImage(srgb, 'srgb.png');
  assert.deepEqual(decodedSrgb.rgb, await converted(srgb));
  assert.deepEqual(decodedSrgb.rgb, raw);
  // A Display P3 image is still converted: its pixels are libvips' sRGB conversion, not the stored values.
  const decodedP3 = await decodeImage(p3, 'p3.png');
  assert.deepEqual(decodedP3.rgb, await converted(p3));
  assert.notDeepEqual(decodedP3.rgb, raw);
});

test('real photos decode (skipped without the shared CC0 images)', { skip: !hasSharedImages && 'no ../shared/images' }, async () => {
  for (const f of ['chelsea.png', 'rocket.jpg']) {
    const bytes = fs.readFileSync(path.join(sharedImages, f));
    const img = await decodeImage(bytes, f);
    assert.ok(img.width > 300 && img.height > 200);
    // chelsea.png carries the v2 "sRGB IEC61966-2.1" profile (skipped), rocket.jpg Adobe RGB (converted):
    // either way the pixels are those of libvips' full conversion to sRGB.
    assert.deepEqual(img.rgb, await sharp(bytes).rotate().raw().toBuffer(), f);
  }
});
