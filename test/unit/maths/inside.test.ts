// The maths of "Inside the ViT" against brute-force references written independently here: the
// eigen-solver against the defining equation A·v = λ·v and orthonormality, PCA through the Gram
// trick against PCA through the covariance, the smallest mass box against an exhaustive search, the
// outlier rule on planted data, the foreground sign.
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  attentionReceived,
  componentsToRgb,
  cosineSimilarity,
  excludeKeys,
  foregroundCut,
  highNormOutliers,
  pca,
  smallestMassBox,
  symmetricEigen,
} from '../../../src/maths/inside';

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

test('symmetricEigen: A·v = λ·v, orthonormal vectors, descending values', () => {
  const rand = lcg(3);
  for (const n of [1, 2, 7, 40]) {
    const b = Array.from({ length: n * n }, rand);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += b[i * n + k] * b[j * n + k];
    const { values, vectors } = symmetricEigen(a, n);
    for (let e = 0; e < n; e++) {
      if (e > 0) assert.ok(values[e] <= values[e - 1] + 1e-12);
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += a[i * n + j] * vectors[e][j];
        assert.ok(Math.abs(av - values[e] * vectors[e][i]) < 1e-9, `n=${n} e=${e}`);
      }
      for (let f = 0; f < n; f++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += vectors[e][i] * vectors[f][i];
        assert.ok(Math.abs(d - (e === f ? 1 : 0)) < 1e-9);
      }
    }
  }
});

test('pca: the Gram path (rows < cols) and the covariance path agree; ratios are shares of the total variance', () => {
  const rand = lcg(9);
  const rows = 6;
  const cols = 10;
  const x = Array.from({ length: rows * cols }, rand);
  const wide = pca(x, rows, cols, 3); // Gram
  // The same data with the roles forced: duplicate every row (same covariance, rows > cols → covariance path).
  const doubled = [...x, ...x];
  const tall = pca(doubled, 2 * rows, cols, 3);
  for (let k = 0; k < 3; k++) {
    for (let c = 0; c < cols; c++) assert.ok(Math.abs(wide.components[k][c] - tall.components[k][c]) < 1e-9);
    assert.ok(Math.abs(wide.explainedVarianceRatio[k] - tall.explainedVarianceRatio[k]) < 1e-12);
  }
  // Total variance: the full spectrum's ratios sum to 1.
  const full = pca(x, rows, cols, cols);
  assert.ok(Math.abs(full.explainedVarianceRatio.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  // Scores are the centred rows projected on the components.
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += (x[r * cols + c] - wide.mean[c]) * wide.components[0][c];
    assert.ok(Math.abs(s - wide.scores[0][r]) < 1e-12);
  }
});

test('cosineSimilarity and attentionReceived against their definitions', () => {
  const sim = cosineSimilarity([1, 0, 0, 2, 3, 3], 3, 2);
  assert.deepEqual(
    Array.from(sim, (v) => Math.round(v * 1e6) / 1e6),
    [1, 0, 0.707107, 0, 1, 0.707107, 0.707107, 0.707107, 1],
  );
  // 1 layer, 2 heads, 2 tokens: received[t] = mean over heads and queries of A[h][q][t].
  const r = attentionReceived([0.5, 0.5, 1, 0, 0.2, 0.8, 0.4, 0.6], 1, 2, 2);
  assert.ok(Math.abs(r[0][0] - (0.5 + 1 + 0.2 + 0.4) / 4) < 1e-12);
  assert.ok(Math.abs(r[0][1] - (0.5 + 0 + 0.8 + 0.6) / 4) < 1e-12);
});

test('smallestMassBox: the exhaustive search’s smallest box holding τ of the mass', () => {
  const rand = lcg(5);
  for (let trial = 0; trial < 20; trial++) {
    const gh = 3 + (trial % 4);
    const gw = 4 + (trial % 3);
    const map = Array.from({ length: gh * gw }, () => Math.max(0, rand() + 0.3) ** 3);
    const total = map.reduce((a, b) => a + b, 0);
    const tau = 0.3 + 0.6 * (trial / 20);
    let bestArea = Infinity;
    for (let r0 = 0; r0 < gh; r0++)
      for (let r1 = r0; r1 < gh; r1++)
        for (let c0 = 0; c0 < gw; c0++)
          for (let c1 = c0; c1 < gw; c1++) {
            let m = 0;
            for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) m += map[r * gw + c];
            if (m >= tau * total * (1 - 1e-12)) bestArea = Math.min(bestArea, (r1 - r0 + 1) * (c1 - c0 + 1));
          }
    const { box, mass } = smallestMassBox(map, gh, gw, tau);
    assert.equal((box[2] - box[0] + 1) * (box[3] - box[1] + 1), bestArea);
    assert.ok(mass >= tau - 1e-9);
  }
});

test('highNormOutliers: one planted token in the late rows, nothing in uniform noise', () => {
  const rand = lcg(11);
  const row = () => Array.from({ length: 40 }, () => 10 + rand());
  const norms = [row(), row(), row(), row()];
  norms[3][17] = 60;
  norms[1][20] = 60; // an early spike: not looked at (fromLayer 2)
  assert.deepEqual(highNormOutliers(norms, 1, 2), [{ layer: 3, token: 17, norm: 60 }]);
  assert.deepEqual(highNormOutliers([row(), row()], 1, 0), []);
  // The special tokens (index < firstPatch) are never candidates.
  norms[3][0] = 500;
  assert.deepEqual(
    highNormOutliers(norms, 1, 2).map((o) => o.token),
    [17],
  );
});

test('foregroundCut: the sign puts the border in the background', () => {
  // 3×3, centre high, border low: foreground = centre; negated scores give the same cut.
  const s = [-1, -1, -1, -1, 4, -1, -1, -1, -1];
  for (const scores of [s, s.map((v) => -v)]) {
    const { masks } = foregroundCut(scores, 3, 3, 1);
    assert.deepEqual(Array.from(masks[0]), [0, 0, 0, 0, 1, 0, 0, 0, 0]);
  }
  assert.deepEqual(
    Array.from(
      componentsToRgb([
        [
          [0, 1],
          [2, 2],
          [1, 0],
        ],
      ])[0],
    ),
    [0, 128, 255, 255, 128, 0],
  );
});

test('excludeKeys: excluded keys get 0, every row renormalised over the kept ones', () => {
  // 1 layer, 1 head, 3 tokens.
  const a = [0.2, 0.3, 0.5, 0.1, 0.1, 0.8, 0, 0, 1];
  const out = excludeKeys(a, 1, 1, 3, [2]);
  assert.deepEqual(
    Array.from(out.subarray(0, 3), (v) => Math.round(v * 1e6) / 1e6),
    [0.4, 0.6, 0],
  );
  assert.deepEqual(
    Array.from(out.subarray(3, 6), (v) => Math.round(v * 1e6) / 1e6),
    [0.5, 0.5, 0],
  );
  // A row with all its mass on the excluded key stays as it was (nothing to renormalise over).
  assert.deepEqual(Array.from(out.subarray(6, 9)), [0, 0, 1]);
  assert.deepEqual(a, [0.2, 0.3, 0.5, 0.1, 0.1, 0.8, 0, 0, 1], 'input untouched');
});
