// Class-specific maps (`npm run bench`, also `node dist/bench.js --only explain`): on the ViT-B/16-sized
// model with a dynamic batch axis, key-masked runs (src/core/onnx/keyMask.ts) against bare session.run of
// the same untapped model on the same batch, in the same process with the same onnxruntime threads, in
// alternating blocks: images per second each (target: masked ≤ 1.05× bare time). Then the occlusion map
// through the explain pipeline: wall time of the coarse pass (non-overlapping 2×2 windows: 49 on the 14×14
// grid; target within 49 masked runs' time) and of the full stride-1 map.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadMaskedModel, maskedLogits } from '../src/analyses/explain/maskedModel';
import { runExplainPipeline } from '../src/analyses/explain/pipeline';
import type { ExplainPartial } from '../src/analyses/explain/types';
import { decodeImage, preprocess } from '../src/core/image/image';
import { loadVitModel } from '../src/core/model/vitModel';
import { inferenceThreads } from '../src/core/onnx/threads';
import { defaultFixtureDir, ensureFixture } from '../test/fixtures/builders/writeFixtures';
import { median, root } from './benchUtil';

export async function benchExplain(image: string, batch = 16, blocks = 5): Promise<Record<string, unknown>> {
  console.log(`\nbuilding/loading the ViT-B/16-sized model with a dynamic batch axis (first time ≈ 350 MB)…`);
  const modelPath = ensureFixture('vit-b16-batch', defaultFixtureDir(root));
  const masked = await loadMaskedModel(modelPath);
  const img = await decodeImage(fs.readFileSync(image), path.basename(image));
  const pre = await preprocess(img, masked.files.preprocessor, masked.inputSize, !!masked.fixedSize);
  const P = (pre.height / masked.patchSize) * (pre.width / masked.patchSize);
  const tokens = P + 1;
  const bare = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'all', intraOpNumThreads: inferenceThreads() });
  const plane = pre.pixels.length;
  const batchPixels = new Float32Array(batch * plane);
  for (let b = 0; b < batch; b++) batchPixels.set(pre.pixels, b * plane);
  const feeds = { [bare.inputNames[0]]: new ort.Tensor('float32', batchPixels, [batch, 3, pre.height, pre.width]) };
  // Masks as occlusion makes them: a 2×2 window each.
  const gw = pre.width / masked.patchSize;
  const removed = Array.from({ length: batch }, (_, b) => {
    const r = new Uint8Array(tokens);
    const row = Math.floor(b / (gw - 1));
    const col = b % (gw - 1);
    for (const j of [row * gw + col, row * gw + col + 1, (row + 1) * gw + col, (row + 1) * gw + col + 1]) r[1 + j] = 1;
    return r;
  });
  await bare.run(feeds);
  await maskedLogits(masked, pre.pixels, pre.height, pre.width, tokens, removed, batch); // warm-up
  const bareMs: number[] = [];
  const maskedMs: number[] = [];
  for (let k = 0; k < blocks; k++) {
    let t = performance.now();
    await bare.run(feeds);
    bareMs.push(performance.now() - t);
    t = performance.now();
    await maskedLogits(masked, pre.pixels, pre.height, pre.width, tokens, removed, batch);
    maskedMs.push(performance.now() - t);
  }
  await bare.release();
  const perRun = (ms: number[]) => median(ms) / batch;
  const ratio = median(maskedMs) / median(bareMs);
  console.log(`bare session.run, batch ${batch}         ${median(bareMs).toFixed(0)} ms (${(1000 / perRun(bareMs)).toFixed(1)} images/s)`);
  console.log(
    `key-masked runs, batch ${batch}          ${median(maskedMs).toFixed(0)} ms (${(1000 / perRun(maskedMs)).toFixed(1)} images/s)   ratio ${ratio.toFixed(3)} (target ≤ 1.05)`,
  );

  // The occlusion map through the pipeline (its attention run uses the tapped session, as in the engine).
  const tapped = await loadVitModel(modelPath);
  let coarseMs = NaN;
  const t0 = performance.now();
  const r = await runExplainPipeline(
    { imagePath: image, modelPath, methods: ['occlusion'], batch },
    async () => tapped,
    async () => masked,
    {
      progress: () => {},
      checkCancelled: () => {},
      emit: (x) => {
        const p = x as ExplainPartial;
        if (p.kind === 'occlusion' && p.pass === 'coarse' && Number.isNaN(coarseMs)) coarseMs = performance.now() - t0;
      },
    },
  );
  const total = performance.now() - t0;
  const budget = 49 * perRun(maskedMs);
  const coarseSincePipeline = coarseMs - r.timingsMs.decode - r.timingsMs.modelLoad - r.timingsMs.attention;
  console.log(
    `occlusion 2×2: coarse map after ${coarseMs.toFixed(0)} ms (${coarseSincePipeline.toFixed(0)} ms of masked runs; 49 masked runs' time ${budget.toFixed(0)} ms)`,
  );
  console.log(
    `occlusion 2×2: full map ${r.timingsMs.occlusion.toFixed(0)} ms; whole explain incl. the perturbation test of 5 maps ${total.toFixed(0)} ms, ${r.runs} masked runs`,
  );
  await tapped.session.release();
  await masked.session.release();
  return {
    model: 'vit-b16-batch',
    batch,
    bareBatchMs: median(bareMs),
    maskedBatchMs: median(maskedMs),
    ratio,
    coarseMapMs: coarseMs,
    coarseMaskedRunsMs: coarseSincePipeline,
    coarseBudgetMs: budget,
    occlusionMs: r.timingsMs.occlusion,
    explainTotalMs: total,
    runs: r.runs,
  };
}
