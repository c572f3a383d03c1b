// The procedural scene generator (src/scenes): determinism by seed, ground truth that agrees with the
// pixels, and depth that equals the analytic ray-cast value of known primitives (computed here
// independently of the generator's intersection code).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEPTH_SCENE_HEIGHT,
  DEPTH_SCENE_WIDTH,
  DepthSceneSpec,
  NONE_CLASS,
  NUM_SHAPE_CLASSES,
  Rng,
  SHAPE_CLASSES,
  depthScene,
  heldOutShapeScene,
  patchCoverage,
  renderDepthScene,
  shapeScene,
  trainingShapeScene,
} from '../../../src/scenes';
import { averageRanks, spearman } from './metrics';

const equalBytes = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);

test('the PRNG is deterministic, in [0, 1), and seeds give different streams', () => {
  const a = new Rng(42),
    b = new Rng(42),
    c = new Rng(43);
  const xs = Array.from({ length: 1000 }, () => a.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 1000 }, () => b.next()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.notDeepEqual(
    xs.slice(0, 10),
    Array.from({ length: 10 }, () => c.next()),
  );
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  // Pinned values: the same in every JavaScript engine (32-bit integer maths only).
  const r = new Rng(7);
  assert.deepEqual([r.int(0, 1_000_000), r.int(0, 1_000_000), r.int(0, 1_000_000)], [212448, 355049, 878961]);
});

test('shape scenes: the same seed gives the same bytes and truth, another seed another scene', () => {
  for (const seed of [0, 1, 77, 1_000_003]) {
    const a = shapeScene(seed),
      b = shapeScene(seed);
    assert.ok(equalBytes(a.rgb, b.rgb));
    assert.equal(a.label, b.label);
    assert.deepEqual(
      a.objects.map((o) => o.box),
      b.objects.map((o) => o.box),
    );
    assert.ok(a.objects.every((o, i) => equalBytes(o.mask, b.objects[i].mask)));
  }
  assert.ok(!equalBytes(shapeScene(5).rgb, shapeScene(6).rgb));
  assert.ok(equalBytes(trainingShapeScene(123).rgb, trainingShapeScene(123).rgb));
});

test("shape scenes: label, target, box and mask agree; the box is the mask's tight bounds", () => {
  for (let i = 0; i < 60; i++) {
    const s = heldOutShapeScene(i);
    assert.equal(s.rgb.length, s.width * s.height * 3);
    assert.equal(s.label, i % NUM_SHAPE_CLASSES);
    assert.equal(s.target[s.label], 1);
    if (s.label === NONE_CLASS) {
      assert.equal(s.objects.length, 0);
      continue;
    }
    assert.equal(s.objects.length, 1);
    const o = s.objects[0];
    assert.equal(o.classIndex, s.label);
    assert.equal(o.label, SHAPE_CLASSES[s.label]);
    let x0 = s.width,
      y0 = s.height,
      x1 = 0,
      y1 = 0,
      area = 0;
    for (let y = 0; y < s.height; y++)
      for (let x = 0; x < s.width; x++) {
        if (!o.mask[y * s.width + x]) continue;
        area++;
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x + 1);
        y1 = Math.max(y1, y + 1);
      }
    assert.ok(area > 100, `scene ${i}: mask of ${area} px`);
    assert.deepEqual(o.box, [x0, y0, x1, y1]);
    assert.ok(x0 > 0 && y0 > 0 && x1 < s.width && y1 < s.height, 'the object lies inside the image');
  }
});

test('shape scenes: the mask covers pixels of one colour that differ from the pixels just outside it', () => {
  let separated = 0;
  const n = 50;
  for (let i = 0; i < n; i++) {
    const s = shapeScene(2000 + i, { classIndex: i % NONE_CLASS });
    const { mask } = s.objects[0];
    const w = s.width;
    const inner: number[] = [],
      band: number[] = [];
    for (let y = 2; y < s.height - 2; y++)
      for (let x = 2; x < w - 2; x++) {
        const k = y * w + x;
        let all = true,
          any = false;
        for (let dy = -2; dy <= 2; dy++)
          for (let dx = -2; dx <= 2; dx++) {
            const m = mask[k + dy * w + dx];
            all &&= !!m;
            any ||= !!m;
          }
        if (all) inner.push(k);
        else if (!mask[k] && any) band.push(k);
      }
    const mean = [0, 1, 2].map((c) => inner.reduce((a, k) => a + s.rgb[k * 3 + c], 0) / inner.length);
    const near = (k: number, r: number) => Math.hypot(s.rgb[k * 3] - mean[0], s.rgb[k * 3 + 1] - mean[1], s.rgb[k * 3 + 2] - mean[2]) < r;
    const innerShare = inner.filter((k) => near(k, 70)).length / inner.length;
    assert.ok(innerShare > 0.95, `scene ${i}: only ${innerShare} of the mask's interior has its colour`);
    if (band.filter((k) => near(k, 35)).length / band.length < 0.3) separated++;
  }
  assert.ok(separated >= 0.9 * n, `the outside differs from the object in only ${separated} of ${n} scenes`);
});

test('two-object scenes: two different classes, both masks non-empty and disjoint, target 0.5 / 0.5', () => {
  for (let i = 0; i < 30; i++) {
    const s = shapeScene(3000 + i, { twoObjects: true });
    assert.equal(s.objects.length, 2);
    const [a, b] = s.objects;
    assert.notEqual(a.classIndex, b.classIndex);
    assert.ok(a.classIndex !== NONE_CLASS && b.classIndex !== NONE_CLASS);
    assert.equal(s.target[a.classIndex], 0.5);
    assert.equal(s.target[b.classIndex], 0.5);
    let na = 0,
      nb = 0,
      both = 0;
    for (let k = 0; k < a.mask.length; k++) {
      na += a.mask[k];
      nb += b.mask[k];
      both += a.mask[k] & b.mask[k];
    }
    assert.ok(na > 50 && nb > 50, `scene ${i}: masks of ${na} and ${nb} px`);
    assert.equal(both, 0);
  }
  const fixed = shapeScene(9, { twoObjects: [1, 3] });
  assert.deepEqual(
    fixed.objects.map((o) => o.label),
    ['square', 'cross'],
  );
  assert.throws(() => shapeScene(9, { twoObjects: [2, 2] }));
});

test('token labels: per patch, class shares that sum to 1 and match the masks', () => {
  const s = shapeScene(31, { twoObjects: [0, 4] });
  const cov = patchCoverage(s);
  assert.equal(cov.length, 64 * NUM_SHAPE_CLASSES);
  for (let p = 0; p < 64; p++) {
    let sum = 0;
    for (let c = 0; c < NUM_SHAPE_CLASSES; c++) sum += cov[p * NUM_SHAPE_CLASSES + c];
    assert.ok(Math.abs(sum - 1) < 1e-5, `patch ${p}: ${sum}`);
  }
  for (const o of s.objects) {
    let area = 0,
      shares = 0;
    for (const m of o.mask) area += m;
    for (let p = 0; p < 64; p++) shares += cov[p * NUM_SHAPE_CLASSES + o.classIndex] * 256;
    assert.ok(Math.abs(shares - area) < 1e-2, `${o.label}: ${shares} vs ${area}`);
  }
});

test('the training mix: every class, about 15 % two-object scenes, none scenes without objects', () => {
  const counts = new Array(NUM_SHAPE_CLASSES).fill(0);
  let two = 0;
  for (let seed = 0; seed < 600; seed++) {
    const s = trainingShapeScene(seed);
    if (s.objects.length === 2) two++;
    else counts[s.label]++;
    if (s.label === NONE_CLASS) assert.equal(s.objects.length, 0);
  }
  assert.ok(two > 50 && two < 130, `${two} two-object scenes of 600`);
  assert.ok(
    counts.every((c) => c > 60),
    counts.join(','),
  );
});

// ---- 3D scenes

/** An empty room: ground y = 0, back wall z = wallZ, camera level (pitch 0). */
function room(extra: Partial<DepthSceneSpec> = {}): DepthSceneSpec {
  const plain = {
    kind: 'plain' as const,
    a: [120, 120, 120] as [number, number, number],
    b: [120, 120, 120] as [number, number, number],
    period: 1,
  };
  return {
    width: DEPTH_SCENE_WIDTH,
    height: DEPTH_SCENE_HEIGHT,
    camera: { height: 1.5, pitch: 0, hfov: Math.PI / 3 },
    wallZ: 10,
    ground: plain,
    wall: plain,
    objects: [],
    light: [0, 1, -0.5],
    ambient: 0.3,
    ...extra,
  };
}

/** The camera-frame ray of pixel (u, v) for a level camera, written out independently of the generator. */
function rayOf(spec: DepthSceneSpec, u: number, v: number): [number, number, number] {
  const f = spec.width / 2 / Math.tan(spec.camera.hfov / 2);
  return [(u + 0.5 - spec.width / 2) / f, (spec.height / 2 - v - 0.5) / f, 1];
}

const near = (a: number, b: number, rel = 1e-5) => Math.abs(a - b) <= rel * Math.abs(b);

test('3D scenes: deterministic by seed; every pixel has a finite, positive depth', () => {
  const a = depthScene(11),
    b = depthScene(11);
  assert.ok(equalBytes(a.rgb, b.rgb) && equalBytes(a.depth, b.depth));
  assert.ok(!equalBytes(a.depth, depthScene(12).depth));
  for (const seed of [0, 1, 2, 3]) {
    const s = depthScene(seed);
    assert.equal(s.depth.length, s.width * s.height);
    assert.ok(s.depth.every((z) => Number.isFinite(z) && z > 0.3 && z < 20));
    assert.ok(s.objects.length >= 1);
  }
});

test('3D scenes: the back wall is at its z and the ground at height·f / (row offset), exactly', () => {
  const spec = room();
  const s = renderDepthScene(spec);
  const f = spec.width / 2 / Math.tan(spec.camera.hfov / 2);
  for (const [u, v] of [
    [0, 0],
    [64, 10],
    [127, 40],
    [30, 47],
    [5, 60],
    [64, 95],
    [127, 95],
  ]) {
    const below = v + 0.5 - spec.height / 2;
    const ground = below > 0 ? (spec.camera.height * f) / below : Infinity;
    const expected = Math.min(ground, spec.wallZ);
    assert.ok(near(s.depth[v * spec.width + u], expected), `(${u}, ${v}): ${s.depth[v * spec.width + u]} vs ${expected}`);
  }
});

test("3D scenes: a sphere centred on a pixel's ray is hit at z = z₀ − r/|d| there, and owns that pixel", () => {
  const spec = room();
  for (const [u, v, z0, r] of [
    [64, 48, 5, 1],
    [20, 30, 4, 0.5],
    [100, 70, 3, 0.4],
  ] as const) {
    const d = rayOf(spec, u, v);
    const centre: [number, number, number] = [d[0] * z0, spec.camera.height + d[1] * z0, z0];
    const s = renderDepthScene({ ...spec, objects: [{ kind: 'sphere', centre, radius: r, colour: [200, 50, 50] }] });
    const expected = z0 - r / Math.hypot(...d);
    const i = v * spec.width + u;
    assert.ok(near(s.depth[i], expected), `(${u}, ${v}): ${s.depth[i]} vs ${expected}`);
    assert.equal(s.objects.length, 1);
    assert.equal(s.objects[0].label, 'sphere');
    assert.equal(s.objects[0].mask[i], 1);
    const [x0, y0, x1, y1] = s.objects[0].box;
    assert.ok(x0 <= u && u < x1 && y0 <= v && v < y1);
  }
});

test("3D scenes: a box facing the camera has its front face's z; turned by 90° the same", () => {
  const spec = room();
  for (const yaw of [0, Math.PI / 2]) {
    const half: [number, number, number] = yaw === 0 ? [1, 0.8, 0.5] : [0.5, 0.8, 1];
    const s = renderDepthScene({
      ...spec,
      objects: [{ kind: 'box', centre: [0, spec.camera.height, 4], half, yaw, colour: [50, 200, 50] }],
    });
    const front = 4 - 0.5;
    for (const [u, v] of [
      [63, 47],
      [64, 48],
      [60, 45],
    ])
      assert.ok(near(s.depth[v * spec.width + u], front, 1e-4), `yaw ${yaw} (${u}, ${v}): ${s.depth[v * spec.width + u]}`);
    assert.equal(s.objects[0].label, 'box');
  }
});

test('3D scenes: inverse depth is 1/z and orders pixels the opposite way; the ground gets nearer down the image', () => {
  const s = depthScene(5);
  for (let i = 0; i < s.depth.length; i++) assert.ok(near(s.inverseDepth[i], 1 / s.depth[i], 1e-6));
  assert.ok(Math.abs(spearman(s.depth, s.inverseDepth) + 1) < 1e-12);
  const r = renderDepthScene(room({ camera: { height: 1.4, pitch: 0.2, hfov: 1 } }));
  for (let v = r.height - 1; v > r.height / 2; v--) {
    const u = 10;
    assert.ok(r.inverseDepth[v * r.width + u] > r.inverseDepth[(v - 1) * r.width + u], `row ${v}`);
  }
});

test('Spearman: ties get average ranks', () => {
  assert.deepEqual(Array.from(averageRanks([10, 20, 20, 30])), [1, 2.5, 2.5, 4]);
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 2, 3, 4]) - 4.5 / Math.sqrt(22.5)) < 1e-12);
  assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
});
