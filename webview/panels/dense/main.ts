// ViT Lens DPT page: the result of Run DPT Depth / Run DPT Segmentation, in VS Code's webview and as a
// standalone HTML page (same bundle, dist/denseWebview.js + .css). The frame (VS Code or report, state,
// error, busy line, exports, shortcut filter) is the shell's page.ts; this file holds what the dense
// analysis shows. Depth: side by side / overlay / swipe / 3D relief, colormaps, normalisation, invert;
// segmentation: class map and legend; both: the backbone's attention and the neck's feature levels.
// Browser code: must not import vscode or Node modules.
import '../../shell/styles.css';
import './dense.css';
import type { AttentionSlice, RolloutSettings } from '../../../src/shared/attentionTypes';
import type { PanelActionId } from '../../../src/shared/panelProtocol';
import {
  depthColormapNames,
  type DenseExportFormat,
  type DenseHostMessage,
  type DensePanelResult,
  type DensePanelSettings,
  type DenseViewId,
  type DenseWebviewMessage,
} from '../../../src/analyses/dense/messages';
import { depthToUint16, segmentClasses } from '../../../src/maths/dense';
import { colormapLabels, colormapLut } from '../../../src/maths/colormaps';
import { clear, h } from '../../shell/dom';
import {
  card,
  chip,
  contentLayout,
  exportButton,
  field,
  framePainter,
  opacitySlider,
  segmented,
  showModelNote,
  slider,
  sliderField,
  timeChip,
} from '../../shell/controls';
import { fileName, fmtMs, formatValue, percent } from '../../shell/format';
import { createPage } from '../../shell/page';
import { showRestExport, type Rest } from '../../shell/rest';
import { actionLabels as sharedActionLabels } from '../../shell/shell';
import { BackboneAttentionView } from './attentionView';
import { ExplainCard } from '../explain/explainCard';
import { routeExplainMessage } from '../explain/route';
import type { PanelExplainResult } from '../../../src/analyses/explain/types';
import { denseExportName } from './denseExport';
import { denseJson, denseJsonText } from '../../../src/analyses/dense/json';
import { reviveDenseResult } from './denseData';
import { reviveSlice, SliceStore } from '../../shell/sliceStore';
import { DenseStage, type PixelPos } from './denseStage';
import {
  applyDenseSettings,
  defaultDenseState,
  defaultOrbit,
  fitDenseState,
  parseDenseState,
  viewsFor,
  type DenseUiState,
} from './denseState';
import { colorizeDepth, displayRange, finiteRange, rawCellOf, trustedStats, type DepthStats, type DisplayRange } from './depthDisplay';
import { FeaturesView } from './featuresView';
import { colorizeLabels, formatShare } from './legend';
import { LegendView } from './legendView';
import { buildReliefMesh } from './mesh';
import { encodeNpyFloat32 } from '../../../src/maths/npy';
import { encodePng16 } from '../../../src/maths/png16';
import { ReliefView } from './relief';

const actionLabels: Record<PanelActionId, string> = { ...sharedActionLabels, chooseModel: 'Choose DPT model…' };
const viewLabels: Record<DenseViewId, string> = { side: 'Side by side', overlay: 'Overlay', swipe: 'Swipe', relief: '3D relief' };
const viewTitles: Record<DenseViewId, string> = { side: 'side by side', overlay: 'overlay', swipe: 'swipe', relief: '3D relief' };
const taskLabels = { depth: 'Depth', segmentation: 'Segmentation' } as const;
const shortcuts: [string, string][] = [
  ['1  2  3  4', 'side by side / overlay / swipe / 3D relief'],
  ['i', 'invert near and far (depth)'],
  ['n', 'percentile ⇄ min–max normalisation (depth)'],
  ['← →', 'move the swipe divider (divider focused)'],
  ['Drag  ← → ↑ ↓', 'orbit the 3D relief (relief focused)'],
  ['+  −  0', 'zoom, reset the relief'],
  ['[  ]  ,  .', 'attention: layer, head (attention card focused)'],
];

// ---------------------------------------------------------------- page and state

const exportButtons = new Map<DenseExportFormat, HTMLButtonElement>();
const jsonTitle = 'Save the numbers: sizes, value range, classes, timings';
for (const [format, label, title] of [
  ['png', 'Save PNG', 'Save the current view as a colour PNG'],
  ['png16', '16-bit PNG', 'Save the depth as a 16-bit grayscale PNG (min–max of the map → 0…65535)'],
  ['npy', '.npy', "Save predicted_depth at the model's output resolution as a NumPy float32 array"],
  ['json', 'JSON', jsonTitle],
] as const) {
  const b = exportButton(label, title, { 'data-export': format });
  b.addEventListener('click', () => void doExport(format));
  exportButtons.set(format, b);
}
const page = createPage<DenseWebviewMessage>({
  label: 'dense webview',
  classes: ['vl-dense'],
  shortcuts,
  buttons: [...exportButtons.values()],
  helpId: 'vd-help',
  actionLabels,
  emptyTitle: 'No DPT run yet',
});
const { app, post } = page;

let state: DenseUiState = page.restoreState(parseDenseState, defaultDenseState());
let result: DensePanelResult | null = null;
let stats: DepthStats | null = null;
let range: DisplayRange | null = null;
let resultSeq = 0;
/** The host's id of the result shown: slices of an older one are ignored. */
let currentResultId = -1;
/** The current result's attention, one query at a time (see sliceStore.ts); null without attention. */
let attentionSlices: SliceStore | null = null;
let renderedPending = false;
/** The map of the result shown is painted and the host has not been told yet (`painted`). */
let paintedPending = false;
/** Whether the result shown is the map only (a `partial` result): its features and attention follow under the same id, or the run stopped before them. */
let rest: Rest = 'whole';
let currentImageUrl = '';
let hoverClass: number | null = null;
let emphasisClass: number | null = null;
let mapBuffer: Uint8ClampedArray | null = null;
let meshKey = '';
let mapKey = '';

function saveState(): void {
  page.saveState(state);
}

// ---------------------------------------------------------------- DOM

// The run's notes (a list, not one message) take the notice banner's place.
const notesList = h('ul', { className: 'vl-notes-list' });
const notesEl = h(
  'div',
  { className: 'vl-banner vl-notice', role: 'note', 'aria-label': 'Notes', 'data-testid': 'notes', hidden: true },
  h('span', { className: 'vl-banner-icon', 'aria-hidden': 'true' }, 'i'),
  h('div', { className: 'vl-banner-text' }, notesList),
);

// View tabs.
const tabButtons = new Map<DenseViewId, HTMLButtonElement>();
const tablist = h('div', { className: 'vl-tabs', role: 'tablist', 'aria-label': 'View' });
(['side', 'overlay', 'swipe', 'relief'] as DenseViewId[]).forEach((v, i) => {
  const b = h(
    'button',
    {
      type: 'button',
      role: 'tab',
      className: 'vl-tab',
      id: `vd-tab-${v}`,
      'aria-controls': 'vd-viewer',
      'data-view': v,
      title: `${viewLabels[v]} (${i + 1})`,
    },
    viewLabels[v],
  );
  b.addEventListener('click', () => setView(v));
  tabButtons.set(v, b);
  tablist.append(b);
});
tablist.addEventListener('keydown', (ev) => {
  if (!result) return;
  const order = viewsFor(result.task);
  const i = order.indexOf(state.view);
  const next =
    ev.key === 'ArrowRight'
      ? order[(i + 1) % order.length]
      : ev.key === 'ArrowLeft'
        ? order[(i + order.length - 1) % order.length]
        : ev.key === 'Home'
          ? order[0]
          : ev.key === 'End'
            ? order[order.length - 1]
            : null;
  if (!next) return;
  ev.preventDefault();
  ev.stopPropagation();
  setView(next);
  tabButtons.get(next)?.focus();
});

// The viewer: stage (2D views) or relief (3D).
const stage = new DenseStage({ testId: 'depth-map', mapName: 'depth', maxHeight: '62vh' });
const relief = new ReliefView();
const viewerTitle = h('h2', { className: 'vl-card-title', id: 'vd-viewer-title' });
const viewerHint = h('span', { className: 'vl-card-hint' });
const barCanvas = h('canvas', { className: 'vl-colorbar-ramp', width: '256', height: '1', 'aria-hidden': 'true' });
const barLo = h('span', { className: 'vl-colorbar-label' });
const barHi = h('span', { className: 'vl-colorbar-label' });
const colorbar = h(
  'div',
  { className: 'vl-colorbar vl-depth-colorbar', role: 'img', 'data-testid': 'depth-colorbar' },
  barLo,
  barCanvas,
  barHi,
);
const readout = h('div', { className: 'vl-readout', 'aria-live': 'off', 'data-testid': 'readout' });
const displayNote = h('p', { className: 'vl-card-note', role: 'status', hidden: true, 'data-testid': 'display-note' });

const normalization = segmented<DenseUiState['normalization']>(
  'Normalisation',
  [
    ['percentile', 'Percentiles', 'Colours span the 2nd–98th percentile: a few extreme pixels do not wash out the rest (n)'],
    ['minmax', 'Min–max', 'Colours span the whole range (n)'],
  ],
  (v) => update({ normalization: v }),
);
const colormapSelect = h(
  'select',
  { id: 'vd-colormap', 'data-testid': 'depth-colormap-select' },
  ...depthColormapNames.map((n) => h('option', { value: n }, colormapLabels[n])),
);
colormapSelect.addEventListener('change', () => update({ depthColormap: colormapSelect.value as DenseUiState['depthColormap'] }));
const invertButton = h(
  'button',
  {
    type: 'button',
    className: 'vl-toggle',
    'aria-pressed': 'false',
    'data-testid': 'invert-toggle',
    title: 'Swap the colours (and relief heights) of near and far (i)',
  },
  'Invert',
);
invertButton.addEventListener('click', () => update({ invert: !state.invert }));
const opacity = opacitySlider('vd-opacity', (v) => update({ opacity: v }));
opacity.input.setAttribute('data-testid', 'opacity-slider');
const heightInput = slider('vd-height', 0, 0.6, 0.02, "Relief height (share of the image's long side)");
const heightOut = h('output', { className: 'vl-value', for: 'vd-height' });
heightInput.addEventListener('input', () => update({ reliefHeight: Number(heightInput.value) }));
const resetViewButton = h(
  'button',
  { type: 'button', className: 'vl-btn vl-btn-secondary vl-btn-small', title: 'Back to the starting camera (0)' },
  'Reset view',
);
resetViewButton.addEventListener('click', () => resetOrbit());

const depthControls = h(
  'div',
  { className: 'vl-controls', role: 'group', 'aria-label': 'Depth display' },
  h('div', { className: 'vl-field' }, h('span', { className: 'vl-field-label' }, 'Range'), normalization.el),
  field('Colormap', colormapSelect),
  invertButton,
);
const reliefControls = sliderField('Relief height', heightInput, heightOut, resetViewButton);
const controls = h(
  'div',
  { className: 'vl-controls-stack' },
  depthControls,
  h('div', { className: 'vl-controls' }, opacity.field, reliefControls),
);

const viewer = h(
  'section',
  { className: 'vl-card vl-viewer', id: 'vd-viewer', role: 'tabpanel', 'aria-labelledby': 'vd-viewer-title' },
  h('div', { className: 'vl-card-head' }, viewerTitle, viewerHint),
  stage.el,
  relief.el,
  colorbar,
  readout,
  displayNote,
  controls,
);

// Side: legend (segmentation) or depth values, and the run summary.
const legend = new LegendView();
const legendCard = h(
  'section',
  { className: 'vl-card vl-legend-card', 'aria-labelledby': 'vd-legend-title' },
  h('div', { className: 'vl-card-head' }, h('h2', { className: 'vl-card-title', id: 'vd-legend-title' }, 'Legend')),
  legend.el,
);
const valuesList = h('dl', { className: 'vl-kv', 'data-testid': 'depth-values' });
const valuesCard = card({ titleId: 'vd-values-title', title: 'Depth values', hint: 'relative inverse depth: larger = nearer' }, valuesList);
const summaryList = h('dl', { className: 'vl-kv', 'data-testid': 'summary' });
const summaryCard = h(
  'section',
  { className: 'vl-card', 'aria-labelledby': 'vd-summary-title' },
  h('div', { className: 'vl-card-head' }, h('h2', { className: 'vl-card-title', id: 'vd-summary-title' }, 'Run')),
  summaryList,
);
const side = h('div', { className: 'vl-side' }, legendCard, valuesCard, summaryCard);

// Inside the transformer.
const attentionView = new BackboneAttentionView();
const features = new FeaturesView();
const featuresCard = card(
  {
    className: 'vl-features-card',
    titleId: 'vd-features-title',
    title: 'Neck feature levels',
    hint: 'reassembled tokens, first 3 principal components → RGB',
  },
  features.el,
  features.noteEl,
);
// "Why this depth" (src/analyses/explain): depth results only.
const depthExplain = new ExplainCard(!!page.vscode, 'region');
depthExplain.onRun = (request) => post({ type: 'explain', resultId: currentResultId, request });
depthExplain.onCancel = () => post({ type: 'cancelExplain' });
const insideHeading = h('h2', { className: 'vl-section-title', id: 'vd-inside' }, 'Inside the transformer');

const inside = h(
  'section',
  { className: 'vl-inside', 'aria-labelledby': 'vd-inside' },
  insideHeading,
  h('div', { className: 'vl-layout-bottom' }, attentionView.el, featuresCard),
  depthExplain.el,
);
page.mount(contentLayout(h('div', { className: 'vl-toolbar' }, tablist), viewer, side, inside), notesEl);

// ---------------------------------------------------------------- helpers

function fillKv(dl: HTMLElement, rows: [string, string, string?][]): void {
  clear(dl);
  for (const [k, v, title] of rows) dl.append(h('dt', {}, k), h('dd', { title: title ?? null }, v));
}

// ---------------------------------------------------------------- rendering

const schedulePaint = framePainter(() => paint());

/** Apply a state change: controls follow at once, pixels on the next frame. */
function update(patch: Partial<DenseUiState> = {}): void {
  state = { ...state, ...patch };
  saveState();
  if (!result) return;
  syncControls();
  schedulePaint();
}

function syncControls(): void {
  const r = result as DensePanelResult;
  const views = viewsFor(r.task);
  for (const [v, b] of tabButtons) {
    const on = v === state.view;
    b.hidden = !views.includes(v);
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
  }
  app.dataset.view = state.view;
  app.dataset.task = r.task;
  const isDepth = r.task === 'depth';
  const is3d = state.view === 'relief';
  stage.el.hidden = is3d;
  relief.el.hidden = !is3d;
  stage.setMode(state.view === 'relief' ? 'side' : state.view);
  stage.setOpacity(state.opacity);
  stage.setSwipe(state.swipe);
  attentionView.setOpacity(state.opacity);
  colorbar.hidden = !isDepth || is3d;
  readout.hidden = is3d;
  depthControls.hidden = !isDepth;
  controls.hidden = !isDepth && state.view !== 'overlay';
  normalization.set(state.normalization);
  colormapSelect.value = state.depthColormap;
  invertButton.setAttribute('aria-pressed', String(state.invert));
  opacity.show(state.opacity);
  opacity.field.hidden = state.view !== 'overlay';
  heightInput.value = String(state.reliefHeight);
  heightOut.textContent = percent(state.reliefHeight);
  reliefControls.hidden = !is3d;
  const what = isDepth ? 'depth' : 'classes';
  viewerTitle.textContent = `${taskLabels[r.task]} · ${viewTitles[state.view]}`;
  viewerHint.textContent =
    state.view === 'side'
      ? `image and ${what}; hover either for the values`
      : state.view === 'overlay'
        ? `${what} over the image at ${percent(state.opacity)}`
        : state.view === 'swipe'
          ? `${what} left of the divider, image right of it; drag it or focus it and use ← →`
          : 'the image draped over the depth; drag to orbit, wheel to zoom';
}

function paint(): void {
  const r = result;
  if (!r) return;
  syncControls();
  const n = r.view.width * r.view.height;
  if (!mapBuffer || mapBuffer.length !== n * 4) mapBuffer = new Uint8ClampedArray(n * 4);
  // Recolouring a megapixel map costs milliseconds: only when something it depends on changed (not for attention clicks).
  const key = `${resultSeq}|${state.normalization}|${state.invert}|${state.depthColormap}|${JSON.stringify(state.legend)}|${emphasisClass}`;
  const recolour = key !== mapKey;
  mapKey = key;
  if (r.depth && stats && recolour) {
    range = displayRange(stats, state.normalization);
    const lut = colormapLut(state.depthColormap);
    colorizeDepth(r.depth.view, range, state.invert, lut, mapBuffer);
    stage.paint(mapBuffer);
    paintColorbar(lut, range);
    const notes = [
      range.note,
      stats.nonFinite
        ? `${stats.nonFinite} values of the raw map are NaN or infinite: they are left out of the range and drawn transparent.`
        : null,
    ].filter(Boolean);
    displayNote.textContent = notes.join(' ');
    displayNote.hidden = notes.length === 0;
    stage.setMapLabel(
      `Depth map, ${colormapLabels[state.depthColormap]}, ${range.used === 'percentile' ? '2nd–98th percentile' : 'min–max'} range ${formatValue(range.lo)} to ${formatValue(range.hi)}${state.invert ? ', inverted' : ''}`,
      'depth',
    );
    fillDepthValues(r);
  } else if (r.segmentation && recolour) {
    const s = r.segmentation;
    colorizeLabels(s.labels, s.classes, s.numClasses, { legend: state.legend, emphasis: emphasisClass }, mapBuffer);
    stage.paint(mapBuffer);
    legend.update(state.legend, hoverClass);
    const lg = state.legend;
    const shown =
      lg.isolated !== null
        ? `only ${s.classes.find((c) => c.id === lg.isolated)?.name ?? `class ${lg.isolated}`}`
        : lg.hidden.length
          ? `${s.classes.length - lg.hidden.length} of ${s.classes.length} classes`
          : `${s.classes.length} classes`;
    stage.setMapLabel(`Class map, ${shown} shown; the legend lists them by area`, 'classes');
    displayNote.hidden = true;
  }
  if (r.depth && state.view === 'relief') paintRelief(r);
  if (!hovering) showReadout(null);
  if (paintedPending) {
    paintedPending = false;
    post({ type: 'painted', task: r.task, view: state.view, at: Date.now() });
  }
  attentionView.render(state.attention);
  if (renderedPending) {
    renderedPending = false;
    void announceRendered(r);
  }
}

function paintColorbar(lut: Uint8ClampedArray, rg: DisplayRange): void {
  const ctx = barCanvas.getContext('2d') as CanvasRenderingContext2D;
  const img = ctx.createImageData(256, 1);
  for (let i = 0; i < 256; i++) {
    const k = (state.invert ? 255 - i : i) * 3;
    img.data.set([lut[k], lut[k + 1], lut[k + 2], 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  barLo.textContent = `far ${formatValue(rg.lo)}`;
  barHi.textContent = `${formatValue(rg.hi)} near`;
  colorbar.setAttribute(
    'aria-label',
    `Colour scale: ${formatValue(rg.lo)} (far) to ${formatValue(rg.hi)} (near)${rg.used === 'percentile' ? ', 2nd–98th percentile; values beyond are clamped' : ''}`,
  );
}

function paintRelief(r: DensePanelResult): void {
  const d = r.depth;
  if (!d || !range) return;
  const key = `${resultSeq}|${range.lo}|${range.hi}|${range.flat}|${state.invert}|${state.reliefHeight}`;
  if (key !== meshKey) {
    meshKey = key;
    const height = state.reliefHeight * 2; // the mesh's long side spans 2 units
    const mesh = buildReliefMesh(d.view, r.view.width, r.view.height, range, state.invert, height, relief.renderer === 'webgl' ? 256 : 96);
    relief.setMesh(mesh, height / 2);
  }
  relief.setOrbit(state.orbit);
}

function resetOrbit(): void {
  update({ orbit: defaultOrbit() });
  relief.setOrbit(state.orbit);
}
relief.onOrbit = (o) => {
  state = { ...state, orbit: o };
  saveState();
};
relief.onReset = () => resetOrbit();

async function announceRendered(r: DensePanelResult): Promise<void> {
  try {
    await stage.image.decode();
  } catch {
    // a broken image still leaves the map painted
  }
  if (r !== result) return;
  post({ type: 'rendered', task: r.task, view: state.view, classes: r.segmentation ? legend.count : undefined, features: features.count });
  app.dataset.rendered = String(resultSeq);
}

function fillDepthValues(r: DensePanelResult): void {
  const d = r.depth;
  if (!d || !stats || !range) return;
  fillKv(valuesList, [
    ['min … max', `${formatValue(stats.min)} … ${formatValue(stats.max)}`, `${stats.min} … ${stats.max}`],
    ['2nd … 98th pct', `${formatValue(stats.p2)} … ${formatValue(stats.p98)}`, `${stats.p2} … ${stats.p98}`],
    [
      'colours span',
      `${formatValue(range.lo)} … ${formatValue(range.hi)}${range.flat ? ' (flat)' : ''}`,
      range.used === 'percentile' ? 'robust percentiles' : 'min–max',
    ],
    ['model output', `${d.rawWidth}×${d.rawHeight}`, 'predicted_depth [h, w]: the .npy export'],
    ['shown at', `${r.view.width}×${r.view.height}`, 'upsampled bicubically'],
  ]);
}

// ---------------------------------------------------------------- hover

let hovering = false;

function showReadout(p: PixelPos | null): void {
  const r = result;
  if (!r) return;
  hovering = !!p;
  if (r.depth) {
    const d = r.depth;
    if (!p) {
      readout.textContent = range
        ? `Hover the image for values · ${d.rawWidth}×${d.rawHeight} model output shown at ${r.view.width}×${r.view.height}`
        : '';
      return;
    }
    const v = d.view[p.y * r.view.width + p.x];
    const [row, col] = rawCellOf(p.x, p.y, r.view.width, r.view.height, d.rawWidth, d.rawHeight);
    const raw = d.raw[row * d.rawWidth + col];
    readout.textContent = `Pixel (${p.x}, ${p.y}) · depth ${formatValue(v)} · model cell (${col}, ${row}) of ${d.rawWidth}×${d.rawHeight}: ${formatValue(raw)}`;
    readout.title = `upsampled ${v} · raw ${raw}`;
    return;
  }
  const s = r.segmentation;
  if (!s) return;
  const id = p ? s.labels[p.y * r.view.width + p.x] : null;
  if (id !== hoverClass) {
    hoverClass = id;
    legend.update(state.legend, hoverClass);
  }
  if (!p || id === null) {
    readout.textContent = `Hover the image for the class under the cursor · ${s.classes.length} classes present of ${s.numClasses}`;
    return;
  }
  const cls = s.classes.find((c) => c.id === id);
  readout.textContent = `Pixel (${p.x}, ${p.y}) · ${cls ? cls.name : `class ${id}`} (class ${id}) · ${cls ? formatShare(cls.area) : '?'} of the image`;
}
stage.onHover = (p) => showReadout(p);
stage.onSwipe = (f) => {
  state = { ...state, swipe: f };
  saveState();
};

legend.onChange = (lg) => update({ legend: lg });
legend.onEmphasis = (id) => {
  if (id === emphasisClass) return;
  emphasisClass = id;
  update();
};
attentionView.onChange = (patch) => update({ attention: { ...state.attention, ...patch } });

// ---------------------------------------------------------------- result

/** The slices of a result's attention: from the host (`resultId` and the first `slice`) or cut from the tensor it carries. */
function sliceStoreOf(r: DensePanelResult, remote?: { resultId: number; slice?: AttentionSlice }): SliceStore | null {
  const a = r.attention;
  if (a?.data) return SliceStore.local({ layers: a.layers, heads: a.heads, tokens: a.tokens, data: a.data }, r.firstPatchToken);
  if (a && remote?.slice) {
    const resultId = remote.resultId;
    return SliceStore.remote(reviveSlice(remote.slice, a, r.grid[0] * r.grid[1]), (query: number, rollout: RolloutSettings) =>
      post({ type: 'needSlice', resultId, query, rollout }),
    );
  }
  if (a) {
    r.notes.push('The backbone attention is held by the extension but no slice of it arrived: it cannot be shown.');
    r.attention = undefined;
  }
  return null;
}

/**
 * Render a result. Its attention slices come from the host (`resultId` and the first `slice`, when the
 * host keeps the tensor) or are cut locally from the tensor the result carries. `partial`: the map only,
 * the rest follows (completeResult).
 */
function showResult(
  input: DensePanelResult,
  settings: DensePanelSettings | undefined,
  remote?: { resultId: number; slice?: AttentionSlice; partial?: boolean },
): void {
  let r: DensePanelResult;
  let store: SliceStore | null = null;
  try {
    r = reviveDenseResult(input);
    store = sliceStoreOf(r, remote);
    if (remote) currentResultId = remote.resultId;
  } catch (e) {
    page.showBadResult(e);
    return;
  }
  result = r;
  resultSeq++;
  meshKey = '';
  mapKey = '';
  hoverClass = null;
  emphasisClass = null;
  rest = remote?.partial ? 'following' : 'whole';
  stats = r.depth ? trustedStats(r.depth) : null;
  if (r.segmentation && r.segmentation.classes.every((c) => c.area === 0)) {
    // Areas missing: count them here.
    const areas = new Map(segmentClasses(r.segmentation.labels, r.segmentation.numClasses).map((c) => [c.id, c.area]));
    for (const c of r.segmentation.classes) c.area = areas.get(c.id) ?? 0;
  }
  if (settings) state = applyDenseSettings(state, settings);
  // A map-only result has no attention yet: the attention's layer, head and query are fitted when it comes.
  const fitted = fitDenseState(state, r);
  state = rest !== 'whole' ? { ...fitted, attention: state.attention, shapeKey: state.shapeKey } : fitted;

  showRunInfo(r);
  page.clearStatus();

  // Image.
  const name = fileName(r.image.path);
  const imageUrl = (currentImageUrl = page.imageUrl(r.view.png));
  const isDepth = r.task === 'depth';
  stage.canvas.setAttribute('data-testid', isDepth ? 'depth-map' : 'segmentation-map');
  stage.setImage(imageUrl, r.view.width, r.view.height, `${name} as the model saw it`);
  relief.setAspect(r.view.width, r.view.height);
  relief.setImage(stage.image);

  // Side cards.
  legendCard.hidden = !r.segmentation;
  valuesCard.hidden = !r.depth;
  if (r.segmentation) legend.build(r.segmentation.classes);

  exportButtons.get('png16')!.hidden = !isDepth;
  exportButtons.get('npy')!.hidden = !isDepth;
  for (const b of exportButtons.values()) b.disabled = false; // showInside then sets the JSON's (it holds the rest)
  showInside(r, store);
  // "Why this depth" explains a depth model's region; segmentation has no such target yet.
  depthExplain.el.hidden = !isDepth;
  if (isDepth) depthExplain.reset(imageUrl, r.view, r.image, r.grid);

  page.showContent();
  paintedPending = true;
  renderedPending = rest === 'whole';
  update();
}

/**
 * The rest of a result whose map is shown (the second `result` of the same id): the neck levels, the
 * attention, the notes and timings. The painted map stays as it is (same values: not recoloured).
 */
function completeResult(input: DensePanelResult, remote: { resultId: number; slice?: AttentionSlice }): void {
  const shown = result as DensePanelResult;
  let r: DensePanelResult;
  let store: SliceStore | null;
  try {
    r = reviveDenseResult(input);
    store = sliceStoreOf(r, remote);
  } catch (e) {
    page.showBadResult(e); // the map shown stays without its rest (page.onError)
    return;
  }
  // The map's arrays stay the ones painted (their values are the same).
  result = r = { ...r, depth: shown.depth, segmentation: shown.segmentation, view: shown.view };
  rest = 'whole';
  state = fitDenseState(state, r);
  showRunInfo(r);
  showInside(r, store);
  renderedPending = true;
  update();
}

/** Header, notes and the run's summary card. */
function showRunInfo(r: DensePanelResult): void {
  const name = fileName(r.image.path);
  const t = r.timingsMs;
  showModelNote(page.noteEl, r.model.description);
  page.setHeader(
    r.image.path,
    [
      h('span', { className: 'vl-model-name', title: r.model.path ?? '' }, r.model.name),
      h('span', { className: `vl-badge vl-badge-task vl-badge-${r.task}` }, taskLabels[r.task]),
    ],
    [
      chip(
        'input',
        `${r.model.inputSize[1]}×${r.model.inputSize[0]}`,
        `image ${r.image.width}×${r.image.height}; the model ran on ${r.model.inputSize[1]}×${r.model.inputSize[0]}`,
      ),
      r.depth
        ? chip('output', `${r.depth.rawWidth}×${r.depth.rawHeight}`, 'predicted_depth')
        : chip('classes', `${r.segmentation?.classes.length ?? 0} / ${r.segmentation?.numClasses ?? 0}`, 'present / in the model'),
      chip('grid', `${r.grid[0]}×${r.grid[1]}`, `patch ${r.model.patchSize} px`),
      r.attention ? chip('layers × heads', `${r.attention.layers}×${r.attention.heads}`) : null,
      timeChip(t, 'postprocess'),
    ],
    `ViT Lens — ${taskLabels[r.task]} — ${name}`,
  );

  clear(notesList);
  for (const note of r.notes) notesList.append(h('li', {}, note));
  notesEl.hidden = r.notes.length === 0;

  fillKv(summaryList, [
    ['model', r.model.name, r.model.path ?? ''],
    ['backbone', `${r.model.numLayers} layers × ${r.model.numHeads} heads, patch ${r.model.patchSize}`],
    ['model input', `${r.model.inputSize[1]}×${r.model.inputSize[0]}`, 'width × height after resizing to multiples of the patch size'],
    ['image', `${r.image.width}×${r.image.height}`, r.image.path],
    ['decode', fmtMs(t.decode)],
    ['model load', t.modelLoad ? fmtMs(t.modelLoad) : 'cached'],
    ['preprocess', fmtMs(t.preprocess)],
    ['inference', fmtMs(t.inference)],
    ['post-process', rest !== 'whole' ? `${fmtMs(t.postprocess)} so far` : fmtMs(t.postprocess)],
    ['total', rest !== 'whole' ? `${fmtMs(t.total)} so far` : fmtMs(t.total)],
  ]);
}

/** The attention card and the neck levels (for a map only, their notes say they follow or that the run stopped), and the JSON that holds them. */
function showInside(r: DensePanelResult, store: SliceStore | null): void {
  attentionSlices = store;
  attentionView.setResult(r, currentImageUrl, store, rest);
  features.build(r.features, `${r.view.width} / ${r.view.height}`, rest);
  // The images and the .npy are the map, there from the start; the JSON holds the neck levels and the attention.
  showRestExport(exportButtons.get('json')!, rest, { name: 'the neck levels and the backbone attention', plural: true }, jsonTitle);
}

// A run that stopped (cancelled or failed) after its map leaves that map without its rest.
page.onError(() => {
  if (rest !== 'following' || !result) return;
  rest = 'stopped';
  showInside(result, null);
});

// ---------------------------------------------------------------- interactions

function setView(v: DenseViewId): void {
  if (!result || v === state.view || !viewsFor(result.task).includes(v)) return;
  update({ view: v });
}

// Keys a focused control already used (the relief's +/−, the attention card's [ ]) are not shortcuts here.
page.onShortcut((ev) => {
  if (!result) return false;
  const views: Record<string, DenseViewId> = { 1: 'side', 2: 'overlay', 3: 'swipe', 4: 'relief' };
  const isDepth = result.task === 'depth';
  if (views[ev.key]) setView(views[ev.key]);
  else if (ev.key === 'i' && isDepth) update({ invert: !state.invert });
  else if (ev.key === 'n' && isDepth) update({ normalization: state.normalization === 'percentile' ? 'minmax' : 'percentile' });
  else return false;
  return true;
}, true);

// ---------------------------------------------------------------- exports

async function exportBytes(r: DensePanelResult, format: DenseExportFormat): Promise<Uint8Array> {
  const d = r.depth;
  switch (format) {
    case 'png':
      return state.view === 'relief' && d ? relief.toPng() : stage.toPng();
    case 'png16': {
      if (!d) throw new Error('no depth map in this result');
      const fr = finiteRange(d.view);
      return encodePng16(depthToUint16(d.view, fr.min, fr.max), r.view.width, r.view.height, {
        Software: 'ViT Lens',
        Description: `relative inverse depth (larger = nearer) = ${fr.min} + value / 65535 * (${fr.max} - ${fr.min})`,
      });
    }
    case 'npy':
      if (!d) throw new Error('no depth map in this result');
      return encodeNpyFloat32(d.raw, [d.rawHeight, d.rawWidth]);
    case 'json': {
      const fr = d ? finiteRange(d.view) : null;
      const display = {
        normalization: range?.used ?? state.normalization,
        lo: range?.lo ?? NaN,
        hi: range?.hi ?? NaN,
        invert: state.invert,
        colormap: state.depthColormap,
        flat: range?.flat ?? false,
      };
      return new TextEncoder().encode(denseJsonText(denseJson(r, { display, png16: fr ?? { min: d?.min ?? NaN, max: d?.max ?? NaN } })));
    }
  }
}

async function doExport(format: DenseExportFormat): Promise<void> {
  const r = result;
  if (!r || (format === 'json' && rest !== 'whole')) return; // its button is disabled until the whole result
  const type = format === 'json' ? 'application/json' : format === 'npy' ? 'application/octet-stream' : 'image/png';
  await page.exportFile(format, type, async () => ({ name: denseExportName(r, state, format), bytes: await exportBytes(r, format) }));
}

// ---------------------------------------------------------------- messages

/** The DPT page's own host messages (running, error and exported are the frame's). */
function onHostMessage(m: DenseHostMessage): void {
  if (routeExplainMessage(m, currentResultId, depthExplain)) return;
  switch (m.type) {
    case 'result':
      // The rest of the result whose map is shown, or a new result (possibly its map only).
      if (!m.partial && rest !== 'whole' && m.resultId === currentResultId && result)
        completeResult(m.result, { resultId: m.resultId, slice: m.slice });
      else showResult(m.result, m.settings, { resultId: m.resultId, slice: m.slice, partial: m.partial });
      break;
    case 'slice':
      if (m.resultId === currentResultId && result?.attention) {
        try {
          attentionSlices?.put(reviveSlice(m.slice, result.attention, result.grid[0] * result.grid[1]));
        } catch (e) {
          post({ type: 'log', level: 'warn', message: `dense webview: bad slice: ${String(e)}` });
        }
      }
      break;
  }
}

// The report: the result, and "Why this depth" when `vit-lens explain --region --html` wrote it.
page.start<DenseHostMessage, { result: DensePanelResult; settings?: DensePanelSettings; explain?: PanelExplainResult }>(
  onHostMessage,
  (d) => {
    showResult(d.result, d.settings);
    if (d.explain) depthExplain.result(d.explain);
  },
);
