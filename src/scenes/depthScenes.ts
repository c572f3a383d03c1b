// 3D depth scenes, ray-cast: a pinhole camera above a textured ground plane, a textured back wall
// (and sometimes side walls), spheres and boxes standing on the ground, Lambert shading with cast shadows.
// Each pixel gets one ray through its centre, so the ground truth is exact: `depth` is the camera-space
// z of the first hit (planar depth, metres) and `inverseDepth` = 1 / depth, the quantity a DPT's
// `predicted_depth` estimates up to scale and shift (larger is nearer). Pure and deterministic by seed.
//
// Frames: world y is up, the camera sits at (0, height, 0) looking along +z, pitched down by `pitch`.
// The ray of pixel (u, v) in camera coordinates is ((u + ½ − W/2)/f, −(v + ½ − H/2)/f, 1), so its hit
// parameter t is the camera-space z directly.
import { Rng } from '../maths/rng';
import type { Box } from './shapes';

export const DEPTH_SCENE_WIDTH = 128;
export const DEPTH_SCENE_HEIGHT = 96;
export const DEPTH_CLASSES = ['sphere', 'box'] as const;
/** Held-out depth scenes start at this seed (training seeds are 0 … N−1). */
export const DEPTH_HELD_OUT_SEED0 = 1_000_000;

type Vec = [number, number, number];
type Rgb = [number, number, number];

export interface Texture {
  kind: 'checker' | 'stripes' | 'noise' | 'plain';
  a: Rgb;
  b: Rgb;
  /** Period in metres. */
  period: number;
}

export interface SphereSpec {
  kind: 'sphere';
  centre: Vec;
  radius: number;
  colour: Rgb;
}
/** A box with half sizes `half`, turned by `yaw` (radians) about the vertical axis. */
export interface BoxSpec {
  kind: 'box';
  centre: Vec;
  half: Vec;
  yaw: number;
  colour: Rgb;
}
export type PrimitiveSpec = SphereSpec | BoxSpec;

export interface DepthSceneSpec {
  width: number;
  height: number;
  camera: { height: number; pitch: number; hfov: number };
  /** The back wall: the plane z = wallZ. */
  wallZ: number;
  /** Side walls x = −left, x = +right (absent: undefined). */
  leftWallX?: number;
  rightWallX?: number;
  ground: Texture;
  wall: Texture;
  objects: PrimitiveSpec[];
  /** Direction towards the light (normalised when rendering). */
  light: Vec;
  ambient: number;
}

export interface DepthSceneObject {
  classIndex: number;
  label: string;
  box: Box;
  mask: Uint8Array;
}

export interface DepthScene {
  seed: number;
  width: number;
  height: number;
  rgb: Uint8Array;
  /** Camera-space z of each pixel's centre ray hit, metres, [height, width]. */
  depth: Float32Array;
  /** 1 / depth: the training target and what the model's predicted_depth should order like. */
  inverseDepth: Float32Array;
  /** The visible objects (primitives with at least one pixel). */
  objects: DepthSceneObject[];
  spec: DepthSceneSpec;
}

const dot = (a: Vec, b: Vec) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const norm = (a: Vec): Vec => {
  const l = Math.hypot(a[0], a[1], a[2]);
  return [a[0] / l, a[1] / l, a[2] / l];
};
const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** Focal length in pixels of a spec's camera. */
export function focalPixels(spec: Pick<DepthSceneSpec, 'width' | 'camera'>): number {
  return spec.width / (2 * Math.tan(spec.camera.hfov / 2));
}

/** Origin and world direction of pixel (u, v)'s centre ray (direction scaled so that t = camera z). */
export function pixelRay(spec: DepthSceneSpec, u: number, v: number): { origin: Vec; dir: Vec } {
  const f = focalPixels(spec);
  const cx = (u + 0.5 - spec.width / 2) / f;
  const cy = -(v + 0.5 - spec.height / 2) / f;
  const [c, s] = [Math.cos(spec.camera.pitch), Math.sin(spec.camera.pitch)];
  return { origin: [0, spec.camera.height, 0], dir: [cx, cy * c - s, cy * s + c] };
}

/** Ray–sphere: the nearest t > eps, or Infinity. */
function hitSphere(o: Vec, d: Vec, s: SphereSpec): number {
  const oc: Vec = [o[0] - s.centre[0], o[1] - s.centre[1], o[2] - s.centre[2]];
  const a = dot(d, d),
    b = dot(oc, d),
    c = dot(oc, oc) - s.radius * s.radius;
  const disc = b * b - a * c;
  if (disc < 0) return Infinity;
  const r = Math.sqrt(disc);
  const t0 = (-b - r) / a;
  if (t0 > 1e-6) return t0;
  const t1 = (-b + r) / a;
  return t1 > 1e-6 ? t1 : Infinity;
}

/** Ray–box (slabs in the box frame): t and the entry axis's normal in world coordinates. */
function hitBox(o: Vec, d: Vec, b: BoxSpec): { t: number; normal: Vec } {
  const [c, s] = [Math.cos(b.yaw), Math.sin(b.yaw)];
  // World → box frame: rotate by −yaw about y.
  const toLocal = (v: Vec): Vec => [c * v[0] - s * v[2], v[1], s * v[0] + c * v[2]];
  const lo = toLocal([o[0] - b.centre[0], o[1] - b.centre[1], o[2] - b.centre[2]]);
  const ld = toLocal(d);
  let tNear = -Infinity,
    tFar = Infinity,
    axis = -1,
    sign = 0;
  for (let k = 0; k < 3; k++) {
    if (Math.abs(ld[k]) < 1e-12) {
      if (Math.abs(lo[k]) > b.half[k]) return { t: Infinity, normal: [0, 1, 0] };
      continue;
    }
    let t1 = (-b.half[k] - lo[k]) / ld[k],
      t2 = (b.half[k] - lo[k]) / ld[k];
    let sg = -1;
    if (t1 > t2) {
      [t1, t2] = [t2, t1];
      sg = 1;
    }
    if (t1 > tNear) {
      tNear = t1;
      axis = k;
      sign = sg;
    }
    if (t2 < tFar) tFar = t2;
  }
  if (tNear > tFar || tFar < 1e-6 || tNear < 1e-6) return { t: Infinity, normal: [0, 1, 0] };
  const ln: Vec = [0, 0, 0];
  ln[axis] = sign;
  // Box frame → world: rotate by +yaw.
  return { t: tNear, normal: [c * ln[0] + s * ln[2], ln[1], -s * ln[0] + c * ln[2]] };
}

function hash2(ix: number, iy: number, salt: number): number {
  let h = (Math.imul(ix, 0x27d4eb2d) ^ Math.imul(iy, 0x165667b1) ^ salt) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

function texture(t: Texture, p: number, q: number, salt: number): Rgb {
  let k = 0;
  const x = p / t.period,
    y = q / t.period;
  if (t.kind === 'checker') k = (Math.floor(x) + Math.floor(y)) & 1;
  else if (t.kind === 'stripes') k = Math.floor(x) & 1;
  else if (t.kind === 'noise') {
    const ix = Math.floor(x),
      iy = Math.floor(y),
      fx = x - ix,
      fy = y - iy;
    const a = hash2(ix, iy, salt),
      b = hash2(ix + 1, iy, salt),
      c = hash2(ix, iy + 1, salt),
      d = hash2(ix + 1, iy + 1, salt);
    k = (a + (b - a) * fx) * (1 - fy) + (c + (d - c) * fx) * fy;
  }
  return [t.a[0] + (t.b[0] - t.a[0]) * k, t.a[1] + (t.b[1] - t.a[1]) * k, t.a[2] + (t.b[2] - t.a[2]) * k];
}

interface Hit {
  t: number;
  normal: Vec;
  object: number;
  surface: 'ground' | 'wall' | 'left' | 'right' | 'object';
}

function castPrimitives(o: Vec, d: Vec, objects: PrimitiveSpec[]): Hit {
  let best: Hit = { t: Infinity, normal: [0, 1, 0], object: -1, surface: 'object' };
  objects.forEach((ob, i) => {
    if (ob.kind === 'sphere') {
      const t = hitSphere(o, d, ob);
      if (t < best.t) {
        const p: Vec = [o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2]];
        best = { t, normal: norm([p[0] - ob.centre[0], p[1] - ob.centre[1], p[2] - ob.centre[2]]), object: i, surface: 'object' };
      }
    } else {
      const h = hitBox(o, d, ob);
      if (h.t < best.t) best = { t: h.t, normal: h.normal, object: i, surface: 'object' };
    }
  });
  return best;
}

/** First hit of a ray: planes, then primitives. */
function cast(spec: DepthSceneSpec, o: Vec, d: Vec): Hit {
  let best: Hit = { t: Infinity, normal: [0, 1, 0], object: -1, surface: 'ground' };
  const plane = (t: number, normal: Vec, surface: Hit['surface']) => {
    if (t > 1e-6 && t < best.t) best = { t, normal, object: -1, surface };
  };
  if (d[1] < 0) plane(-o[1] / d[1], [0, 1, 0], 'ground');
  if (d[2] > 0) plane((spec.wallZ - o[2]) / d[2], [0, 0, -1], 'wall');
  if (spec.leftWallX !== undefined && d[0] < 0) plane((-spec.leftWallX - o[0]) / d[0], [1, 0, 0], 'left');
  if (spec.rightWallX !== undefined && d[0] > 0) plane((spec.rightWallX - o[0]) / d[0], [-1, 0, 0], 'right');
  const obj = castPrimitives(o, d, spec.objects);
  return obj.t < best.t ? obj : best;
}

/** Renders a scene spec: colours, exact depth, object masks. */
export function renderDepthScene(spec: DepthSceneSpec, seed = 0): DepthScene {
  const { width: w, height: h } = spec;
  const rgb = new Uint8Array(w * h * 3);
  const depth = new Float32Array(w * h);
  const inverseDepth = new Float32Array(w * h);
  const owner = new Int16Array(w * h).fill(-1);
  const light = norm(spec.light);
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < w; u++) {
      const { origin, dir } = pixelRay(spec, u, v);
      const hit = cast(spec, origin, dir);
      const i = v * w + u;
      if (!Number.isFinite(hit.t)) throw new Error(`pixel (${u}, ${v}) hits nothing: the walls must close the view`);
      depth[i] = hit.t;
      inverseDepth[i] = 1 / hit.t;
      owner[i] = hit.object;
      const p: Vec = [origin[0] + hit.t * dir[0], origin[1] + hit.t * dir[1], origin[2] + hit.t * dir[2]];
      let albedo: Rgb;
      if (hit.surface === 'ground') albedo = texture(spec.ground, p[0], p[2], 11);
      else if (hit.surface === 'wall') albedo = texture(spec.wall, p[0], p[1], 23);
      else if (hit.surface === 'left' || hit.surface === 'right') albedo = texture(spec.wall, p[2], p[1], 37);
      else albedo = spec.objects[hit.object].colour;
      const lambert = Math.max(0, dot(hit.normal, light));
      let lit = lambert;
      if (lit > 0) {
        const start: Vec = [p[0] + hit.normal[0] * 1e-4, p[1] + hit.normal[1] * 1e-4, p[2] + hit.normal[2] * 1e-4];
        if (Number.isFinite(castPrimitives(start, light, spec.objects).t)) lit = 0; // in shadow
      }
      const shade = spec.ambient + (1 - spec.ambient) * lit;
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = clamp(Math.round(albedo[c] * shade), 0, 255);
    }
  }
  const objects: DepthSceneObject[] = [];
  spec.objects.forEach((ob, k) => {
    const mask = new Uint8Array(w * h);
    let x0 = w,
      y0 = h,
      x1 = 0,
      y1 = 0;
    for (let i = 0; i < owner.length; i++) {
      if (owner[i] !== k) continue;
      mask[i] = 1;
      const x = i % w,
        y = Math.floor(i / w);
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x + 1);
      y1 = Math.max(y1, y + 1);
    }
    if (x1 > x0) objects.push({ classIndex: DEPTH_CLASSES.indexOf(ob.kind), label: ob.kind, box: [x0, y0, x1, y1], mask });
  });
  return { seed, width: w, height: h, rgb, depth, inverseDepth, objects, spec };
}

function colour(rng: Rng, lo = 40, hi = 230): Rgb {
  return [rng.uniform(lo, hi), rng.uniform(lo, hi), rng.uniform(lo, hi)];
}

function randomTexture(rng: Rng, kinds: Texture['kind'][], period: [number, number]): Texture {
  const a = colour(rng, 50, 220);
  const k = rng.uniform(0.25, 0.6);
  const b: Rgb = [
    a[0] * k + rng.uniform(0, 255) * (1 - k),
    a[1] * k + rng.uniform(0, 255) * (1 - k),
    a[2] * k + rng.uniform(0, 255) * (1 - k),
  ];
  return { kind: rng.pick(kinds), a, b, period: rng.uniform(period[0], period[1]) };
}

/** A random scene description for a seed. */
export function depthSceneSpec(seed: number, width = DEPTH_SCENE_WIDTH, height = DEPTH_SCENE_HEIGHT): DepthSceneSpec {
  const rng = new Rng(seed ^ 0x5bd1e995);
  const hfov = rng.uniform(50, 70) * (Math.PI / 180);
  const camera = { height: rng.uniform(1.1, 1.9), pitch: rng.uniform(4, 16) * (Math.PI / 180), hfov };
  const wallZ = rng.uniform(6, 13);
  const tanHalf = Math.tan(hfov / 2);
  const leftWallX = rng.chance(0.4) ? rng.uniform(2.5, 5) : undefined;
  const rightWallX = rng.chance(0.4) ? rng.uniform(2.5, 5) : undefined;
  const objects: PrimitiveSpec[] = [];
  const footprints: { x: number; z: number; r: number }[] = [];
  const count = rng.int(2, 6);
  for (let n = 0, attempts = 0; n < count && attempts < 60; attempts++) {
    const z = rng.uniform(2.2, wallZ - 0.8);
    const xMax = Math.min(z * tanHalf * 0.95, leftWallX ?? 99, rightWallX ?? 99);
    const x = rng.uniform(-Math.min(z * tanHalf * 0.95, leftWallX ?? 99), Math.min(z * tanHalf * 0.95, rightWallX ?? 99));
    let prim: PrimitiveSpec;
    let r: number;
    if (rng.chance(0.5)) {
      const radius = rng.uniform(0.25, 0.95);
      const lift = rng.chance(0.2) ? rng.uniform(0.1, 1.0) : 0;
      prim = { kind: 'sphere', centre: [x, radius + lift, z], radius, colour: colour(rng) };
      r = radius;
    } else {
      const half: Vec = [rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.9), rng.uniform(0.2, 0.8)];
      prim = { kind: 'box', centre: [x, half[1], z], half, yaw: rng.uniform(0, Math.PI / 2), colour: colour(rng) };
      r = Math.hypot(half[0], half[2]);
    }
    const inside = Math.abs(x) + r < (x < 0 ? (leftWallX ?? 99) : (rightWallX ?? 99)) && z + r < wallZ && xMax > 0;
    if (!inside || footprints.some((f) => Math.hypot(f.x - x, f.z - z) < f.r + r + 0.05)) continue;
    footprints.push({ x, z, r });
    objects.push(prim);
    n++;
  }
  return {
    width,
    height,
    camera,
    wallZ,
    leftWallX,
    rightWallX,
    ground: randomTexture(rng, ['checker', 'noise', 'stripes'], [0.3, 1.5]),
    wall: randomTexture(rng, ['stripes', 'noise', 'plain', 'checker'], [0.2, 1.2]),
    objects,
    light: [rng.uniform(-0.8, 0.8), rng.uniform(0.6, 1.4), rng.uniform(-0.9, 0.1)],
    ambient: rng.uniform(0.25, 0.45),
  };
}

/** The scene of a seed. */
export function depthScene(seed: number, width = DEPTH_SCENE_WIDTH, height = DEPTH_SCENE_HEIGHT): DepthScene {
  return renderDepthScene(depthSceneSpec(seed, width, height), seed);
}

/** Held-out depth scene i: seed DEPTH_HELD_OUT_SEED0 + i. */
export function heldOutDepthScene(i: number): DepthScene {
  return depthScene(DEPTH_HELD_OUT_SEED0 + i);
}
