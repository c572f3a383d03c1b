// The dense pipeline in-process (src/core/densePipeline.ts) on the tiny DPT fixtures and on small graphs
// built for the bad cases: depth and segmentation results, the four neck levels found by name and by
// shape (the same maths must give the same features), fixed and dynamic inputs, output buffers,
// the attention budget, and every wrong model or broken output → a specific error or a handled result.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { runDensePipeline, runDenseShapes } from '../../../../src/analyses/dense/pipeline';
import { runPlaced } from '../../../../src/core/placedOutputs';
import { stackAttention } from '../../../../src/core/pipeline/attentionOutputs';
import { denseJson } from '../../../../src/analyses/dense/json';
import type { DensePanelResult } from '../../../../src/analyses/dense/messages';
import { VitLensError } from '../../../../src/shared/errors';
import { LoadedModel, loadVitModel } from '../../../../src/core/model/vitModel';
import { GraphBuilder } from '../../../../src/core/onnx/onnxWriter';
import { sampleScenePng, writeSampleScene } from '../../../fixtures/builders/sampleImages';
import { buildDpt, tinyDptSpec } from '../../../fixtures/builders/tinyDpt';
import type { DenseResult, DenseTask } from '../../../../src/analyses/dense/types';
import { assertRowsSumToOne, fixtureModels, maxAbsDiff, tempDir } from '../../support';

let dir: string;
let scene: string;
const loaded = new Map<string, Promise<LoadedModel>>();
const get = (p: string) => {
  if (!loaded.has(p)) loaded.set(p, loadVitModel(p));
  return loaded.get(p)!;
};
const run = (modelPath: string, task: DenseTask, imagePath = scene, opts = {}) =>
  runDensePipeline({ imagePath, modelPath, task }, get, undefined, opts);

before(async () => {
  dir = tempDir('vit-lens-dense-');
  scene = await writeSampleScene(dir);
});
after(async () => {
  for (const m of loaded.values()) await (await m.catch(() => undefined))?.session.release();
});

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VitLensError, `expected VitLensError, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(`${e.message} ${e.hint ?? ''}`, pattern);
    return true;
  });
}

/** Writes a graph as <dir>/<name>/model.onnx and returns the path. */
function writeGraph(name: string, g: GraphBuilder): string {
  fs.mkdirSync(path.join(dir, name), { recursive: true });
  const file = path.join(dir, name, 'model.onnx');
  fs.writeFileSync(file, g.build().model);
  return file;
}

/** pixel_values [1,3,32,32] → mean over channels [1,1,32,32] → `make` → output `predicted_depth` with `dims`. */
function depthGraph(name: string, make: (g: GraphBuilder, mean: string) => string, dims: (number | string)[]): string {
  const g = new GraphBuilder();
  const x = g.input('pixel_values', [1, 3, 32, 32]);
  const mean = g.op1('ReduceMean', [x], { axes: [1], keepdims: 1 });
  g.op('Identity', [make(g, mean)], {}, { outputNames: ['predicted_depth'] });
  g.output('predicted_depth', dims);
  return writeGraph(name, g);
}

function brightness(png: Buffer, w: number, h: number): Promise<Buffer> {
  return sharp(png).resize(w, h, { fit: 'fill' }).greyscale().raw().toBuffer();
}

/** Pearson correlation. */
function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let sa = 0,
    sb = 0,
    saa = 0,
    sbb = 0,
    sab = 0;
  for (let i = 0; i < n; i++) {
    sa += a[i];
    sb += b[i];
    saa += a[i] * a[i];
    sbb += b[i] * b[i];
    sab += a[i] * b[i];
  }
  return (sab - (sa * sb) / n) / Math.sqrt((saa - (sa * sa) / n) * (sbb - (sb * sb) / n));
}

function checkFeatures(r: DenseResult, input: [number, number]): void {
  assert.equal(r.features.length, 4);
  r.features.forEach((f, i) => {
    assert.equal(f.stride, 4 * 2 ** i);
    assert.deepEqual([f.height, f.width], [input[0] / f.stride, input[1] / f.stride]);
    assert.equal(f.rgb.length, f.height * f.width * 3);
    assert.ok(f.explained[0] >= f.explained[1] && f.explained[1] >= f.explained[2] && f.explained[0] > 0);
    assert.ok(f.explained[0] + f.explained[1] + f.explained[2] <= 1 + 1e-9);
    assert.ok(new Set(f.rgb).size > 10, 'the PCA image has structure');
    assert.match(f.name, new RegExp(`^reassemble 1/${f.stride} \\(layer ${i + 1}\\)$`));
  });
}

test('depth on a fixed-size DPT: raw and view maps, range, attention of every layer, four neck levels by name', async () => {
  const r = await run(fixtureModels()['dpt-tiny-depth'], 'depth');
  const d = r.depth!;
  assert.equal(r.task, 'depth');
  assert.equal(r.segmentation, undefined);
  assert.deepEqual([d.rawHeight, d.rawWidth, d.raw.length], [128, 128, 128 * 128]);
  assert.deepEqual([r.view.width, r.view.height, d.view.length], [448, 336, 448 * 336]);
  assert.deepEqual(r.view.sourceRect, [0, 0, 448, 336]);
  assert.deepEqual(r.model.inputSize, [128, 128]);
  assert.deepEqual(r.grid, [8, 8]);
  assert.ok(d.min > 0 && d.min <= d.p2 && d.p2 < d.p98 && d.p98 <= d.max);
  assert.equal(d.min, Math.min(...d.raw));
  assert.equal(d.max, Math.max(...d.raw));
  // The fixture's depth follows brightness (its weights pass the colour channels through): a real map.
  assert.ok(correlation(d.raw, await brightness(fs.readFileSync(scene), 128, 128)) > 0.6);
  assert.ok(correlation(d.view, await brightness(fs.readFileSync(scene), 448, 336)) > 0.6);
  assert.deepEqual([r.attention!.layers, r.attention!.heads, r.attention!.tokens], [4, 2, 65]);
  assertRowsSumToOne(r.attention!, 1e-4);
  assert.equal(r.model.attentionSource, 'tapped');
  assert.deepEqual(r.model.specialTokens, { cls: true, distillation: false, registers: 0 });
  assert.equal(r.firstPatchToken, 1);
  checkFeatures(r, [128, 128]);
  assert.deepEqual(r.notes, []);
  const t = r.timingsMs;
  assert.ok(t.total >= t.decode + t.preprocess + t.inference + t.postprocess - 1e-6);
});

test('segmentation with 150 ADE20K classes: labels at the view size, classes by area with names and palette', async () => {
  const r = await run(fixtureModels()['dpt-tiny-segmentation'], 'segmentation');
  const s = r.segmentation!;
  assert.equal(r.depth, undefined);
  assert.equal(s.numClasses, 150);
  assert.deepEqual([s.rawHeight, s.rawWidth], [128, 128]);
  assert.equal(s.labels.length, 448 * 336);
  assert.ok(s.classes.length >= 3, `${s.classes.length} classes`);
  assert.ok(Math.abs(s.classes.reduce((a, c) => a + c.area, 0) - 1) < 1e-9);
  for (let i = 1; i < s.classes.length; i++) assert.ok(s.classes[i - 1].area >= s.classes[i].area);
  const counts = new Map<number, number>();
  for (const l of s.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  for (const c of s.classes) {
    assert.equal(c.area, counts.get(c.id)! / s.labels.length);
    assert.notEqual(c.name, `class ${c.id}`, 'names from the ADE20K id2label');
  }
  checkFeatures(r, [128, 128]);
});

test('dynamic input: the image keeps its aspect ratio (multiples of 32), outputs follow the input size', async () => {
  const r = await run(fixtureModels()['dpt-tiny-depth-dynamic'], 'depth');
  // 448×336 image, size 128, multiple 32: height scale 0.381 vs width 0.286 → fit height: 128 × 170.7 → 160.
  assert.deepEqual(r.model.inputSize, [128, 160]);
  assert.deepEqual(r.grid, [8, 10]);
  assert.deepEqual([r.depth!.rawHeight, r.depth!.rawWidth], [128, 160]);
  assert.equal(r.attention!.tokens, 81);
  checkFeatures(r, [128, 160]);
  // A tall image: portrait input.
  const tall = path.join(dir, 'tall.png');
  await sharp(await sampleScenePng())
    .rotate(90)
    .toFile(tall);
  const rt = await run(fixtureModels()['dpt-tiny-depth-dynamic'], 'depth', tall);
  assert.deepEqual(rt.model.inputSize, [160, 128]);
  assert.deepEqual([rt.view.width, rt.view.height], [336, 448]);
});

test('neck by shape (generic node names) gives exactly the features found by name on the same model', async () => {
  const spec = tinyDptSpec({ task: 'depth', height: 96, width: 128, seed: 7 });
  const write = (name: string, names: 'hf' | 'generic') => {
    const built = buildDpt({ ...spec, names });
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    fs.writeFileSync(path.join(dir, name, 'config.json'), JSON.stringify(built.config));
    fs.writeFileSync(path.join(dir, name, 'model.onnx'), built.model);
    return path.join(dir, name, 'model.onnx');
  };
  const named = write('dpt-named', 'hf');
  const generic = write('dpt-generic', 'generic');
  assert.equal((await get(named)).dense?.neckSource, 'names');
  assert.equal((await get(generic)).dense?.neckSource, 'shape');
  assert.equal((await get(generic)).dense?.depthOutput, 'output', 'the depth output found by shape: [1, 96, 128]');
  const a = await run(named, 'depth');
  const b = await run(generic, 'depth');
  assert.equal((await get(generic)).dense?.neckChosen?.length, 4);
  assert.ok(maxAbsDiff(a.depth!.raw, b.depth!.raw) < 1e-5);
  assert.equal(b.features.length, 4);
  a.features.forEach((f, i) => {
    assert.deepEqual(
      [b.features[i].stride, b.features[i].channels, b.features[i].height, b.features[i].width],
      [f.stride, f.channels, f.height, f.width],
    );
    assert.ok(maxAbsDiff(b.features[i].rgb, f.rgb) <= 1, `level ${i} RGB`);
    assert.ok(maxAbsDiff(b.features[i].explained, f.explained) < 1e-5);
  });
  // A second run uses only the four chosen outputs and gives the same result.
  const b2 = await run(generic, 'depth');
  assert.deepEqual(
    b2.features.map((f) => f.rgb),
    b.features.map((f) => f.rgb),
  );
  // The registered generic fixture (96×128) works too.
  checkFeatures(await run(fixtureModels()['dpt-tiny-depth-generic'], 'depth'), [96, 128]);
});

test('repeated runs write into fresh buffers (results are kept by the engine) and give identical results; the attention budget', async () => {
  const model = fixtureModels()['dpt-tiny-depth'];
  const first = await run(model, 'depth');
  const firstAttention = Float32Array.from(first.attention!.data);
  const second = await run(model, 'depth'); // shapes recorded after the first run: written in place
  const third = await run(model, 'depth');
  assert.deepEqual(third.depth!.raw, first.depth!.raw);
  assert.deepEqual(third.attention!.data, firstAttention);
  assert.deepEqual(second.attention!.data, firstAttention, 'an earlier result is not overwritten by a later run');
  assert.notEqual(third.attention!.data.buffer, second.attention!.data.buffer);
  assertRowsSumToOne(third.attention!, 1e-4);
  assert.deepEqual(
    third.features.map((f) => f.rgb),
    first.features.map((f) => f.rgb),
  );
  const small = await run(model, 'depth', scene, { attentionBudgetBytes: 1000 });
  assert.equal(small.attention, undefined);
  assert.match(small.notes.join(' '), /attention is left out: 4 layers × 2 heads × 65² tokens/);
  assert.deepEqual(small.depth!.raw, first.depth!.raw);
  assert.deepEqual([small.model.numLayers, small.model.numHeads], [0, 0]);
});

test('attention shapes only (the CLI): one layer tapped and fetched, the same document as the full run; the map first', async () => {
  const modelPath = fixtureModels()['dpt-tiny-depth'];
  const full = await run(modelPath, 'depth');
  const lastOnly = await loadVitModel(modelPath, { taps: 'last' });
  try {
    assert.equal(lastOnly.tappedLastOnly, true);
    assert.deepEqual(lastOnly.attentionOutputs, full.model.numLayers === 4 ? (await get(modelPath)).attentionOutputs : []);
    assert.ok(!lastOnly.session.outputNames.includes(lastOnly.attentionOutputs[0]), 'only the last layer is an output');
    const shapes = await runDenseShapes({ imagePath: scene, modelPath, task: 'depth' }, async () => lastOnly);
    assert.deepEqual(shapes.attention, { layers: 4, heads: 2, tokens: 65 });
    const withoutTimes = (r: DensePanelResult) => ({ ...denseJson(r), timingsMs: null });
    assert.deepEqual(withoutTimes(shapes), withoutTimes(full));
    assert.deepEqual(shapes.depth, full.depth);
    // The neck levels' numbers, not their images (the CLI draws none).
    assert.deepEqual(
      shapes.features,
      full.features.map((f) => ({ ...f, rgb: new Uint8Array(0) })),
    );
    // The full pipeline refuses a model that has only its last layer tapped.
    await rejectsWith(
      runDensePipeline({ imagePath: scene, modelPath, task: 'depth' }, async () => lastOnly),
      'INTERNAL',
    );
  } finally {
    await lastOnly.session.release();
  }
  // onMap: the map before the rest, equal to the final one; features and attention follow.
  let first: Omit<DenseResult, 'attention'> | undefined;
  const r = await runDensePipeline({ imagePath: scene, modelPath, task: 'depth' }, get, undefined, {
    onMap: (m) => {
      first = m;
    },
  });
  assert.ok(first);
  assert.deepEqual(first.depth, r.depth);
  assert.deepEqual(first.features, []);
  assert.equal((first as DenseResult).attention, undefined);
  assert.deepEqual([first.model.numLayers, first.model.numHeads], [4, 2]);
  assert.deepEqual(first.view, r.view);
  assert.ok(r.postprocessMs && r.postprocessMs.features >= 0 && r.postprocessMs.total <= r.timingsMs.postprocess + 1e-6);
});

test('first run: the attention layers placed from the guessed shape equal the stacked outputs; a wrong guess runs unplaced', async () => {
  const modelPath = fixtureModels()['dpt-tiny-depth'];
  const model = await loadVitModel(modelPath); // fresh: no shapes recorded
  try {
    const input = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 3 * 128 * 128 }, (_, i) => Math.sin(i / 50)),
      [1, 3, 128, 128],
    );
    const names = [model.dense!.depthOutput!, ...model.attentionOutputs];
    const guess = { names: model.attentionOutputs, heads: 2, tokens: 65 };
    const placed = await runPlaced(model, input, names, guess);
    const stacked = stackAttention(placed.outputs, model.attentionOutputs);
    assert.ok(placed.attention);
    assert.deepEqual([placed.attention.layers, placed.attention.heads, placed.attention.tokens], [4, 2, 65]);
    assert.deepEqual(placed.attention.data, stacked.data);
    const wrong = await runPlaced(model, input, names, { ...guess, heads: 3 });
    assert.equal(wrong.attention, undefined);
    assert.deepEqual(stackAttention(wrong.outputs, model.attentionOutputs).data, stacked.data);
    assert.deepEqual(wrong.outputs[names[0]].data, placed.outputs[names[0]].data);
    // The pipeline's guess for this model is that shape.
    const r = await runDensePipeline({ imagePath: scene, modelPath, task: 'depth' }, async () => model);
    assert.deepEqual([r.attention!.layers, r.attention!.heads, r.attention!.tokens], [4, 2, 65]);
  } finally {
    await model.session.release();
  }
});

test('wrong models: a ViT classifier, a CNN, a depth model for segmentation and the reverse → MODEL_WRONG_TASK', async () => {
  const m = fixtureModels();
  await rejectsWith(run(m['vit-tiny'], 'depth'), 'MODEL_WRONG_TASK', /image classifier.*predicted_depth.*Show Attention/s);
  await rejectsWith(run(m['vit-tiny'], 'segmentation'), 'MODEL_WRONG_TASK', /image classifier/);
  await rejectsWith(run(m['cnn-tiny'], 'depth'), 'MODEL_WRONG_TASK', /no transformer backbone/);
  await rejectsWith(run(m['dpt-tiny-depth'], 'segmentation'), 'MODEL_WRONG_TASK', /is a depth model.*Run DPT Depth/s);
  await rejectsWith(run(m['dpt-tiny-segmentation'], 'depth'), 'MODEL_WRONG_TASK', /is a segmentation model.*Run DPT Segmentation/s);
  await rejectsWith(
    runDensePipeline({ imagePath: scene, modelPath: m['dpt-tiny-depth'], task: 'normals' as DenseTask }, get),
    'BAD_REQUEST',
  );
});

test('broken outputs: unexpected rank and all-NaN → MODEL_BAD_OUTPUT; a graph without attention or neck still gives depth, with notes', async () => {
  const rank5 = depthGraph('rank5', (g, mean) => g.op1('Unsqueeze', [mean, g.ints('axes', [0])]), [1, 1, 1, 32, 32]);
  await rejectsWith(run(rank5, 'depth'), 'MODEL_BAD_OUTPUT', /shape \[1, 1, 1, 32, 32\].*expected \[batch, height, width\]/);
  const nan = depthGraph(
    'nan',
    (g, mean) =>
      g.op1('Squeeze', [g.op1('Sqrt', [g.op1('Sub', [g.op1('Neg', [g.op1('Abs', [mean])]), g.scalar('one', 1)])]), g.ints('axes', [1])]),
    [1, 32, 32],
  );
  await rejectsWith(run(nan, 'depth'), 'MODEL_BAD_OUTPUT', /entirely NaN or infinite \(1024 values\)/);
  // [1,1,32,32] (rank 4, one channel) is accepted and squeezed.
  const plain = depthGraph('plain', (g, mean) => g.op1('Add', [mean, g.scalar('two', 2)]), [1, 1, 32, 32]);
  const r = await run(plain, 'depth');
  assert.deepEqual([r.depth!.rawHeight, r.depth!.rawWidth], [32, 32]);
  assert.equal(r.attention, undefined);
  assert.equal(r.features.length, 0);
  assert.match(r.notes.join('\n'), /No backbone attention: .*no attention/);
  assert.match(r.notes.join('\n'), /No neck features found/);
  assert.deepEqual([r.model.numLayers, r.model.numHeads], [0, 0]);
});

test('NaN and ±∞ in part of the depth: statistics over finite values, the view clamped, the raw map kept, a note', async () => {
  // depth = ln(mean of the normalised pixel): NaN where the image is dark (< 0), −∞ at exactly 0, finite elsewhere.
  const log = depthGraph('log', (g, mean) => g.op1('Squeeze', [g.op1('Log', [mean]), g.ints('axes', [1])]), [1, 32, 32]);
  const img = path.join(dir, 'half.png');
  const rgb = Buffer.alloc(32 * 32 * 3);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) rgb.fill(x < 16 ? 20 : 150 + 3 * y, (y * 32 + x) * 3, (y * 32 + x) * 3 + 3);
  await sharp(rgb, { raw: { width: 32, height: 32, channels: 3 } })
    .png()
    .toFile(img);
  const r = await run(log, 'depth', img);
  const d = r.depth!;
  const finite = Array.from(d.raw).filter(Number.isFinite);
  assert.equal(finite.length, 16 * 32);
  assert.ok(d.raw.slice(0, 16).every(Number.isNaN), 'the raw map keeps the NaNs');
  assert.equal(d.min, Math.min(...finite));
  assert.equal(d.max, Math.max(...finite));
  assert.ok(
    d.view.every((v) => Number.isFinite(v)),
    'the view has no NaN',
  );
  assert.ok(d.view.every((v) => v >= d.min - 1e-3 && v <= d.max + 1e-3 + 0.2 * (d.max - d.min)));
  assert.match(r.notes.join(' '), /512 of 1024 depth values are NaN or infinite/);
  // A flat map: handled, with a note.
  const flat = depthGraph(
    'flat',
    (g, mean) => g.op1('Squeeze', [g.op1('Add', [g.op1('Mul', [mean, g.scalar('zero', 0)]), g.scalar('three', 3)]), g.ints('axes', [1])]),
    [1, 32, 32],
  );
  const rf = await run(flat, 'depth');
  assert.deepEqual([rf.depth!.min, rf.depth!.max, rf.depth!.p2, rf.depth!.p98], [3, 3, 3, 3]);
  assert.ok(rf.depth!.view.every((v) => Math.abs(v - 3) < 1e-6));
  assert.match(rf.notes.join(' '), /flat/);
});

test('segmentation logits with NaN → MODEL_BAD_OUTPUT; an image over the pixel limit → IMAGE_TOO_LARGE; huge images are resized', async () => {
  const g = new GraphBuilder();
  const x = g.input('pixel_values', [1, 3, 16, 16]);
  const logits = g.op1('Sqrt', [g.op1('Concat', [x, x], { axis: 1 })]); // negative pixels → NaN; 6 "classes"
  g.op('Identity', [logits], {}, { outputNames: ['logits'] });
  g.output('logits', [1, 6, 16, 16]);
  await rejectsWith(run(writeGraph('nan-logits', g), 'segmentation'), 'MODEL_BAD_OUTPUT', /contain \d+ NaN or infinite values/);
  await rejectsWith(
    runDensePipeline({ imagePath: scene, modelPath: fixtureModels()['dpt-tiny-depth'], task: 'depth', maxPixels: 1000 }, get),
    'IMAGE_TOO_LARGE',
  );
  // 4000×250 on the dynamic model: capped at 4× the configured area, aspect ratio kept as far as possible.
  const wide = path.join(dir, 'wide.png');
  await sharp(await sampleScenePng())
    .resize(4000, 250, { fit: 'fill' })
    .toFile(wide);
  const r = await run(fixtureModels()['dpt-tiny-depth-dynamic'], 'depth', wide);
  const [h, w] = r.model.inputSize;
  assert.ok(h * w <= 4 * 128 * 128 && h % 32 === 0 && w % 32 === 0 && w / h >= 8, `${w}×${h}`);
  assert.match(r.notes.join(' '), /smaller size/);
  assert.equal(r.view.width, 1024);
  assert.equal(r.depth!.view.length, r.view.width * r.view.height);
  // The same image on the fixed model: stretched, with a note.
  const rf = await run(fixtureModels()['dpt-tiny-depth'], 'depth', wide);
  assert.deepEqual(rf.model.inputSize, [128, 128]);
  assert.match(rf.notes.join(' '), /stretched/);
});

test('neck PCA with the scatter matrix from onnxruntime equals the all-JS PCA (covariance and Gram paths)', async () => {
  const { pcaRgbOrt } = await import('../../../../src/analyses/dense/featurePca');
  const { pcaRgb } = await import('../../../../src/maths/dense');
  let s = 99;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  for (const [c, h, w] of [
    [24, 12, 10],
    [200, 6, 5],
    [16, 80, 70],
  ]) {
    const f = Float32Array.from({ length: c * h * w }, (_, i) => rand() + ((i % (h * w)) / (h * w)) * ((Math.floor(i / (h * w)) % 3) - 1));
    const js = pcaRgb(f, c, h, w);
    const ort = await pcaRgbOrt(f, c, h, w);
    assert.ok(maxAbsDiff(ort.explained, js.explained) < 1e-5, `${c}×${h}×${w} explained`);
    js.components.forEach((v, i) => assert.ok(maxAbsDiff(ort.components[i], v) < 1e-4, `${c}×${h}×${w} component ${i}`));
    assert.ok(maxAbsDiff(ort.rgb, js.rgb) <= 1, `${c}×${h}×${w} RGB within one level`);
  }
});

test('graph reading: neck names of HF DPT / Depth Anything and MiDaS, dense outputs by name and by shape, not ViT sequences', async () => {
  const { findNeckByName, findDenseOutputs, pickNeckByShape } = await import('../../../../src/core/model/dptModel');
  const node = (name: string, opType: string, inputs: string[], outputs: string[]) => ({
    name,
    opType,
    domain: '',
    inputs,
    outputs,
    attributes: {},
  });
  const hf = [0, 1, 2, 3].flatMap((i) => [
    node(`/neck/reassemble_stage/layers.${i}/projection/Conv`, 'Conv', [`t${i}`], [`p${i}`]),
    ...(i === 2 ? [] : [node(`/neck/reassemble_stage/layers.${i}/resize/Conv`, 'Conv', [`p${i}`], [`r${i}`])]),
  ]);
  assert.deepEqual(findNeckByName(hf), ['r0', 'r1', 'p2', 'r3']);
  const midas = [1, 2, 3, 4].flatMap((i) => [
    node(`/pretrained/act_postprocess${i}/act_postprocess${i}.0/Gather`, 'Gather', ['x'], [`g${i}`]),
    node(`/pretrained/act_postprocess${i}/act_postprocess${i}.3/Conv`, 'Conv', [`g${i}`], [`c${i}`]),
  ]);
  assert.deepEqual(findNeckByName(midas), ['c1', 'c2', 'c3', 'c4']);
  assert.equal(
    findNeckByName(hf.filter((n) => !n.name.includes('layers.0'))),
    undefined,
    'DPT-hybrid (identity levels 0, 1): no names, shape fallback',
  );

  const graph = (outputs: { name: string; dims: (number | string)[] }[]) => ({
    irVersion: 8,
    opsets: {},
    inputs: [],
    nodes: [],
    initializerNames: new Set<string>(),
    externalDataFiles: [],
    outputs: outputs.map((o) => ({ ...o, elemType: 1 })),
  });
  const input = { name: 'pixel_values', elemType: 1, dims: [1, 3, 384, 384] };
  assert.deepEqual(findDenseOutputs(graph([{ name: 'predicted_depth', dims: [1, 384, 384] }]), input, []), {
    depthOutput: 'predicted_depth',
    segmentationOutput: undefined,
  });
  assert.deepEqual(findDenseOutputs(graph([{ name: 'out', dims: [1, 1, 192, 192] }]), input, []), {
    depthOutput: 'out',
    segmentationOutput: undefined,
  });
  assert.deepEqual(findDenseOutputs(graph([{ name: 'logits', dims: [1, 150, 384, 384] }]), input, []), {
    depthOutput: undefined,
    segmentationOutput: 'logits',
  });
  assert.equal(findDenseOutputs(graph([{ name: 'logits', dims: [1, 1000] }]), input, []), undefined, 'a classifier');
  assert.equal(
    findDenseOutputs(graph([{ name: 'last_hidden_state', dims: [1, 577, 768] }]), input, []),
    undefined,
    'a ViT feature extractor',
  );
  assert.equal(
    findDenseOutputs(graph([{ name: 'features', dims: [1, 'sequence', 768] }]), { ...input, dims: [1, 3, 'h', 'w'] }, []),
    undefined,
  );
  assert.deepEqual(findDenseOutputs(graph([{ name: 'depth', dims: [1, 'h', 'w'] }]), { ...input, dims: [1, 3, 'h', 'w'] }, []), {
    depthOutput: 'depth',
    segmentationOutput: undefined,
  });

  // By shape: the inputs of the size-preserving convs that follow each level (not the projections inside).
  const shapeNodes = [
    node('sm', 'Softmax', ['a'], ['s']),
    node('proj0', 'Conv', ['img0'], ['p0']),
    node('up0', 'ConvTranspose', ['p0'], ['u0']),
    node('proj1', 'Conv', ['img1'], ['p1']),
    node('up1', 'ConvTranspose', ['p1'], ['u1']),
    node('proj2', 'Conv', ['img2'], ['p2']),
    node('proj3', 'Conv', ['img3'], ['p3']),
    node('down3', 'Conv', ['p3'], ['d3']),
    node('nc0', 'Conv', ['u0'], ['n0']),
    node('nc1', 'Conv', ['u1'], ['n1']),
    node('nc2', 'Conv', ['p2'], ['n2']),
    node('nc3', 'Conv', ['d3'], ['n3']),
  ];
  const dims = new Map<string, number[]>([
    ['p0', [1, 8, 4, 6]],
    ['u0', [1, 8, 16, 24]],
    ['p1', [1, 16, 4, 6]],
    ['u1', [1, 16, 8, 12]],
    ['p2', [1, 24, 4, 6]],
    ['p3', [1, 32, 4, 6]],
    ['d3', [1, 32, 2, 3]],
    ['n0', [1, 8, 16, 24]],
    ['n1', [1, 8, 8, 12]],
    ['n2', [1, 8, 4, 6]],
    ['n3', [1, 8, 2, 3]],
  ]);
  assert.deepEqual(pickNeckByShape(shapeNodes, dims, [4, 6]), ['u0', 'u1', 'p2', 'd3']);
  assert.equal(pickNeckByShape(shapeNodes.slice(0, 9), dims, [4, 6]), undefined, 'levels without a following conv: not found');
});
