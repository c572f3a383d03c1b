// 2D classification scenes: a textured background, clutter that must be ignored, and zero, one or two
// target shapes of SHAPE_CLASSES at random places, sizes and rotations, with the ground truth (class,
// box, per-pixel mask) beside the pixels. Pure and deterministic by seed (see rng.ts): the trainer reads
// scenes exported from this file, and the tests regenerate the same scenes, byte for byte.
//
// Colours of the targets are drawn from the same palette as the clutter, and each colour is shared by
// two classes (CLASS_COLOURS), so the class is in the shape (and its size: clutter is small), not in the
// colour alone. Shapes are drawn with signed distance functions: a pixel's
// coverage is clamp(0.5 − sdf, 0, 1) (sdf in pixels at the pixel centre), and it belongs to the mask when
// its centre is inside (sdf < 0). Clutter is drawn first and targets on top, so a mask is never occluded.
import { Rng, seedFraction } from '../maths/rng';

export const SHAPE_CLASSES = ['circle', 'square', 'triangle', 'cross', 'ring', 'none'] as const;
export type ShapeLabel = (typeof SHAPE_CLASSES)[number];
export const NUM_SHAPE_CLASSES = SHAPE_CLASSES.length;
/** Index of "none": background and clutter only. */
export const NONE_CLASS = SHAPE_CLASSES.indexOf('none');
export const SHAPE_SCENE_SIZE = 128;

/** Training seeds are 0 … N−1; held-out scenes start here (disjoint from any training set below a million). */
export const HELD_OUT_SEED0 = 1_000_000;
/** Share of two-object scenes in the training mix (soft target 0.5 / 0.5 on their two classes). */
export const TWO_OBJECT_SHARE = 0.15;

export type Box = [x0: number, y0: number, x1: number, y1: number];

export interface SceneObject {
  classIndex: number;
  label: string;
  /** Pixel box of the mask: x0, y0 inclusive, x1, y1 exclusive. */
  box: Box;
  /** width × height, 1 where the pixel centre is inside the object (and the object is visible there). */
  mask: Uint8Array;
}

export interface ShapeScene {
  seed: number;
  width: number;
  height: number;
  /** Interleaved RGB, width × height × 3. */
  rgb: Uint8Array;
  /** The class to predict: the object's, or NONE_CLASS; for two-object scenes the first object's. */
  label: number;
  /** Training target over SHAPE_CLASSES: one-hot, or 0.5 / 0.5 for two objects. */
  target: Float32Array;
  objects: SceneObject[];
}

export interface ShapeSceneOptions {
  /** The single object's class (NONE_CLASS: no object). Default: drawn from the seed. */
  classIndex?: number;
  /** Two objects of different classes; a pair fixes them. Overrides classIndex. */
  twoObjects?: boolean | [number, number];
  /** Side in pixels (default 128). */
  size?: number;
}

type Rgb = [number, number, number];

/** Saturated colours shared by targets and clutter. */
const PALETTE: Rgb[] = [
  [220, 40, 40],
  [40, 180, 60],
  [50, 80, 220],
  [235, 205, 40],
  [200, 60, 200],
  [40, 200, 210],
  [240, 130, 30],
  [245, 245, 245],
  [25, 25, 25],
  [140, 90, 40],
];

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
const dist2 = (a: Rgb, b: Rgb) => (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2;

/** Float RGB canvas, HWC. */
class Canvas {
  readonly px: Float32Array;
  constructor(
    readonly w: number,
    readonly h: number,
  ) {
    this.px = new Float32Array(w * h * 3);
  }
  blend(i: number, c: Rgb, a: number): void {
    const o = i * 3;
    this.px[o] += (c[0] - this.px[o]) * a;
    this.px[o + 1] += (c[1] - this.px[o + 1]) * a;
    this.px[o + 2] += (c[2] - this.px[o + 2]) * a;
  }
}

// ---- backgrounds

function mutedColour(rng: Rng): Rgb {
  const base = rng.pick(PALETTE);
  const grey = rng.uniform(70, 190);
  const k = rng.uniform(0.35, 0.65);
  return [0, 1, 2].map((c) => base[c] * k + grey * (1 - k)) as Rgb;
}

/** Smooth value noise on a coarse lattice, bilinearly interpolated, values in [0, 1]. */
function valueNoise(rng: Rng, w: number, h: number, cell: number): Float32Array {
  const gw = Math.ceil(w / cell) + 2;
  const gh = Math.ceil(h / cell) + 2;
  const lattice = new Float32Array(gw * gh);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.next();
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const fy = y / cell;
    const y0 = Math.floor(fy);
    let ty = fy - y0;
    ty = ty * ty * (3 - 2 * ty);
    for (let x = 0; x < w; x++) {
      const fx = x / cell;
      const x0 = Math.floor(fx);
      let tx = fx - x0;
      tx = tx * tx * (3 - 2 * tx);
      const a = lattice[y0 * gw + x0],
        b = lattice[y0 * gw + x0 + 1];
      const c = lattice[(y0 + 1) * gw + x0],
        d = lattice[(y0 + 1) * gw + x0 + 1];
      out[y * w + x] = (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
    }
  }
  return out;
}

type Background = { c1: Rgb; c2: Rgb };

function paintBackground(rng: Rng, cv: Canvas): Background {
  const { w, h } = cv;
  const c1 = mutedColour(rng);
  // The second colour halfway to another muted one: textures of moderate contrast, below the targets'.
  const c2 = mutedColour(rng).map((v, c) => (v + c1[c]) / 2) as Rgb;
  const kind = rng.pick(['noise', 'stripes', 'gradient', 'checker'] as const);
  let t: (x: number, y: number) => number;
  if (kind === 'noise') {
    const n = valueNoise(rng, w, h, rng.uniform(8, 40));
    t = (x, y) => n[Math.floor(y) * w + Math.floor(x)]; // called at pixel centres
  } else if (kind === 'stripes') {
    const angle = rng.uniform(0, Math.PI);
    const period = rng.uniform(8, 30);
    const [ca, sa] = [Math.cos(angle), Math.sin(angle)];
    const phase = rng.uniform(0, 2 * Math.PI);
    t = (x, y) => 0.5 + 0.5 * Math.sin(((x * ca + y * sa) * 2 * Math.PI) / period + phase);
  } else if (kind === 'gradient') {
    const angle = rng.uniform(0, 2 * Math.PI);
    const [ca, sa] = [Math.cos(angle), Math.sin(angle)];
    const span = Math.abs(ca) * w + Math.abs(sa) * h;
    const lo = Math.min(0, ca * w) + Math.min(0, sa * h);
    t = (x, y) => (x * ca + y * sa - lo) / span;
  } else {
    const cell = rng.uniform(8, 24);
    const angle = rng.uniform(0, Math.PI / 2);
    const [ca, sa] = [Math.cos(angle), Math.sin(angle)];
    t = (x, y) => ((Math.floor((x * ca + y * sa) / cell) + Math.floor((-x * sa + y * ca) / cell)) & 1 ? 0.8 : 0.2);
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const k = t(x + 0.5, y + 0.5);
      const o = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) cv.px[o + c] = c1[c] + (c2[c] - c1[c]) * k;
    }
  }
  return { c1, c2 };
}

// ---- signed distance functions (pixels; negative inside)

type Sdf = (x: number, y: number) => number;

function boxSdf(x: number, y: number, bx: number, by: number): number {
  const qx = Math.abs(x) - bx;
  const qy = Math.abs(y) - by;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0);
}

/** Equilateral triangle of half side r centred on the origin (Quílez's exact sdf). */
function triangleSdf(px: number, py: number, r: number): number {
  const k = Math.sqrt(3);
  let x = Math.abs(px) - r;
  let y = py + r / k;
  if (x + k * y > 0) [x, y] = [(x - k * y) / 2, (-k * x - y) / 2];
  x -= clamp(x, -2 * r, 0);
  return -Math.hypot(x, y) * Math.sign(y);
}

/** Segment from (ax, ay) to (bx, by) with half thickness t. */
function capsuleSdf(x: number, y: number, ax: number, ay: number, bx: number, by: number, t: number): number {
  const pax = x - ax,
    pay = y - ay,
    bax = bx - ax,
    bay = by - ay;
  const hh = clamp((pax * bax + pay * bay) / (bax * bax + bay * bay || 1), 0, 1);
  return Math.hypot(pax - bax * hh, pay - bay * hh) - t;
}

/** A target shape of class `cls` and size s (its outer radius, roughly) at (cx, cy) rotated by `angle`; also its bounding radius. */
function targetSdf(cls: number, s: number, cx: number, cy: number, angle: number): { sdf: Sdf; radius: number } {
  const [ca, sa] = [Math.cos(angle), Math.sin(angle)];
  const local =
    (f: Sdf): Sdf =>
    (x, y) => {
      const dx = x - cx,
        dy = y - cy;
      return f(dx * ca + dy * sa, -dx * sa + dy * ca);
    };
  switch (SHAPE_CLASSES[cls]) {
    case 'circle':
      return { sdf: local((x, y) => Math.hypot(x, y) - s), radius: s };
    case 'square':
      return { sdf: local((x, y) => boxSdf(x, y, 0.8 * s, 0.8 * s)), radius: 0.8 * s * Math.SQRT2 };
    case 'triangle':
      return { sdf: local((x, y) => triangleSdf(x, y, 0.95 * s)), radius: (2 * 0.95 * s) / Math.sqrt(3) };
    case 'cross': {
      const t = 0.28 * s;
      return { sdf: local((x, y) => Math.min(boxSdf(x, y, s, t), boxSdf(x, y, t, s))), radius: Math.hypot(s, t) };
    }
    case 'ring': {
      const width = 0.38 * s;
      return { sdf: local((x, y) => Math.abs(Math.hypot(x, y) - (s - width / 2)) - width / 2), radius: s };
    }
    default:
      throw new Error(`no shape for class ${cls}`);
  }
}

/** Draws an sdf with analytic antialiasing over its bounding square; a colour gradient across it (shading). Returns the mask. */
function drawSdf(
  cv: Canvas,
  sdf: Sdf,
  cx: number,
  cy: number,
  radius: number,
  colour: Rgb,
  shade: { gx: number; gy: number },
  mask?: Uint8Array,
): void {
  const x0 = Math.max(0, Math.floor(cx - radius - 2)),
    x1 = Math.min(cv.w - 1, Math.ceil(cx + radius + 2));
  const y0 = Math.max(0, Math.floor(cy - radius - 2)),
    y1 = Math.min(cv.h - 1, Math.ceil(cy + radius + 2));
  const c: Rgb = [0, 0, 0];
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const d = sdf(x + 0.5, y + 0.5);
      const a = clamp(0.5 - d, 0, 1);
      if (a <= 0) continue;
      const k = 1 + (shade.gx * (x - cx) + shade.gy * (y - cy)) / (radius || 1);
      c[0] = colour[0] * k;
      c[1] = colour[1] * k;
      c[2] = colour[2] * k;
      cv.blend(y * cv.w + x, c, a);
      if (mask && d < 0) mask[y * cv.w + x] = 1;
    }
  }
}

function jitter(rng: Rng, c: Rgb, amount: number): Rgb {
  return c.map((v) => clamp(v + rng.uniform(-amount, amount), 0, 255)) as Rgb;
}

/**
 * Each class's colours (PALETTE indices): one of its own and two it shares with its neighbours in the
 * cycle circle → cross → square → ring → triangle → circle (red, yellow, blue, magenta, white), and every
 * colour also appears in the clutter. A colour narrows a target down to at most two classes of unlike
 * shapes; telling those apart, and a target from same-coloured clutter, takes the shape.
 */
export const CLASS_COLOURS: Record<string, number[]> = {
  circle: [6, 0, 7], // orange; red with cross, white with triangle
  cross: [1, 0, 3], // green; red with circle, yellow with square
  square: [5, 3, 2], // cyan; yellow with cross, blue with ring
  ring: [9, 2, 4], // brown; blue with square, magenta with triangle
  triangle: [8, 4, 7], // black; magenta with ring, white with circle
};

/** One of the class's colours that stands out from both background colours (falls back to the farthest). */
function contrastingColour(rng: Rng, bg: Background, cls: number): Rgb {
  const own = CLASS_COLOURS[SHAPE_CLASSES[cls]].map((i) => PALETTE[i]);
  const far = own.filter((c) => Math.min(dist2(c, bg.c1), dist2(c, bg.c2)) > 110 ** 2);
  if (far.length > 0) return jitter(rng, rng.pick(far), 18);
  let best = own[0];
  for (const c of own) if (Math.min(dist2(c, bg.c1), dist2(c, bg.c2)) > Math.min(dist2(best, bg.c1), dist2(best, bg.c2))) best = c;
  return jitter(rng, best, 18);
}

/** Small distractors: dots, short strokes, bent strokes, little squares, in palette colours. */
function paintClutter(rng: Rng, cv: Canvas, count: number): void {
  for (let i = 0; i < count; i++) {
    const colour = jitter(rng, rng.pick(PALETTE), 25);
    const cx = rng.uniform(0, cv.w),
      cy = rng.uniform(0, cv.h);
    const shade = { gx: 0, gy: 0 };
    const kind = rng.int(0, 3);
    if (kind === 0) {
      const r = rng.uniform(1.5, 4.5);
      drawSdf(cv, (x, y) => Math.hypot(x - cx, y - cy) - r, cx, cy, r, colour, shade);
    } else if (kind === 1 || kind === 2) {
      const len = rng.uniform(6, 18);
      const a = rng.uniform(0, 2 * Math.PI);
      const t = rng.uniform(0.7, 1.5);
      const [ax, ay, bx, by] = [
        cx - (Math.cos(a) * len) / 2,
        cy - (Math.sin(a) * len) / 2,
        cx + (Math.cos(a) * len) / 2,
        cy + (Math.sin(a) * len) / 2,
      ];
      if (kind === 1) {
        drawSdf(cv, (x, y) => capsuleSdf(x, y, ax, ay, bx, by, t), cx, cy, len / 2 + t, colour, shade);
      } else {
        const b = a + rng.uniform(0.6, 2.2) * (rng.chance(0.5) ? 1 : -1);
        const [ex, ey] = [bx + Math.cos(b) * len * 0.6, by + Math.sin(b) * len * 0.6];
        drawSdf(
          cv,
          (x, y) => Math.min(capsuleSdf(x, y, ax, ay, bx, by, t), capsuleSdf(x, y, bx, by, ex, ey, t)),
          bx,
          by,
          len + t,
          colour,
          shade,
        );
      }
    } else {
      const r = rng.uniform(1.5, 4);
      const a = rng.uniform(0, Math.PI);
      const [ca, sa] = [Math.cos(a), Math.sin(a)];
      drawSdf(cv, (x, y) => boxSdf((x - cx) * ca + (y - cy) * sa, -(x - cx) * sa + (y - cy) * ca, r, r), cx, cy, r * 1.5, colour, shade);
    }
  }
}

function boxOf(mask: Uint8Array, w: number, h: number): Box {
  let x0 = w,
    y0 = h,
    x1 = 0,
    y1 = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      if (x < x0) x0 = x;
      if (y < y0) y0 = y;
      if (x + 1 > x1) x1 = x + 1;
      if (y + 1 > y1) y1 = y + 1;
    }
  }
  return x1 > x0 ? [x0, y0, x1, y1] : [0, 0, 0, 0];
}

/** One generated classification scene. */
export function shapeScene(seed: number, opts: ShapeSceneOptions = {}): ShapeScene {
  const size = opts.size ?? SHAPE_SCENE_SIZE;
  const rng = new Rng(seed);
  const cv = new Canvas(size, size);
  const bg = paintBackground(rng, cv);

  let classes: number[];
  if (opts.twoObjects) {
    if (Array.isArray(opts.twoObjects)) {
      classes = [...opts.twoObjects];
      if (classes[0] === classes[1] || classes.some((c) => c < 0 || c >= NONE_CLASS))
        throw new Error('twoObjects: two different object classes');
    } else {
      const a = rng.int(0, NONE_CLASS - 1);
      const b = (a + rng.int(1, NONE_CLASS - 1)) % NONE_CLASS;
      classes = [a, b];
    }
  } else {
    const c = opts.classIndex ?? rng.int(0, NUM_SHAPE_CLASSES - 1);
    if (!(c >= 0 && c < NUM_SHAPE_CLASSES)) throw new Error(`classIndex ${c} out of range`);
    classes = c === NONE_CLASS ? [] : [c];
  }
  paintClutter(rng, cv, classes.length === 0 ? rng.int(4, 11) : rng.int(2, 9));

  const scale = size / SHAPE_SCENE_SIZE;
  const placed: { x: number; y: number; r: number }[] = [];
  const objects: SceneObject[] = [];
  for (const cls of classes) {
    // Targets span about 2–4 patches of 16 px (clutter stays under one), so their layout over patches tells the class.
    const s = (classes.length === 2 ? rng.uniform(13, 20) : rng.uniform(15, 28)) * scale;
    // Upright within ±20° (a ViT's patch embedding is not rotation invariant; fully random turns need far more training).
    const angle = rng.uniform(-0.35, 0.35);
    let cx = 0,
      cy = 0,
      shape = targetSdf(cls, s, 0, 0, angle);
    for (let attempt = 0; attempt < 100; attempt++) {
      const m = shape.radius + 2;
      cx = rng.uniform(m, size - m);
      cy = rng.uniform(m, size - m);
      if (placed.every((p) => Math.hypot(p.x - cx, p.y - cy) > p.r + shape.radius + 6)) break;
    }
    shape = targetSdf(cls, s, cx, cy, angle);
    placed.push({ x: cx, y: cy, r: shape.radius });
    const mask = new Uint8Array(size * size);
    const shade = { gx: rng.uniform(-0.2, 0.2), gy: rng.uniform(-0.2, 0.2) };
    drawSdf(cv, shape.sdf, cx, cy, shape.radius, contrastingColour(rng, bg, cls), shade, mask);
    // A later object hides what it covers of an earlier one (only if placement had to give up).
    for (const o of objects) {
      for (let i = 0; i < mask.length; i++) if (mask[i]) o.mask[i] = 0;
      o.box = boxOf(o.mask, size, size);
    }
    objects.push({ classIndex: cls, label: SHAPE_CLASSES[cls], box: boxOf(mask, size, size), mask });
  }

  // Sensor noise on every pixel, then 8-bit.
  const sigma = rng.uniform(2, 9);
  const rgb = new Uint8Array(size * size * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = clamp(Math.round(cv.px[i] + sigma * rng.normal()), 0, 255);

  const target = new Float32Array(NUM_SHAPE_CLASSES);
  if (classes.length === 0) target[NONE_CLASS] = 1;
  else for (const c of classes) target[c] += 1 / classes.length;
  return { seed, width: size, height: size, rgb, label: classes[0] ?? NONE_CLASS, target, objects };
}

/** The training mix: a TWO_OBJECT_SHARE of two-object scenes, the rest one object of class seed mod 6 (or none). */
export function trainingShapeScene(seed: number): ShapeScene {
  if (seedFraction(seed, 2) < TWO_OBJECT_SHARE) return shapeScene(seed, { twoObjects: true });
  return shapeScene(seed, { classIndex: seed % NUM_SHAPE_CLASSES });
}

/** Held-out scene i (single object or none, classes balanced): seed HELD_OUT_SEED0 + i. */
export function heldOutShapeScene(i: number, opts: Omit<ShapeSceneOptions, 'classIndex'> = {}): ShapeScene {
  return shapeScene(HELD_OUT_SEED0 + i, opts.twoObjects ? opts : { ...opts, classIndex: i % NUM_SHAPE_CLASSES });
}

/**
 * Per-patch soft labels ("token labels"): for each patch of the grid (row-major), the share of its pixels
 * in each object's mask under that object's class, the rest under NONE_CLASS: [patches × NUM_SHAPE_CLASSES].
 * The trainer uses them for an auxiliary per-token loss (the exported model does not have that head).
 */
export function patchCoverage(scene: ShapeScene, patch = 16): Float32Array {
  const gw = Math.floor(scene.width / patch),
    gh = Math.floor(scene.height / patch);
  const out = new Float32Array(gw * gh * NUM_SHAPE_CLASSES);
  const share = 1 / (patch * patch);
  for (const o of scene.objects) {
    for (let y = 0; y < gh * patch; y++) {
      for (let x = 0; x < gw * patch; x++) {
        if (o.mask[y * scene.width + x])
          out[(Math.floor(y / patch) * gw + Math.floor(x / patch)) * NUM_SHAPE_CLASSES + o.classIndex] += share;
      }
    }
  }
  for (let p = 0; p < gw * gh; p++) {
    let covered = 0;
    for (let c = 0; c < NUM_SHAPE_CLASSES; c++) covered += out[p * NUM_SHAPE_CLASSES + c];
    out[p * NUM_SHAPE_CLASSES + NONE_CLASS] = Math.max(0, 1 - covered);
  }
  return out;
}
