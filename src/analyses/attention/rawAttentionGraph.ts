// The raw-attention baseline computed by onnxruntime: the same maths as analysis/attention.ts
// rawAttention (which stays the readable reference the tests compare against), as a tiny ONNX graph
// built for each input size. Its 197×768×197 Gram matrix takes ~1 ms in ORT's MatMul against ~16 ms
// in a JS loop, which is most of the analysis budget. Engine-side only (imports onnxruntime-node).
import * as ort from 'onnxruntime-node';
import type { AttentionTensor } from '../../shared/attentionTypes';
import { GraphBuilder } from '../../core/onnx/onnxWriter';

/**
 * Graph: pixels [1,C,H,W] → crop to the patch grid → patches X [P, C·p²] (same element order as the
 * reference: channel, row, column) → prepend the mean patch as the query row → [N = P+1, d] →
 * softmax(X·Xᵀ/√d) over the last axis → `raw` [N, N].
 */
function buildRawAttentionGraph(channels: number, height: number, width: number, patch: number): Buffer {
  const gh = Math.floor(height / patch);
  const gw = Math.floor(width / patch);
  const d = channels * patch * patch;
  const g = new GraphBuilder();
  let x = g.input('pixel_values', [1, channels, height, width]);
  if (gh * patch !== height || gw * patch !== width) {
    x = g.op1('Slice', [x, g.ints('starts', [0, 0]), g.ints('ends', [gh * patch, gw * patch]), g.ints('axes', [2, 3])]);
  }
  const grid = g.op1('Reshape', [x, g.ints('grid_shape', [channels, gh, patch, gw, patch])]); // [C, gh, p, gw, p]
  const perPatch = g.op1('Transpose', [grid], { perm: [1, 3, 0, 2, 4] }); // [gh, gw, C, p, p]
  const patches = g.op1('Reshape', [perPatch, g.ints('patch_shape', [gh * gw, d])]); // [P, d]
  const mean = g.op1('ReduceMean', [patches], { axes: [0], keepdims: 1 }); // [1, d]
  const tokens = g.op1('Concat', [mean, patches], { axis: 0 }); // [N, d]
  const gram = g.op1('MatMul', [tokens, g.op1('Transpose', [tokens], { perm: [1, 0] })]); // [N, N]
  const scaled = g.op1('Mul', [gram, g.scalar('inv_sqrt_d', 1 / Math.sqrt(d))]);
  g.op('Softmax', [scaled], { axis: -1 }, { outputNames: ['raw'] });
  g.output('raw', [gh * gw + 1, gh * gw + 1]);
  return g.build({ producer: 'vit-lens-raw-attention' }).model;
}

/** Sessions by input shape: a model always feeds the same size, so this stays tiny. */
const sessions = new Map<string, Promise<ort.InferenceSession>>();

/** Raw attention of a CHW pixel tensor: 1 layer, 1 head, tokens = [mean query, patches]. */
export async function rawAttentionOrt(
  pixels: Float32Array,
  channels: number,
  height: number,
  width: number,
  patch: number,
): Promise<AttentionTensor> {
  const key = `${channels}x${height}x${width}/${patch}`;
  let session = sessions.get(key);
  if (!session) {
    if (sessions.size >= 8) sessions.clear(); // dynamic-size models: do not grow without bound
    // One thread: a pool of its own would keep spinning after this 1 ms run and slowed the next
    // model run by ~10 % on 2 cores.
    session = ort.InferenceSession.create(buildRawAttentionGraph(channels, height, width, patch), {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
    });
    sessions.set(key, session);
  }
  const out = await (await session).run({ pixel_values: new ort.Tensor('float32', pixels, [1, channels, height, width]) });
  const raw = out.raw;
  return { layers: 1, heads: 1, tokens: raw.dims[0], data: raw.data as Float32Array };
}
