// ViT Lens gallery: one card per image of a folder (data-testid="gallery-item"): the thumbnail with its
// rollout overlaid, top-1 and entropy; sort by name / confidence / entropy / class, filter by predicted
// class, click to open the image's attention panel. Entries arrive one by one while the engine runs;
// the standalone HTML gallery is this page with the run embedded. Browser code.
import '../../shell/styles.css';
import './gallery.css';
import { colormapLut } from '../../../src/maths/colormaps';
import { galleryJson } from '../../../src/analyses/gallery/json';
import {
  galleryTestIds,
  gallerySorts,
  type GalleryData,
  type GalleryHostMessage,
  type GallerySettings,
  type GallerySort,
  type GalleryWebviewMessage,
} from '../../../src/analyses/gallery/messages';
import type { GalleryEntry, GalleryStart } from '../../../src/analyses/gallery/types';
import { clear, h } from '../../shell/dom';
import { exportButton, field } from '../../shell/controls';
import { fileName } from '../../shell/format';
import { createPage } from '../../shell/page';
import { asFloat32, asUint8 } from '../../shell/revive';
import { classCounts, parseGalleryUiState, visibleEntries, type GalleryUiState } from './galleryState';

const jsonButton = exportButton('Save JSON', 'Save every entry as JSON');
const page = createPage<GalleryWebviewMessage>({
  label: 'gallery',
  classes: ['vl-gallery'],
  buttons: [jsonButton],
  emptyTitle: 'No gallery run yet',
});

let state: GalleryUiState = page.restoreState(parseGalleryUiState, { imagePath: '', sort: 'name', filter: '' });
let settings: GallerySettings = { colormap: 'inferno', opacity: 0.6 };
let start: GalleryStart | undefined;
const entries = new Map<number, GalleryEntry>();
const cards = new Map<number, HTMLElement>();

const sortSelect = h('select', { id: 'vl-gallery-sort', 'data-testid': galleryTestIds.sort }) as HTMLSelectElement;
for (const s of gallerySorts)
  sortSelect.append(
    h('option', { value: s }, { name: 'Name', confidence: 'Confidence', entropy: 'Entropy (uncertain first)', class: 'Class' }[s]),
  );
const filterSelect = h('select', { id: 'vl-gallery-filter', 'data-testid': galleryTestIds.filter }) as HTMLSelectElement;
const progressEl = h('div', { className: 'vl-gallery-progress', 'data-testid': galleryTestIds.progress });
const summaryEl = h('div', { className: 'vl-gallery-progress', 'data-testid': galleryTestIds.summary });
const grid = h('div', { className: 'vl-gallery-grid' });
const main = h(
  'main',
  { className: 'vl-gallery-main', hidden: true },
  h('div', { className: 'vl-gallery-controls' }, field('Sort', sortSelect), field('Class', filterSelect), progressEl, summaryEl),
  grid,
);
page.mount(main);

function save(): void {
  page.saveState(state);
}

/** Thumbnail with the rollout map (normalised to its max, colormapped) drawn over it. */
function drawCard(canvas: HTMLCanvasElement, e: Extract<GalleryEntry, { rollout: Float32Array }>): void {
  const thumb = e.thumbnail;
  canvas.width = thumb.width;
  canvas.height = thumb.height;
  const ctx = canvas.getContext('2d')!;
  const img = new Image();
  const url = URL.createObjectURL(new Blob([asUint8(thumb.jpeg, 'thumbnail') as BlobPart], { type: 'image/jpeg' }));
  img.onload = () => {
    ctx.drawImage(img, 0, 0, thumb.width, thumb.height);
    URL.revokeObjectURL(url);
    const [gh, gw] = e.grid;
    const map = asFloat32(e.rollout, 'rollout');
    let max = 0;
    for (const v of map) max = Math.max(max, v);
    const lut = colormapLut(settings.colormap);
    const small = document.createElement('canvas');
    small.width = gw;
    small.height = gh;
    const id = new ImageData(gw, gh);
    for (let i = 0; i < gh * gw; i++) {
      const k = Math.max(0, Math.min(255, Math.round((max > 0 ? map[i] / max : 0) * 255)));
      id.data.set([lut[k * 4], lut[k * 4 + 1], lut[k * 4 + 2], 255], i * 4);
    }
    small.getContext('2d')!.putImageData(id, 0, 0);
    ctx.globalAlpha = settings.opacity;
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, 0, 0, thumb.width, thumb.height);
    ctx.globalAlpha = 1;
    canvas.dataset.painted = '1';
  };
  img.src = url;
}

function card(e: GalleryEntry): HTMLElement {
  const name = fileName(e.path);
  if ('error' in e) {
    return h(
      'div',
      {
        className: 'vl-gallery-item vl-failed',
        'data-testid': galleryTestIds.item,
        'data-index': String(e.index),
        'data-failed': 'true',
        title: e.path,
      },
      h('div', { className: 'vl-gallery-name' }, name),
      h('div', { className: 'vl-gallery-error' }, `${e.error.code}: ${e.error.message}`),
    );
  }
  const canvas = h('canvas', {});
  drawCard(canvas, e);
  const p = e.predictions[0];
  const el = h(
    'button',
    {
      type: 'button',
      className: 'vl-gallery-item',
      'data-testid': galleryTestIds.item,
      'data-index': String(e.index),
      title: `${e.path}\n${e.image.width}×${e.image.height}`,
    },
    canvas,
    h('div', { className: 'vl-gallery-top1' }, p ? `${p.label} · ${(p.probability * 100).toFixed(1)}%` : 'raw attention'),
    h(
      'div',
      { className: 'vl-gallery-meta' },
      e.predictionEntropy === null
        ? `${e.timingsMs.total.toFixed(0)} ms`
        : `entropy ${e.predictionEntropy.toFixed(2)} nats · ${e.timingsMs.total.toFixed(0)} ms`,
    ),
    h('div', { className: 'vl-gallery-name' }, name),
  );
  if (page.vscode) el.addEventListener('click', () => page.post({ type: 'openImage', index: e.index }));
  return el;
}

function renderFilter(): void {
  const all = [...entries.values()];
  const want = state.filter;
  clear(filterSelect);
  filterSelect.append(h('option', { value: '' }, `All (${all.length})`));
  for (const [label, n] of classCounts(all)) filterSelect.append(h('option', { value: label }, `${label} (${n})`));
  const failed = all.filter((e) => 'error' in e).length;
  if (failed) filterSelect.append(h('option', { value: '!errors' }, `Failed (${failed})`));
  filterSelect.value = want;
  if (filterSelect.value !== want) filterSelect.value = '';
}

/** Lays the cards out in the chosen order (cards are made once per entry and reused). */
function layout(): void {
  renderFilter();
  sortSelect.value = state.sort;
  const shown = visibleEntries([...entries.values()], state.sort, state.filter);
  clear(grid);
  for (const e of shown) {
    let c = cards.get(e.index);
    if (!c) cards.set(e.index, (c = card(e)));
    grid.append(c);
  }
  const total = start?.paths.length ?? entries.size;
  const failed = [...entries.values()].filter((e) => 'error' in e).length;
  progressEl.textContent = `${entries.size} of ${total} images${failed ? ` · ${failed} failed` : ''}`;
}

let pending = false;
/** Many entries a second arrive while a run streams: lay out once per frame. */
function scheduleLayout(): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    layout();
  });
}

function begin(s: GalleryStart | undefined, src: string, set: GallerySettings | undefined): void {
  if (
    s &&
    start &&
    s.paths.length === start.paths.length &&
    s.paths.every((p, i) => p === start!.paths[i]) &&
    start.model.path === s.model.path
  ) {
    // the same run again (resync): keep what is shown
  } else {
    entries.clear();
    cards.clear();
  }
  start = s;
  if (set) settings = set;
  state = { ...state, imagePath: src };
  save();
  page.setHeader(src, [s ? s.model.name : ''], [], `Gallery — ${fileName(src)}`);
  page.clearStatus();
  page.showContent();
  summaryEl.textContent = s ? `batch ${s.batchSize} · ${s.provider.name}${s.provider.note ? ` (${s.provider.note})` : ''}` : '';
  layout();
}

function showData(d: GalleryData, s?: GalleryStart): void {
  begin(s ?? start, d.source, d.settings);
  for (const e of d.entries) entries.set(e.index, e);
  cards.clear();
  if (d.summary)
    summaryEl.textContent = `${d.summary.count} images · ${d.summary.failed} failed · ${d.summary.imagesPerSecond.toFixed(1)} images/s${d.summary.cancelled ? ' · cancelled' : ''}`;
  jsonButton.disabled = false;
  lastData = d;
  layout();
}
let lastData: GalleryData | undefined;

sortSelect.addEventListener('change', () => {
  state = { ...state, sort: sortSelect.value as GallerySort };
  save();
  layout();
});
filterSelect.addEventListener('change', () => {
  state = { ...state, filter: filterSelect.value };
  save();
  layout();
});
jsonButton.addEventListener('click', () => {
  const d = lastData;
  if (!d) return;
  void page.exportJson(() => ({
    name: `${fileName(d.source).replace(/[^\w.\- ]/g, '_') || 'gallery'}-gallery.json`,
    doc: galleryJson(d.model, d.entries, d.summary ?? { count: d.entries.length, failed: 0, imagesPerSecond: 0 }),
  }));
});
page.onShortcut(() => false);

function onHostMessage(m: GalleryHostMessage): void {
  switch (m.type) {
    case 'galleryStart':
      begin(m.start, m.source, m.settings);
      return;
    case 'galleryEntry':
      entries.set(m.entry.index, m.entry);
      scheduleLayout();
      return;
    case 'result':
      showData(m.data, m.start);
      return;
  }
}

page.start<GalleryHostMessage, { gallery: GalleryData }>(onHostMessage, (d) => showData(d.gallery));
// A webview reloaded during a run lost the entries posted before: ask for them (the host ignores it when idle).
page.post({ type: 'resync', have: 0 });
