// SE-Net / CBAM gates: detection in the graph (SiLU and hard-swish are not gates), classification by
// runtime shape, depth order, and every gate's values against an independent computation — the
// fixture's own weights applied in plain TypeScript (float64) to the feature map U that entered the
// gate: s = gate(W₂·act(W₁·pool(U) + b₁) + b₂) for channel gates, σ(conv7×7([max_c U; mean_c U]) + b)
// for CBAM's spatial gate. Also the model-kind detection, the clear errors, the engine call and the CLI.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { EngineClient } from '../../../../src/client/engineClient';
import { runGatesPipeline, topChannelMaps, topIndices } from '../../../../src/analyses/gates/pipeline';
import { VitLensError } from '../../../../src/shared/errors';
import { decodeImage, preprocess, type PreprocessorConfig } from '../../../../src/core/image/image';
import {
  classifyGate,
  detectModelKind,
  findGateCandidates,
  loadGatesModel,
  topologicalRank,
  type LoadedGatesModel,
} from '../../../../src/analyses/gates/gatesModel';
import { readOnnxModel, type OnnxModelInfo } from '../../../../src/core/onnx/onnxModel';
import { GraphBuilder } from '../../../../src/core/onnx/onnxWriter';
import { writeSampleScene } from '../../../fixtures/builders/sampleImages';
import {
  HARD_SIGMOID,
  buildCbamCnn,
  buildSeCnn,
  type BuiltGateModel,
  type GateMlp,
  type GateReference,
} from '../../../fixtures/builders/tinyGates';
import type { GatesResult } from '../../../../src/analyses/gates/types';
import { cli, distDir, fixtureModels, maxAbsDiff, tempDir } from '../../support';

let dir: string;
let scene: string;
let stripes: string;
const loaded: LoadedGatesModel[] = [];

before(async () => {
  dir = tempDir('vit-lens-gates-');
  scene = await writeSampleScene(dir);
  // A second, very different picture: diagonal colour stripes.
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="160"><defs><pattern id="p" width="40" height="40" patternUnits="userSpaceOnUse" patternTransform="rotate(35)">
    <rect width="20" height="40" fill="#e53935"/><rect x="20" width="20" height="40" fill="#1e88e5"/></pattern></defs><rect width="200" height="160" fill="url(#p)"/><circle cx="140" cy="60" r="30" fill="#fdd835"/></svg>`;
  stripes = path.join(dir, 'stripes.png');
  fs.writeFileSync(stripes, await (await import('sharp')).default(Buffer.from(svg)).png().toBuffer());
});
after(async () => {
  for (const m of loaded) await m.session.release();
});

async function load(modelPath: string): Promise<LoadedGatesModel> {
  const m = await loadGatesModel(modelPath);
  loaded.push(m);
  return m;
}

async function rejectsCode(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VitLensError, String(e));
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(`${e.message} ${e.hint ?? ''}`, pattern);
    return true;
  });
}

// ---------------------------------------------------------------- the independent reference

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const hardSigmoid = (z: number) => Math.max(0, Math.min(1, HARD_SIGMOID.alpha * z + HARD_SIGMOID.beta));

/** GAP or global max pool of U [1, C, H, W] → C values. */
function pool(u: Float32Array, c: number, hw: number, kind: 'avg' | 'max'): number[] {
  return Array.from({ length: c }, (_, ch) => {
    let acc = kind === 'avg' ? 0 : -Infinity;
    for (let i = 0; i < hw; i++) acc = kind === 'avg' ? acc + u[ch * hw + i] : Math.max(acc, u[ch * hw + i]);
    return kind === 'avg' ? acc / hw : acc;
  });
}

/** z = W₂·act(W₁·p + b₁) + b₂ with [out, in] weights. */
function mlp(m: GateMlp, p: number[]): number[] {
  const hidden = Array.from({ length: m.hidden }, (_, j) => {
    let a = m.b1[j];
    for (let i = 0; i < m.channels; i++) a += m.w1[j * m.channels + i] * p[i];
    return m.activation === 'relu' ? Math.max(0, a) : a * sigmoid(a);
  });
  return Array.from({ length: m.channels }, (_, i) => {
    let z = m.b2[i];
    for (let j = 0; j < m.hidden; j++) z += m.w2[i * m.hidden + j] * hidden[j];
    return z;
  });
}

/** The gate a reference describes, computed from U [1, C, H, W]. */
function referenceGate(ref: GateReference, u: Float32Array, [, c, h, w]: readonly number[]): number[] {
  if (ref.kind === 'channel') {
    const z = new Array<number>(c).fill(0);
    for (const kind of ref.pools) mlp(ref.mlp, pool(u, c, h * w, kind)).forEach((v, i) => (z[i] += v));
    return z.map(ref.gate === 'sigmoid' ? sigmoid : hardSigmoid);
  }
  // [max_c; mean_c] → zero-padded k×k convolution → σ
  const k = ref.kernel;
  const r = (k - 1) / 2;
  const planes = [new Float64Array(h * w).fill(-Infinity), new Float64Array(h * w)];
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < h * w; i++) {
      planes[0][i] = Math.max(planes[0][i], u[ch * h * w + i]);
      planes[1][i] += u[ch * h * w + i] / c;
    }
  }
  const out: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let z = ref.bias;
      for (let p = 0; p < 2; p++) {
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy >= 0 && yy < h && xx >= 0 && xx < w) z += ref.weight[p * k * k + (dy + r) * k + (dx + r)] * planes[p][yy * w + xx];
          }
        }
      }
      out.push(sigmoid(z));
    }
  }
  return out;
}

/** U of every gate: the fixture built with exposeFeatures, run directly in onnxruntime on the same pixels. */
async function featureMaps(built: BuiltGateModel, image: string): Promise<ort.Tensor[]> {
  const pre = await preprocess(
    await decodeImage(fs.readFileSync(image), path.basename(image)),
    built.preprocessor as PreprocessorConfig,
    [128, 128],
    true,
  );
  const session = await ort.InferenceSession.create(built.model);
  try {
    const out = await session.run({ pixel_values: new ort.Tensor('float32', pre.pixels, [1, 3, pre.height, pre.width]) });
    return built.reference.map((r) => out[r.featureOutput]);
  } finally {
    await session.release();
  }
}

/** Runs the pipeline on a fixture and checks every gate against the reference recomputed from U. */
async function checkAgainstReference(
  fixture: string,
  build: (o: { exposeFeatures: boolean }) => BuiltGateModel,
  image: string,
): Promise<GatesResult> {
  const model = await load(fixtureModels()[fixture]);
  const r = await runGatesPipeline({ imagePath: image, modelPath: fixtureModels()[fixture], topChannels: 4 }, async () => model);
  const built = build({ exposeFeatures: true });
  const features = await featureMaps(built, image);
  assert.equal(r.gates.length, built.reference.length);
  r.gates.forEach((g, k) => {
    const ref = built.reference[k];
    const u = features[k];
    assert.equal(g.kind, ref.kind, `gate ${k} kind`);
    assert.deepEqual(g.featureShape, u.dims, `gate ${k} feature shape`);
    const expected = referenceGate(ref, u.data as Float32Array, u.dims);
    const diff = maxAbsDiff(g.values, expected);
    assert.ok(diff < 2e-5, `${fixture} gate ${k} (${g.node}): max |onnxruntime − reference| = ${diff}`);
    if (g.kind === 'channel') {
      const tc = g.topChannels!;
      assert.deepEqual(tc.channels, topIndices(expected, 4), 'top channels are the largest weights');
      const [, , h, w] = u.dims;
      tc.channels.forEach((c, i) =>
        assert.equal(
          maxAbsDiff(tc.maps.subarray(i * h * w, (i + 1) * h * w), (u.data as Float32Array).subarray(c * h * w, (c + 1) * h * w)),
          0,
        ),
      );
    } else {
      assert.equal(g.topChannels, undefined);
    }
  });
  return r;
}

/** The gates are informative: spread out, not all ≈ 0.5, and not saturated. */
function assertInformative(r: GatesResult): void {
  for (const g of r.gates) {
    const v = Array.from(g.values);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    assert.ok(sd > 0.1, `${g.node}: sd ${sd.toFixed(3)} — the gate barely varies`);
    assert.ok(
      v.some((x) => x > 0.02 && x < 0.98),
      `${g.node}: every value saturated`,
    );
  }
}

// ---------------------------------------------------------------- detection

test('SE-CNN: three channel gates in depth order; SiLU and hard-swish (x·σ(x), x·HardSigmoid(x)) are not gates', () => {
  const info = readOnnxModel(buildSeCnn().model);
  const sigmoids = info.nodes.filter((n) => n.opType === 'Sigmoid' || n.opType === 'HardSigmoid');
  assert.equal(sigmoids.length, 6, 'three gates + SiLU body + SiLU in the excitation + hard-swish body');
  const c = findGateCandidates(info);
  assert.deepEqual(
    c.map((g) => [g.node.replace(/_\d+$/, ''), g.op]),
    [
      ['/layer1/se/Sigmoid', 'Sigmoid'],
      ['/layer2/se/Sigmoid', 'Sigmoid'],
      ['/layer3/se/HardSigmoid', 'HardSigmoid'],
    ],
  );
  // The gate-first Mul of block 2 (Expand(Reshape(σ)) · U) still finds U as the feature map.
  const producer = new Map(info.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  assert.equal(producer.get(c[1].featureTensor)?.opType, 'Mul', 'block 2 gates the SiLU output');
  assert.equal(producer.get(c[1].gateTensor)?.opType, 'Sigmoid');
  assert.ok(c.every((g, i) => i === 0 || g.order > c[i - 1].order));
});

test('CBAM-CNN: channel then spatial gate per block; Unsqueeze·Unsqueeze·Expand paths and gate-first Muls', () => {
  const c = findGateCandidates(readOnnxModel(buildCbamCnn().model));
  assert.deepEqual(
    c.map((g) => g.node.replace(/_\d+$/, '')),
    ['/layer1/channel/Sigmoid', '/layer1/spatial/Sigmoid', '/layer2/channel/Sigmoid', '/layer2/spatial/Sigmoid'],
  );
  // The spatial gate multiplies the channel-gated map F' = F·Mc.
  assert.equal(c[1].featureTensor.startsWith('/layer1/channel/Mul'), true, c[1].featureTensor);
});

test('classifyGate: channel [N,C,1,1] / [N,C] / [N,C,1], spatial [N,1,H,W]; element-wise and mismatched products are not gates', () => {
  const u = [1, 64, 14, 14];
  assert.equal(classifyGate([1, 64, 1, 1], u), 'channel');
  assert.equal(classifyGate([1, 64], u), 'channel');
  assert.equal(classifyGate([1, 64, 1], u), 'channel');
  assert.equal(classifyGate([1, 1, 14, 14], u), 'spatial');
  assert.equal(classifyGate([1, 64, 14, 14], u), undefined, 'GLU-style element-wise gate');
  assert.equal(classifyGate([1, 32, 1, 1], u), undefined, 'channel count differs');
  assert.equal(classifyGate([1, 1, 7, 7], u), undefined, 'spatial size differs');
  assert.equal(classifyGate([1, 64], [1, 64]), undefined, 'a recurrent cell: no feature map');
  assert.equal(classifyGate([1, 1, 1, 1], [1, 1, 1, 1]), undefined, 'ambiguous 1×1×1');
  assert.equal(classifyGate([1, 64, 1, 1], [1, 64, 1, 1]), undefined, 'pooled features: no map to gate');
  assert.equal(classifyGate([2, 64, 1, 1], [4, 64, 14, 14]), undefined, 'batch mismatch');
});

test('products that are no gate: σ(x)·σ(x), σ(x)·constant', () => {
  const g = new GraphBuilder();
  const x = g.input('pixel_values', [1, 3, 8, 8]);
  const s1 = g.op1('Sigmoid', [x]);
  const sq = g.op1('Mul', [s1, s1]);
  const scaled = g.op1('Mul', [g.op1('Sigmoid', [sq]), g.scalar('scale', 2)]);
  g.output(g.op('Identity', [scaled], {}, { outputNames: ['y'] })[0], [1, 3, 8, 8]);
  assert.deepEqual(findGateCandidates(readOnnxModel(g.build().model)), []);
});

test('depth order comes from the graph, not the file order', () => {
  const info = readOnnxModel(buildCbamCnn().model);
  const reversed: OnnxModelInfo = { ...info, nodes: [...info.nodes].reverse() };
  const rank = topologicalRank(reversed);
  for (const n of reversed.nodes) {
    for (const i of n.inputs) {
      const p = reversed.nodes.find((m) => m.outputs.includes(i));
      if (p) assert.ok(rank.get(p)! < rank.get(n)!, `${p.name} before ${n.name}`);
    }
  }
  assert.deepEqual(
    findGateCandidates(reversed).map((g) => g.node),
    findGateCandidates(info).map((g) => g.node),
  );
});

test('detectModelKind: ViTs (tapped, outputs, fused) → vit; SE/CBAM → gates; a plain CNN → none with what ViT Lens can show', () => {
  const m = fixtureModels();
  assert.deepEqual([detectModelKind(m['vit-tiny']).kind, detectModelKind(m['vit-tiny']).attention], ['vit', 'softmax']);
  assert.equal(detectModelKind(m['vit-tiny-attn']).attention, 'outputs');
  assert.deepEqual([detectModelKind(m['fused-attention']).kind, detectModelKind(m['fused-attention']).attention], ['vit', 'fused']);
  assert.deepEqual([detectModelKind(m['se-cnn-tiny']).kind, detectModelKind(m['se-cnn-tiny']).gateCandidates], ['gates', 3]);
  // An HF folder resolves like the other loaders.
  assert.deepEqual(
    [detectModelKind(path.dirname(path.dirname(m['cbam-cnn-tiny']))).kind, detectModelKind(m['cbam-cnn-tiny']).gateCandidates],
    ['gates', 4],
  );
  const none = detectModelKind(m['cnn-tiny']);
  assert.equal(none.kind, 'none');
  assert.match(none.message!, /no attention and no SE\/CBAM gates/);
  assert.match(none.message!, /Softmax.*DPT.*SE-Net.*CBAM/s, 'lists the kinds of attention ViT Lens shows');
  assert.throws(
    () => detectModelKind(path.join(dir, 'missing.onnx')),
    (e: unknown) => e instanceof VitLensError && e.code === 'MODEL_NOT_FOUND',
  );
});

test('a CNN with no gates and a ViT get MODEL_NO_GATES with a message that says what to do', async () => {
  await rejectsCode(
    loadGatesModel(fixtureModels()['cnn-tiny']),
    'MODEL_NO_GATES',
    /no attention and no SE\/CBAM gates.*ViT Lens shows: self-attention.*DPT.*gates of CNNs/s,
  );
  await rejectsCode(loadGatesModel(fixtureModels()['vit-tiny']), 'MODEL_NO_GATES', /It has self-attention: use "ViT Lens: Show Attention"/);
});

test('Sigmoid products that gate neither channels nor positions (GLU) are dropped at run time with their shapes', async () => {
  // x [1,3,16,16] → a = Conv(x), b = Conv(x) → a·σ(b): shapes equal, a GLU, not attention.
  const g = new GraphBuilder();
  const x = g.input('pixel_values', [1, 3, 16, 16]);
  const conv = (p: string) =>
    g.op1('Conv', [x, g.weight(`${p}.w`, [4, 3, 1, 1], new Float32Array(12).fill(0.1)), g.weight(`${p}.b`, [4], new Float32Array(4))], {
      kernel_shape: [1, 1],
    });
  const y = g.op('Mul', [conv('a'), g.op1('Sigmoid', [conv('b')])], {}, { outputNames: ['y'] })[0];
  g.output(y, [1, 4, 16, 16]);
  const file = path.join(dir, 'glu.onnx');
  fs.writeFileSync(file, g.build().model);
  const model = await load(file);
  assert.equal(model.candidates.length, 1);
  await rejectsCode(
    runGatesPipeline({ imagePath: scene, modelPath: file }, async () => model),
    'MODEL_NO_GATES',
    /neither channels.*\[1, 4, 16, 16\] × \[1, 4, 16, 16\]/s,
  );
});

// ---------------------------------------------------------------- values

test('SE gates match σ(W₂·ReLU(W₁·GAP(U))) (and SiLU / HardSigmoid variants) computed independently, on two images', async () => {
  const a = await checkAgainstReference('se-cnn-tiny', buildSeCnn, scene);
  const b = await checkAgainstReference('se-cnn-tiny', buildSeCnn, stripes);
  assert.deepEqual(
    a.gates.map((g) => [g.kind, g.op, g.shape]),
    [
      ['channel', 'Sigmoid', [1, 16, 1, 1]],
      ['channel', 'Sigmoid', [1, 24]],
      ['channel', 'HardSigmoid', [1, 32, 1, 1]],
    ],
  );
  assertInformative(a);
  assertInformative(b);
  // The gates depend on the image.
  a.gates.forEach((g, k) => assert.ok(maxAbsDiff(g.values, b.gates[k].values) > 0.05, `${g.node} is the same on both images`));
  assert.equal(a.predictions?.length, 5);
  assert.equal(a.predictions![0].label.length > 0, true);
  assert.deepEqual(a.model.inputSize, [128, 128]);
});

test('CBAM gates match σ(MLP(avg) + MLP(max)) and σ(conv7×7([max_c; mean_c])) computed independently', async () => {
  const a = await checkAgainstReference('cbam-cnn-tiny', buildCbamCnn, scene);
  const b = await checkAgainstReference('cbam-cnn-tiny', buildCbamCnn, stripes);
  assert.deepEqual(
    a.gates.map((g) => [g.kind, g.shape]),
    [
      ['channel', [1, 16, 1, 1]],
      ['spatial', [1, 1, 64, 64]],
      ['channel', [1, 24]],
      ['spatial', [1, 1, 32, 32]],
    ],
  );
  assertInformative(a);
  assertInformative(b);
  a.gates.forEach((g, k) => assert.ok(maxAbsDiff(g.values, b.gates[k].values) > 0.05, `${g.node} is the same on both images`));
  // The spatial gate is a map over the whole input: the view image is the 448×336 picture, resized to 128×128.
  assert.deepEqual([a.view.width, a.view.height], [448, 336]);
});

test('top channels: the k largest weights, largest first, with their maps', () => {
  const u = Float32Array.from({ length: 4 * 2 * 3 }, (_, i) => i); // [1, 4, 2, 3]
  const t = topChannelMaps(Float32Array.of(0.2, 0.9, 0.2, 0.5), u, [1, 4, 2, 3], 3);
  assert.deepEqual(t.channels, [1, 3, 0]);
  assert.deepEqual(
    t.weights.map((w) => Number(w.toFixed(2))),
    [0.9, 0.5, 0.2],
  );
  assert.deepEqual([t.height, t.width], [2, 3]);
  assert.deepEqual(Array.from(t.maps), [6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5]);
});

// ---------------------------------------------------------------- engine and CLI

test('engine: modelKind and gates calls through the engine process', async () => {
  const client = new EngineClient({ enginePath: path.join(distDir, 'engine.js') });
  try {
    assert.equal((await client.request('modelKind', { modelPath: fixtureModels()['se-cnn-tiny'] })).kind, 'gates');
    assert.equal((await client.request('modelKind', { modelPath: fixtureModels()['vit-tiny'] })).kind, 'vit');
    const r = await client.request('gates', { imagePath: scene, modelPath: fixtureModels()['cbam-cnn-tiny'], topChannels: 2 });
    assert.equal(r.gates.length, 4);
    assert.ok(r.gates[1].values instanceof Float32Array, 'typed arrays cross the process boundary');
    assert.equal(r.gates[0].topChannels?.channels.length, 2);
    assert.ok(r.view.png.length > 1000);
    await assert.rejects(
      client.request('gates', { imagePath: scene, modelPath: fixtureModels()['cnn-tiny'] }),
      (e: Error & { code?: string }) => e.code === 'MODEL_NO_GATES',
    );
  } finally {
    client.dispose();
  }
});

test('CLI: vit-lens gates --json writes node, kind, shape and values per gate; no gates → exit 1 with the message', () => {
  const out = path.join(dir, 'cbam.json');
  const r = cli('gates', scene, '--model', fixtureModels()['cbam-cnn-tiny'], '--json', out, '--top', '3');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /2 channel gate\(s\), 2 spatial gate\(s\)/);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.deepEqual(Object.keys(j), ['image', 'model', 'predictions', 'gates', 'timingsMs']);
  assert.equal(j.predictions.length, 3);
  assert.deepEqual(
    j.gates.map((g: { kind: string }) => g.kind),
    ['channel', 'spatial', 'channel', 'spatial'],
  );
  for (const g of j.gates) {
    for (const key of ['node', 'kind', 'shape', 'values']) assert.ok(key in g, `gate has ${key}`);
    assert.equal(
      g.values.length,
      g.shape.reduce((a: number, b: number) => a * b, 1),
      `${g.node}: values cover the shape`,
    );
    assert.ok(g.values.every((v: number) => v >= 0 && v <= 1));
  }
  assert.deepEqual(j.gates[1].shape, [1, 1, 64, 64]);

  const none = cli('gates', scene, '--model', fixtureModels()['cnn-tiny']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no attention and no SE\/CBAM gates/);
  assert.match(none.stderr, /ViT Lens shows: self-attention/);
  assert.equal(cli('gates', scene).status, 2, 'missing --model is a usage error');
  assert.equal(cli('gates', scene, '--model', fixtureModels()['se-cnn-tiny'], '--channels', '-1').status, 2);
});
