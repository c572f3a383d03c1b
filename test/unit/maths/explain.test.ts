// The maths of class-specific maps and faithfulness (src/maths/explain.ts) against brute force written
// from the definitions: occlusion as the mean over the windows containing each patch, RISE's weighted
// sum, the perturbation steps ⌊i·P/10⌋ and the trapezoid AUC, and the log-odds score.
import assert from 'node:assert/strict';
import test from 'node:test';
import {
  OcclusionMap,
  RiseMap,
  classProbability,
  classScore,
  coarseWindows,
  perturbationAuc,
  perturbationCounts,
  randomMap,
  removalOrder,
  riseKeeps,
  slidingWindows,
  stepCurveAuc,
  windowPatches,
} from '../../../src/maths/explain';
import { maxAbsDiff } from '../support';

/** A made-up score of a removal: nonlinear in which patches are gone. */
const score = (removed: Set<number>, P: number) => {
  let s = 0;
  for (let j = 0; j < P; j++) if (!removed.has(j)) s += Math.sin(j * 1.7) + 1.2;
  return Math.tanh(s / P) + (removed.has(3) && removed.has(4) ? -0.3 : 0);
};

test('occlusion: coarse then fine windows give the brute-force mean over the windows that contain each patch', () => {
  for (const [grid, w] of [
    [[5, 7], 2],
    [[4, 4], 2],
    [[6, 5], 3],
    [[3, 3], 1],
  ] as [[number, number], number][]) {
    const P = grid[0] * grid[1];
    const s0 = score(new Set(), P);
    // Brute force: every window with its top-left (r, c), r + w ≤ gh, c + w ≤ gw.
    const sums = new Float64Array(P);
    const counts = new Float64Array(P);
    for (let r = 0; r + w <= grid[0]; r++)
      for (let c = 0; c + w <= grid[1]; c++) {
        const set = new Set<number>();
        for (let i = r; i < r + w; i++) for (let j = c; j < c + w; j++) set.add(i * grid[1] + j);
        const drop = s0 - score(set, P);
        for (const j of set) {
          sums[j] += drop;
          counts[j]++;
        }
      }
    const brute = Array.from(sums, (s, j) => s / counts[j]);
    const all = slidingWindows(grid, w);
    const coarse = coarseWindows(grid, w);
    const key = (x: { row: number; col: number }) => `${x.row},${x.col}`;
    assert.ok(
      coarse.every((c) => all.some((a) => key(a) === key(c))),
      'coarse windows are stride-1 windows',
    );
    const covered = new Set(coarse.flatMap((c) => windowPatches(c, w, grid[1])));
    assert.equal(covered.size, P, 'the coarse pass covers the grid');
    const occ = new OcclusionMap(grid, w);
    for (const win of [...coarse, ...all.filter((a) => !coarse.some((c) => key(c) === key(a)))])
      occ.add(win, s0 - score(new Set(windowPatches(win, w, grid[1])), P));
    assert.ok(maxAbsDiff(occ.values(), brute) < 1e-6, `${grid} w=${w}`);
  }
  // Non-overlapping when w divides the side.
  assert.deepEqual(
    coarseWindows([4, 6], 2).map((x) => [x.row, x.col]),
    [0, 2].flatMap((r) => [0, 2, 4].map((c) => [r, c])),
  );
  assert.deepEqual(
    coarseWindows([5, 5], 2).map((x) => x.row),
    [0, 0, 0, 2, 2, 2, 3, 3, 3],
  );
});

test('RISE: Σ_i s_i·keep_i[j] / (n·p), seeded masks with about half the patches kept', () => {
  const P = 12;
  const keeps = riseKeeps(400, P, 5);
  assert.deepEqual(riseKeeps(400, P, 5), keeps, 'seeded');
  const kept = keeps.reduce((a, k) => a + k.reduce((x, y) => x + y, 0), 0) / (400 * P);
  assert.ok(Math.abs(kept - 0.5) < 0.03, `share kept ${kept}`);
  const rise = new RiseMap(P, 0.5);
  const brute = new Float64Array(P);
  for (const k of keeps) {
    const removed = new Set(Array.from(k, (v, j) => (v ? -1 : j)).filter((j) => j >= 0));
    const s = score(removed, P);
    rise.add(k, s);
    for (let j = 0; j < P; j++) brute[j] += (s * k[j]) / (400 * 0.5);
  }
  assert.ok(maxAbsDiff(rise.values(), brute) < 1e-6);
  assert.equal(rise.samples, 400);
});

test('perturbation steps, removal order with ties, and the AUCs', () => {
  assert.deepEqual(perturbationCounts(196), [0, 19, 39, 58, 78, 98, 117, 137, 156, 176]);
  assert.deepEqual(perturbationCounts(64), [0, 6, 12, 19, 25, 32, 38, 44, 51, 57]);
  const y = [1, 0.9, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0];
  // 100 × Σ 0.1·(y_i + y_{i+1})/2 by hand: 0.1/2 × (1 + 2·(0.9+0.7+0.6+0.5+0.4+0.3+0.2+0.1) + 0) × 100
  assert.ok(Math.abs(perturbationAuc(y) - 0.05 * (1 + 2 * 3.7) * 100) < 1e-9);
  assert.deepEqual(removalOrder([0.2, 0.5, 0.2, NaN, 0.9], 'positive'), [4, 1, 0, 2, 3]);
  assert.deepEqual(removalOrder([0.2, 0.5, 0.2, NaN, 0.9], 'negative'), [3, 0, 2, 1, 4]);
  assert.ok(Math.abs(stepCurveAuc([1, 0.5, 0]) - 50) < 1e-9);
  const r = randomMap(50, 3);
  assert.deepEqual(randomMap(50, 3), r);
  assert.notDeepEqual(randomMap(50, 4), r);
});

test('scores: softmax probability and log-odds, finite when p_c rounds to 1', () => {
  const logits = [2, -1, 0.5, 3];
  const p = classProbability(logits, 3);
  const e = logits.map(Math.exp);
  assert.ok(Math.abs(p - e[3] / e.reduce((a, b) => a + b)) < 1e-12);
  assert.ok(Math.abs(classScore(logits, 3, 'logOdds') - Math.log(p / (1 - p))) < 1e-9);
  assert.equal(classScore(logits, 3, 'probability'), p);
  const big = [80, 0, 0];
  assert.equal(classProbability(big, 0), 1);
  assert.ok(Math.abs(classScore(big, 0, 'logOdds') - (80 - Math.log(2))) < 1e-9);
});
