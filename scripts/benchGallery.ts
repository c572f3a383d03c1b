// The gallery's throughput (`npm run bench`, also `node dist/bench.js --only gallery`): a folder of 64
// images through runGallery on a ViT-B/16-sized model with a dynamic batch axis, against the bare
// session.run of the same untapped model on the same batches (the pixels preprocessed beforehand), in the
// same process with the same onnxruntime threads, in alternating passes. Images per second each; the
// target is gallery ≥ 0.9 × bare.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { runGallery } from '../src/analyses/gallery/pipeline';
import { decodeImage, preprocess } from '../src/core/image/image';
import { loadVitModel } from '../src/core/model/vitModel';
import { inferenceThreads } from '../src/core/onnx/threads';
import { defaultFixtureDir, ensureFixture } from '../test/fixtures/builders/writeFixtures';
import { median, root } from './benchUtil';

export async function benchGallery(image: string, images = 64, batch = 8, passes = 5): Promise<Record<string, unknown>> {
  console.log(`\nbuilding/loading the ViT-B/16-sized model with a dynamic batch axis (first time ≈ 350 MB)…`);
  const modelPath = ensureFixture('vit-b16-batch', defaultFixtureDir(root));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vit-lens-bench-gallery-'));
  const bytes = fs.readFileSync(image);
  const ext = path.extname(image);
  for (let i = 0; i < images; i++) fs.writeFileSync(path.join(dir, `img${String(i).padStart(3, '0')}${ext}`), bytes);

  const model = await loadVitModel(modelPath); // tapped: attention of every layer, as the gallery needs
  const img = await decodeImage(bytes, path.basename(image));
  const pre = await preprocess(img, model.files.preprocessor, model.inputSize, true);
  const bare = await ort.InferenceSession.create(fs.readFileSync(modelPath), {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: inferenceThreads(),
    extra: { session: { model_external_initializers_file_folder_path: path.dirname(modelPath) } },
  } as ort.InferenceSession.SessionOptions);
  const plane = pre.pixels.length;
  const batchPixels = new Float32Array(batch * plane);
  for (let b = 0; b < batch; b++) batchPixels.set(pre.pixels, b * plane);
  const feeds = { [bare.inputNames[0]]: new ort.Tensor('float32', batchPixels, [batch, 3, pre.height, pre.width]) };
  await bare.run(feeds); // warm-up
  await runGallery({ source: dir, modelPath, batchSize: batch }, async () => model); // warm-up

  const bareIps: number[] = [];
  const galleryIps: number[] = [];
  for (let p = 0; p < passes; p++) {
    const t0 = performance.now();
    for (let done = 0; done < images; done += batch) await bare.run(feeds);
    bareIps.push(images / ((performance.now() - t0) / 1000));
    const s = await runGallery({ source: dir, modelPath, batchSize: batch }, async () => model);
    if (s.failed) throw new Error(`${s.failed} images failed`);
    galleryIps.push(s.imagesPerSecond);
  }
  await bare.release();
  await model.session.release();
  fs.rmSync(dir, { recursive: true, force: true });
  const ratio = median(galleryIps) / median(bareIps);
  // The VM's speed drifts (other work on its 2 cores): each gallery pass against the bare pass just before it.
  const pairRatio = median(galleryIps.map((g, i) => g / bareIps[i]));
  console.log(`gallery: ${images} images, batch ${batch}, ${passes} passes each (medians), onnxruntime threads ${inferenceThreads()}`);
  console.log(`bare session.run (untapped)   ${median(bareIps).toFixed(2)} images/s`);
  console.log(`gallery (decode → summary)    ${median(galleryIps).toFixed(2)} images/s`);
  console.log(
    `ratio gallery / bare          ${ratio.toFixed(3)} of the medians, ${pairRatio.toFixed(3)} median of adjacent passes   (target ≥ 0.9)`,
  );
  console.log(
    `  passes, images/s: bare ${bareIps.map((v) => v.toFixed(2)).join(' ')}; gallery ${galleryIps.map((v) => v.toFixed(2)).join(' ')}`,
  );
  const memory = await benchGalleryMemory(bytes);
  return {
    images,
    batch,
    memory,
    bareImagesPerSecond: median(bareIps),
    galleryImagesPerSecond: median(galleryIps),
    ratio,
    pairRatio,
    bareAll: bareIps,
    galleryAll: galleryIps,
  };
}

/**
 * "Memory stays flat over 1,000 images": a folder of 1,000 hard links to one small JPEG (no disk cost)
 * through runGallery on the tiny batched ViT, the process's RSS, V8 heap and array buffers sampled as
 * entries stream out. The caller here keeps nothing (the CLI writes each entry out; what a caller keeps
 * is its own, a few kB an entry): the pipeline itself must keep nothing per image.
 */
async function benchGalleryMemory(photo: Buffer, images = 1000, batch = 8): Promise<Record<string, unknown>> {
  const sharp = (await import('sharp')).default;
  const small = await sharp(photo).resize({ width: 320 }).jpeg({ quality: 85 }).toBuffer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vit-lens-bench-gallery-1000-'));
  const first = path.join(dir, 'img0000.jpg');
  fs.writeFileSync(first, small);
  for (let i = 1; i < images; i++) fs.linkSync(first, path.join(dir, `img${String(i).padStart(4, '0')}.jpg`));
  const modelPath = ensureFixture('vit-tiny-batch', defaultFixtureDir(root));
  const model = await loadVitModel(modelPath);
  const mb = (n: number) => n / 2 ** 20;
  const samples: { entries: number; rssMb: number; heapMb: number; arrayBuffersMb: number }[] = [];
  let entries = 0;
  let entryBytes = 0;
  const t0 = performance.now();
  const summary = await runGallery(
    { source: dir, modelPath, batchSize: batch },
    async () => model,
    undefined,
    (p) => {
      if (p.kind !== 'entry') return;
      entries++;
      if ('rollout' in p.entry && p.entry.rollout) entryBytes += p.entry.rollout.length * 4;
      if ([50, 100, 250, 500, 750, 1000].includes(entries)) {
        const m = process.memoryUsage();
        samples.push({ entries, rssMb: mb(m.rss), heapMb: mb(m.heapUsed), arrayBuffersMb: mb(m.arrayBuffers) });
      }
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  await model.session.release();
  fs.rmSync(dir, { recursive: true, force: true });
  const at = (n: number) => samples.find((x) => x.entries === n)!;
  const growth = (k: 'rssMb' | 'heapMb' | 'arrayBuffersMb') => at(1000)[k] - at(100)[k];
  const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;
  console.log(
    `gallery memory: ${summary.count} images (${summary.failed} failed) in ${seconds.toFixed(1)} s on the tiny batched ViT; ` +
      `RSS / heap / array buffers (MB) at ${samples.map((x) => `${x.entries}: ${x.rssMb.toFixed(0)} / ${x.heapMb.toFixed(0)} / ${x.arrayBuffersMb.toFixed(1)}`).join(', ')}`,
  );
  console.log(
    `  100 → 1,000 images: RSS ${signed(growth('rssMb'))} MB, heap ${signed(growth('heapMb'))} MB, array buffers ${signed(growth('arrayBuffersMb'))} MB ` +
      `(the entries' rollout maps, not kept here, total ${mb(entryBytes).toFixed(2)} MB)`,
  );
  return { images: summary.count, failed: summary.failed, seconds, samples, rssGrowthMb: growth('rssMb'), heapGrowthMb: growth('heapMb') };
}
