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
  return {
    images,
    batch,
    bareImagesPerSecond: median(bareIps),
    galleryImagesPerSecond: median(galleryIps),
    ratio,
    pairRatio,
    bareAll: bareIps,
    galleryAll: galleryIps,
  };
}
