// The key-mask surgery's graph (src/core/onnx/keyMask.ts) and the protobuf reading it relies on: one Add
// in front of every Softmax, fed by one new input, nothing else changed; negative int64 attributes (a
// Softmax's axis = −1) read exactly; pooled heads detected. The numerics are tokenRemoval.test.ts's.
import assert from 'node:assert/strict';
import test from 'node:test';
import { GraphBuilder } from '../../../../src/core/onnx/onnxWriter';
import { readOnnxModel } from '../../../../src/core/onnx/onnxModel';
import { KEY_MASK_INPUT, addKeyMask, pooledPatchHead } from '../../../../src/core/onnx/keyMask';

function graph(axis: number, pool: 'none' | 'tokens' | 'layernorm') {
  const g = new GraphBuilder();
  const x = g.input('x', [1, 2, 5, 5]);
  const s = g.op1('Softmax', [g.op1('Mul', [x, g.scalar('scale', 0.5)])], { axis });
  let y = g.op1('Reshape', [s, g.ints('shape', [1, 10, 5])]);
  if (pool === 'tokens') y = g.op1('ReduceMean', [y], { axes: [1], keepdims: 0 });
  if (pool === 'layernorm') y = g.op1('Sub', [y, g.op1('ReduceMean', [y], { axes: [-1] })]);
  g.op('Identity', [y], {}, { outputNames: ['logits'] });
  g.output('logits', [1, 5]);
  return g.build().model;
}

test('addKeyMask: an Add of the new input before each Softmax, every other node as it was', () => {
  const bytes = graph(-1, 'none');
  const before = readOnnxModel(bytes);
  assert.equal(before.nodes.find((n) => n.opType === 'Softmax')!.attributes.axis.i, -1, 'axis −1 reads as −1');
  const after = readOnnxModel(addKeyMask(bytes, before));
  assert.deepEqual(
    after.nodes.map((n) => n.opType),
    ['Mul', 'Add', 'Softmax', 'Reshape', 'Identity'],
  );
  const add = after.nodes[1];
  assert.deepEqual(add.inputs, [before.nodes[0].outputs[0], KEY_MASK_INPUT]);
  assert.deepEqual(after.nodes[2].inputs, add.outputs);
  assert.deepEqual(after.nodes[2].outputs, before.nodes[1].outputs, 'the Softmax keeps its output name (taps still find it)');
  const input = after.inputs.find((i) => i.name === KEY_MASK_INPUT)!;
  assert.deepEqual(input.dims, ['vitlens_batch', 1, 1, 'vitlens_tokens']);
  assert.throws(() => addKeyMask(graph(1, 'none'), readOnnxModel(graph(1, 'none'))), /last \(key\) axis/);
});

test('pooledPatchHead: a reduce over the token axis after the last Softmax, not LayerNorm’s', () => {
  assert.equal(pooledPatchHead(readOnnxModel(graph(-1, 'tokens'))), true);
  assert.equal(pooledPatchHead(readOnnxModel(graph(-1, 'layernorm'))), false);
  assert.equal(pooledPatchHead(readOnnxModel(graph(-1, 'none'))), false);
});
