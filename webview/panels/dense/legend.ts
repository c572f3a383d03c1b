// Segmentation legend logic: order (by area), which classes are shown (isolate one / hide some), and
// painting the label map with the palette. Pure: typed arrays and plain objects, no DOM, no imports at
// run time (never vscode or Node).
import type { SegmentClass } from '../../../src/analyses/dense/types';

/** What the user picked in the legend. Kept in the webview state, so plain JSON (no Set). */
export interface LegendState {
  /** The one class shown alone, or null. */
  isolated: number | null;
  /** Classes not drawn (when nothing is isolated), ascending. */
  hidden: number[];
}

export const emptyLegend = (): LegendState => ({ isolated: null, hidden: [] });

/** Largest area first; equal areas by class id, so the order is stable. */
export function sortLegend(classes: readonly SegmentClass[]): SegmentClass[] {
  return [...classes].sort((a, b) => b.area - a.area || a.id - b.id);
}

/** Click: show this class alone; clicking the isolated class again shows everything (hidden ones stay hidden). */
export function isolateClass(s: LegendState, id: number): LegendState {
  if (s.isolated === id) return { isolated: null, hidden: s.hidden };
  return { isolated: id, hidden: s.hidden.filter((h) => h !== id) };
}

/** The hide toggle: hidden ⇄ shown. Hiding the isolated class ends the isolation. */
export function toggleHidden(s: LegendState, id: number): LegendState {
  const hidden = s.hidden.includes(id) ? s.hidden.filter((h) => h !== id) : [...s.hidden, id].sort((a, b) => a - b);
  return { isolated: s.isolated === id ? null : s.isolated, hidden };
}

export function isClassVisible(s: LegendState, id: number): boolean {
  return s.isolated !== null ? s.isolated === id : !s.hidden.includes(id);
}

/** Drops ids the result does not contain (a restored state may come from another image). */
export function fitLegend(s: LegendState, presentIds: readonly number[]): LegendState {
  const present = new Set(presentIds);
  return { isolated: s.isolated !== null && present.has(s.isolated) ? s.isolated : null, hidden: s.hidden.filter((h) => present.has(h)) };
}

/** "42.1 %", "0.35 %", "< 0.01 %". */
export function formatShare(area: number): string {
  const pct = area * 100;
  if (pct === 0) return '0 %';
  if (pct < 0.01) return '< 0.01 %';
  return `${pct >= 1 ? pct.toFixed(1) : pct.toFixed(2)} %`;
}

export interface LabelPaint {
  legend: LegendState;
  /** A class the pointer rests on (legend or map): drawn fully, the others dimmed. null: none. */
  emphasis: number | null;
}

/**
 * RGBA pixels of a label map: palette colour of visible classes (opaque; 35 % alpha for the others while
 * one is emphasised), transparent for hidden classes and out-of-range ids. Ids without an entry in
 * `classes` are grey.
 */
export function colorizeLabels(
  labels: ArrayLike<number>,
  classes: readonly SegmentClass[],
  numClasses: number,
  paint: LabelPaint,
  out: Uint8ClampedArray = new Uint8ClampedArray(labels.length * 4),
): Uint8ClampedArray {
  const n = Math.max(numClasses, ...classes.map((c) => c.id + 1));
  // One RGBA entry per class id, looked up per pixel.
  const table = new Uint8ClampedArray(4 * (n + 1));
  for (let id = 0; id <= n; id++) table.set([128, 128, 128, 0], id * 4);
  for (const c of classes) if (c.id >= 0 && c.id < n) table.set(c.color, c.id * 4);
  for (let id = 0; id < n; id++) {
    const alpha = !isClassVisible(paint.legend, id) ? 0 : paint.emphasis !== null && paint.emphasis !== id ? 90 : 255;
    table[id * 4 + 3] = alpha;
  }
  for (let i = 0, o = 0; i < labels.length; i++, o += 4) {
    const k = (labels[i] < n ? labels[i] : n) * 4;
    out[o] = table[k];
    out[o + 1] = table[k + 1];
    out[o + 2] = table[k + 2];
    out[o + 3] = table[k + 3];
  }
  return out;
}
