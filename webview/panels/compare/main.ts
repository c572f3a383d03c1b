// ViT Lens compare: model A and model B (or A's previous checkpoint) on one image. The same view side by
// side (rollout, or one layer's head / head mean of the CLS query), their difference map (A − B: red where
// A attends more, blue where B does), the layers whose attention changed most (mean total-variation
// distance) and the per-head deltas. In VS Code a class-specific view too: the occlusion map of A's top-1
// class in both models (exact token removal, computed by the host on demand). The standalone report is this
// page with the run embedded. Browser code.
import '../../shell/styles.css';
import './compare.css';
import { slicePatchMap } from '../../../src/maths/attention';
import { layersByChange } from '../../../src/maths/compare';
import { colormapLut } from '../../../src/maths/colormaps';
import { compareJson } from '../../../src/analyses/compare/json';
import { compareTestIds, type CompareHostMessage, type CompareWebviewMessage } from '../../../src/analyses/compare/messages';
import type { CompareResult } from '../../../src/analyses/compare/types';
import type { PanelSettings } from '../../../src/analyses/attention/messages';
import type { AttentionSlice, PanelResult } from '../../../src/shared/attentionTypes';
import { clear, h } from '../../shell/dom';
import { exportButton, field } from '../../shell/controls';
import { fileName } from '../../shell/format';
import { createPage } from '../../shell/page';
import { asFloat32, asUint8 } from '../../shell/revive';

const jsonButton = exportButton('Save JSON', 'Save the comparison as JSON');
const page = createPage<CompareWebviewMessage>({
  label: 'compare',
  classes: ['vl-compare'],
  buttons: [jsonButton],
  emptyTitle: 'No comparison yet',
});

interface UiState {
  imagePath: string;
  modelB: string | null;
  view: string;
}
let state: UiState = page.restoreState(
  (raw, base: UiState) => {
    const o = (raw ?? {}) as Record<string, unknown>;
    return {
      imagePath: typeof o.imagePath === 'string' ? o.imagePath : base.imagePath,
      modelB: typeof o.modelB === 'string' ? o.modelB : base.modelB,
      view: typeof o.view === 'string' ? o.view : base.view,
    };
  },
  { imagePath: '', modelB: null, view: 'rollout' },
);
let current: { r: CompareResult; settings: PanelSettings } | undefined;
/** The class-specific view of the comparison on screen: asked for once, then kept. */
type Explained = Extract<CompareHostMessage, { type: 'explained' }>;
let explained: Explained | undefined;
let explaining = false;
const EXPLAIN_VIEW = 'occlusion';

const viewSelect = h('select', { id: 'vl-compare-view' }) as HTMLSelectElement;
const canvasA = h('canvas', {});
const canvasB = h('canvas', {});
const canvasD = h('canvas', {});
const titleA = h('div', { className: 'vl-compare-title' });
const titleB = h('div', { className: 'vl-compare-title' });
const subA = h('div', { className: 'vl-compare-sub' });
const subB = h('div', { className: 'vl-compare-sub' });
const diffSub = h('div', { className: 'vl-compare-sub' });
const diffBox = h(
  'div',
  { className: 'vl-compare-view', 'data-testid': compareTestIds.diff },
  h('div', { className: 'vl-compare-title' }, 'Difference A − B'),
  canvasD,
  diffSub,
);
const noteEl = h('p', { className: 'vl-compare-note', 'data-testid': compareTestIds.note, hidden: true });
const explainEl = h('p', { className: 'vl-compare-note', role: 'status', 'data-testid': compareTestIds.explain, hidden: true });
const bars = h('div', { className: 'vl-compare-bars' });
const table = h('table', { className: 'vl-compare-table' });
const main = h(
  'main',
  { hidden: true },
  h('div', { className: 'vl-gallery-controls' }, field('View', viewSelect)),
  noteEl,
  explainEl,
  h(
    'div',
    { className: 'vl-compare-row' },
    h('div', { className: 'vl-compare-view', 'data-testid': compareTestIds.a }, titleA, canvasA, subA),
    h('div', { className: 'vl-compare-view', 'data-testid': compareTestIds.b }, titleB, canvasB, subB),
    diffBox,
  ),
  h(
    'section',
    { className: 'vl-card', 'data-testid': compareTestIds.layerChange },
    h('h3', {}, 'Layers whose attention changed most (mean total variation of the rows)'),
    bars,
  ),
  h('section', { className: 'vl-card', 'data-testid': compareTestIds.headDeltas }, h('h3', {}, 'Per-head deltas, A − B'), table),
);
page.mount(main);

/** The CLS map of one side for the chosen view: rollout, `l:h` (a head) or `l:mean`. */
function mapOf(r: PanelResult, s: AttentionSlice, view: string): Float32Array {
  if (view === 'rollout') return asFloat32(s.rollout.map, 'rollout');
  const [l, hd] = view.split(':');
  const layer = Math.min(Number(l), r.attention.layers - 1);
  const head = hd === 'mean' ? 'mean' : Math.min(Number(hd), r.attention.heads - 1);
  return slicePatchMap(asFloat32(s.rows, 'rows'), r.attention, layer, head, r.firstPatchToken);
}

/** Paints an image (blob PNG) with a [gh, gw] map over it; `signed` maps −m..m to blue–white–red. */
function paint(
  canvas: HTMLCanvasElement,
  png: Uint8Array | null,
  size: [number, number],
  grid: [number, number],
  map: Float32Array,
  settings: PanelSettings,
  signed: boolean,
): void {
  const [w, hgt] = size;
  canvas.width = w;
  canvas.height = hgt;
  const ctx = canvas.getContext('2d')!;
  const [gh, gw] = grid;
  let max = 0;
  for (const v of map) max = Math.max(max, Math.abs(v));
  const lut = colormapLut(settings.colormap);
  const small = document.createElement('canvas');
  small.width = gw;
  small.height = gh;
  const id = new ImageData(gw, gh);
  for (let i = 0; i < gh * gw; i++) {
    const t = max > 0 ? map[i] / max : 0;
    if (signed) {
      const a = Math.abs(t);
      id.data.set(
        t >= 0
          ? [255, Math.round(255 * (1 - a)), Math.round(255 * (1 - a)), 255]
          : [Math.round(255 * (1 - a)), Math.round(255 * (1 - a)), 255, 255],
        i * 4,
      );
    } else {
      const k = Math.max(0, Math.min(255, Math.round(t * 255)));
      id.data.set([lut[k * 4], lut[k * 4 + 1], lut[k * 4 + 2], 255], i * 4);
    }
  }
  small.getContext('2d')!.putImageData(id, 0, 0);
  const overlay = () => {
    ctx.globalAlpha = png ? settings.opacity : 1;
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, 0, 0, w, hgt);
    ctx.globalAlpha = 1;
    canvas.dataset.painted = '1';
  };
  if (!png) {
    overlay();
    return;
  }
  const img = new Image();
  const url = URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
  img.onload = () => {
    ctx.drawImage(img, 0, 0, w, hgt);
    URL.revokeObjectURL(url);
    overlay();
  };
  img.src = url;
}

function fillViews(r: CompareResult): void {
  const want = state.view;
  clear(viewSelect);
  viewSelect.append(h('option', { value: 'rollout' }, 'Rollout'));
  // The class-specific view needs the host (masked runs of both models): not in the standalone report.
  if (page.vscode) viewSelect.append(h('option', { value: EXPLAIN_VIEW }, 'Why A’s top-1 class (occlusion)'));
  const layers = Math.min(r.a.attention.layers, r.b.attention.layers);
  const heads = Math.min(r.a.attention.heads, r.b.attention.heads);
  for (let l = 0; l < layers; l++) {
    viewSelect.append(h('option', { value: `${l}:mean` }, `Layer ${l}, mean of heads`));
    for (let hd = 0; hd < heads; hd++) viewSelect.append(h('option', { value: `${l}:${hd}` }, `Layer ${l}, head ${hd}`));
  }
  viewSelect.value = want;
  if (viewSelect.value !== want) viewSelect.value = 'rollout';
  state.view = viewSelect.value;
}

const top1 = (x: PanelResult) =>
  x.predictions?.[0] ? `${x.predictions[0].label} ${(x.predictions[0].probability * 100).toFixed(1)}%` : 'no predictions';

/** The class-specific maps when shown: asks the host once; until they come, the images without a map. */
function explainedMaps(r: CompareResult): { ma: Float32Array; mb: Float32Array; same: boolean } {
  explainEl.hidden = false;
  if (!explained) {
    if (!explaining) {
      explaining = true;
      explainEl.textContent = 'Computing the occlusion maps of both models…';
      page.post({ type: 'explainBoth' });
    }
    return { ma: new Float32Array(r.a.grid[0] * r.a.grid[1]), mb: new Float32Array(r.b.grid[0] * r.b.grid[1]), same: false };
  }
  const e = explained;
  explainEl.textContent = `Occlusion of “${e.label}” (p of the class minus p with each 2×2 window of patches removed)${e.note ? `. ${e.note}` : ''}`;
  const ma = asFloat32(e.a, 'occlusion A');
  const mb = e.b ? asFloat32(e.b, 'occlusion B') : new Float32Array(r.b.grid[0] * r.b.grid[1]);
  return { ma, mb, same: !!e.b && e.gridA.join() === e.gridB.join() };
}

function draw(): void {
  if (!current) return;
  const { r, settings } = current;
  const view = state.view;
  const explainView = view === EXPLAIN_VIEW;
  if (!explainView) explainEl.hidden = true;
  const x = explainView
    ? explainedMaps(r)
    : { ma: mapOf(r.a, r.sliceA, view), mb: mapOf(r.b, r.sliceB, view), same: r.comparison.sameGrid };
  const { ma, mb } = x;
  const png = (x: PanelResult) => asUint8(x.view.png, 'view');
  paint(canvasA, png(r.a), [r.a.view.width, r.a.view.height], r.a.grid, ma, settings, false);
  paint(canvasB, png(r.b), [r.b.view.width, r.b.view.height], r.b.grid, mb, settings, false);
  const same = x.same && ma.length === mb.length;
  diffBox.hidden = !same;
  if (same) {
    const d =
      view === 'rollout' && r.comparison.rolloutDifference
        ? asFloat32(r.comparison.rolloutDifference, 'rolloutDifference')
        : Float32Array.from(ma, (v, i) => v - mb[i]);
    let lo = 0,
      hi = 0;
    for (const v of d) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    paint(canvasD, null, [r.a.view.width, r.a.view.height], r.a.grid, d, settings, true);
    diffSub.textContent = `from ${lo.toExponential(2)} to ${hi.toExponential(2)}`;
  }
}

function show(r: CompareResult, settings: PanelSettings, modelB: string | null): void {
  current = { r, settings };
  explained = undefined;
  explaining = false;
  state = { ...state, imagePath: r.a.image.path, modelB };
  page.saveState(state);
  page.clearStatus();
  page.setHeader(
    r.a.image.path,
    [`${r.a.model.name} vs ${r.bIsPrevious ? 'its previous checkpoint' : r.b.model.name}`],
    [],
    `Compare — ${fileName(r.a.image.path)}`,
  );
  titleA.textContent = `A: ${r.a.model.name}`;
  titleB.textContent = r.bIsPrevious ? `B: ${r.b.model.name} (previous checkpoint)` : `B: ${r.b.model.name}`;
  subA.textContent = `${r.a.model.numLayers}×${r.a.model.numHeads} · grid ${r.a.grid.join('×')} · ${top1(r.a)}`;
  subB.textContent = `${r.b.model.numLayers}×${r.b.model.numHeads} · grid ${r.b.grid.join('×')} · ${top1(r.b)}`;
  noteEl.hidden = !r.comparison.note;
  noteEl.textContent = r.comparison.note ?? '';
  clear(bars);
  const lc = r.comparison.layerChange;
  if (lc) {
    const max = Math.max(1e-12, ...lc);
    for (const l of layersByChange(lc))
      bars.append(
        h('span', {}, `layer ${l}`),
        h('div', { className: 'vl-compare-bar', style: `width:${((100 * lc[l]) / max).toFixed(1)}%` }),
        h('span', {}, lc[l].toFixed(4)),
      );
  } else bars.append(h('span', {}, 'Not available: the attention shapes differ.'));
  clear(table);
  table.append(
    h('tr', {}, h('th', {}, 'layer'), h('th', {}, 'head'), h('th', {}, 'Δ mean distance (px)'), h('th', {}, 'Δ entropy (nats)')),
  );
  for (const d of r.comparison.headDeltas)
    table.append(
      h(
        'tr',
        {},
        h('td', {}, String(d.layer)),
        h('td', {}, String(d.head)),
        h('td', {}, d.meanDistance.toFixed(2)),
        h('td', {}, d.entropy.toFixed(3)),
      ),
    );
  fillViews(r);
  jsonButton.disabled = false;
  page.showContent();
  draw();
}

viewSelect.addEventListener('change', () => {
  state = { ...state, view: viewSelect.value };
  page.saveState(state);
  draw();
});
jsonButton.addEventListener('click', () => {
  if (!current) return;
  const { r, settings } = current;
  void page.exportJson(() => ({
    name: `${fileName(r.a.image.path)
      .replace(/\.[^.]+$/, '')
      .replace(/[^\w.\- ]/g, '_')}-compare.json`,
    doc: compareJson(r, { fusion: settings.fusion, discardRatio: settings.discardRatio }),
  }));
});
page.onShortcut(() => false);

page.start<CompareHostMessage, { compare: CompareResult; settings: PanelSettings }>(
  (m) => {
    if (m.type === 'result') show(m.compare, m.settings, m.modelB);
    else if (m.type === 'explainStatus' && explaining) explainEl.textContent = m.message;
    else if (m.type === 'explained') {
      explained = m;
      explaining = false;
      draw();
    } else if (m.type === 'explainFailed') {
      explaining = false;
      explainEl.textContent = m.message;
    }
  },
  (d) => show(d.compare, d.settings, null),
);
