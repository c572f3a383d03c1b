// Checking and reviving a DenseResult that arrived by postMessage or from the report's embedded JSON:
// typed arrays may come back as plain arrays/objects (or, for the label map, as its little-endian bytes,
// which is how the report's typed JSON carries a Uint16Array), and every length must match its shape
// before any canvas is painted. Problems in the essential parts throw an Error naming the field; broken
// optional parts (attention, a feature level) are dropped with a note. The attention may be a shape only
// (the host keeps the tensor and sends slices) or carry its data. Pure: no DOM.
import type { AttentionSlice } from '../../../src/shared/attentionTypes';
import type { FeatureLevel } from '../../../src/analyses/dense/types';
import type { DensePanelResult } from '../../../src/analyses/dense/messages';

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

function values(v: unknown): number[] | null {
  if (Array.isArray(v)) return v as number[];
  if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) return Object.values(v as Record<string, number>);
  return null;
}

export function asFloat32(v: unknown, field: string): Float32Array {
  if (v instanceof Float32Array) return v;
  if (v instanceof Float64Array) return Float32Array.from(v);
  const a = values(v);
  if (a) return Float32Array.from(a);
  throw new Error(`the result's ${field} is not a float array`);
}

export function asUint8(v: unknown, field: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof Uint8ClampedArray) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const a = values(v);
  if (a) return Uint8Array.from(a);
  throw new Error(`the result's ${field} is not a byte array`);
}

/** A Uint16Array, or its little-endian bytes (2·count of them), or a plain array of ids. */
export function asUint16(v: unknown, count: number, field: string): Uint16Array {
  if (v instanceof Uint16Array) return v;
  if (v instanceof Uint8Array && v.length === 2 * count && count > 0) {
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) out[i] = v[2 * i] | (v[2 * i + 1] << 8);
    return out;
  }
  if (v instanceof Uint8Array || v instanceof Int32Array || v instanceof Uint32Array) return Uint16Array.from(v);
  const a = values(v);
  if (a) return Uint16Array.from(a);
  throw new Error(`the result's ${field} is not an integer array`);
}

function expectLength(a: ArrayLike<unknown>, n: number, field: string, shape: string): void {
  if (a.length !== n) throw new Error(`the result's ${field} has ${a.length} values; its shape ${shape} needs ${n}`);
}

/** Checks the shapes and revives typed arrays in place; returns the same object, typed. */
export function reviveDenseResult(input: unknown): DensePanelResult {
  if (typeof input !== 'object' || input === null) throw new Error('the result is empty');
  const r = input as DensePanelResult;
  if (r.task !== 'depth' && r.task !== 'segmentation') throw new Error(`unknown task "${String(r.task)}"`);
  if (!r.view || !isPosInt(r.view.width) || !isPosInt(r.view.height)) throw new Error('the result has no view image size');
  r.view.png = asUint8(r.view.png, 'view.png');
  const { width: w, height: h } = r.view;
  r.notes = Array.isArray(r.notes) ? r.notes.filter((n): n is string => typeof n === 'string') : [];

  if (r.task === 'depth' && !r.depth) throw new Error('a depth result without a depth map');
  if (r.depth) {
    const d = r.depth;
    if (!isPosInt(d.rawWidth) || !isPosInt(d.rawHeight)) throw new Error('the result\'s depth has no raw size');
    d.raw = asFloat32(d.raw, 'depth.raw');
    expectLength(d.raw, d.rawHeight * d.rawWidth, 'depth.raw', `[${d.rawHeight}, ${d.rawWidth}]`);
    d.view = asFloat32(d.view, 'depth.view');
    expectLength(d.view, h * w, 'depth.view', `[${h}, ${w}]`);
  }

  if (r.task === 'segmentation' && !r.segmentation) throw new Error('a segmentation result without a label map');
  if (r.segmentation) {
    const s = r.segmentation;
    if (!isPosInt(s.numClasses)) throw new Error('the result\'s segmentation has no class count');
    s.labels = asUint16(s.labels, h * w, 'segmentation.labels');
    expectLength(s.labels, h * w, 'segmentation.labels', `[${h}, ${w}]`);
    s.classes = (Array.isArray(s.classes) ? s.classes : []).filter((c) => c && Number.isInteger(c.id) && c.id >= 0 && Array.isArray(c.color) && c.color.length === 3)
      .map((c) => ({ ...c, name: typeof c.name === 'string' ? c.name : `class ${c.id}`, area: Number.isFinite(c.area) ? c.area : 0 }));
  }

  const levels: FeatureLevel[] = [];
  for (const [i, f] of (Array.isArray(r.features) ? r.features : []).entries()) {
    try {
      if (!isPosInt(f.width) || !isPosInt(f.height)) throw new Error('no size');
      f.rgb = asUint8(f.rgb, `features[${i}].rgb`);
      expectLength(f.rgb, f.height * f.width * 3, `features[${i}].rgb`, `[${f.height}, ${f.width}, 3]`);
      if (!Array.isArray(f.explained)) f.explained = [NaN, NaN, NaN];
      levels.push(f);
    } catch (e) {
      r.notes.push(`Feature level ${i + 1} was left out: ${e instanceof Error ? e.message : String(e)}.`);
    }
  }
  r.features = levels;

  if (r.attention) {
    try {
      r.attention = checkAttention(r.attention, r.grid, r.firstPatchToken);
    } catch (e) {
      r.attention = undefined;
      r.notes.push(`The backbone attention was left out: ${e instanceof Error ? e.message : String(e)}.`);
    }
  }
  return r;
}

function checkAttention<T extends NonNullable<DensePanelResult['attention']>>(t: T, grid: [number, number], firstPatch: number): T {
  if (!isPosInt(t.layers) || !isPosInt(t.heads) || !isPosInt(t.tokens)) throw new Error('no shape');
  if (t.data !== undefined) {
    t.data = asFloat32(t.data, 'attention.data');
    expectLength(t.data, t.layers * t.heads * t.tokens * t.tokens, 'attention.data', `[${t.layers}, ${t.heads}, ${t.tokens}, ${t.tokens}]`);
  }
  if (!Array.isArray(grid) || !isPosInt(grid[0]) || !isPosInt(grid[1]) || !Number.isInteger(firstPatch) || firstPatch < 0) throw new Error('no patch grid');
  if (firstPatch + grid[0] * grid[1] !== t.tokens) throw new Error(`${t.tokens} tokens do not fit a ${grid[0]}×${grid[1]} grid after ${firstPatch} special tokens`);
  return t;
}

/** A slice from the host, its arrays revived and its shape checked against the result's attention. */
export function reviveSlice(s: AttentionSlice, shape: { layers: number; heads: number; tokens: number }, patches: number): AttentionSlice {
  const rows = asFloat32(s.rows, 'slice.rows');
  expectLength(rows, shape.layers * shape.heads * shape.tokens, 'slice.rows', `[${shape.layers}, ${shape.heads}, ${shape.tokens}]`);
  const map = asFloat32(s.rollout?.map, 'slice.rollout.map');
  expectLength(map, patches, 'slice.rollout.map', `[${patches}]`);
  return { ...s, rows, rollout: { ...s.rollout, map } };
}
