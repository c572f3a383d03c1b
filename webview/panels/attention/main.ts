// ViT Lens attention page: the attention webview in VS Code, and the standalone HTML report (same
// bundle, dist/webview.js + .css). The frame (VS Code or report, state, banners, busy line, exports,
// shortcut filter) is the shell's page.ts; this file holds what the attention analysis shows: view tabs,
// layer/head/query, the main and comparison maps, predictions, model view and head statistics. Every
// map is recomputed here with src/maths from the slices of the query shown. Browser code: must not
// import vscode or Node modules.
import { routeExplainMessage } from '../explain/route';
import '../../shell/styles.css';
import type { AttentionResult, PanelResult, RolloutSettings } from '../../../src/shared/attentionTypes';
import type { PanelActionId } from '../../../src/shared/panelProtocol';
import type { HostMessage, PanelSettings, WebviewMessage } from '../../../src/analyses/attention/messages';
import type { PanelMapResult } from '../../../src/analyses/attention/types';
import { colormapNames } from '../../../src/shared/panelProtocol';
import { massThresholdMask, patchMap, slicePatchMap } from '../../../src/maths/attention';
import { reviveSlice, SliceStore } from '../../shell/sliceStore';
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
  predictionsCard,
  segmented,
  showModelNote,
  slider,
  sliderField,
  timeChip,
} from '../../shell/controls';
import { fileName, fmtMs, formatValue } from '../../shell/format';
import { createPage } from '../../shell/page';
import { showRestExport, showRestNote, type Rest, type RestPart } from '../../shell/rest';
import { asFloat32, asUint8 } from '../../shell/revive';
import { buildViewExport, exportFileName } from './exportData';
import { attentionJson } from '../../../src/analyses/attention/json';
import { ModelView, type HeadSel } from '../../shell/modelView';
import { MapStage } from '../../shell/stage';
import { HeadStatsChart } from './statsChart';
import { ExplainView, explainTestIds } from '../explain/explainView';
import type { PanelExplainResult } from '../../../src/analyses/explain/types';
import {
  applySettings,
  baselineQuery,
  defaultState,
  fitStateToResult,
  moveQuery,
  parseSettings,
  parseUiState,
  patchOfToken,
  stepHead,
  tokenOfPatch,
  type Patch,
  type UiState,
  type ViewId,
} from '../../shell/state';

const viewLabels: Record<ViewId, string> = { attention: 'Attention', rollout: 'Rollout', raw: 'Raw attention', explain: 'Why this class' };
const viewTestIds: Record<ViewId, string> = {
  attention: 'attention-map',
  rollout: 'rollout-map',
  raw: 'raw-attention-map',
  explain: explainTestIds.map,
};
const viewOrder: ViewId[] = ['attention', 'rollout', 'raw', 'explain'];
const sourceLabels = { outputs: 'model outputs', tapped: 'tapped Softmax', raw: 'raw baseline' } as const;
const shortcuts: [string, string][] = [
  ['[  ]', 'previous / next layer'],
  [',  .', 'previous / next head (incl. mean)'],
  ['m', 'mean of heads'],
  ['1  2  3  4', 'Attention / Rollout / Raw attention / Why this class'],
  ['Click', 'query a patch (Shift + hover follows the mouse)'],
  ['Arrows', 'move the query patch (image focused; Shift: 3 patches)'],
  ['c  Home', 'back to the CLS query'],
  ['f', 'toggle follow mouse'],
  ['t', 'toggle the attention-mass threshold'],
];

// ---------------------------------------------------------------- page and state

const pngButton = exportButton('Save PNG', 'Save the main view (image + overlay) as PNG');
const jsonTitle = 'Save the numbers of the current view as JSON';
const jsonButton = exportButton('Save JSON', jsonTitle);
// What the rest of a first map brings (see showResult): the thumbnails come with the statistics.
const headStatsPart: RestPart = { name: 'the head statistics', plural: true };
const thumbsPart: RestPart = { name: 'the layer × head thumbnails', plural: true };
const baselinePart: RestPart = { name: 'the raw attention baseline' };
const page = createPage<WebviewMessage>({
  label: 'webview',
  shortcuts,
  buttons: [pngButton, jsonButton],
  emptyTitle: 'No attention run yet',
});
const { app, post } = page;

let state: UiState = page.restoreState(parseUiState, defaultState());
/** The result shown: a whole PanelResult, or its first map (no raw baseline, no head statistics yet). */
let result: PanelMapResult | null = null;
/** Whether the result shown is its first map only (a `partial` result): the baseline, statistics and thumbnails follow under the same id, or the run stopped before them. */
let rest: Rest = 'whole';
/** The current result's attention, one query at a time (see sliceStore.ts). */
let slices: SliceStore | null = null;
let resultSeq = 0;
let renderedPending = false;
/** A new result paints its main map alone first, then (next frame) the compare map, thumbnails and chart. */
let firstFramePending = false;
/** Wall-clock arrival of the last result: `painted` reports it so the host can split transport from paint. */
let resultReceivedAt = 0;
/** The host's id of the result shown: slices of an older one are ignored. */
let currentResultId = -1;

function saveState(): void {
  page.saveState(state);
}

// ---------------------------------------------------------------- DOM

// Toolbar: view tabs, layer/head, query.
const tabButtons = new Map<ViewId, HTMLButtonElement>();
const tablist = h('div', { className: 'vl-tabs', role: 'tablist', 'aria-label': 'View' });
for (const v of viewOrder) {
  const b = h(
    'button',
    {
      type: 'button',
      role: 'tab',
      className: 'vl-tab',
      id: `vl-tab-${v}`,
      'aria-controls': 'vl-viewer',
      'data-view': v,
      title: `${viewLabels[v]} (${viewOrder.indexOf(v) + 1})`,
    },
    viewLabels[v],
  );
  b.addEventListener('click', () => setView(v));
  tabButtons.set(v, b);
  tablist.append(b);
}
tablist.addEventListener('keydown', (ev) => {
  const n = viewOrder.length;
  const i = viewOrder.indexOf(state.view);
  let next = -1;
  if (ev.key === 'ArrowRight') next = (i + 1) % n;
  else if (ev.key === 'ArrowLeft') next = (i + n - 1) % n;
  else if (ev.key === 'Home') next = 0;
  else if (ev.key === 'End') next = n - 1;
  if (next < 0) return;
  ev.preventDefault();
  ev.stopPropagation();
  setView(viewOrder[next]);
  tabButtons.get(viewOrder[next])?.focus();
});

const layerSelect = h('select', { id: 'vl-layer', 'data-testid': 'layer-select', title: 'Layer ( [ and ] )' });
const headSelect = h('select', { id: 'vl-head', 'data-testid': 'head-select', title: 'Head ( , and . )' });
layerSelect.addEventListener('change', () => selectLayerHead(Number(layerSelect.value), state.head));
headSelect.addEventListener('change', () => selectLayerHead(state.layer, headSelect.value === 'mean' ? 'mean' : Number(headSelect.value)));
const queryOut = h('output', { className: 'vl-query-out', 'aria-live': 'polite', 'data-testid': 'query-label' });
const clsButton = h(
  'button',
  { type: 'button', className: 'vl-btn vl-btn-secondary vl-btn-small', 'data-testid': 'cls-button', title: 'Query the CLS token (c)' },
  'CLS',
);
clsButton.addEventListener('click', () => setQuery(globalQuery()));
const followButton = h(
  'button',
  {
    type: 'button',
    className: 'vl-toggle',
    'aria-pressed': 'false',
    'data-testid': 'follow-mouse',
    title: 'The query follows the mouse over the image (f); Shift + hover does it once',
  },
  'Follow mouse',
);
followButton.addEventListener('click', () => update({ followMouse: !state.followMouse }));

const toolbar = h(
  'div',
  { className: 'vl-toolbar' },
  tablist,
  h('div', { className: 'vl-toolbar-group' }, field('Layer', layerSelect), field('Head', headSelect)),
  h(
    'div',
    { className: 'vl-toolbar-group vl-query-group', role: 'group', 'aria-label': 'Query token' },
    h('span', { className: 'vl-field-label' }, 'Query'),
    queryOut,
    clsButton,
    followButton,
  ),
);

// Main viewer.
const mainStage = new MapStage({ primary: true, ariaLabel: 'Image with attention overlay', maxHeight: '64vh' });
const viewerTitle = h('h2', { className: 'vl-card-title' });
const viewerHint = h('span', { className: 'vl-card-hint' });
const readout = h('div', { className: 'vl-readout', 'aria-live': 'off' });

const opacity = opacitySlider('vl-opacity', (v) => {
  state.opacity = v;
  mainStage.setOpacity(v);
  compareStage.setOpacity(v);
  saveState();
});
const colormapSelect = h(
  'select',
  { id: 'vl-colormap', 'data-testid': 'colormap-select' },
  ...colormapNames.map((n) => h('option', { value: n }, colormapLabels[n])),
);
const upsampling = segmented<UiState['upsampling']>(
  'Upsampling',
  [
    ['nearest', 'Nearest'],
    ['smooth', 'Smooth'],
  ],
  (v) => update({ upsampling: v }),
);
const thresholdCheck = h('input', { type: 'checkbox', id: 'vl-threshold', 'data-testid': 'threshold-toggle' });
const tauInput = slider('vl-tau', 0.05, 0.95, 0.05, 'Attention mass kept (τ)');
tauInput.setAttribute('data-testid', 'threshold-slider');
const tauOut = h('output', { className: 'vl-value', for: 'vl-tau' });
colormapSelect.addEventListener('change', () => update({ colormap: colormapSelect.value as UiState['colormap'] }));
thresholdCheck.addEventListener('change', () => update({ threshold: thresholdCheck.checked }));
tauInput.addEventListener('input', () => update({ tau: Number(tauInput.value), threshold: true }));

const displayControls = h(
  'div',
  { className: 'vl-controls', role: 'group', 'aria-label': 'Display' },
  opacity.field,
  field('Colormap', colormapSelect),
  h('div', { className: 'vl-field' }, h('span', { className: 'vl-field-label' }, 'Upsampling'), upsampling.el),
  h(
    'div',
    { className: 'vl-field vl-field-slider', title: 'DINO: keep the patches holding the top τ of the attention mass (t)' },
    h('label', { className: 'vl-check', for: 'vl-threshold' }, thresholdCheck, h('span', {}, 'Mass τ')),
    tauInput,
    tauOut,
  ),
);

const fusionSelect = h(
  'select',
  { id: 'vl-fusion', 'data-testid': 'fusion-select' },
  h('option', { value: 'mean' }, 'Mean'),
  h('option', { value: 'max' }, 'Max'),
  h('option', { value: 'min' }, 'Min'),
);
const discardInput = slider('vl-discard', 0, 0.99, 0.01, 'Discard ratio');
discardInput.setAttribute('data-testid', 'discard-slider');
const discardOut = h('output', { className: 'vl-value', for: 'vl-discard' });
const startSelect = h('select', { id: 'vl-start', 'data-testid': 'start-layer-select' });
fusionSelect.addEventListener('change', () => update({ fusion: fusionSelect.value as UiState['fusion'] }));
discardInput.addEventListener('input', () => update({ discardRatio: Number(discardInput.value) }));
startSelect.addEventListener('change', () => update({ startLayer: Number(startSelect.value) }));
const rolloutControls = h(
  'div',
  { className: 'vl-controls vl-rollout-controls', role: 'group', 'aria-label': 'Rollout' },
  field('Head fusion', fusionSelect),
  sliderField('Discard', discardInput, discardOut),
  field('From layer', startSelect),
);

// "Why this class" (the explain analysis): its options under the stage, its faithfulness chart below.
const explain = new ExplainView(!!page.vscode);
explain.onRun = (req) => post({ type: 'explain', resultId: currentResultId, request: { ...req, layer: state.layer, head: state.head } });
explain.onCancel = () => post({ type: 'cancelExplain' });
explain.onChange = () => schedulePaint();

const viewer = h(
  'section',
  { className: 'vl-card vl-viewer', id: 'vl-viewer', role: 'tabpanel' },
  h('div', { className: 'vl-card-head' }, viewerTitle, viewerHint),
  mainStage.el,
  readout,
  h('div', { className: 'vl-controls-stack' }, displayControls, rolloutControls, explain.el),
);

// Side: comparison stage and predictions.
const compareStage = new MapStage({ primary: false, ariaLabel: 'Comparison map', maxHeight: '40vh' });
const compareTitle = h('h2', { className: 'vl-card-title' });
const compareNote = h('p', { className: 'vl-card-note' });
const compareCard = h(
  'section',
  { className: 'vl-card vl-compare' },
  h('div', { className: 'vl-card-head' }, compareTitle),
  compareStage.el,
  compareNote,
);
const predictions = predictionsCard(
  'vl-pred-title',
  'predictions',
  'No predictions: this run has no classifier logits (raw attention or a headless model).',
  (p) => {
    setView('explain');
    explain.pick(p.index);
  },
);
const side = h('div', { className: 'vl-side' }, compareCard, predictions.el);

// Bottom: model view and head statistics.
const modelView = new ModelView();
const modelNote = h('p', { className: 'vl-card-note', hidden: true });
const modelCard = card(
  {
    className: 'vl-model',
    titleId: 'vl-model-title',
    title: 'Model view',
    hint: 'rows = layers, columns = heads · current query · each tile scaled on its own',
  },
  modelView.el,
  modelNote,
);
const chart = new HeadStatsChart();
// No arrow keys here (yet): the chart beside it takes ← → for its own cursor.
const metric = segmented<UiState['metric']>(
  'Statistic',
  [
    ['distance', 'Mean distance'],
    ['entropy', 'Entropy'],
  ],
  (v) => update({ metric: v }),
  false,
);
const metricGroup = metric.el;
const statsNote = h('p', { className: 'vl-card-note', hidden: true }, 'No head statistics in this result.');
const statsCard = h(
  'section',
  { className: 'vl-card vl-stats', 'aria-labelledby': 'vl-stats-title' },
  h('div', { className: 'vl-card-head' }, h('h2', { className: 'vl-card-title', id: 'vl-stats-title' }, 'Head statistics'), metricGroup),
  chart.el,
  statsNote,
);

page.mount(contentLayout(toolbar, viewer, side, explain.chartCard, h('div', { className: 'vl-layout-bottom' }, modelCard, statsCard)));

// ---------------------------------------------------------------- helpers

function isRawRun(r: PanelMapResult): boolean {
  return r.model.attentionSource === 'raw';
}

/** Token 0 when it precedes the patches (CLS, or the raw baseline's mean query). */
function globalQuery(): number {
  return result && result.firstPatchToken > 0 ? 0 : state.query;
}

function globalQueryLabel(r: PanelMapResult): string {
  if (isRawRun(r)) return 'Mean';
  if (r.model.specialTokens.cls) return 'CLS';
  return 'Token 0';
}

function queryText(r: PanelMapResult, token: number): string {
  const p = patchOfToken(r, token);
  return p ? `patch (${p.row + 1}, ${p.col + 1}) · token ${token}` : `${globalQueryLabel(r)} token`;
}

function headText(head: HeadSel, heads: number): string {
  return head === 'mean' ? `mean of ${heads} heads` : `head ${head + 1}`;
}

/** postMessage keeps typed arrays, but be lenient if one arrives as a plain object (older hosts). */
function reviveResult(r: PanelMapResult): PanelMapResult {
  if (r.baseline) r.baseline.data = asFloat32(r.baseline.data, 'baseline.data');
  r.view.png = asUint8(r.view.png, 'view.png');
  r.headStats ??= [];
  return r;
}

function rolloutSettings(): RolloutSettings {
  return { fusion: state.fusion, discardRatio: state.discardRatio, startLayer: state.startLayer };
}

// ---------------------------------------------------------------- maps

/** The map of a view for the current query, or undefined while its slice is on its way from the host. */
function mapFor(view: ViewId): Float32Array | undefined {
  const r = result as PanelMapResult;
  if (view === 'raw') return r.baseline && patchMap(r.baseline, 0, 0, baselineQuery(r, state.query), 1); // the baseline may follow
  if (view === 'explain') return explain.map();
  if (view === 'rollout') return slices?.rollout(state.query, rolloutSettings());
  const rows = slices?.rows(state.query, rolloutSettings());
  return rows && slicePatchMap(rows, r.attention, state.layer, state.head, r.firstPatchToken);
}

function maskFor(map: Float32Array): Uint8Array | null {
  return state.threshold ? massThresholdMask(map, state.tau) : null;
}

function viewTitle(view: ViewId): string {
  const r = result as PanelMapResult;
  const q = patchOfToken(r, state.query) ? 'patch query' : `${globalQueryLabel(r)} query`;
  if (view === 'attention') {
    if (isRawRun(r)) return `Raw attention (no model) · ${q}`;
    return `Layer ${state.layer + 1} · ${headText(state.head, r.attention.heads)} · ${q}`;
  }
  if (view === 'explain') return explain.title();
  if (view === 'rollout') {
    const layers = state.startLayer > 0 ? `layers ${state.startLayer + 1}–${r.attention.layers}` : `all ${r.attention.layers} layers`;
    return `Attention rollout · ${state.fusion} fusion · discard ${Math.round(state.discardRatio * 100)}% · ${layers}`;
  }
  return `Raw attention · pixels only, no training · ${patchOfToken(r, state.query) ? 'patch query' : 'mean query'}`;
}

// ---------------------------------------------------------------- rendering

const schedulePaint = framePainter(() => paint());
let thumbsKey = '';
let statsKey = '';

/** Apply a state change: controls follow at once, the maps are repainted on the next frame. */
function update(patch: Partial<UiState> = {}): void {
  state = { ...state, ...patch };
  saveState();
  if (result) syncControls();
  schedulePaint();
}

function syncControls(): void {
  const r = result as PanelMapResult;
  for (const [v, b] of tabButtons) {
    const on = v === state.view;
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
  }
  viewer.setAttribute('aria-labelledby', `vl-tab-${state.view}`);
  viewer.setAttribute('data-testid', viewTestIds[state.view]);
  app.dataset.view = state.view;
  layerSelect.value = String(state.layer);
  headSelect.value = String(state.head);
  headSelect.disabled = r.attention.heads <= 1;
  layerSelect.disabled = r.attention.layers <= 1;
  const p = patchOfToken(r, state.query);
  queryOut.textContent = p ? `Patch ${p.row + 1}, ${p.col + 1}` : globalQueryLabel(r);
  queryOut.title = queryText(r, state.query);
  clsButton.textContent = globalQueryLabel(r);
  clsButton.disabled = r.firstPatchToken === 0 || !p;
  clsButton.title = `Query the ${globalQueryLabel(r)} token (c)`;
  followButton.setAttribute('aria-pressed', String(state.followMouse));
  app.classList.toggle('vl-follow', state.followMouse);
  opacity.show(state.opacity);
  colormapSelect.value = state.colormap;
  upsampling.set(state.upsampling);
  thresholdCheck.checked = state.threshold;
  tauInput.value = String(state.tau);
  tauInput.disabled = false;
  tauOut.textContent = state.threshold ? `${Math.round(state.tau * 100)}%` : 'off';
  fusionSelect.value = state.fusion;
  discardInput.value = String(state.discardRatio);
  discardOut.textContent = `${Math.round(state.discardRatio * 100)}%`;
  startSelect.value = String(state.startLayer);
  rolloutControls.hidden = state.view !== 'rollout';
  explain.el.hidden = state.view !== 'explain';
  explain.chartCard.hidden = state.view !== 'explain';
  metric.set(state.metric);
}

function paint(): void {
  if (!result) return;
  const r = result;
  syncControls();
  const lut = colormapLut(state.colormap);
  const smooth = state.upsampling === 'smooth';
  const p = patchOfToken(r, state.query);
  const query = p ? { ...p, token: state.query } : null;

  const map = mapFor(state.view); // undefined while a slice is on its way: the stage keeps its last map
  if (map) mainStage.render({ map, grid: r.grid, lut, smooth, opacity: state.opacity, mask: maskFor(map), query });
  else if (state.view === 'explain' || rest === 'stopped')
    // Nothing to show (yet, or ever: the run stopped before this map): the image alone, not the last map.
    mainStage.render({ map: new Float32Array(r.grid[0] * r.grid[1]), grid: r.grid, lut, smooth, opacity: 0, mask: null, query });
  else mainStage.showQuery(query);
  viewerTitle.textContent = viewTitle(state.view);
  mainStage.setAriaLabel(
    `${viewTitle(state.view)}. Click a patch or use the arrow keys to move the query; c returns to ${globalQueryLabel(r)}.`,
  );
  if (!hovering) readout.textContent = defaultReadout();
  if (firstFramePending && map) {
    // Let the browser show the main map now; 144 thumbnails and the chart follow in the next frame.
    firstFramePending = false;
    let done = false;
    const next = () => {
      if (done) return;
      done = true;
      post({ type: 'painted', view: state.view, at: Date.now(), receivedAt: resultReceivedAt });
      paint();
    };
    requestAnimationFrame(next);
    setTimeout(next, 100); // a hidden panel gets no animation frames
    return;
  }

  // The comparison: the raw baseline beside the model's views; the model's attention beside raw.
  // "Why this class" sits beside "where it looks": the rollout.
  const compareView: ViewId | null =
    state.view === 'raw' ? (isRawRun(r) ? null : 'attention') : state.view === 'explain' ? 'rollout' : 'raw';
  compareCard.hidden = compareView === null;
  if (compareView) {
    const cmap = mapFor(compareView);
    if (cmap) compareStage.render({ map: cmap, grid: r.grid, lut, smooth, opacity: state.opacity, mask: maskFor(cmap), query });
    const noBaseline = compareView === 'raw' && !r.baseline; // it comes with the rest of a first map
    compareStage.el.hidden = noBaseline;
    compareCard.setAttribute('data-testid', viewTestIds[compareView]);
    compareTitle.textContent =
      compareView === 'raw'
        ? 'Raw attention baseline'
        : compareView === 'rollout'
          ? 'Attention rollout'
          : `Model · layer ${state.layer + 1} · ${headText(state.head, r.attention.heads)}`;
    showRestNote(
      compareNote,
      noBaseline ? rest : 'whole',
      baselinePart,
      'Computing the raw attention baseline…',
      compareView === 'rollout'
        ? 'Where the model looks (not class-specific), beside why it predicts the class.'
        : compareView === 'raw'
          ? isRawRun(r)
            ? 'This run has no model: the main view shows this same baseline.'
            : 'Softmax of pixel dot products, no training. Structure a model shares with this map is not learned.'
          : "The model's attention for the same query, for comparison.",
    );
    compareStage.setAriaLabel(`${compareTitle.textContent}. Click a patch to query it.`);
  }

  // The thumbnails and the statistics wait for the whole result (its cards say so meanwhile).
  if (rest !== 'whole') return;
  const tk = `${resultSeq}|${state.query}|${state.colormap}`;
  const rows = tk !== thumbsKey ? slices?.rows(state.query, rolloutSettings()) : undefined;
  if (rows) {
    thumbsKey = tk;
    modelView.update((l, hd) => slicePatchMap(rows, r.attention, l, hd, r.firstPatchToken), lut, state.layer, state.head);
  }
  modelView.select(state.view === 'attention' ? state.layer : -1, state.head);

  const sk = `${resultSeq}|${state.metric}|${state.layer}|${state.head}`;
  if (sk !== statsKey) {
    statsKey = sk;
    chart.update(state.metric, state.layer, state.head);
  }
  if (renderedPending) {
    renderedPending = false;
    void announceRendered();
  }
}

async function announceRendered(): Promise<void> {
  try {
    await mainStage.img.decode();
  } catch {
    // a broken image still leaves the overlay painted
  }
  post({ type: 'rendered', thumbnails: document.querySelectorAll('[data-testid="head-thumb"]').length, view: state.view });
}

function defaultReadout(): string {
  if (rest === 'stopped' && state.view !== 'explain' && !mapFor(state.view)) return stoppedMapText();
  const { min, max } = mainStage.range;
  return `Range ${formatValue(min)} – ${formatValue(max)} · colours min–max scaled · click a patch to query it`;
}

/** A first map has query 0's attention only: other queries and the baseline came with the rest. */
function stoppedMapText(): string {
  const r = result as PanelMapResult;
  return state.view !== 'raw' && state.query !== 0 && r.firstPatchToken > 0
    ? `The run stopped before this query's attention was computed: press c for the ${globalQueryLabel(r)} query's, or Run again.`
    : 'The run stopped before this map was computed: press Run again to compute it.';
}

// ---------------------------------------------------------------- result

/**
 * Render a result. `partial`: its first map only (no raw baseline, no head statistics); the rest follows
 * under the same id (completeResult) and the cards that wait say so meanwhile.
 */
function showResult(
  r: PanelMapResult,
  store: SliceStore,
  settings: PanelSettings | undefined,
  shownNotice?: { message: string; actions: PanelActionId[] },
  partial = false,
): void {
  result = reviveResult(r);
  rest = partial ? 'following' : 'whole';
  slices = store;
  slices.onSlice = () => paint();
  resultSeq++;
  if (settings) state = applySettings(state, settings);
  state = { ...fitStateToResult(state, result), imagePath: r.image.path };
  const { layers, heads } = result.attention;

  showHeader(result);

  // Notice.
  if (shownNotice) page.notice.show(shownNotice.message, shownNotice.actions);
  else page.notice.hide();
  page.clearStatus();

  // Image.
  const name = fileName(r.image.path);
  const imageUrl = page.imageUrl(r.view.png);
  mainStage.setImage(imageUrl, r.view.width, r.view.height, `${name} as the model saw it`);
  compareStage.setImage(imageUrl, r.view.width, r.view.height, '');

  // Selects.
  clear(layerSelect);
  for (let l = 0; l < layers; l++) layerSelect.append(h('option', { value: String(l) }, `${l + 1} / ${layers}`));
  clear(headSelect);
  if (heads > 1) headSelect.append(h('option', { value: 'mean' }, 'Mean'));
  for (let hd = 0; hd < heads; hd++) headSelect.append(h('option', { value: String(hd) }, `${hd + 1} / ${heads}`));
  clear(startSelect);
  for (let l = 0; l < layers; l++) startSelect.append(h('option', { value: String(l) }, `${l + 1}`));

  predictions.show(r.predictions);
  explain.reset(result);
  showStatsAndThumbs(result);

  page.showContent();
  renderedPending = true;
  firstFramePending = true;
  update();
}

/**
 * The rest of a result whose first map is shown (the second `result` of the same id): the raw baseline,
 * the head statistics, the thumbnails and the final timings. The painted map stays as it is: its slice
 * has the same values (not recoloured), and the image is not loaded again.
 */
function completeResult(r: PanelResult, store: SliceStore): void {
  const shown = result as PanelMapResult;
  result = { ...reviveResult(r), view: shown.view };
  rest = 'whole';
  // A fresh store: requests of the first map's store went unanswered (the host held no tensor yet).
  slices = store;
  slices.onSlice = () => paint();
  showHeader(result);
  showStatsAndThumbs(result);
  renderedPending = true;
  update();
}

/** Header: file, model, source and the run's figures ("so far" while the rest of a first map is on its way). */
function showHeader(r: PanelMapResult): void {
  const t = r.timingsMs;
  const { layers, heads, tokens } = r.attention;
  showModelNote(page.noteEl, r.model.description);
  page.setHeader(
    r.image.path,
    [
      h('span', { className: 'vl-model-name', title: r.model.path ?? 'no model' }, isRawRun(r) ? 'No model' : r.model.name),
      h(
        'span',
        { className: `vl-badge vl-badge-${r.model.attentionSource}`, title: 'Where the attention came from' },
        sourceLabels[r.model.attentionSource] ?? r.model.attentionSource,
      ),
    ],
    [
      chip('grid', `${r.grid[0]}×${r.grid[1]}`, `patch ${r.model.patchSize} px`),
      chip('input', `${r.model.inputSize[1]}×${r.model.inputSize[0]}`, `image ${r.image.width}×${r.image.height}`),
      chip('layers × heads', `${layers}×${heads}`),
      chip('tokens', String(tokens), `first patch token ${r.firstPatchToken}`),
      timeChip(t, 'analysis', rest !== 'whole' ? `${fmtMs(t.total)} so far` : fmtMs(t.total)),
    ],
    `ViT Lens — ${fileName(r.image.path)}`,
  );
}

/** The model view and the head statistics; for a first map their notes say they follow, or that the run stopped before them. */
function showStatsAndThumbs(r: PanelMapResult): void {
  const { layers, heads } = r.attention;
  const whole = rest === 'whole';
  if (whole) modelView.build(layers, heads, r.grid, `${r.view.width} / ${r.view.height}`);
  modelView.el.hidden = !whole;
  modelNote.hidden = whole;
  showRestNote(modelNote, rest, thumbsPart, 'The layer × head thumbnails follow with the head statistics…');
  chart.setData(r.headStats, layers, heads);
  const stats = r.headStats.length > 0;
  statsNote.hidden = stats;
  showRestNote(statsNote, rest, headStatsPart, 'Computing the head statistics…', 'No head statistics in this result.');
  chart.el.hidden = !stats;
  metricGroup.hidden = !stats;
  thumbsKey = '';
  statsKey = '';
  // The PNG is the main view, there from the first map on; the JSON holds the statistics.
  pngButton.disabled = false;
  showRestExport(jsonButton, rest, headStatsPart, jsonTitle);
}

// A run that stopped (cancelled or failed) after its first map leaves that map without its rest.
page.onError(() => {
  if (rest !== 'following' || !result) return;
  rest = 'stopped';
  showStatsAndThumbs(result);
  update();
});

// ---------------------------------------------------------------- interactions

function setView(v: ViewId): void {
  if (v === state.view) return;
  renderedPending = true;
  update({ view: v });
}

function selectLayerHead(layer: number, head: HeadSel): void {
  if (!result) return;
  const { layers, heads } = result.attention;
  layer = Math.max(0, Math.min(layers - 1, layer));
  if (head !== 'mean') head = Math.max(0, Math.min(heads - 1, head));
  if (heads <= 1) head = 0;
  if (state.view !== 'attention') renderedPending = true;
  update({ layer, head, view: 'attention' });
}

function setQuery(token: number): void {
  if (!result || token === state.query) return;
  update({ query: token });
  post({ type: 'queryChanged', query: token, layer: state.layer, head: state.head });
}

let hovering = false;
function onStageHover(stage: MapStage, p: Patch | null, ev: PointerEvent | null): void {
  if (!result) return;
  hovering = !!p;
  // Mirror the hovered patch on the other stage.
  (stage === mainStage ? compareStage : mainStage).showHover(p);
  if (!p) {
    readout.textContent = defaultReadout();
    return;
  }
  const view: ViewId = stage === mainStage ? state.view : state.view === 'raw' ? 'attention' : 'raw';
  const v = mapFor(view)?.[p.row * result.grid[1] + p.col];
  readout.textContent = `Patch (${p.row + 1}, ${p.col + 1}) · token ${tokenOfPatch(result, p.row, p.col)} · ${viewLabels[view].toLowerCase()} ${v === undefined ? '…' : formatValue(v)}`;
  if (state.followMouse || ev?.shiftKey) setQuery(tokenOfPatch(result, p.row, p.col));
}

for (const stage of [mainStage, compareStage]) {
  stage.onHover = (p, ev) => onStageHover(stage, p, ev);
  stage.onPick = (p) => result && setQuery(tokenOfPatch(result, p.row, p.col));
  stage.stage.addEventListener('keydown', (ev) => {
    if (!result || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const step = ev.shiftKey ? 3 : 1;
    const moves: Record<string, [number, number]> = {
      ArrowUp: [-step, 0],
      ArrowDown: [step, 0],
      ArrowLeft: [0, -step],
      ArrowRight: [0, step],
    };
    const m = moves[ev.key];
    if (m) {
      ev.preventDefault();
      ev.stopPropagation();
      setQuery(moveQuery(result, state.query, m[0], m[1]));
    } else if (ev.key === 'Home') {
      ev.preventDefault();
      setQuery(globalQuery());
    }
  });
}

modelView.onSelect = (layer, head) => {
  selectLayerHead(layer, head);
  // In a narrow (stacked) panel the main view may be scrolled away: bring it back.
  const r = viewer.getBoundingClientRect();
  if (r.bottom < 40 || r.top > window.innerHeight - 40) {
    viewer.scrollIntoView({ block: 'start', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
  }
};
chart.onSelect = (layer, head) => selectLayerHead(layer, head);

page.onShortcut((ev) => {
  if (!result) return false;
  const { layers, heads } = result.attention;
  const views: Record<string, ViewId> = { '1': 'attention', '2': 'rollout', '3': 'raw', '4': 'explain' };
  switch (ev.key) {
    case '[':
      selectLayerHead(Math.max(0, state.layer - 1), state.head);
      break;
    case ']':
      selectLayerHead(Math.min(layers - 1, state.layer + 1), state.head);
      break;
    case ',':
      selectLayerHead(state.layer, stepHead(state.head, heads, -1));
      break;
    case '.':
      selectLayerHead(state.layer, stepHead(state.head, heads, 1));
      break;
    case 'm':
      if (heads > 1) selectLayerHead(state.layer, 'mean');
      break;
    case 'c':
      setQuery(globalQuery());
      break;
    case 'f':
      update({ followMouse: !state.followMouse });
      break;
    case 't':
      update({ threshold: !state.threshold });
      break;
    default:
      if (views[ev.key]) setView(views[ev.key]);
      else return false;
  }
  return true;
});

// ---------------------------------------------------------------- exports

async function doExport(format: 'png' | 'json'): Promise<void> {
  if (!result || (format === 'json' && rest !== 'whole')) return; // its button is disabled until the whole result
  const r = result as PanelResult;
  await page.exportFile(format, format === 'png' ? 'image/png' : 'application/json', async () => {
    const name = exportFileName(r, state, format);
    if (format === 'png') {
      // Of a first map, a view that comes with the rest (the baseline, another query) shows the last map under its name.
      if (rest !== 'whole' && state.view !== 'explain' && !mapFor(state.view))
        throw new Error(
          rest === 'stopped' ? 'the run stopped before this map was computed' : 'the map is still loading; try again in a moment',
        );
      return { name, bytes: await mainStage.toPng(r.view.width, r.view.height) };
    }
    if (state.view === 'explain') {
      // The document of `vit-lens explain --json`.
      const doc = explain.json();
      if (!doc) throw new Error('nothing explained yet: press Explain first');
      return { name, bytes: new TextEncoder().encode(JSON.stringify(doc, null, 1) + '\n') };
    }
    const map = mapFor(state.view);
    // The document of `vit-lens attention --json` (CLS maps and rollout from query 0's slice), plus the view shown.
    const settings = { fusion: state.fusion, discardRatio: state.discardRatio, startLayer: 0 };
    const clsRows = slices?.rows(0, settings);
    const clsRollout = slices?.rollout(0, settings);
    if (!map || !clsRows || !clsRollout) throw new Error('the maps are still loading; try again in a moment');
    const doc = {
      ...attentionJson(r, { query: 0, rows: clsRows, rollout: { ...settings, map: clsRollout } }, settings),
      view: buildViewExport(r, state, map, maskFor(map)),
    };
    return { name, bytes: new TextEncoder().encode(JSON.stringify(doc, null, 1) + '\n') };
  });
}
pngButton.addEventListener('click', () => void doExport('png'));
jsonButton.addEventListener('click', () => void doExport('json'));

// ---------------------------------------------------------------- messages

/** The attention page's own host messages (running, error and exported are the frame's). */
function onHostMessage(m: HostMessage): void {
  if (routeExplainMessage(m, currentResultId, explain)) return;
  switch (m.type) {
    case 'result': {
      const resultId = m.resultId;
      const fetch = (query: number, rollout: RolloutSettings) => post({ type: 'needSlice', resultId, query, rollout });
      try {
        // A first map has query 0's rows (its rollout follows as a `slice`); a whole result query 0's slice.
        const store = m.partial
          ? SliceStore.remote({ query: 0, rows: asFloat32(m.rows, 'rows') }, fetch)
          : SliceStore.remote(reviveSlice(m.slice), fetch);
        // The rest of the result whose first map is shown (even after an error: the run went on), or a
        // new result (possibly its first map only).
        if (!m.partial && rest !== 'whole' && resultId === currentResultId && result) completeResult(m.result, store);
        else {
          resultReceivedAt = Date.now();
          currentResultId = resultId;
          showResult(m.result, store, m.settings, m.notice, m.partial);
        }
      } catch (e) {
        page.showBadResult(e); // a first map on screen then stays without its rest (page.onError)
      }
      break;
    }
    case 'slice':
      if (m.resultId === currentResultId) slices?.put(reviveSlice(m.slice));
      break;
    case 'settings': {
      const s = parseSettings(m.settings);
      if (s) update(applySettings(state, s));
      break;
    }
  }
}

// A report whose data cannot be read keeps its empty state beside the error.
page.start<HostMessage, { result: AttentionResult; settings?: PanelSettings; explain?: PanelExplainResult }>(
  onHostMessage,
  (d) => {
    showResult(d.result, SliceStore.local(d.result.attention, d.result.firstPatchToken), d.settings);
    if (d.explain) explain.showEmbedded(d.explain); // a `vit-lens explain --html` report
  },
  (message) => page.error.show(message, []),
);
