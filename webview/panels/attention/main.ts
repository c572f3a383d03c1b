// ViT Lens panel: the attention webview in VS Code, and the standalone HTML report (same bundle).
// In VS Code `acquireVsCodeApi` exists: we post `ready`, render what the host sends and keep the UI
// state with setState/getState. In the report the data is embedded in <script id="vit-lens-data">
// (stringifyTyped) and exports download as files. Every map is recomputed here with src/analysis.
import '../../shell/styles.css';
import type { AttentionResult, AttentionSlice, PanelResult, RolloutSettings } from '../../../src/shared/attentionTypes';
import type { PanelActionId } from '../../../src/shared/panelProtocol';
import type { HostMessage, PanelSettings, WebviewMessage } from '../../../src/analyses/attention/messages';
import { colormapNames } from '../../../src/shared/panelProtocol';
import { massThresholdMask, patchMap, slicePatchMap } from '../../../src/maths/attention';
import { SliceStore } from '../../shell/sliceStore';
import { colormapLabels, colormapLut } from '../../../src/maths/colormaps';
import { clear, h } from '../../shell/dom';
import { actionLabels, connectVsCode, createBanner, createBusyIndicator, createToast, downloadFile, exportedText, helpPopover, isTypingTarget, panelHeader, startPage } from '../../shell/shell';
import { buildViewExport, exportFileName } from './exportData';
import { ModelView, type HeadSel } from '../../shell/modelView';
import { formatValue } from '../../shell/raster';
import { MapStage } from '../../shell/stage';
import { HeadStatsChart } from './statsChart';
import {
  applySettings, baselineQuery, defaultState, fitStateToResult, moveQuery, parseSettings, parseUiState, patchOfToken,
  stepHead, tokenOfPatch, type Patch, type UiState, type ViewId,
} from '../../shell/state';

const vscode = connectVsCode();
const post = (m: WebviewMessage) => vscode?.postMessage(m);

const viewLabels: Record<ViewId, string> = { attention: 'Attention', rollout: 'Rollout', raw: 'Raw attention' };
const viewTestIds: Record<ViewId, string> = { attention: 'attention-map', rollout: 'rollout-map', raw: 'raw-attention-map' };
const sourceLabels = { outputs: 'model outputs', tapped: 'tapped Softmax', raw: 'raw baseline' } as const;
const shortcuts: [string, string][] = [
  ['[  ]', 'previous / next layer'],
  [',  .', 'previous / next head (incl. mean)'],
  ['m', 'mean of heads'],
  ['1  2  3', 'Attention / Rollout / Raw attention'],
  ['Click', 'query a patch (Shift + hover follows the mouse)'],
  ['Arrows', 'move the query patch (image focused; Shift: 3 patches)'],
  ['c  Home', 'back to the CLS query'],
  ['f', 'toggle follow mouse'],
  ['t', 'toggle the attention-mass threshold'],
  ['?', 'show / hide this help'],
];

// ---------------------------------------------------------------- state

let state: UiState = parseUiState(vscode?.getState(), defaultState());
let result: PanelResult | null = null;
/** The current result's attention, one query at a time (see sliceStore.ts). */
let slices: SliceStore | null = null;
let resultSeq = 0;
let imageUrl: string | null = null;
let exportSeq = 0;
let renderedPending = false;
/** A new result paints its main map alone first, then (next frame) the compare map, thumbnails and chart. */
let firstFramePending = false;
/** Wall-clock arrival of the last result: `painted` reports it so the host can split transport from paint. */
let resultReceivedAt = 0;
/** The host's id of the result shown: slices of an older one are ignored. */
let currentResultId = -1;

function saveState(): void {
  vscode?.setState(state);
}

// ---------------------------------------------------------------- DOM

const app = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
app.classList.add('vl-app');
if (!vscode) app.classList.add('vl-standalone');

const pngButton = h('button', { type: 'button', className: 'vl-btn vl-btn-secondary', disabled: true, title: 'Save the main view (image + overlay) as PNG' }, 'Save PNG');
const jsonButton = h('button', { type: 'button', className: 'vl-btn vl-btn-secondary', disabled: true, title: 'Save the numbers of the current view as JSON' }, 'Save JSON');
const { header, titleEl, subtitleEl, metaEl, helpButton, helpEl } = panelHeader(shortcuts, [pngButton, jsonButton]);

const runAction = vscode && ((a: PanelActionId) => post({ type: 'action', action: a }));
const notice = createBanner('notice', actionLabels, runAction);
const error = createBanner('error', actionLabels, runAction, { 'data-testid': 'error' });

const busy = createBusyIndicator();

const emptyEl = h('div', { className: 'vl-empty' },
  h('div', { className: 'vl-empty-title' }, 'No attention run yet'),
  h('p', {}, vscode ? 'Waiting for the extension to send a result…' : 'This report contains no data.'));

// Toolbar: view tabs, layer/head, query.
const tabButtons = new Map<ViewId, HTMLButtonElement>();
const tablist = h('div', { className: 'vl-tabs', role: 'tablist', 'aria-label': 'View' });
for (const v of ['attention', 'rollout', 'raw'] as ViewId[]) {
  const b = h('button', { type: 'button', role: 'tab', className: 'vl-tab', id: `vl-tab-${v}`, 'aria-controls': 'vl-viewer', 'data-view': v, title: `${viewLabels[v]} (${['attention', 'rollout', 'raw'].indexOf(v) + 1})` }, viewLabels[v]);
  b.addEventListener('click', () => setView(v));
  tabButtons.set(v, b);
  tablist.append(b);
}
tablist.addEventListener('keydown', (ev) => {
  const order: ViewId[] = ['attention', 'rollout', 'raw'];
  const i = order.indexOf(state.view);
  let next = -1;
  if (ev.key === 'ArrowRight') next = (i + 1) % 3;
  else if (ev.key === 'ArrowLeft') next = (i + 2) % 3;
  else if (ev.key === 'Home') next = 0;
  else if (ev.key === 'End') next = 2;
  if (next < 0) return;
  ev.preventDefault();
  ev.stopPropagation();
  setView(order[next]);
  tabButtons.get(order[next])?.focus();
});

const layerSelect = h('select', { id: 'vl-layer', 'data-testid': 'layer-select', title: 'Layer ( [ and ] )' });
const headSelect = h('select', { id: 'vl-head', 'data-testid': 'head-select', title: 'Head ( , and . )' });
layerSelect.addEventListener('change', () => selectLayerHead(Number(layerSelect.value), state.head));
headSelect.addEventListener('change', () => selectLayerHead(state.layer, headSelect.value === 'mean' ? 'mean' : Number(headSelect.value)));
const queryOut = h('output', { className: 'vl-query-out', 'aria-live': 'polite', 'data-testid': 'query-label' });
const clsButton = h('button', { type: 'button', className: 'vl-btn vl-btn-secondary vl-btn-small', 'data-testid': 'cls-button', title: 'Query the CLS token (c)' }, 'CLS');
clsButton.addEventListener('click', () => setQuery(globalQuery()));
const followButton = h('button', { type: 'button', className: 'vl-toggle', 'aria-pressed': 'false', 'data-testid': 'follow-mouse', title: 'The query follows the mouse over the image (f); Shift + hover does it once' }, 'Follow mouse');
followButton.addEventListener('click', () => update({ followMouse: !state.followMouse }));

const field = (label: string, control: HTMLElement, extra?: Node) =>
  h('div', { className: 'vl-field' }, h('label', { for: control.id }, label), control, extra ?? null);
const toolbar = h('div', { className: 'vl-toolbar' },
  tablist,
  h('div', { className: 'vl-toolbar-group' }, field('Layer', layerSelect), field('Head', headSelect)),
  h('div', { className: 'vl-toolbar-group vl-query-group', role: 'group', 'aria-label': 'Query token' },
    h('span', { className: 'vl-field-label' }, 'Query'), queryOut, clsButton, followButton));

// Main viewer.
const mainStage = new MapStage({ primary: true, ariaLabel: 'Image with attention overlay', maxHeight: '64vh' });
const viewerTitle = h('h2', { className: 'vl-card-title' });
const viewerHint = h('span', { className: 'vl-card-hint' });
const readout = h('div', { className: 'vl-readout', 'aria-live': 'off' });

const slider = (id: string, min: number, max: number, step: number, label: string) =>
  h('input', { type: 'range', id, min: String(min), max: String(max), step: String(step), 'aria-label': label });
const opacityInput = slider('vl-opacity', 0, 1, 0.05, 'Overlay opacity');
const opacityOut = h('output', { className: 'vl-value', for: 'vl-opacity' });
const colormapSelect = h('select', { id: 'vl-colormap', 'data-testid': 'colormap-select' },
  ...colormapNames.map((n) => h('option', { value: n }, colormapLabels[n])));
const upsampleButtons = new Map<string, HTMLButtonElement>();
const upsampleGroup = h('div', { className: 'vl-segmented', role: 'radiogroup', 'aria-label': 'Upsampling' });
for (const [v, label] of [['nearest', 'Nearest'], ['smooth', 'Smooth']] as const) {
  const b = h('button', { type: 'button', role: 'radio', className: 'vl-seg', 'data-value': v }, label);
  b.addEventListener('click', () => update({ upsampling: v }));
  upsampleButtons.set(v, b);
  upsampleGroup.append(b);
}
upsampleGroup.addEventListener('keydown', (ev) => {
  if (ev.key !== 'ArrowLeft' && ev.key !== 'ArrowRight') return;
  ev.preventDefault();
  ev.stopPropagation();
  const v = state.upsampling === 'nearest' ? 'smooth' : 'nearest';
  update({ upsampling: v });
  upsampleButtons.get(v)?.focus();
});
const thresholdCheck = h('input', { type: 'checkbox', id: 'vl-threshold', 'data-testid': 'threshold-toggle' });
const tauInput = slider('vl-tau', 0.05, 0.95, 0.05, 'Attention mass kept (τ)');
tauInput.setAttribute('data-testid', 'threshold-slider');
const tauOut = h('output', { className: 'vl-value', for: 'vl-tau' });
opacityInput.addEventListener('input', () => {
  state.opacity = Number(opacityInput.value);
  opacityOut.textContent = `${Math.round(state.opacity * 100)}%`;
  mainStage.setOpacity(state.opacity);
  compareStage.setOpacity(state.opacity);
  saveState();
});
colormapSelect.addEventListener('change', () => update({ colormap: colormapSelect.value as UiState['colormap'] }));
thresholdCheck.addEventListener('change', () => update({ threshold: thresholdCheck.checked }));
tauInput.addEventListener('input', () => update({ tau: Number(tauInput.value), threshold: true }));

const displayControls = h('div', { className: 'vl-controls', role: 'group', 'aria-label': 'Display' },
  h('div', { className: 'vl-field vl-field-slider' }, h('label', { for: 'vl-opacity' }, 'Opacity'), opacityInput, opacityOut),
  field('Colormap', colormapSelect),
  h('div', { className: 'vl-field' }, h('span', { className: 'vl-field-label' }, 'Upsampling'), upsampleGroup),
  h('div', { className: 'vl-field vl-field-slider', title: 'DINO: keep the patches holding the top τ of the attention mass (t)' },
    h('label', { className: 'vl-check', for: 'vl-threshold' }, thresholdCheck, h('span', {}, 'Mass τ')), tauInput, tauOut));

const fusionSelect = h('select', { id: 'vl-fusion', 'data-testid': 'fusion-select' },
  h('option', { value: 'mean' }, 'Mean'), h('option', { value: 'max' }, 'Max'), h('option', { value: 'min' }, 'Min'));
const discardInput = slider('vl-discard', 0, 0.99, 0.01, 'Discard ratio');
discardInput.setAttribute('data-testid', 'discard-slider');
const discardOut = h('output', { className: 'vl-value', for: 'vl-discard' });
const startSelect = h('select', { id: 'vl-start', 'data-testid': 'start-layer-select' });
fusionSelect.addEventListener('change', () => update({ fusion: fusionSelect.value as UiState['fusion'] }));
discardInput.addEventListener('input', () => update({ discardRatio: Number(discardInput.value) }));
startSelect.addEventListener('change', () => update({ startLayer: Number(startSelect.value) }));
const rolloutControls = h('div', { className: 'vl-controls vl-rollout-controls', role: 'group', 'aria-label': 'Rollout' },
  field('Head fusion', fusionSelect),
  h('div', { className: 'vl-field vl-field-slider' }, h('label', { for: 'vl-discard' }, 'Discard'), discardInput, discardOut),
  field('From layer', startSelect));

const viewer = h('section', { className: 'vl-card vl-viewer', id: 'vl-viewer', role: 'tabpanel' },
  h('div', { className: 'vl-card-head' }, viewerTitle, viewerHint),
  mainStage.el,
  readout,
  h('div', { className: 'vl-controls-stack' }, displayControls, rolloutControls));

// Side: comparison stage and predictions.
const compareStage = new MapStage({ primary: false, ariaLabel: 'Comparison map', maxHeight: '40vh' });
const compareTitle = h('h2', { className: 'vl-card-title' });
const compareNote = h('p', { className: 'vl-card-note' });
const compareCard = h('section', { className: 'vl-card vl-compare' }, h('div', { className: 'vl-card-head' }, compareTitle), compareStage.el, compareNote);
const predList = h('ol', { className: 'vl-preds' });
const predNote = h('p', { className: 'vl-card-note', hidden: true }, 'No predictions: this run has no classifier logits (raw attention or a headless model).');
const predCard = h('section', { className: 'vl-card vl-predictions', 'data-testid': 'predictions', 'aria-labelledby': 'vl-pred-title' },
  h('div', { className: 'vl-card-head' }, h('h2', { className: 'vl-card-title', id: 'vl-pred-title' }, 'Predictions')), predList, predNote);
const side = h('div', { className: 'vl-side' }, compareCard, predCard);

// Bottom: model view and head statistics.
const modelView = new ModelView();
const modelCard = h('section', { className: 'vl-card vl-model', 'aria-labelledby': 'vl-model-title' },
  h('div', { className: 'vl-card-head' }, h('h2', { className: 'vl-card-title', id: 'vl-model-title' }, 'Model view'),
    h('span', { className: 'vl-card-hint' }, 'rows = layers, columns = heads · current query · each tile scaled on its own')),
  modelView.el);
const chart = new HeadStatsChart();
const metricButtons = new Map<string, HTMLButtonElement>();
const metricGroup = h('div', { className: 'vl-segmented', role: 'radiogroup', 'aria-label': 'Statistic' });
for (const [v, label] of [['distance', 'Mean distance'], ['entropy', 'Entropy']] as const) {
  const b = h('button', { type: 'button', role: 'radio', className: 'vl-seg', 'data-value': v }, label);
  b.addEventListener('click', () => update({ metric: v }));
  metricButtons.set(v, b);
  metricGroup.append(b);
}
const statsNote = h('p', { className: 'vl-card-note', hidden: true }, 'No head statistics in this result.');
const statsCard = h('section', { className: 'vl-card vl-stats', 'aria-labelledby': 'vl-stats-title' },
  h('div', { className: 'vl-card-head' }, h('h2', { className: 'vl-card-title', id: 'vl-stats-title' }, 'Head statistics'), metricGroup),
  chart.el, statsNote);

const content = h('main', { className: 'vl-content', hidden: true },
  toolbar,
  h('div', { className: 'vl-layout' }, viewer, side),
  h('div', { className: 'vl-layout-bottom' }, modelCard, statsCard));
const toast = createToast();
app.append(header, notice.el, error.el, busy.el, emptyEl, content, toast.el);

// ---------------------------------------------------------------- helpers

function fileName(p: string): string {
  return p.split(/[\\/]/).pop() || p;
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

function isRawRun(r: PanelResult): boolean {
  return r.model.attentionSource === 'raw';
}

/** Token 0 when it precedes the patches (CLS, or the raw baseline's mean query). */
function globalQuery(): number {
  return result && result.firstPatchToken > 0 ? 0 : state.query;
}

function globalQueryLabel(r: PanelResult): string {
  if (isRawRun(r)) return 'Mean';
  if (r.model.specialTokens.cls) return 'CLS';
  return 'Token 0';
}

function queryText(r: PanelResult, token: number): string {
  const p = patchOfToken(r, token);
  return p ? `patch (${p.row + 1}, ${p.col + 1}) · token ${token}` : `${globalQueryLabel(r)} token`;
}

function headText(head: HeadSel, heads: number): string {
  return head === 'mean' ? `mean of ${heads} heads` : `head ${head + 1}`;
}

/** postMessage keeps typed arrays, but be lenient if one arrives as a plain object (older hosts). */
function reviveFloats(a: Float32Array): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(Object.values(a as unknown as Record<string, number>));
}

function reviveResult(r: PanelResult): PanelResult {
  r.baseline.data = reviveFloats(r.baseline.data);
  if (!(r.view.png instanceof Uint8Array)) r.view.png = Uint8Array.from(Object.values(r.view.png as unknown as Record<string, number>));
  r.headStats ??= [];
  return r;
}

function reviveSlice(s: AttentionSlice): AttentionSlice {
  return { ...s, rows: reviveFloats(s.rows), rollout: { ...s.rollout, map: reviveFloats(s.rollout.map) } };
}

function rolloutSettings(): RolloutSettings {
  return { fusion: state.fusion, discardRatio: state.discardRatio, startLayer: state.startLayer };
}

// ---------------------------------------------------------------- maps

/** The map of a view for the current query, or undefined while its slice is on its way from the host. */
function mapFor(view: ViewId): Float32Array | undefined {
  const r = result as PanelResult;
  if (view === 'raw') return patchMap(r.baseline, 0, 0, baselineQuery(r, state.query), 1);
  if (view === 'rollout') return slices?.rollout(state.query, rolloutSettings());
  const rows = slices?.rows(state.query, rolloutSettings());
  return rows && slicePatchMap(rows, r.attention, state.layer, state.head, r.firstPatchToken);
}

function maskFor(map: Float32Array): Uint8Array | null {
  return state.threshold ? massThresholdMask(map, state.tau) : null;
}

function viewTitle(view: ViewId): string {
  const r = result as PanelResult;
  const q = patchOfToken(r, state.query) ? 'patch query' : `${globalQueryLabel(r)} query`;
  if (view === 'attention') {
    if (isRawRun(r)) return `Raw attention (no model) · ${q}`;
    return `Layer ${state.layer + 1} · ${headText(state.head, r.attention.heads)} · ${q}`;
  }
  if (view === 'rollout') {
    const layers = state.startLayer > 0 ? `layers ${state.startLayer + 1}–${r.attention.layers}` : `all ${r.attention.layers} layers`;
    return `Attention rollout · ${state.fusion} fusion · discard ${Math.round(state.discardRatio * 100)}% · ${layers}`;
  }
  return `Raw attention · pixels only, no training · ${patchOfToken(r, state.query) ? 'patch query' : 'mean query'}`;
}

// ---------------------------------------------------------------- rendering

let frameRequested = false;
let thumbsKey = '';
let statsKey = '';

/** Apply a state change: controls follow at once, the maps are repainted on the next frame. */
function update(patch: Partial<UiState> = {}): void {
  state = { ...state, ...patch };
  saveState();
  if (result) syncControls();
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(() => {
      frameRequested = false;
      paint();
    });
  }
}

function syncControls(): void {
  const r = result as PanelResult;
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
  opacityInput.value = String(state.opacity);
  opacityOut.textContent = `${Math.round(state.opacity * 100)}%`;
  colormapSelect.value = state.colormap;
  for (const [v, b] of upsampleButtons) {
    b.setAttribute('aria-checked', String(v === state.upsampling));
    b.tabIndex = v === state.upsampling ? 0 : -1;
  }
  thresholdCheck.checked = state.threshold;
  tauInput.value = String(state.tau);
  tauInput.disabled = false;
  tauOut.textContent = state.threshold ? `${Math.round(state.tau * 100)}%` : 'off';
  fusionSelect.value = state.fusion;
  discardInput.value = String(state.discardRatio);
  discardOut.textContent = `${Math.round(state.discardRatio * 100)}%`;
  startSelect.value = String(state.startLayer);
  rolloutControls.hidden = state.view !== 'rollout';
  for (const [v, b] of metricButtons) {
    b.setAttribute('aria-checked', String(v === state.metric));
    b.tabIndex = v === state.metric ? 0 : -1;
  }
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
  else mainStage.showQuery(query);
  viewerTitle.textContent = viewTitle(state.view);
  mainStage.setAriaLabel(`${viewTitle(state.view)}. Click a patch or use the arrow keys to move the query; c returns to ${globalQueryLabel(r)}.`);
  if (!hovering) readout.textContent = defaultReadout();
  if (firstFramePending && map) {
    // Let the browser show the main map now; 144 thumbnails and the chart follow in the next frame.
    firstFramePending = false;
    let done = false;
    const rest = () => {
      if (done) return;
      done = true;
      post({ type: 'painted', view: state.view, at: Date.now(), receivedAt: resultReceivedAt });
      paint();
    };
    requestAnimationFrame(rest);
    setTimeout(rest, 100); // a hidden panel gets no animation frames
    return;
  }

  // The comparison: the raw baseline beside the model's views; the model's attention beside raw.
  const compareView: ViewId | null = state.view === 'raw' ? (isRawRun(r) ? null : 'attention') : 'raw';
  compareCard.hidden = compareView === null;
  if (compareView) {
    const cmap = mapFor(compareView);
    if (cmap) compareStage.render({ map: cmap, grid: r.grid, lut, smooth, opacity: state.opacity, mask: maskFor(cmap), query });
    compareCard.setAttribute('data-testid', viewTestIds[compareView]);
    compareTitle.textContent = compareView === 'raw' ? 'Raw attention baseline' : `Model · layer ${state.layer + 1} · ${headText(state.head, r.attention.heads)}`;
    compareNote.textContent = compareView === 'raw'
      ? (isRawRun(r) ? 'This run has no model: the main view shows this same baseline.' : 'Softmax of pixel dot products, no training. Structure a model shares with this map is not learned.')
      : 'The model\'s attention for the same query, for comparison.';
    compareStage.setAriaLabel(`${compareTitle.textContent}. Click a patch to query it.`);
  }

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
  const { min, max } = mainStage.range;
  return `Range ${formatValue(min)} – ${formatValue(max)} · colours min–max scaled · click a patch to query it`;
}

// ---------------------------------------------------------------- result

function showResult(r: PanelResult, store: SliceStore, settings: PanelSettings | undefined, shownNotice?: { message: string; actions: PanelActionId[] }): void {
  result = reviveResult(r);
  slices = store;
  slices.onSlice = () => paint();
  resultSeq++;
  if (settings) state = applySettings(state, settings);
  state = { ...fitStateToResult(state, result), imagePath: r.image.path };
  const { layers, heads } = result.attention;

  // Header.
  const name = fileName(r.image.path);
  titleEl.textContent = name;
  titleEl.title = r.image.path;
  clear(subtitleEl);
  subtitleEl.append(
    h('span', { className: 'vl-model-name', title: r.model.path ?? 'no model' }, isRawRun(r) ? 'No model' : r.model.name),
    h('span', { className: `vl-badge vl-badge-${r.model.attentionSource}`, title: 'Where the attention came from' }, sourceLabels[r.model.attentionSource] ?? r.model.attentionSource));
  const t = r.timingsMs;
  clear(metaEl);
  const chip = (label: string, value: string, title?: string) => h('span', { className: 'vl-chip', title: title ?? null }, h('span', { className: 'vl-chip-label' }, label), ' ', value);
  metaEl.append(
    chip('grid', `${r.grid[0]}×${r.grid[1]}`, `patch ${r.model.patchSize} px`),
    chip('input', `${r.model.inputSize[1]}×${r.model.inputSize[0]}`, `image ${r.image.width}×${r.image.height}`),
    chip('layers × heads', `${layers}×${heads}`),
    chip('tokens', String(result.attention.tokens), `first patch token ${r.firstPatchToken}`),
    chip('time', fmtMs(t.total), [['decode', t.decode], ['model load', t.modelLoad], ['preprocess', t.preprocess], ['inference', t.inference], ['analysis', t.analysis]]
      .filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k} ${fmtMs(v as number)}`).join(' · ')));
  document.title = `ViT Lens — ${name}`;

  // Notice.
  if (shownNotice) notice.show(shownNotice.message, shownNotice.actions);
  else notice.hide();
  error.hide();
  busy.hide();

  // Image.
  if (imageUrl) URL.revokeObjectURL(imageUrl);
  imageUrl = URL.createObjectURL(new Blob([r.view.png as BlobPart], { type: 'image/png' }));
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

  // Predictions.
  clear(predList);
  const preds = r.predictions ?? [];
  predList.hidden = preds.length === 0;
  predNote.hidden = preds.length > 0;
  const top = preds.reduce((m, p) => Math.max(m, p.probability), 0) || 1;
  preds.forEach((p, i) => {
    const fill = h('span', { className: 'vl-pred-fill' });
    fill.style.width = `${Math.max(0.5, (p.probability / top) * 100)}%`;
    predList.append(h('li', { className: i === 0 ? 'vl-pred vl-pred-top' : 'vl-pred', title: `class ${p.index}` },
      h('span', { className: 'vl-pred-label' }, p.label),
      h('span', { className: 'vl-pred-pct' }, `${(p.probability * 100).toFixed(p.probability >= 0.1 ? 1 : 2)}%`),
      h('span', { className: 'vl-pred-bar', 'aria-hidden': 'true' }, fill)));
  });

  // Model view and statistics.
  modelView.build(layers, heads, r.grid, `${r.view.width} / ${r.view.height}`);
  chart.setData(r.headStats, layers, heads);
  statsNote.hidden = r.headStats.length > 0;
  chart.el.hidden = r.headStats.length === 0;
  metricGroup.hidden = r.headStats.length === 0;
  thumbsKey = '';
  statsKey = '';

  emptyEl.hidden = true;
  content.hidden = false;
  pngButton.disabled = false;
  jsonButton.disabled = false;
  renderedPending = true;
  firstFramePending = true;
  update();
}

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
  readout.textContent = `Patch (${p.row + 1}, ${p.col + 1}) · token ${tokenOfPatch(result, p.row, p.col)} · ${viewLabels[view].toLowerCase()} ${v === undefined ? "…" : formatValue(v)}`;
  if (state.followMouse || ev?.shiftKey) setQuery(tokenOfPatch(result, p.row, p.col));
}

for (const stage of [mainStage, compareStage]) {
  stage.onHover = (p, ev) => onStageHover(stage, p, ev);
  stage.onPick = (p) => result && setQuery(tokenOfPatch(result, p.row, p.col));
  stage.stage.addEventListener('keydown', (ev) => {
    if (!result || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const step = ev.shiftKey ? 3 : 1;
    const moves: Record<string, [number, number]> = { ArrowUp: [-step, 0], ArrowDown: [step, 0], ArrowLeft: [0, -step], ArrowRight: [0, step] };
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

const help = helpPopover(helpEl, helpButton);

document.addEventListener('keydown', (ev) => {
  if (help.handleKey(ev)) return;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (isTypingTarget(ev.target)) return;
  if (!result) return;
  const { layers, heads } = result.attention;
  const views: Record<string, ViewId> = { '1': 'attention', '2': 'rollout', '3': 'raw' };
  switch (ev.key) {
    case '[': selectLayerHead(Math.max(0, state.layer - 1), state.head); break;
    case ']': selectLayerHead(Math.min(layers - 1, state.layer + 1), state.head); break;
    case ',': selectLayerHead(state.layer, stepHead(state.head, heads, -1)); break;
    case '.': selectLayerHead(state.layer, stepHead(state.head, heads, 1)); break;
    case 'm': if (heads > 1) selectLayerHead(state.layer, 'mean'); break;
    case 'c': setQuery(globalQuery()); break;
    case 'f': update({ followMouse: !state.followMouse }); break;
    case 't': update({ threshold: !state.threshold }); break;
    default:
      if (views[ev.key]) setView(views[ev.key]);
      else return;
  }
  ev.preventDefault();
});

// ---------------------------------------------------------------- exports


async function doExport(format: 'png' | 'json'): Promise<void> {
  if (!result) return;
  try {
    const name = exportFileName(result, state, format);
    let bytes: Uint8Array;
    if (format === 'png') {
      bytes = await mainStage.toPng(result.view.width, result.view.height);
    } else {
      const map = mapFor(state.view);
      if (!map) throw new Error('the map is still loading; try again in a moment');
      bytes = new TextEncoder().encode(JSON.stringify(buildViewExport(result, state, map, maskFor(map)), null, 2) + '\n');
    }
    if (vscode) {
      const requestId = ++exportSeq;
      post({ type: 'export', requestId, format, suggestedName: name, bytes });
      toast.show(`Saving ${name}…`);
    } else {
      downloadFile(bytes, name, format === 'png' ? 'image/png' : 'application/json');
      toast.show(`Downloaded ${name}`);
    }
  } catch (e) {
    toast.show(`Export failed: ${e instanceof Error ? e.message : String(e)}`);
    post({ type: 'log', level: 'error', message: `export ${format} failed: ${String(e)}` });
  }
}
pngButton.addEventListener('click', () => void doExport('png'));
jsonButton.addEventListener('click', () => void doExport('json'));

// ---------------------------------------------------------------- messages

function onHostMessage(m: HostMessage): void {
  switch (m.type) {
    case 'running':
      busy.show(m.message, m.progress);
      error.hide();
      emptyEl.hidden = true;
      break;
    case 'result': {
      resultReceivedAt = Date.now();
      const resultId = m.resultId;
      currentResultId = resultId;
      const store = SliceStore.remote(reviveSlice(m.slice), (query, rollout) => post({ type: 'needSlice', resultId, query, rollout }));
      showResult(m.result, store, m.settings, m.notice);
      break;
    }
    case 'slice':
      if (m.resultId === currentResultId) slices?.put(reviveSlice(m.slice));
      break;
    case 'error':
      busy.hide();
      emptyEl.hidden = true;
      error.show(m.message, m.actions ?? []);
      break;
    case 'settings': {
      const s = parseSettings(m.settings);
      if (s) update(applySettings(state, s));
      break;
    }
    case 'exported':
      toast.show(exportedText(m));
      break;
  }
}

startPage<HostMessage, { result: AttentionResult; settings?: PanelSettings }>(vscode, 'webview', onHostMessage,
  (d) => showResult(d.result, SliceStore.local(d.result.attention, d.result.firstPatchToken), d.settings),
  (message) => error.show(message, []));
