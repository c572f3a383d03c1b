// PCA → RGB of the DPT neck levels with the heavy product on onnxruntime: the scatter matrix XᵀX of
// the centred samples (e.g. 576 pixels × 384 channels → 384×384, 42 M multiply-adds) takes a few ms in
// ORT's MatMul against ~45 ms in the JS loop (the whole PCA: ~15 ms vs ~55 ms). Sampling, eigenvectors,
// sign and colours are the pure analysis/dense.ts functions, so the result is the same PCA the tests
// check against numpy.
// Engine-side only (imports onnxruntime-node).
import * as ort from 'onnxruntime-node';
import { PcaOptions, PcaResult, pcaFromScatter, pcaSamples, usesCovariance } from '../../maths/dense';
import { GraphBuilder } from '../../core/onnx/onnxWriter';
import { inferenceThreads } from '../../core/onnx/threads';

/** Graph: a [r, k] (symbolic) → Aᵀ·A [k, k]. One session serves every shape. */
function buildScatterGraph(): Buffer {
  const g = new GraphBuilder();
  const a = g.input('a', ['rows', 'cols']);
  g.op('MatMul', [g.op1('Transpose', [a], { perm: [1, 0] }), a], {}, { outputNames: ['scatter'] });
  g.output('scatter', ['cols', 'cols']);
  return g.build({ producer: 'vit-lens-feature-pca' }).model;
}

/** The scatter session, made with the thread count in force then (a `configure` call may change it). */
let session: { threads: number; session: Promise<ort.InferenceSession> } | undefined;

function scatterSession(): Promise<ort.InferenceSession> {
  const threads = inferenceThreads();
  if (session?.threads !== threads) {
    void session?.session.then(
      (s) => s.release(),
      () => {},
    );
    session = {
      threads,
      session: ort.InferenceSession.create(buildScatterGraph(), { graphOptimizationLevel: 'all', intraOpNumThreads: threads }),
    };
  }
  return session.session;
}

/** pcaRgb of a feature map [C, H, W], its scatter matrix computed by onnxruntime. */
export async function pcaRgbOrt(
  features: Float32Array,
  channels: number,
  height: number,
  width: number,
  opts: PcaOptions = {},
): Promise<PcaResult> {
  const s = pcaSamples(features, channels, height * width, opts.maxFitPixels);
  // Covariance: A = X [m, C] → XᵀX. Gram (fewer samples than channels): A = Xᵀ [C, m] → XXᵀ.
  let a = s.x;
  let dims = [s.m, channels];
  if (!usesCovariance(s)) {
    a = new Float32Array(s.x.length);
    for (let i = 0; i < s.m; i++) for (let c = 0; c < channels; c++) a[c * s.m + i] = s.x[i * channels + c];
    dims = [channels, s.m];
  }
  const out = await (await scatterSession()).run({ a: new ort.Tensor('float32', a, dims) });
  const product = out.scatter.data as Float32Array;
  const k = dims[1];
  const scale = 0.5 / Math.max(s.m - 1, 1); // symmetrised: float32 products of AᵀA need not be exactly symmetric
  const scatter = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) scatter[i * k + j] = (product[i * k + j] + product[j * k + i]) * scale;
  return pcaFromScatter(features, height, width, s, scatter, opts);
}
