// Geometry and camera maths of the 3D relief view: a displacement mesh of the depth map (the image draped
// over it), its normals, and the orbit camera's matrices (column-major 4×4, as WebGL expects). Shared by
// the WebGL renderer and the canvas-2D fallback. Pure: no DOM, no imports at run time (never vscode or
// Node).
import { displayValue, type DisplayRange } from './depthDisplay';

export type Mat4 = Float32Array;
export type Vec3 = [number, number, number];

/** Vertex grid [cols, rows] for a w × h image: at most `maxVerts` along the long side, never more vertices than pixels, ≥ 2. */
export function reliefGridSize(w: number, h: number, maxVerts = 256): [number, number] {
  const long = Math.max(w, h);
  const n = Math.max(2, Math.min(maxVerts, long));
  const cols = Math.max(2, Math.min(w, Math.round((n * w) / long)));
  const rows = Math.max(2, Math.min(h, Math.round((n * h) / long)));
  return [cols, rows];
}

/** Bilinear sample of a w × h map at continuous pixel coordinates (clamped to the edges). */
export function sampleBilinear(values: ArrayLike<number>, w: number, h: number, x: number, y: number): number {
  const cx = Math.min(w - 1, Math.max(0, x));
  const cy = Math.min(h - 1, Math.max(0, y));
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = Math.min(w - 1, x0 + 1);
  const y1 = Math.min(h - 1, y0 + 1);
  const fx = cx - x0;
  const fy = cy - y0;
  const top = values[y0 * w + x0] * (1 - fx) + values[y0 * w + x1] * fx;
  const bottom = values[y1 * w + x0] * (1 - fx) + values[y1 * w + x1] * fx;
  return top * (1 - fy) + bottom * fy;
}

export interface ReliefMesh {
  cols: number;
  rows: number;
  /** [rows·cols, 3]: x right, y up, z towards the viewer; the long side of the image spans 2 units. */
  positions: Float32Array;
  /** [rows·cols, 2]: texture coordinates, (0, 0) = the image's top-left. */
  uvs: Float32Array;
  /** [rows·cols, 3], unit length. */
  normals: Float32Array;
  /** Two triangles per grid cell, counter-clockwise seen from +z. */
  indices: Uint16Array | Uint32Array;
}

/**
 * The relief: vertex (c, r) sits over image pixel (c/(cols−1)·(w−1), r/(rows−1)·(h−1)); its height is the
 * display value of the depth there (0..1, near = high unless inverted) × `height` (non-finite → 0).
 */
export function buildReliefMesh(
  depth: ArrayLike<number>,
  w: number,
  h: number,
  range: DisplayRange,
  invert: boolean,
  height: number,
  maxVerts = 256,
): ReliefMesh {
  const [cols, rows] = reliefGridSize(w, h, maxVerts);
  const long = Math.max(w, h);
  const sx = w / long;
  const sy = h / long;
  const n = cols * rows;
  const positions = new Float32Array(n * 3);
  const uvs = new Float32Array(n * 2);
  const z = new Float32Array(n);
  for (let r = 0; r < rows; r++) {
    const v = r / (rows - 1);
    for (let c = 0; c < cols; c++) {
      const u = c / (cols - 1);
      const i = r * cols + c;
      const t = displayValue(sampleBilinear(depth, w, h, u * (w - 1), v * (h - 1)), range, invert);
      z[i] = Number.isNaN(t) ? 0 : t * height;
      positions[i * 3] = (u - 0.5) * 2 * sx;
      positions[i * 3 + 1] = (0.5 - v) * 2 * sy;
      positions[i * 3 + 2] = z[i];
      uvs[i * 2] = u;
      uvs[i * 2 + 1] = v;
    }
  }
  const normals = heightNormals(z, cols, rows, (2 * sx) / (cols - 1), (2 * sy) / (rows - 1));
  const indices = n > 65536 ? new Uint32Array((cols - 1) * (rows - 1) * 6) : new Uint16Array((cols - 1) * (rows - 1) * 6);
  let k = 0;
  for (let r = 0; r < rows - 1; r++) {
    for (let c = 0; c < cols - 1; c++) {
      const a = r * cols + c; // top-left
      const b = a + 1; // top-right
      const d = a + cols; // bottom-left
      const e = d + 1; // bottom-right
      // y points up and rows go down, so (a, d, b) is counter-clockwise seen from +z.
      indices[k++] = a;
      indices[k++] = d;
      indices[k++] = b;
      indices[k++] = b;
      indices[k++] = d;
      indices[k++] = e;
    }
  }
  return { cols, rows, positions, uvs, normals, indices };
}

/** Unit normals of a height field z[rows, cols] with grid spacing dx (along +x) and dy (rows go along −y): central differences. */
export function heightNormals(z: ArrayLike<number>, cols: number, rows: number, dx: number, dy: number): Float32Array {
  const out = new Float32Array(cols * rows * 3);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const l = z[r * cols + Math.max(0, c - 1)];
      const rt = z[r * cols + Math.min(cols - 1, c + 1)];
      const up = z[Math.max(0, r - 1) * cols + c];
      const dn = z[Math.min(rows - 1, r + 1) * cols + c];
      const dzdx = (rt - l) / (dx * (Math.min(cols - 1, c + 1) - Math.max(0, c - 1)));
      // Row index grows downwards (−y): dz/dy = (z[up] − z[down]) / distance.
      const dzdy = (up - dn) / (dy * (Math.min(rows - 1, r + 1) - Math.max(0, r - 1)));
      const len = Math.hypot(dzdx, dzdy, 1);
      const i = (r * cols + c) * 3;
      out[i] = -dzdx / len;
      out[i + 1] = -dzdy / len;
      out[i + 2] = 1 / len;
    }
  }
  return out;
}

// ---------------------------------------------------------------- camera

/** OpenGL-style perspective projection (vertical field of view in radians), column-major. */
export function perspective(fovy: number, aspect: number, near: number, far: number): Mat4 {
  const f = 1 / Math.tan(fovy / 2);
  const m = new Float32Array(16);
  m[0] = f / aspect;
  m[5] = f;
  m[10] = (far + near) / (near - far);
  m[11] = -1;
  m[14] = (2 * far * near) / (near - far);
  return m;
}

const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const normalize3 = (a: Vec3): Vec3 => {
  const l = Math.hypot(a[0], a[1], a[2]) || 1;
  return [a[0] / l, a[1] / l, a[2] / l];
};

/** View matrix of a camera at `eye` looking at `target` (gluLookAt), column-major. */
export function lookAt(eye: Vec3, target: Vec3, up: Vec3): Mat4 {
  const f = normalize3(sub(target, eye));
  const s = normalize3(cross(f, up));
  const u = cross(s, f);
  const m = new Float32Array(16);
  m[0] = s[0];
  m[4] = s[1];
  m[8] = s[2];
  m[1] = u[0];
  m[5] = u[1];
  m[9] = u[2];
  m[2] = -f[0];
  m[6] = -f[1];
  m[10] = -f[2];
  m[12] = -dot(s, eye);
  m[13] = -dot(u, eye);
  m[14] = dot(f, eye);
  m[15] = 1;
  return m;
}

/** a · b (column-major). */
export function multiply(a: Mat4, b: Mat4): Mat4 {
  const m = new Float32Array(16);
  for (let c = 0; c < 4; c++) {
    for (let r = 0; r < 4; r++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
      m[c * 4 + r] = s;
    }
  }
  return m;
}

/** m · [x, y, z, 1] → [x, y, z, w] (clip space for an MVP matrix). */
export function transformPoint(m: Mat4, p: Vec3): [number, number, number, number] {
  const [x, y, z] = p;
  return [
    m[0] * x + m[4] * y + m[8] * z + m[12],
    m[1] * x + m[5] * y + m[9] * z + m[13],
    m[2] * x + m[6] * y + m[10] * z + m[14],
    m[3] * x + m[7] * y + m[11] * z + m[15],
  ];
}

/** The orbit camera: angles in degrees, distance in mesh units (the image's long side is 2). */
export interface Orbit {
  /** Rotation about the vertical axis; 0 = straight in front of the image. */
  yaw: number;
  /** Elevation; positive looks down on the relief. */
  pitch: number;
  distance: number;
}

export const orbitLimits = { pitch: 85, minDistance: 1.2, maxDistance: 8 } as const;

export function clampOrbit(o: Orbit): Orbit {
  const yaw = ((((o.yaw + 180) % 360) + 360) % 360) - 180;
  return {
    yaw,
    pitch: Math.max(-orbitLimits.pitch, Math.min(orbitLimits.pitch, o.pitch)),
    distance: Math.max(orbitLimits.minDistance, Math.min(orbitLimits.maxDistance, o.distance)),
  };
}

export function orbitEye(o: Orbit): Vec3 {
  const y = (o.yaw * Math.PI) / 180;
  const p = (o.pitch * Math.PI) / 180;
  return [o.distance * Math.cos(p) * Math.sin(y), o.distance * Math.sin(p), o.distance * Math.cos(p) * Math.cos(y)];
}

/** projection · view for an orbit around the point (0, 0, zCentre), the middle of the relief's height. */
export function orbitMatrices(o: Orbit, aspect: number, zCentre: number): { mvp: Mat4; view: Mat4; eye: Vec3 } {
  const e = orbitEye(o);
  const eye: Vec3 = [e[0], e[1], e[2] + zCentre];
  const view = lookAt(eye, [0, 0, zCentre], [0, 1, 0]);
  const proj = perspective((40 * Math.PI) / 180, aspect, 0.05, 50);
  return { mvp: multiply(proj, view), view, eye };
}
