// The skeleton loader (core/onnx/skeleton.ts, used by core/model/vitModel.ts): a model tapped from its
// skeleton (large initializers read by onnxruntime from the file itself) computes exactly what the
// previous loader's session over the whole file's bytes with the same extra outputs computed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { loadVitModel } from '../../../../src/core/model/vitModel';
import { ElemType, addGraphOutputs, readOnnxModel } from '../../../../src/core/onnx/onnxModel';
import { readSkeleton } from '../../../../src/core/onnx/skeleton';
import { Rng } from '../../../../src/core/onnx/onnxWriter';
import { fixtureModels, maxAbsDiff, repoRoot, tempDir } from '../../support';

const torchVit = path.join(repoRoot, 'test', 'fixtures', 'torch-vit', 'logits-only', 'model.onnx');

/** Both sessions on one random input; every output of the tapped session compared. */
async function compareWithWholeBytes(modelPath: string): Promise<{ outputs: number; maxDiff: number }> {
  const model = await loadVitModel(modelPath);
  const whole = fs.readFileSync(model.files.onnxPath);
  const original = new Set(readOnnxModel(whole).outputs.map((o) => o.name));
  const added = model.session.outputNames.filter((n) => !original.has(n));
  // The previous loader: the file's bytes with the graph outputs appended, from memory.
  const old = await ort.InferenceSession.create(
    addGraphOutputs(
      whole,
      added.map((name) => ({ name, elemType: ElemType.FLOAT })),
    ),
    {
      graphOptimizationLevel: 'all',
      extra: { session: { model_external_initializers_file_folder_path: path.dirname(model.files.onnxPath) } },
    } as ort.InferenceSession.SessionOptions,
  );
  const [h, w] = model.inputSize;
  const x = new ort.Tensor('float32', new Rng(7).normals(3 * h * w, 1), [1, 3, h, w]);
  const a = await model.session.run({ [model.inputName]: x });
  const b = await old.run({ [model.inputName]: x });
  let maxDiff = 0;
  assert.deepEqual([...model.session.outputNames].sort(), [...old.outputNames].sort());
  for (const name of model.session.outputNames) {
    assert.deepEqual(a[name].dims, b[name].dims, name);
    maxDiff = Math.max(maxDiff, maxAbsDiff(a[name].data as Float32Array, b[name].data as Float32Array));
  }
  // The attention outputs are the tapped Softmax outputs, and there is at least one of them.
  assert.ok(model.attentionOutputs.length > 0 && model.attentionOutputs.every((n) => n in a));
  await Promise.all([model.session.release(), old.release()]);
  return { outputs: model.session.outputNames.length, maxDiff };
}

for (const name of [
  'vit-tiny',
  'vit-tiny-external',
  'deit-tiny-distilled',
  'vit-tiny-registers',
  'dpt-tiny-depth',
  'torch-vit logits-only',
]) {
  test(`skeleton-loaded tapped model equals the whole-bytes tapped model to 1e-6: ${name}`, async () => {
    const file = name === 'torch-vit logits-only' ? torchVit : fixtureModels()[name];
    const { outputs, maxDiff } = await compareWithWholeBytes(file);
    assert.ok(outputs >= 2);
    assert.ok(maxDiff <= 1e-6, `max |Δ| ${maxDiff}`);
  });
}

test("the skeleton has the model's structure, its large payloads as references into the file, and is small", () => {
  const file = fixtureModels()['vit-tiny'];
  const whole = fs.readFileSync(file);
  const sk = readSkeleton(file);
  const a = readOnnxModel(whole);
  const b = readOnnxModel(sk.model);
  assert.deepEqual(b.nodes, a.nodes);
  assert.deepEqual(b.inputs, a.inputs);
  assert.deepEqual(b.outputs, a.outputs);
  assert.deepEqual([...b.initializerNames], [...a.initializerNames]);
  assert.deepEqual(b.externalDataFiles, ['model.onnx']);
  assert.ok(sk.externalBytes > 0.9 * whole.length, `${sk.externalBytes} of ${whole.length} bytes left in the file`);
  assert.ok(sk.model.length < whole.length / 5, `skeleton ${sk.model.length} bytes`);
});

test('bytes that are not a protobuf, and a truncated model, give MODEL_NOT_ONNX', async () => {
  const dir = tempDir();
  const junk = path.join(dir, 'junk.onnx');
  fs.writeFileSync(junk, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  await assert.rejects(loadVitModel(junk), (e: Error & { code?: string }) => e.code === 'MODEL_NOT_ONNX');
  const cut = path.join(dir, 'cut.onnx');
  const whole = fs.readFileSync(fixtureModels()['vit-tiny']);
  fs.writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
  await assert.rejects(loadVitModel(cut), (e: Error & { code?: string }) => e.code === 'MODEL_NOT_ONNX');
});
