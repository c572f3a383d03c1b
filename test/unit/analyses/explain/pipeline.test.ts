// The explain pipeline end to end (decode → attention run → masked runs → maps → perturbation test) on
// fixture models, against brute force: every occlusion window and every perturbation step run on its own
// (batch 1, a separate session) and averaged / ordered from the definitions. With a fixed batch axis
// (the PyTorch export) and a dynamic one (shapes-vit). Then the bad inputs and a cancel mid-way.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { runExplainPipeline } from '../../../../src/analyses/explain/pipeline';
import { loadMaskedModel, loadPixelFillModel, maskedLogits, type MaskedModel } from '../../../../src/analyses/explain/maskedModel';
import * as ort from 'onnxruntime-node';
import type { ExplainParams, ExplainPartial } from '../../../../src/analyses/explain/types';
import { ModelCache } from '../../../../src/core/engine/modelCache';
import { preprocess, decodeImage } from '../../../../src/core/image/image';
import { classProbability } from '../../../../src/maths/explain';
import { shapeScene } from '../../../../src/scenes';
import { VitLensError } from '../../../../src/shared/errors';
import { fixtureModels, maxAbsDiff, repoRoot, tempDir } from '../../support';

const torchVit = path.join(repoRoot, 'test', 'fixtures', 'torch-token-removal', 'vit');
const shapesVit = path.join(repoRoot, 'models', 'demo', 'shapes-vit');
const models = new ModelCache();
const masked = new ModelCache<MaskedModel>(2, loadMaskedModel);
const pixelFill = new ModelCache<MaskedModel>(1, loadPixelFillModel);
let dir: string;
let image: string;
const run = (p: Partial<ExplainParams> & { modelPath: string }, emit?: (x: ExplainPartial) => void, cancelAfter = Infinity) => {
  let n = 0;
  return runExplainPipeline(
    { imagePath: image, methods: ['occlusion'], ...p },
    (m) => models.get(m),
    (m) => (p.removal === 'pixel-fill' ? pixelFill.get(m) : masked.get(m)),
    {
      progress: () => {},
      checkCancelled: () => {
        if (++n > cancelAfter) throw new VitLensError('CANCELLED', 'Cancelled.');
      },
      emit: (x) => emit?.(x as ExplainPartial),
    },
  );
};

before(async () => {
  dir = tempDir('vit-lens-explain-');
  const s = shapeScene(2_000_003, { twoObjects: true });
  image = path.join(dir, 'scene.png');
  await sharp(Buffer.from(s.rgb), { raw: { width: s.width, height: s.height, channels: 3 } })
    .png()
    .toFile(image);
});
after(async () => {
  await models.clear();
  await masked.clear();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Brute force with its own session: p_c with each set of patches removed, one run each. */
async function bruteScores(modelPath: string, sets: number[][], target: number): Promise<number[]> {
  const m = await loadMaskedModel(modelPath);
  try {
    const img = await decodeImage(fs.readFileSync(image), 'scene.png');
    const pre = await preprocess(img, m.files.preprocessor, m.inputSize, !!m.fixedSize);
    const P = (pre.height / m.patchSize) * (pre.width / m.patchSize);
    const tokens = P + 1; // both models: CLS + patches
    const out: number[] = [];
    for (const s of sets) {
      const r = new Uint8Array(tokens);
      for (const j of s) r[1 + j] = 1;
      const [l] = await maskedLogits(m, pre.pixels, pre.height, pre.width, tokens, [r], 1);
      out.push(classProbability(l, target));
    }
    return out;
  } finally {
    await m.session.release();
  }
}

for (const [name, modelPath, w] of [
  ['PyTorch export, batch axis fixed', torchVit, 2],
  ['shapes-vit, batch axis dynamic', shapesVit, 3],
] as const) {
  test(`occlusion (w=${w}) and the perturbation curves equal brute force: ${name}`, async () => {
    const partial: ExplainPartial[] = [];
    const r = await run({ modelPath, window: w, target: 1 }, (x) => partial.push(x));
    assert.equal(r.removalExact, true);
    assert.equal(r.batch, modelPath === torchVit ? 1 : 16);
    const [gh, gw] = r.grid;
    const P = gh * gw;
    // Occlusion from the definition.
    const windows: number[][] = [];
    for (let i = 0; i + w <= gh; i++)
      for (let j = 0; j + w <= gw; j++) {
        const s: number[] = [];
        for (let a = i; a < i + w; a++) for (let b = j; b < j + w; b++) s.push(a * gw + b);
        windows.push(s);
      }
    const [p0, ...pw] = await bruteScores(modelPath, [[], ...windows], 1);
    assert.ok(Math.abs(p0 - r.target.probability) < 1e-6);
    const sum = new Float64Array(P);
    const cnt = new Float64Array(P);
    windows.forEach((s, k) => s.forEach((j) => ((sum[j] += p0 - pw[k]), cnt[j]++)));
    const occ = Array.from(sum, (v, j) => v / cnt[j]);
    assert.ok(maxAbsDiff(r.maps.occlusion!, occ) < 1e-5, `occlusion vs brute force: ${maxAbsDiff(r.maps.occlusion!, occ)}`);
    // The coarse pass came first, and partial maps ended on the full one.
    assert.equal(partial[0].kind === 'occlusion' && partial[0].pass, 'coarse');
    assert.ok(maxAbsDiff(partial[partial.length - 1].map, r.maps.occlusion!) === 0);
    // Perturbation curves of the occlusion and rollout maps from the definition.
    for (const m of ['occlusion', 'rollout'] as const) {
      const map = r.maps[m]!;
      const order = Array.from({ length: P }, (_, j) => j).sort((a, b) => map[b] - map[a] || a - b);
      const ks = Array.from({ length: 10 }, (_, i) => Math.floor((i * P) / 10));
      const pos = await bruteScores(
        modelPath,
        ks.map((k) => order.slice(0, k)),
        1,
      );
      const asc = Array.from({ length: P }, (_, j) => j).sort((a, b) => map[a] - map[b] || a - b);
      const neg = await bruteScores(
        modelPath,
        ks.map((k) => asc.slice(0, k)),
        1,
      );
      const f = r.faithfulness[m]!;
      assert.ok(maxAbsDiff(f.positive, pos) < 1e-5, `${m} positive`);
      assert.ok(maxAbsDiff(f.negative, neg) < 1e-5, `${m} negative`);
      const auc = (y: number[]) => 100 * y.slice(0, 9).reduce((a, v, i) => a + (0.1 * (v + y[i + 1])) / 2, 0);
      assert.ok(Math.abs(f.positiveAuc - auc(pos)) < 1e-3);
      assert.ok(Math.abs(f.negativeAuc - auc(neg)) < 1e-3);
    }
    assert.deepEqual(Object.keys(r.faithfulness).sort(), ['attention', 'occlusion', 'random', 'raw', 'rollout']);
  });
}

test('RISE and the one-patch deletion / insertion curves run, seeded (same seed, same map)', async () => {
  const a = await run({ modelPath: shapesVit, methods: ['rise'], samples: 64, seed: 3, stepCurves: true });
  const b = await run({ modelPath: shapesVit, methods: ['rise'], samples: 64, seed: 3 });
  assert.deepEqual(Array.from(a.maps.rise!), Array.from(b.maps.rise!));
  const f = a.faithfulness.rise!;
  assert.equal(f.deletion!.length, 65);
  assert.ok(Math.abs(f.deletion![0] - a.target.probability) < 1e-6, 'deletion starts from the full image');
  assert.ok(Math.abs(f.insertion![64] - a.target.probability) < 1e-6, 'insertion ends on the full image');
});

test('faithfulness: false (the compare view): the same occlusion map, no perturbation runs', async () => {
  const full = await run({ modelPath: shapesVit });
  const maps = await run({ modelPath: shapesVit, faithfulness: false });
  assert.deepEqual(Array.from(maps.maps.occlusion!), Array.from(full.maps.occlusion!));
  assert.deepEqual(maps.faithfulness, {});
  // Occlusion alone: the mask-free run plus one per sliding window (7×7 windows of 2×2 on the 8×8 grid).
  assert.equal(maps.runs, 1 + 49);
  assert.ok(full.runs > maps.runs);
});

test('a CNN with pixel-fill removal: single-cell occlusion equals brute force on a separate session; ViTs are refused it', async () => {
  const cnn = fixtureModels()['se-cnn-tiny'];
  const r = await run({ modelPath: cnn, removal: 'pixel-fill', window: 1 });
  assert.equal(r.removal, 'pixel-fill');
  assert.equal(r.removalExact, false);
  assert.match(r.removalNote ?? '', /mean colour/);
  assert.deepEqual(Object.keys(r.maps).sort(), ['occlusion', 'random']);
  assert.deepEqual(Object.keys(r.faithfulness).sort(), ['occlusion', 'random']);
  // Brute force: the input preprocessed as the model's, each 16-px cell set to 0 by hand, one plain run each.
  const files = (await pixelFill.get(cnn)).files;
  const pre = await preprocess(await decodeImage(fs.readFileSync(image), 'scene.png'), files.preprocessor, [128, 128], true);
  const session = await ort.InferenceSession.create(fs.readFileSync(cnn));
  const p = async (x: Float32Array) => {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, pre.height, pre.width]) });
    return classProbability(out[session.outputNames[0]].data as Float32Array, r.target.index);
  };
  const p0 = await p(pre.pixels);
  assert.ok(Math.abs(p0 - r.target.probability) < 1e-6, 'the fill-free run is the model’s own');
  const [gh, gw] = r.grid;
  assert.deepEqual(r.grid, [pre.height / 16, pre.width / 16]);
  const want = new Float32Array(gh * gw);
  for (let j = 0; j < gh * gw; j++) {
    const x = Float32Array.from(pre.pixels);
    const [r0, c0] = [Math.floor(j / gw) * 16, (j % gw) * 16];
    for (let c = 0; c < 3; c++)
      for (let y = r0; y < r0 + 16; y++) for (let xx = c0; xx < c0 + 16; xx++) x[c * pre.height * pre.width + y * pre.width + xx] = 0;
    want[j] = p0 - (await p(x));
  }
  assert.ok(maxAbsDiff(r.maps.occlusion!, want) < 1e-5, `pixel-fill occlusion vs brute force: ${maxAbsDiff(r.maps.occlusion!, want)}`);
  await session.release();
  const refused = await run({ modelPath: shapesVit, removal: 'pixel-fill' }).then(
    () => undefined,
    (e: VitLensError) => e,
  );
  assert.equal(refused?.code, 'BAD_REQUEST');
  assert.match(refused!.message, /removed exactly by key masking/);
});

test('bad input: a CNN, a fused model, a class out of range, an unknown label, samples 0, a cancel mid-way', async () => {
  const fx = fixtureModels();
  const code = async (p: Promise<unknown>, c: string) =>
    assert.equal(
      (
        (await p.then(
          () => undefined,
          (e: unknown) => e,
        )) as VitLensError | undefined
      )?.code,
      c,
    );
  await code(run({ modelPath: fx['cnn-tiny'] }), 'MODEL_NOT_VIT');
  await code(run({ modelPath: fx['fused-attention'] }), 'MODEL_FUSED_ATTENTION');
  await code(run({ modelPath: shapesVit, target: 6 }), 'CLASS_OUT_OF_RANGE');
  await code(run({ modelPath: shapesVit, target: 'hexagon' }), 'CLASS_UNKNOWN');
  await code(run({ modelPath: shapesVit, methods: ['rise'], samples: 0 }), 'BAD_REQUEST');
  await code(run({ modelPath: shapesVit, window: 9 }), 'BAD_REQUEST');
  // Labels are case-insensitive; a cancel after the coarse pass keeps what was emitted.
  const seen: ExplainPartial[] = [];
  await code(
    run({ modelPath: shapesVit, target: 'Ring', batch: 4 }, (x) => seen.push(x), 12),
    'CANCELLED',
  );
  assert.ok(seen.length >= 1 && seen[0].kind === 'occlusion' && seen[0].pass === 'coarse', 'the coarse map arrived before the cancel');
  // The sessions still work after all that.
  const ok = await run({ modelPath: shapesVit, target: 'ring', window: 4 });
  assert.equal(ok.target.label, 'ring');
});

test('a DPT depth model: the mean depth inside a region is explained; occlusion equals brute force; removal is said not to be exact', async () => {
  const dpt = fixtureModels()['dpt-tiny-depth'];
  const region: [number, number, number, number] = [16, 16, 80, 64];
  const r = await run({ modelPath: dpt, region, window: 2 });
  assert.equal(r.score, 'meanDepth');
  assert.equal(r.removalExact, false);
  assert.match(r.removalNote ?? '', /neck/);
  assert.deepEqual(r.region, region);
  // Brute force: each window removed on its own, the region's mean of predicted_depth.
  const m = await loadMaskedModel(dpt);
  try {
    const img = await decodeImage(fs.readFileSync(image), 'scene.png');
    const { planDenseInput, preprocessDense } = await import('../../../../src/core/image/dptPreprocess');
    const pre = await preprocessDense(img, m.files.preprocessor, planDenseInput(img.height, img.width, m.files.preprocessor, m).size);
    const [gh, gw] = r.grid;
    const tokens = r.tokens;
    const first = r.firstPatchToken;
    const mean = async (set: number[]) => {
      const rm = new Uint8Array(tokens);
      for (const j of set) rm[first + j] = 1;
      const [out] = await maskedLogits(m, pre.pixels, pre.height, pre.width, tokens, [rm], 1);
      const [h, w] = m.outputDims!.slice(-2);
      let s = 0;
      let n = 0;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          if (
            y >= Math.floor((16 * h) / img.height) &&
            y < Math.ceil((64 * h) / img.height) &&
            x >= Math.floor((16 * w) / img.width) &&
            x < Math.ceil((80 * w) / img.width)
          ) {
            s += out[y * w + x];
            n++;
          }
      return s / n;
    };
    const s0 = await mean([]);
    assert.ok(Math.abs(s0 - r.target.probability) < 1e-5);
    const sum = new Float64Array(gh * gw);
    const cnt = new Float64Array(gh * gw);
    for (let i = 0; i + 2 <= gh; i++)
      for (let j = 0; j + 2 <= gw; j++) {
        const set = [i * gw + j, i * gw + j + 1, (i + 1) * gw + j, (i + 1) * gw + j + 1];
        const d = s0 - (await mean(set));
        for (const k of set) {
          sum[k] += d;
          cnt[k]++;
        }
      }
    assert.ok(
      maxAbsDiff(
        r.maps.occlusion!,
        Array.from(sum, (v, k) => v / cnt[k]),
      ) < 1e-5,
    );
  } finally {
    await m.session.release();
  }
  const code = async (pr: Promise<unknown>) =>
    (
      (await pr.then(
        () => undefined,
        (e: unknown) => e,
      )) as VitLensError | undefined
    )?.code;
  assert.equal(await code(run({ modelPath: dpt, target: 1 })), 'BAD_REQUEST');
  assert.equal(await code(run({ modelPath: dpt, region: [0, 0, 999, 10] })), 'BAD_REQUEST');
  assert.equal(await code(run({ modelPath: shapesVit, region })), 'BAD_REQUEST');
});
