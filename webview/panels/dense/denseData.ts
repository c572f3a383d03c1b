// Checking and reviving a DenseResult that arrived by postMessage or from the report's embedded JSON:
// typed arrays may come back as plain arrays/objects (or, for the label map, as its little-endian bytes,
// which is how the report's typed JSON carries a Uint16Array), and every length must match its shape
// before any canvas is painted. Problems in the essential parts throw an Error naming the field; broken
// optional parts (attention, a feature level) are dropped with a note. The attention may be a shape only
// (the host keeps the tensor and sends slices) or carry its data. The typed-array helpers are the shell's
// (revive.ts). Pure: no DOM; must not import vscode or Node (the unit tests run it).
import type { FeatureLevel } from '../../../src/analyses/dense/types';
import type { DensePanelResult } from '../../../src/analyses/dense/messages';
import { asFloat32, asUint16, asUint8, expectLength } from '../../shell/revive';

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

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
    if (!isPosInt(d.rawWidth) || !isPosInt(d.rawHeight)) throw new Error("the result's depth has no raw size");
    d.raw = asFloat32(d.raw, 'depth.raw');
    expectLength(d.raw, d.rawHeight * d.rawWidth, 'depth.raw', `[${d.rawHeight}, ${d.rawWidth}]`);
    d.view = asFloat32(d.view, 'depth.view');
    expectLength(d.view, h * w, 'depth.view', `[${h}, ${w}]`);
  }

  if (r.task === 'segmentation' && !r.segmentation) throw new Error('a segmentation result without a label map');
  if (r.segmentation) {
    const s = r.segmentation;
    if (!isPosInt(s.numClasses)) throw new Error("the result's segmentation has no class count");
    s.labels = asUint16(s.labels, h * w, 'segmentation.labels');
    expectLength(s.labels, h * w, 'segmentation.labels', `[${h}, ${w}]`);
    s.classes = (Array.isArray(s.classes) ? s.classes : [])
      .filter((c) => c && Number.isInteger(c.id) && c.id >= 0 && Array.isArray(c.color) && c.color.length === 3)
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
  if (!Array.isArray(grid) || !isPosInt(grid[0]) || !isPosInt(grid[1]) || !Number.isInteger(firstPatch) || firstPatch < 0)
    throw new Error('no patch grid');
  if (firstPatch + grid[0] * grid[1] !== t.tokens)
    throw new Error(`${t.tokens} tokens do not fit a ${grid[0]}×${grid[1]} grid after ${firstPatch} special tokens`);
  return t;
}
