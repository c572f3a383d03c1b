// Attention probabilities out of a model's outputs (pipeline kit): per-layer tensors stacked into one
// [L, H, N, N] array, float16 widened, and a check that rows are probabilities (non-negative, sum 1).
import * as ort from 'onnxruntime-node';
import type { AttentionTensor } from '../../shared/attentionTypes';
import { VitLensError } from '../../shared/errors';
import { halfToFloat } from '../onnx/initializers';

export function toFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const src = t.data as Uint16Array;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
    return out;
  }
  throw new VitLensError('MODEL_BAD_OUTPUT', `attention output has type ${t.type}; expected float32 or float16.`);
}

/**
 * Stacks per-layer attention outputs into one [L, H, N, N] tensor (batch 0). Accepts [B,H,N,N] per
 * layer, [H,N,N] (batch folded), or one stacked [L,B,H,N,N]. Tapped Softmax outputs that are not square
 * attention (e.g. a classifier's softmax) are skipped.
 */
export function stackAttention(outputs: Record<string, ort.Tensor>, names: string[]): AttentionTensor {
  const layers: Float32Array[] = [];
  let heads = 0;
  let tokens = 0;
  const take = (data: Float32Array, h: number, n: number) => {
    if (tokens === 0) {
      heads = h;
      tokens = n;
    }
    if (h === heads && n === tokens) layers.push(data.subarray(0, h * n * n));
  };
  for (const name of names) {
    const t = outputs[name];
    if (!t) continue;
    const d = t.dims;
    const n = d[d.length - 1];
    if (d.length < 3 || d[d.length - 2] !== n) continue;
    const data = toFloat32(t);
    if (d.length === 3) take(data, d[0], n);
    else if (d.length === 4) take(data, d[1], n);
    else if (d.length === 5) {
      const stride = d[1] * d[2] * n * n; // [L, B, H, N, N]: batch 0 of each layer
      for (let l = 0; l < d[0]; l++) take(data.subarray(l * stride, l * stride + d[2] * n * n), d[2], n);
    }
  }
  if (layers.length === 0) {
    throw new VitLensError(
      'MODEL_NOT_VIT',
      `none of the model's ${names.length} Softmax/attention outputs has the shape of self-attention [batch, heads, tokens, tokens].`,
      "ViT Lens needs a vision transformer; this graph's softmaxes are elsewhere (e.g. only in a classifier).",
    );
  }
  const data = new Float32Array(layers.length * heads * tokens * tokens);
  layers.forEach((layer, l) => data.set(layer, l * heads * tokens * tokens));
  const t: AttentionTensor = { layers: layers.length, heads, tokens, data };
  checkRowsAreProbabilities(t);
  return t;
}

/**
 * A sample of rows must be non-negative and sum to 1: otherwise these are not probabilities.
 * `what` names the tensor in messages (e.g. "the backbone attention").
 */
export function checkRowsAreProbabilities(t: AttentionTensor, what = 'attention'): void {
  const n = t.tokens;
  const rows = t.layers * t.heads * n;
  for (let r = 0; r < rows; r += Math.max(1, Math.floor(rows / 64))) {
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const v = t.data[r * n + j];
      if (!(v >= 0))
        throw new VitLensError(
          'MODEL_BAD_OUTPUT',
          `${what} contains ${Number.isNaN(v) ? 'NaN' : 'negative values'}.`,
          'The model or its input is broken; check the export.',
        );
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3)
      throw new VitLensError(
        'MODEL_BAD_OUTPUT',
        `a row of ${what} sums to ${sum.toFixed(4)}, not 1: these outputs are not attention probabilities.`,
        'Export post-softmax attention (output_attentions=True); if this is a real attention output, the model or its input is broken.',
      );
  }
}
