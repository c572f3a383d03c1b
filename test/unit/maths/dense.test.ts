// The pure maths of dense predictions (src/maths/dense.ts, src/maths/ade20k.ts) against
// hand-computed answers, brute force and PyTorch's F.interpolate (references in test/fixtures/torch-dpt,
// made by scripts/torch-crosscheck/export_dpt.py).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { ADE20K_CLASSES, ADE20K_PALETTE, ade20kId2Label } from '../../../src/maths/ade20k';
import {
  classColor,
  cubicWeights,
  depthStats,
  depthToUint16,
  jacobiEigen,
  pcaRgb,
  pcaSamples,
  percentileOfSorted,
  projectScores,
  resizeBicubic,
  resizeBilinear,
  segmentClasses,
  subspaceEigenpairs,
  topEigenpairs,
  unitRange,
  upsampledArgmax,
} from '../../../src/maths/dense';
import { selectKth } from '../../../src/maths/attention';
import { maxAbsDiff, repoRoot } from '../support';

const expected = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'torch-dpt', 'expected.json'), 'utf8'));

/** Deterministic uniform numbers in [-1, 1). */
function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

test('cubic weights: Keys kernel with a = −0.75, a partition of unity; hand-computed upsampling of [0, 1]', () => {
  for (const t of [0, 0.1, 0.25, 0.5, 0.9]) {
    const w = cubicWeights(t);
    assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-12, `weights at t=${t} sum to 1`);
  }
  assert.deepEqual(cubicWeights(0), [0, 1, 0, 0]);
  // [0, 1] → 4 columns, scale 0.5. Column 0: source −0.25 → floor −1, t 0.75, taps −2..1 clamped to 0,0,0,1:
  // only tap 3 sees the 1, weight W(1.25) = ((a·1.25 − 5a)·1.25 + 8a)·1.25 − 4a = −0.10546875.
  // Column 1: source 0.25, t 0.25, taps −1..2 → 0,0,1,1: W(0.75) + W(1.75) = 0.26171875 − 0.03515625.
  const out = resizeBicubic([0, 1], 1, 2, 1, 4);
  assert.ok(maxAbsDiff(out, [-0.10546875, 0.2265625, 0.7734375, 1.10546875]) < 1e-7, `got ${Array.from(out)}`);
  // Same size: the identity (t = 0 everywhere).
  const src = noise(35, 3);
  assert.ok(maxAbsDiff(resizeBicubic(src, 5, 7, 5, 7), src) < 1e-7);
});

test('bicubic and bilinear resampling equal torch F.interpolate(align_corners=False), up and down', () => {
  const { depth, cases } = expected.resample;
  const [h, w] = depth.shape;
  for (const c of cases) {
    const [oh, ow] = c.size;
    assert.ok(maxAbsDiff(resizeBicubic(depth.values, h, w, oh, ow), c.bicubic) < 1e-5, `bicubic ${h}×${w} → ${oh}×${ow}`);
    assert.ok(maxAbsDiff(resizeBilinear(depth.values, h, w, oh, ow), c.bilinear) < 1e-5, `bilinear ${h}×${w} → ${oh}×${ow}`);
  }
});

test('segmentation argmax of upsampled logits equals torch, and brute force (materialised upsampling) on ties and large maps', () => {
  const { logits, cases } = expected.resample;
  const [classes, h, w] = logits.shape;
  const data = Float32Array.from(logits.values);
  for (const c of cases) {
    const [oh, ow] = c.size;
    assert.deepEqual(Array.from(upsampledArgmax(data, classes, h, w, oh, ow)), c.labels, `argmax ${h}×${w} → ${oh}×${ow}`);
  }
  // Brute force: every class upsampled separately, then argmax with ties to the lower id.
  const brute = (l: Float32Array, k: number, sh: number, sw: number, dh: number, dw: number) => {
    const up = Array.from({ length: k }, (_, ci) => resizeBilinear(l.subarray(ci * sh * sw, (ci + 1) * sh * sw), sh, sw, dh, dw));
    return Array.from({ length: dh * dw }, (_, p) => {
      let best = 0;
      for (let ci = 1; ci < k; ci++) if (up[ci][p] > up[best][p]) best = ci;
      return best;
    });
  };
  const big = noise(12 * 9 * 11, 5);
  assert.deepEqual(Array.from(upsampledArgmax(big, 12, 9, 11, 40, 23)), brute(big, 12, 9, 11, 40, 23));
  assert.deepEqual(Array.from(upsampledArgmax(big, 12, 9, 11, 4, 5)), brute(big, 12, 9, 11, 4, 5));
  // Region-structured logits (what real models give: most pixels decided by their corners' best classes),
  // with near-ties along the region borders.
  const regions = new Float32Array(20 * 30 * 40);
  for (let c = 0; c < 20; c++)
    for (let y = 0; y < 30; y++)
      for (let x = 0; x < 40; x++) {
        regions[(c * 30 + y) * 40 + x] =
          (c < 6 ? 0 : -2) -
          Math.hypot(y - 15 - 12 * Math.sin(c), x - 20 - 18 * Math.cos(c)) / 10 +
          1e-4 * noise(1, c * 1200 + y * 40 + x)[0];
      }
  const fast = upsampledArgmax(regions, 20, 30, 40, 97, 113);
  assert.deepEqual(Array.from(fast), brute(regions, 20, 30, 40, 97, 113));
  assert.ok(new Set(fast).size >= 4, 'several regions');
  // Two identical classes: the lower id wins everywhere (torch.argmax returns the first maximum).
  const tied = new Float32Array(3 * 2 * 2);
  tied.set([1, 2, 3, 4], 4);
  tied.set([1, 2, 3, 4], 8);
  assert.ok(upsampledArgmax(tied, 3, 2, 2, 5, 5).every((label) => label === 1));
});

test('depth statistics: finite values only, numpy-style percentiles, NaN/∞ counted', () => {
  assert.equal(percentileOfSorted([1, 2, 3, 4, 5], 2), 1.08); // position 0.02·4 = 0.08
  assert.ok(Math.abs(percentileOfSorted([1, 2, 3, 4, 5], 98) - 4.92) < 1e-12);
  const s = depthStats(Float32Array.of(5, NaN, 1, Infinity, 3, -Infinity, 2, 4));
  assert.deepEqual([s.min, s.max, s.nonFinite], [1, 5, 3]);
  assert.ok(Math.abs(s.p2 - 1.08) < 1e-6 && Math.abs(s.p98 - 4.92) < 1e-6);
  const none = depthStats(Float32Array.of(NaN, Infinity));
  assert.ok(Number.isNaN(none.min) && Number.isNaN(none.p98));
  assert.equal(none.nonFinite, 2);
});

test('depth statistics by selection equal the sort-based percentiles on random maps (ties, tiny and odd sizes)', () => {
  for (const [n, seed] of [
    [1, 1],
    [2, 2],
    [7, 3],
    [1000, 4],
    [40_001, 5],
  ]) {
    const values = noise(n, seed).map((v) => Math.round(v * 50) / 10); // many ties
    const sorted = Float32Array.from(values).sort();
    const s = depthStats(values);
    assert.deepEqual([s.min, s.max], [sorted[0], sorted[n - 1]]);
    assert.ok(Math.abs(s.p2 - percentileOfSorted(sorted, 2)) < 1e-6, `p2 n=${n}`);
    assert.ok(Math.abs(s.p98 - percentileOfSorted(sorted, 98)) < 1e-6, `p98 n=${n}`);
  }
  const a = noise(501, 8);
  const k = selectKth(a, 250);
  assert.equal(k, Float32Array.from(a).sort()[250]);
  assert.ok(a.subarray(0, 250).every((v) => v <= k) && a.subarray(251).every((v) => v >= k));
});

test('16-bit depth: min → 0, max → 65535, linear between; flat and non-finite values → 0', () => {
  assert.deepEqual(Array.from(depthToUint16([2, 3, 4, 2.5], 2, 4)), [0, 32768, 65535, 16384]);
  assert.deepEqual(Array.from(depthToUint16([7, 7, 7], 7, 7)), [0, 0, 0]);
  assert.deepEqual(Array.from(depthToUint16([NaN, Infinity, 1], 0, 2)), [0, 0, 32768]);
  assert.equal(unitRange(10, 0, 5), 1);
  assert.equal(unitRange(-1, 0, 5), 0);
});

test('ADE20K: 150 classes, class 0 "wall" drawn [120,120,120] (no DPT off-by-one), id2label for config.json', () => {
  assert.equal(ADE20K_CLASSES.length, 150);
  assert.equal(ADE20K_PALETTE.length, 150);
  assert.equal(ADE20K_CLASSES[0], 'wall');
  assert.equal(ADE20K_CLASSES[2], 'sky');
  assert.equal(ADE20K_CLASSES[12], 'person');
  assert.equal(ADE20K_CLASSES[149], 'flag');
  assert.deepEqual(classColor(0), [120, 120, 120]);
  assert.deepEqual(classColor(1), [180, 120, 120]);
  assert.deepEqual(classColor(2), [6, 230, 230]);
  assert.deepEqual(classColor(149), [92, 0, 255]);
  assert.equal(new Set(ADE20K_CLASSES).size, 150, 'names are unique');
  assert.equal(ade20kId2Label()['12'], 'person');
  // Ids past the palette get distinct, valid colours.
  const extra = [150, 151, 152, 300].map(classColor);
  for (const c of extra) assert.ok(c.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
  assert.equal(new Set(extra.map((c) => c.join())).size, 4);
});

test('segment classes: area shares sum to 1, sorted by area then id, names from id2label else "class N"', () => {
  const labels = Uint16Array.of(3, 3, 0, 1, 1, 3, 0, 1);
  const classes = segmentClasses(labels, 5, { 0: 'wall', 3: 'floor' });
  assert.deepEqual(
    classes.map((c) => [c.id, c.name, c.area]),
    [
      [1, 'class 1', 3 / 8],
      [3, 'floor', 3 / 8],
      [0, 'wall', 2 / 8],
    ],
  );
  assert.deepEqual(classes[2].color, [120, 120, 120]);
  assert.equal(segmentClasses(new Uint16Array(4), 150).length, 1);
});

test('eigen-solvers: Jacobi on a known matrix; subspace iteration equals Jacobi on a random covariance', () => {
  const j = jacobiEigen(Float64Array.of(2, 1, 0, 1, 2, 0, 0, 0, 5), 3);
  assert.ok(maxAbsDiff(j.values, [5, 3, 1]) < 1e-12);
  assert.ok(Math.abs(Math.abs(j.vectors[1][0]) - Math.SQRT1_2) < 1e-12 && Math.abs(j.vectors[1][0] - j.vectors[1][1]) < 1e-12);
  const n = 12;
  const x = noise(40 * n, 9);
  for (let r = 0; r < 40; r++) x[r * n] *= 2; // one dominant direction
  const cov = new Float64Array(n * n);
  for (let r = 0; r < 40; r++) for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) cov[a * n + b] += x[r * n + a] * x[r * n + b];
  const ref = jacobiEigen(cov, n);
  for (const top of [topEigenpairs(cov, n, 3), subspaceEigenpairs(cov, n, 3)]) {
    assert.ok(maxAbsDiff(top.values, ref.values.slice(0, 3)) < 1e-8 * ref.values[0]);
    top.vectors.forEach((v, i) => {
      const d = v.reduce((s, vi, k) => s + vi * ref.vectors[i][k], 0);
      assert.ok(Math.abs(Math.abs(d) - 1) < 1e-7, `component ${i} parallel to the reference (|cos| = ${Math.abs(d)})`);
    });
  }
});

test('PCA of a feature map: points on a line explain 100%; deterministic; sign fixed; fitting subsample', () => {
  // 3 channels, 4×5 pixels; pixel p is 5 + (p − 7)/2 · (1, −2, 3): one direction, d = (1, −2, 3)/√14
  // (its largest |entry|, 3, is positive, so the sign rule keeps it).
  const h = 4,
    w = 5,
    n = h * w;
  const dir = [1, -2, 3];
  const line = new Float32Array(3 * n);
  for (let p = 0; p < n; p++)
    dir.forEach((d, c) => {
      line[c * n + p] = 5 + d * (p - 7) * 0.5;
    });
  const r = pcaRgb(line, 3, h, w);
  assert.ok(Math.abs(r.explained[0] - 1) < 1e-9 && r.explained[1] < 1e-9 && r.explained[2] < 1e-9, `explained ${r.explained}`);
  assert.ok(
    maxAbsDiff(
      r.components[0],
      dir.map((d) => d / Math.sqrt(14)),
    ) < 1e-9,
    'unit component, largest |entry| positive',
  );
  // Score of pixel p = (p − 9.5)/2 · √14: increasing, so red runs from 0 to 255 between the 1st and 99th
  // percentiles; components 2 and 3 are flat (zero variance) → 0.
  const red = Array.from({ length: n }, (_, p) => r.rgb[p * 3]);
  assert.equal(red[0], 0);
  assert.equal(red[n - 1], 255);
  assert.ok(
    red.every((v, i) => i === 0 || v >= red[i - 1]),
    'monotone',
  );
  assert.ok(Array.from({ length: n }, (_, p) => r.rgb[p * 3 + 1] + r.rgb[p * 3 + 2]).every((v) => v === 0));
  // Fewer channels than 3: missing components are 0.
  const two = pcaRgb(line.subarray(0, 2 * n), 2, h, w);
  assert.equal(two.explained[2], 0);
  // Deterministic, and fitting on a subsample still finds the same direction for this 1-D data.
  assert.deepEqual(pcaRgb(line, 3, h, w).rgb, r.rgb);
  const sub = pcaRgb(line, 3, h, w, { maxFitPixels: 7 });
  assert.ok(maxAbsDiff(sub.components[0], r.components[0]) < 1e-9);
});

test('PCA: the Gram path (fewer pixels than channels) equals the covariance path; both equal numpy', () => {
  // 40 channels × 30 pixels → Gram (30×30) is used; the same data transposed in roles is not needed:
  // compare with a covariance computed here and Jacobi.
  const c = 40,
    h = 5,
    w = 6,
    n = h * w;
  const f = noise(c * n, 21);
  for (let p = 0; p < n; p++) for (let k = 0; k < c; k++) f[k * n + p] += (k % 3 === 0 ? 2 : 0.3) * Math.sin(p * 0.4 + k); // some structure
  const r = pcaRgb(f, c, h, w);
  const x = new Float64Array(n * c);
  for (let k = 0; k < c; k++) {
    let m = 0;
    for (let p = 0; p < n; p++) m += f[k * n + p] / n;
    for (let p = 0; p < n; p++) x[p * c + k] = f[k * n + p] - m;
  }
  const cov = new Float64Array(c * c);
  for (let p = 0; p < n; p++)
    for (let a = 0; a < c; a++) for (let b = 0; b < c; b++) cov[a * c + b] += (x[p * c + a] * x[p * c + b]) / (n - 1);
  const ref = jacobiEigen(cov, c);
  const trace = ref.values.reduce((s, v) => s + v, 0);
  // The centred samples are float32: agreement to float32 precision.
  assert.ok(
    maxAbsDiff(
      r.explained,
      ref.values.slice(0, 3).map((v) => v / trace),
    ) < 1e-6,
  );
  r.components.forEach((v, i) => assert.ok(Math.abs(Math.abs(v.reduce((s, vi, k) => s + vi * ref.vectors[i][k], 0)) - 1) < 1e-6));

  // numpy (export_dpt.py) on PyTorch's neck levels: explained variance and sign-fixed components.
  const raw = fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'torch-dpt', 'neck.f32'));
  const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  let offset = 0;
  expected.neckShapes.forEach(([ch, lh, lw]: number[], i: number) => {
    const level = all.subarray(offset, offset + ch * lh * lw);
    offset += ch * lh * lw;
    const got = pcaRgb(level, ch, lh, lw);
    const want = expected.pca[i];
    assert.ok(maxAbsDiff(got.explained, want.explained) < 1e-6, `level ${i} explained ${got.explained} vs ${want.explained}`);
    got.components.forEach((v, k) => assert.ok(maxAbsDiff(v, want.components[k]) < 1e-5, `level ${i} component ${k}`));
  });
});

test('PCA colours: the one-pass projection and selection percentiles equal the per-component loop and sort, bit for bit', () => {
  // The previous colouring, kept here as the reference: one pass over the features per component, sorted percentiles.
  const reference = (f: Float32Array, n: number, mean: Float64Array, comps: Float64Array[]) =>
    comps.map((v) => {
      const scores = new Float32Array(n);
      for (let c = 0; c < mean.length; c++) {
        const w = v[c];
        if (w === 0) continue;
        for (let p = 0; p < n; p++) scores[p] += w * (f[c * n + p] - mean[c]);
      }
      const sorted = Float32Array.from(scores).sort();
      const lo = percentileOfSorted(sorted, 1);
      const hi = percentileOfSorted(sorted, 99);
      return { scores, bytes: Uint8Array.from(scores, (s) => Math.round(255 * unitRange(s, lo, hi))) };
    });
  for (const [c, h, w, seed] of [
    [12, 17, 23, 3],
    [40, 5, 6, 4], // Gram path
    [96, 24, 24, 5],
    [3, 1, 1, 6], // one pixel
  ]) {
    const n = h * w;
    const f = noise(c * n, seed);
    for (let p = 0; p < n; p++) f[p] = f[(p * 7) % n]; // ties in the first channel
    const r = pcaRgb(f, c, h, w);
    const mean = Float64Array.from({ length: c }, (_, k) => pcaSamples(f, c, n).mean[k]);
    const comps = r.components.filter((_, i) => r.explained[i] > 0);
    assert.deepEqual(
      projectScores(f, n, mean, comps),
      reference(f, n, mean, comps).map((x) => x.scores),
    );
    reference(f, n, mean, comps).forEach((want, i) => {
      const got = Uint8Array.from({ length: n }, (_, p) => r.rgb[p * 3 + i]);
      assert.deepEqual(got, want.bytes, `${c}×${h}×${w} component ${i}`);
    });
  }
});

test('PCA without colours: the same components and explained variance, no image', () => {
  const f = noise(20 * 9 * 11, 8);
  const full = pcaRgb(f, 20, 9, 11);
  const bare = pcaRgb(f, 20, 9, 11, { colours: false });
  assert.deepEqual(bare.explained, full.explained);
  assert.deepEqual(bare.components, full.components);
  assert.equal(bare.rgb.length, 0);
});

test('Lanczos (topEigenpairs) equals Jacobi and the previous subspace iteration to 1e-6: slow spectra, rank below k, tiny sizes', () => {
  const cases: [number, number, number][] = [
    [120, 200, 31], // covariance of 200 noisy samples: a slowly decaying spectrum
    [60, 2, 32], // rank 2 < k = 3
    [3, 10, 33],
    [2, 10, 34], // n < k
    [1, 4, 35],
  ];
  for (const [n, m, seed] of cases) {
    const x = noise(m * n, seed);
    for (let r = 0; r < m; r++) for (let a = 0; a < n; a++) x[r * n + a] *= 1 + 3 / (a + 1); // decaying channel scales
    const cov = new Float64Array(n * n);
    for (let r = 0; r < m; r++) for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) cov[a * n + b] += x[r * n + a] * x[r * n + b];
    const ref = jacobiEigen(cov, n);
    const k = Math.min(3, n);
    const lan = topEigenpairs(cov, n, 3, 1e-9);
    const sub = subspaceEigenpairs(cov, n, 3, 1e-9);
    assert.equal(lan.values.length, k);
    assert.equal(lan.vectors.length, k);
    assert.ok(maxAbsDiff(lan.values, ref.values.slice(0, k)) <= 1e-6 * ref.values[0], `n=${n} m=${m}: values`);
    assert.ok(maxAbsDiff(lan.values, sub.values) <= 1e-6 * ref.values[0], `n=${n} m=${m}: values against subspace iteration`);
    lan.vectors.forEach((v, i) => {
      assert.ok(Math.abs(Math.sqrt(v.reduce((s, vi) => s + vi * vi, 0)) - 1) < 1e-9, `n=${n}: unit vector ${i}`);
      // Only non-degenerate eigenvalues fix their vector (up to sign).
      if (ref.values[i] > 1e-9 * ref.values[0] && (i + 1 >= n || ref.values[i] - ref.values[i + 1] > 1e-6 * ref.values[0])) {
        const d = v.reduce((s, vi, j) => s + vi * ref.vectors[i][j], 0);
        assert.ok(Math.abs(Math.abs(d) - 1) < 1e-6, `n=${n} m=${m} vector ${i}: |cos| ${Math.abs(d)}`);
      }
    });
  }
});
