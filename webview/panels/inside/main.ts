// ViT Lens "Inside the ViT" page: the model's anatomy (patch-embedding filters' principal components,
// position-embedding similarity), its tokens (residual-stream norms as a layer × token strip and on the
// patch grid, high-norm outliers, registers, attention received, the CLS attention with and without the
// artefacts), its patch features (PCA as RGB, the foreground cut) and hard attention (the crop holding τ
// of the attention and its predictions). In VS Code and in the standalone report (`vit-lens anatomy
// --html`). Browser code: must not import vscode or Node modules.
import '../../shell/styles.css';
import './inside.css';
import type { AnatomyResult, FeaturesResult, HardAttentionResult, TokensResult, Unavailable } from '../../../src/analyses/inside/types';
import { anatomyJson, featuresJson, tokensJson } from '../../../src/analyses/inside/json';
import {
  insideTestIds,
  type InsideHostMessage,
  type InsidePageData,
  type InsideWebviewMessage,
  type Part,
} from '../../../src/analyses/inside/messages';
import type { ErrorInfo } from '../../../src/shared/errors';
import { colormapLut } from '../../../src/maths/colormaps';
import { componentsToRgb, smallestMassBox } from '../../../src/maths/inside';
import { clear, h, type Child } from '../../shell/dom';
import { chip, exportButton, predictionsCard } from '../../shell/controls';
import { fileName, formatValue } from '../../shell/format';
import { createPage } from '../../shell/page';

const shortcuts: [string, string][] = [
  ['[  ]', 'previous / next layer (tokens and features)'],
  ['x', 'exclude / include flagged tokens and registers in the attention map'],
  ['f', 'foreground cut on / off'],
];

const jsonButton = exportButton('Save JSON', 'Save the numbers of every view as JSON');
const page = createPage<InsideWebviewMessage>({
  label: 'inside webview',
  classes: ['vl-inside'],
  shortcuts,
  buttons: [jsonButton],
  errorTestId: insideTestIds.error,
  busyTestId: insideTestIds.busy,
  emptyTitle: 'Nothing inside yet',
  standaloneText: 'Open this panel from VS Code (ViT Lens: Show ViT Inside on an image), or write a report with vit-lens anatomy --html.',
  exportLog: 'inside export',
});
const { post } = page;

interface UiState {
  layer: number | null;
  exclude: boolean;
  foreground: boolean;
  tau: number;
  position: number;
  /**
   * Hard attention's map: 'soft' (rollout, else the last block's CLS attention), 'layer:<l>' (block l's CLS
   * attention, mean of heads) or 'class' (the top-1 class's occlusion map, computed by the host).
   */
  hardMap: string;
}
const ui: UiState = page.restoreState<UiState>(
  (raw, base) => {
    const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<UiState>;
    return {
      layer: typeof o.layer === 'number' && o.layer >= 0 ? o.layer : base.layer,
      exclude: typeof o.exclude === 'boolean' ? o.exclude : base.exclude,
      foreground: typeof o.foreground === 'boolean' ? o.foreground : base.foreground,
      tau: typeof o.tau === 'number' && o.tau > 0 && o.tau <= 1 ? o.tau : base.tau,
      position: typeof o.position === 'number' && o.position >= 0 ? o.position : base.position,
      hardMap: typeof o.hardMap === 'string' && /^(soft|class|layer:\d+)$/.test(o.hardMap) ? o.hardMap : base.hardMap,
    };
  },
  { layer: null, exclude: false, foreground: false, tau: 0.5, position: 0, hardMap: 'soft' },
);
const save = () => page.saveState(ui);

let data: InsidePageData = {};
let imageEl: HTMLImageElement | null = null;
let hard: Part<HardAttentionResult> | null = null;

const isError = <T extends object>(p: Part<T> | undefined): p is { error: ErrorInfo } => !!p && 'error' in p;
const isUnavailable = (p: object): p is Unavailable => 'unavailable' in p;

// ---------------------------------------------------------------- small drawing helpers

/** A canvas of w×h pixels, shown `scale` times larger with crisp pixels. */
function pixelCanvas(w: number, hgt: number, scale: number, cls = 'vi-pixels'): HTMLCanvasElement {
  const c = h('canvas', { className: cls, width: w, height: hgt });
  c.style.width = `${w * scale}px`;
  c.style.height = `${hgt * scale}px`;
  return c;
}

/** Paints RGB bytes [w·h·3] into a canvas; pixels where `opaque` is 0 stay transparent. */
function paintRgb(c: HTMLCanvasElement, rgb: ArrayLike<number>, opaque?: Uint8Array): void {
  const ctx = c.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(c.width, c.height);
  for (let i = 0; i < c.width * c.height; i++) {
    img.data[i * 4] = rgb[i * 3];
    img.data[i * 4 + 1] = rgb[i * 3 + 1];
    img.data[i * 4 + 2] = rgb[i * 3 + 2];
    img.data[i * 4 + 3] = opaque && !opaque[i] ? 0 : 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Values → colormap RGB, over [lo, hi]. */
function colour(values: ArrayLike<number>, lo: number, hi: number, map: 'viridis' | 'inferno' = 'viridis'): Uint8Array {
  const lut = colormapLut(map);
  const out = new Uint8Array(values.length * 3);
  const span = hi - lo || 1;
  for (let i = 0; i < values.length; i++) {
    const k = Math.max(0, Math.min(255, Math.round(((values[i] - lo) / span) * 255)));
    out[i * 3] = lut[k * 3];
    out[i * 3 + 1] = lut[k * 3 + 1];
    out[i * 3 + 2] = lut[k * 3 + 2];
  }
  return out;
}

function unavailableNote(info: ErrorInfo, testId: string, title: string): HTMLElement {
  return h(
    'section',
    { className: 'vl-card vi-card vi-unavailable', 'data-testid': testId, 'data-state': 'unavailable' },
    h('div', { className: 'vl-card-head' }, h('h2', { className: 'vl-card-title' }, title)),
    h('p', { className: 'vi-refusal' }, info.message),
    info.hint ? h('p', { className: 'vl-card-note' }, info.hint) : null,
  );
}

function card(testId: string, title: string, note: Child, ...body: Child[]): HTMLElement {
  return h(
    'section',
    { className: 'vl-card vi-card', 'data-testid': testId, 'data-state': 'shown' },
    h('div', { className: 'vl-card-head' }, h('h2', { className: 'vl-card-title' }, title)),
    note ? h('p', { className: 'vl-card-note' }, note) : null,
    ...body,
  );
}

// ---------------------------------------------------------------- anatomy

function filtersView(a: AnatomyResult): HTMLElement {
  const pe = a.patchEmbedding;
  if (isUnavailable(pe)) return unavailableNote(pe.unavailable, insideTestIds.anatomyFilters, 'Patch-embedding filters');
  const [, c, p, q] = pe.shape;
  const n = c * p * q;
  const tiles = h('div', { className: 'vi-tiles' });
  const scale = Math.max(2, Math.round(48 / p));
  for (let k = 0; k < pe.count; k++) {
    // A component as an RGB p×q tile: its [3, p, q] values scaled symmetrically around 0 (grey = 0).
    const v = pe.components.subarray(k * n, (k + 1) * n);
    let m = 0;
    for (const x of v) m = Math.max(m, Math.abs(x));
    const rgb = new Uint8Array(p * q * 3);
    for (let i = 0; i < p * q; i++)
      for (let ch = 0; ch < 3; ch++) rgb[i * 3 + ch] = Math.round(127.5 + (127.5 * v[(ch % c) * p * q + i]) / (m || 1));
    const cv = pixelCanvas(q, p, scale);
    paintRgb(cv, rgb);
    tiles.append(
      h(
        'figure',
        { className: 'vi-tile', title: `component ${k + 1}: ${(pe.explainedVarianceRatio[k] * 100).toFixed(2)}% of the filters' variance` },
        cv,
        h('figcaption', {}, `${k + 1} · ${(pe.explainedVarianceRatio[k] * 100).toFixed(1)}%`),
      ),
    );
  }
  return card(
    insideTestIds.anatomyFilters,
    'Patch-embedding filters',
    `The first ${pe.count} principal components of the ${pe.shape[0]} filters of ${pe.weight} [${pe.shape.join(', ')}] as RGB ${p}×${q} tiles (grey = 0), with each one's share of the variance (ViT paper, Fig. 7 left).`,
    tiles,
  );
}

function positionView(a: AnatomyResult): HTMLElement {
  const pos = a.positionEmbedding;
  if (isUnavailable(pos)) return unavailableNote(pos.unavailable, insideTestIds.anatomyPosition, 'Position-embedding similarity');
  const [gh, gw] = pos.grid;
  const P = gh * gw;
  // A grid of small grids: cell (r, c) shows cos(p_(r,c), p_j) for every position j, on [−1, 1].
  const gap = 1;
  const W = gw * (gw + gap) - gap;
  const H = gh * (gh + gap) - gap;
  const big = pixelCanvas(W, H, Math.max(1, Math.min(6, Math.floor(440 / W))), 'vi-pixels vi-posgrid');
  const rgb = new Uint8Array(W * H * 3);
  const opaque = new Uint8Array(W * H); // the gaps between the small grids stay transparent
  for (let i = 0; i < P; i++) {
    const cell = colour(pos.similarity.subarray(i * P, (i + 1) * P), -1, 1);
    const ox = (i % gw) * (gw + gap);
    const oy = Math.floor(i / gw) * (gh + gap);
    for (let j = 0; j < P; j++) {
      const at = (oy + Math.floor(j / gw)) * W + ox + (j % gw);
      rgb.set(cell.subarray(j * 3, j * 3 + 3), at * 3);
      opaque[at] = 1;
    }
  }
  paintRgb(big, rgb, opaque);
  const zoom = pixelCanvas(gw, gh, Math.max(4, Math.floor(200 / Math.max(gw, gh))), 'vi-pixels vi-poszoom');
  const zoomLabel = h('p', { className: 'vl-card-note' });
  const showPosition = (i: number) => {
    ui.position = Math.min(P - 1, Math.max(0, i));
    save();
    paintRgb(zoom, colour(pos.similarity.subarray(ui.position * P, (ui.position + 1) * P), -1, 1));
    zoomLabel.textContent = `position row ${Math.floor(ui.position / gw)}, col ${ui.position % gw}: cosine similarity with every position (−1 … 1)`;
  };
  big.tabIndex = 0;
  big.setAttribute('aria-label', 'Position similarity grid: click a position (or use the arrow keys) to enlarge its map');
  big.addEventListener('click', (ev) => {
    const r = big.getBoundingClientRect();
    const x = Math.floor(((ev.clientX - r.left) / r.width) * W);
    const y = Math.floor(((ev.clientY - r.top) / r.height) * H);
    showPosition(Math.min(gh - 1, Math.floor(y / (gh + gap))) * gw + Math.min(gw - 1, Math.floor(x / (gw + gap))));
  });
  big.addEventListener('keydown', (ev) => {
    const d = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -gw, ArrowDown: gw }[ev.key];
    if (d === undefined) return;
    ev.preventDefault();
    showPosition(ui.position + d);
  });
  showPosition(ui.position);
  const interpolated = gh !== pos.runtimeGrid[0] || gw !== pos.runtimeGrid[1];
  return card(
    insideTestIds.anatomyPosition,
    'Position-embedding similarity',
    `Cosine similarity of each patch position's learned embedding (${pos.table} [${pos.shape.join(', ')}], ${pos.leading} leading row(s) skipped) with every other, on the table's stored ${gh}×${gw} grid (ViT paper, Fig. 7 centre).` +
      (interpolated
        ? ` The model interpolates this table to its ${pos.runtimeGrid[0]}×${pos.runtimeGrid[1]} grid at run time: shown is the stored grid.`
        : ''),
    h('div', { className: 'vi-row' }, big, h('div', { className: 'vi-zoom' }, zoom, zoomLabel, legend(-1, 1))),
  );
}

function legend(lo: number, hi: number, map: 'viridis' | 'inferno' = 'viridis'): HTMLElement {
  const c = pixelCanvas(128, 1, 1, 'vi-legend');
  c.style.height = '10px';
  paintRgb(
    c,
    colour(
      Float32Array.from({ length: 128 }, (_, i) => lo + ((hi - lo) * i) / 127),
      lo,
      hi,
      map,
    ),
  );
  return h('div', { className: 'vi-legend-row' }, h('span', {}, formatValue(lo)), c, h('span', {}, formatValue(hi)));
}

// ---------------------------------------------------------------- tokens

function tokenRole(t: TokensResult['tokens'], i: number): string {
  if (i >= t.firstPatch) return 'patch';
  if (t.cls && i === 0) return 'CLS';
  if (t.distillation && i === (t.cls ? 1 : 0)) return 'distillation';
  return 'register';
}

/** The CLS attention of a layer over the patches, with the flagged tokens and registers excluded (renormalised) or not. */
function clsPatchMap(r: TokensResult, layer: number, exclude: boolean): Float32Array | undefined {
  const row = r.clsAttention?.[layer];
  if (!row) return undefined;
  const { firstPatch } = r.tokens;
  const flagged = new Set(r.outliers.map((o) => o.token));
  const map = new Float32Array(r.grid[0] * r.grid[1]);
  let sum = 0;
  for (let p = 0; p < map.length; p++) {
    const v = exclude && flagged.has(firstPatch + p) ? 0 : row[firstPatch + p];
    map[p] = v;
    sum += v;
  }
  // Renormalised over what is kept: registers and CLS are never patches, so excluding them is the renormalisation itself.
  if (exclude && sum > 0) for (let p = 0; p < map.length; p++) map[p] /= sum;
  return map;
}

/** The rollout over the patches, with or without the artefacts, renormalised over the patches for display. */
function rolloutPatchMap(r: TokensResult, exclude: boolean): Float32Array | undefined {
  const m = r.rollout && (exclude ? r.rollout.excluded : r.rollout.map);
  if (!m) return undefined;
  const sum = m.reduce((a, b) => a + b, 0);
  return sum > 0 ? m.map((v) => v / sum) : m;
}

function mapCanvas(map: Float32Array, gw: number, gh: number, scale: number): HTMLCanvasElement {
  let hi = 0;
  for (const v of map) hi = Math.max(hi, v);
  const cv = pixelCanvas(gw, gh, scale, 'vi-pixels');
  paintRgb(cv, colour(map, 0, hi, 'inferno'));
  return cv;
}

function tokensView(r: TokensResult, layer: number, redraw: () => void): HTMLElement {
  const t = r.tokens;
  const L = r.norms.length;
  const N = t.count;
  // Heat strip: rows = stream rows 0..L, columns = tokens; log norms share one colour scale.
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of r.norms)
    for (const v of row) {
      lo = Math.min(lo, Math.log(v));
      hi = Math.max(hi, Math.log(v));
    }
  const cellW = Math.max(1, Math.min(12, Math.floor(720 / N)));
  const strip = pixelCanvas(N, L, 1, 'vi-pixels vi-strip');
  strip.style.width = `${N * cellW}px`;
  strip.style.height = `${L * 14}px`;
  const stripRgb = new Uint8Array(N * L * 3);
  r.norms.forEach((row, l) => stripRgb.set(colour(Array.from(row, Math.log), lo, hi, 'inferno'), l * N * 3));
  paintRgb(strip, stripRgb);
  const stripLabels = h(
    'div',
    { className: 'vi-strip-axis' },
    h('span', {}, `rows: embeddings, blocks 1–${L - 1} · columns: ${N} tokens`),
    h(
      'span',
      {},
      t.firstPatch > 0
        ? `first ${t.firstPatch} = ${[t.cls ? 'CLS' : '', t.distillation ? 'distillation' : '', t.registers ? `${t.registers} registers` : ''].filter(Boolean).join(', ')}`
        : '',
    ),
  );

  // The patch grid of one row, flagged patches outlined.
  const [gh, gw] = r.grid;
  const scale = Math.max(8, Math.floor(224 / Math.max(gh, gw)));
  const norms = r.norms[layer];
  const patchNorms = norms.subarray(t.firstPatch, t.firstPatch + gh * gw);
  // The colour range of the unflagged patches: a high-norm token would otherwise turn the rest black (it saturates, outlined).
  const flaggedAt = new Set(r.outliers.filter((o) => o.layer === layer).map((o) => o.token - t.firstPatch));
  let plo = Infinity;
  let phi = -Infinity;
  let pmax = -Infinity;
  patchNorms.forEach((v, p) => {
    pmax = Math.max(pmax, v);
    if (flaggedAt.has(p)) return;
    plo = Math.min(plo, v);
    phi = Math.max(phi, v);
  });
  const grid = pixelCanvas(gw, gh, scale, 'vi-pixels vi-normgrid');
  paintRgb(grid, colour(patchNorms, plo, phi, 'inferno'));
  const flaggedHere = r.outliers.filter((o) => o.layer === layer);
  const marks = h('div', { className: 'vi-marks' });
  marks.style.width = `${gw * scale}px`;
  marks.style.height = `${gh * scale}px`;
  for (const o of flaggedHere) {
    const p = o.token - t.firstPatch;
    const m = h('div', { className: 'vi-mark', title: `token ${o.token}: norm ${formatValue(o.norm)}` });
    m.style.left = `${(p % gw) * scale}px`;
    m.style.top = `${Math.floor(p / gw) * scale}px`;
    m.style.width = m.style.height = `${scale}px`;
    marks.append(m);
  }
  const received = Array.isArray(r.attentionReceived) ? r.attentionReceived : null;
  const recvLayer = Math.max(0, Math.min((received?.length ?? 1) - 1, layer - 1));
  const rows: Child[] = [];
  const flaggedTokens = [...new Set(r.outliers.map((o) => o.token))];
  const listed = [...Array.from({ length: t.firstPatch }, (_, i) => i), ...flaggedTokens];
  for (const i of listed) {
    const role = tokenRole(t, i);
    const p = i - t.firstPatch;
    rows.push(
      h(
        'tr',
        { className: role === 'patch' ? 'vi-flagged' : '' },
        h('td', {}, String(i)),
        h('td', {}, role === 'patch' ? `high-norm patch (row ${Math.floor(p / gw)}, col ${p % gw})` : role),
        h('td', {}, formatValue(norms[i])),
        h('td', {}, received ? `${(received[recvLayer][i] * 100).toFixed(2)}%` : '—'),
      ),
    );
  }
  const medianPatch = Array.from(patchNorms).sort((a, b) => a - b)[Math.floor(patchNorms.length / 2)];
  const table = h(
    'table',
    { className: 'vi-table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'token'),
        h('th', {}, 'role'),
        h('th', {}, `norm (row ${layer})`),
        h('th', {}, `attention received (block ${recvLayer + 1})`),
      ),
    ),
    h('tbody', {}, ...rows),
  );
  const outlierNote =
    flaggedTokens.length === 0
      ? `No high-norm patch in blocks ≥ ${r.outliersFrom} (a robust z-score above 8 and twice the median, Darcet et al. 2023).`
      : `${flaggedTokens.length} high-norm patch token(s) in blocks ≥ ${r.outliersFrom} (Darcet et al. 2023): outlined on the grid.`;

  // The CLS attention with and without the artefacts.
  const attnBox = h('div', { className: 'vi-attn' });
  const map = clsPatchMap(r, Math.max(0, layer - 1), ui.exclude);
  const roll = rolloutPatchMap(r, ui.exclude);
  if (map) {
    const toggle = h('input', { type: 'checkbox', id: 'vi-exclude', 'data-testid': 'exclude-artifacts' });
    toggle.checked = ui.exclude;
    toggle.addEventListener('change', () => {
      ui.exclude = toggle.checked;
      hard = null; // another map: the crop no longer matches it
      save();
      redraw();
    });
    const excluded = r.rollout?.excludedTokens.length ?? 0;
    attnBox.append(
      h(
        'div',
        { className: 'vi-row' },
        h(
          'div',
          {},
          h('div', { className: 'vi-caption' }, `CLS attention, block ${Math.max(1, layer)} (head mean)`),
          mapCanvas(map, gw, gh, scale),
        ),
        roll ? h('div', {}, h('div', { className: 'vi-caption' }, 'rollout (mean fusion)'), mapCanvas(roll, gw, gh, scale)) : null,
      ),
      h(
        'label',
        { className: 'vi-check', for: 'vi-exclude' },
        toggle,
        ` exclude flagged tokens and registers (${excluded} token${excluded === 1 ? '' : 's'}; renormalised)`,
      ),
    );
  } else if (!received && 'unavailable' in r.attentionReceived) {
    attnBox.append(h('p', { className: 'vi-refusal' }, r.attentionReceived.unavailable.message));
  }

  return card(
    insideTestIds.tokenNorms,
    'Tokens: residual-stream norms',
    `‖x‖₂ of every token after the embeddings and after every block (log scale, ${formatValue(Math.exp(lo))} … ${formatValue(Math.exp(hi))}); the patch grid at row ${layer}: median ${formatValue(medianPatch)}, max ${formatValue(pmax)}${flaggedAt.size ? ` (the colours span the unflagged patches, up to ${formatValue(phi)})` : ''}. ${outlierNote}`,
    h('div', { className: 'vi-strip-wrap' }, strip, stripLabels),
    h(
      'div',
      { className: 'vi-row' },
      h(
        'div',
        { className: 'vi-gridwrap' },
        h('div', { className: 'vi-caption' }, `norms on the patch grid, row ${layer}`),
        h('div', { className: 'vi-stack' }, grid, marks),
        legend(plo, phi, 'inferno'),
      ),
      attnBox,
      h('div', { className: 'vi-tablewrap' }, table),
    ),
  );
}

// ---------------------------------------------------------------- features

function featuresView(f: FeaturesResult): HTMLElement {
  const [gh, gw] = f.grid;
  const rgbs = componentsToRgb(f.images.map((i) => i.components));
  const row = h('div', { className: 'vi-row' });
  const scale = Math.max(8, Math.floor(224 / Math.max(gh, gw)));
  f.images.forEach((img, i) => {
    const rgb = rgbs[i].slice();
    // The foreground cut: background patches greyed out.
    if (ui.foreground) for (let p = 0; p < gh * gw; p++) if (!img.foreground[p]) rgb.fill(40, p * 3, p * 3 + 3);
    const cv = pixelCanvas(gw, gh, scale, 'vi-pixels');
    paintRgb(cv, rgb);
    const fg = img.foreground.reduce((a, b) => a + b, 0);
    row.append(h('figure', { className: 'vi-feature' }, cv, h('figcaption', {}, `${fileName(img.path)} · foreground ${fg}/${gh * gw}`)));
  });
  const toggle = h('input', { type: 'checkbox', id: 'vi-foreground', 'data-testid': 'foreground-cut' });
  toggle.checked = ui.foreground;
  toggle.addEventListener('change', () => {
    ui.foreground = toggle.checked;
    save();
    render();
  });
  // Joint PCA (VS Code only: the host asks which images): one set of components over every image's patches.
  const joint = h('div', { className: 'vi-row' });
  if (page.vscode) {
    const more = h(
      'button',
      { type: 'button', className: 'vl-btn vl-btn-secondary', 'data-testid': 'feature-images' },
      'Joint PCA with other images…',
    );
    more.addEventListener('click', () => post({ type: 'featureImages', layer: f.layer, clear: false }));
    joint.append(more);
    if (f.images.length > 1) {
      const alone = h('button', { type: 'button', className: 'vl-btn vl-btn-secondary' }, 'This image only');
      alone.addEventListener('click', () => post({ type: 'featureImages', layer: f.layer, clear: true }));
      joint.append(alone);
    }
  }
  return card(
    insideTestIds.featurePca,
    'Features: principal components of the patch tokens',
    `Layer ${f.layer} of ${f.blocks} (0 = after the embeddings): the first three components of the patch tokens (mean-centred over ${f.images.length > 1 ? 'all images' : 'the patches'}) as R, G, B; explained variance ${f.explainedVarianceRatio.map((v) => (v * 100).toFixed(1) + '%').join(', ')}. The foreground cut thresholds the first component at 0, its sign chosen so the border is background (DINOv2).`,
    row,
    h('label', { className: 'vi-check', for: 'vi-foreground' }, toggle, ' foreground cut'),
    joint,
  );
}

// ---------------------------------------------------------------- hard attention

function hardAttentionView(r: TokensResult): HTMLElement | null {
  const blocks = r.norms.length - 1;
  const layerPick = /^layer:(\d+)$/.exec(ui.hardMap);
  const layer = layerPick && Number(layerPick[1]) < blocks ? Number(layerPick[1]) : undefined;
  const excluded = ui.exclude ? ', artefacts excluded' : '';
  const map =
    layer !== undefined ? clsPatchMap(r, layer, ui.exclude) : (rolloutPatchMap(r, ui.exclude) ?? clsPatchMap(r, blocks - 1, ui.exclude));
  const softName =
    layer !== undefined
      ? `CLS attention, block ${layer + 1}${excluded}`
      : r.rollout
        ? `rollout${excluded}`
        : `CLS attention, last block${excluded}`;
  if (!map || !imageEl) return null;
  // The class-specific map (occlusion of the top-1 class by token removal) is the host's to compute.
  const classSpecific = ui.hardMap === 'class' && !!r.predictions?.length;
  const mapName = classSpecific ? `occlusion of ${r.predictions![0].label}` : softName;
  const mapSelect = h(
    'select',
    { id: 'vi-hard-map', 'data-testid': 'hard-attention-map', title: 'The map whose mass the box holds' },
    h('option', { value: 'soft' }, r.rollout ? 'Rollout' : 'CLS attention, last block'),
    ...(r.clsAttention ?? []).map((_, l) => h('option', { value: `layer:${l}` }, `CLS attention, block ${l + 1} (mean of heads)`)),
    r.predictions?.length ? h('option', { value: 'class' }, `Why ${r.predictions[0].label} (occlusion)`) : null,
  ) as HTMLSelectElement;
  mapSelect.value = classSpecific ? 'class' : layer !== undefined ? `layer:${layer}` : 'soft';
  mapSelect.addEventListener('change', () => {
    ui.hardMap = mapSelect.value;
    hard = null;
    save();
    render();
  });
  const [gh, gw] = r.grid;
  const tauInput = h('input', {
    type: 'range',
    id: 'vi-tau',
    min: '0.05',
    max: '1',
    step: '0.05',
    'aria-label': 'Share τ of the attention mass',
  });
  tauInput.value = String(ui.tau);
  const tauOut = h('output', { className: 'vl-value', for: 'vi-tau' }, `${Math.round(ui.tau * 100)}%`);
  const box = smallestMassBox(map, gh, gw, ui.tau);
  const frame = h('div', { className: 'vi-stack vi-hardimg' });
  const shown = imageEl.cloneNode() as HTMLImageElement;
  frame.append(shown);
  const rect = h('div', { className: 'vi-box', 'data-testid': insideTestIds.hardAttentionBox });
  const place = (b: [number, number, number, number]) => {
    rect.style.left = `${(b[1] / gw) * 100}%`;
    rect.style.top = `${(b[0] / gh) * 100}%`;
    rect.style.width = `${((b[3] - b[1] + 1) / gw) * 100}%`;
    rect.style.height = `${((b[2] - b[0] + 1) / gh) * 100}%`;
  };
  place(box.box);
  // The class-specific box is known once the host has computed the map.
  rect.hidden = classSpecific && !hard;
  frame.append(rect);
  tauInput.addEventListener('input', () => {
    ui.tau = Number(tauInput.value);
    tauOut.textContent = `${Math.round(ui.tau * 100)}%`;
    // The crop's predictions belong to the old box: gone with it.
    if (hard) {
      hard = null;
      cropPreds.show(undefined);
      status.textContent = '';
    }
    if (!classSpecific) place(smallestMassBox(map, gh, gw, ui.tau).box);
    else rect.hidden = true;
    save();
  });
  const run = h(
    'button',
    { type: 'button', className: 'vl-btn', 'data-testid': 'hard-attention-run', disabled: !page.vscode },
    'Crop and classify',
  );
  run.addEventListener('click', () => {
    hard = null;
    cropPreds.show(undefined);
    status.textContent = classSpecific
      ? 'Occlusion of the top-1 class (masked runs), then the model on the crop…'
      : 'Running the model on the crop…';
    post(
      classSpecific
        ? { type: 'hardAttention', map: [], mapName, tau: ui.tau, classSpecific: true }
        : { type: 'hardAttention', map: Array.from(map), mapName, tau: ui.tau },
    );
  });
  const fullPreds = predictionsCard('vi-full-preds', 'predictions', 'The model has no class scores.');
  fullPreds.show(r.predictions);
  const cropPreds = predictionsCard('vi-crop-preds', 'crop-predictions', 'Press “Crop and classify”.');
  const status = h('p', { className: 'vl-card-note' });
  if (hard && !isError(hard)) {
    cropPreds.show(hard.predictions);
    place(hard.gridBox);
    rect.hidden = false;
    status.textContent = `Crop [${hard.box.join(', ')}] px holds ${(hard.mass * 100).toFixed(1)}% of the ${hard.map}.`;
  } else if (hard && isError(hard)) status.textContent = hard.error.message;
  else cropPreds.show(undefined);
  return card(
    'hard-attention',
    'Hard versus soft attention',
    `Soft attention weighs every patch; hard attention crops. The box is the smallest one holding τ of the ${mapName}; the model then runs on the crop alone.`,
    h(
      'div',
      { className: 'vi-row' },
      h('div', { className: 'vl-field' }, h('label', { for: 'vi-hard-map' }, 'Map'), mapSelect),
      h('div', { className: 'vl-field' }, h('label', { for: 'vi-tau' }, 'τ'), tauInput, tauOut),
      run,
    ),
    h(
      'div',
      { className: 'vi-row' },
      frame,
      h('div', {}, h('div', { className: 'vi-caption' }, 'full image'), fullPreds.el),
      h('div', {}, h('div', { className: 'vi-caption' }, 'crop'), cropPreds.el),
    ),
    status,
  );
}

// ---------------------------------------------------------------- page

const main = h('main', { className: 'vi-main', hidden: true });
page.mount(main);

function layerControl(max: number): HTMLElement {
  const sel = h('select', { id: 'vi-layer', 'data-testid': 'layer-select', title: 'Layer ([ and ])' });
  for (let l = 0; l <= max; l++) sel.append(h('option', { value: String(l) }, l === 0 ? '0 · embeddings' : `${l} · block ${l}`));
  sel.value = String(ui.layer ?? max);
  sel.addEventListener('change', () => setLayer(Number(sel.value)));
  return h('div', { className: 'vl-field vi-layer' }, h('label', { for: 'vi-layer' }, 'Layer'), sel);
}

function blocksOf(): number | undefined {
  const t = data.tokens;
  if (t && !isError(t)) return t.blocks;
  const f = data.features;
  if (f && !isError(f)) return f.blocks;
  return undefined;
}

function setLayer(l: number): void {
  const blocks = blocksOf();
  if (blocks === undefined) return;
  ui.layer = Math.max(0, Math.min(blocks, l));
  save();
  const f = data.features;
  if (page.vscode && (!f || isError(f) || f.layer !== ui.layer)) post({ type: 'needFeatures', layer: ui.layer });
  render();
}

function render(): void {
  clear(main);
  const views: string[] = [];
  const a = data.anatomy;
  if (a) {
    const section = h('div', { className: 'vi-section' }, h('h2', { className: 'vi-heading' }, 'Anatomy'));
    if (isError(a)) section.append(unavailableNote(a.error, insideTestIds.anatomyFilters, 'Anatomy'));
    else {
      section.append(filtersView(a), positionView(a));
      if (!isUnavailable(a.patchEmbedding)) views.push('anatomy-filters');
      if (!isUnavailable(a.positionEmbedding)) views.push('anatomy-position');
    }
    main.append(section);
  }
  const blocks = blocksOf();
  if (blocks !== undefined) {
    ui.layer = Math.min(ui.layer ?? blocks, blocks);
    main.append(h('div', { className: 'vi-toolbar' }, layerControl(blocks)));
  }
  const t = data.tokens;
  if (t) {
    const section = h('div', { className: 'vi-section' }, h('h2', { className: 'vi-heading' }, 'Tokens'));
    if (isError(t)) section.append(unavailableNote(t.error, insideTestIds.tokenNorms, 'Tokens'));
    else {
      section.append(tokensView(t, ui.layer ?? t.blocks, render));
      views.push('token-norms');
    }
    main.append(section);
  }
  const f = data.features;
  if (f) {
    const section = h('div', { className: 'vi-section' }, h('h2', { className: 'vi-heading' }, 'Features'));
    if (isError(f)) section.append(unavailableNote(f.error, insideTestIds.featurePca, 'Features'));
    else {
      section.append(featuresView(f));
      views.push('feature-pca');
    }
    main.append(section);
  }
  if (t && !isError(t)) {
    const v = hardAttentionView(t);
    if (v) {
      main.append(h('div', { className: 'vi-section' }, h('h2', { className: 'vi-heading' }, 'Hard attention'), v));
      views.push('hard-attention-box');
    }
  }
  page.showContent();
  post({ type: 'rendered', views });
}

function show(d: InsidePageData): void {
  data = d;
  hard = null;
  page.clearStatus();
  jsonButton.disabled = false;
  const a = d.anatomy && !isError(d.anatomy) ? d.anatomy : undefined;
  const t = d.tokens && !isError(d.tokens) ? d.tokens : undefined;
  const model = a?.model ?? t?.model;
  const chips: Child[] = [];
  if (model) chips.push(chip('input', `${model.inputSize[1]}×${model.inputSize[0]}`), chip('patch', String(model.patchSize)));
  if (t) chips.push(chip('tokens', String(t.tokens.count)), chip('blocks', String(t.blocks)));
  if (t?.tokens.registers) chips.push(chip('registers', String(t.tokens.registers)));
  // With an image: its name, and the model below it; a report of the weights alone: the model's name.
  page.setHeader(
    t?.image.path ?? model?.name ?? 'model',
    [t && model ? `Inside ${model.name}` : model ? 'Inside the ViT: its weights' : 'Inside the ViT'],
    chips,
    `Inside — ${model?.name ?? ''}`,
  );
  const load = () => render();
  if (t) {
    imageEl = h('img', { className: 'vi-image', alt: fileName(t.image.path), src: page.imageUrl(t.view.png) });
    imageEl.addEventListener('load', load, { once: true });
  } else imageEl = null;
  render();
}

jsonButton.addEventListener('click', () =>
  page.exportJson(() => {
    const doc: Record<string, unknown> = {};
    if (data.anatomy && !isError(data.anatomy)) doc.anatomy = anatomyJson(data.anatomy);
    if (data.tokens && !isError(data.tokens)) doc.tokens = tokensJson(data.tokens);
    if (data.features && !isError(data.features)) doc.features = featuresJson(data.features);
    return { name: 'inside.json', doc };
  }),
);

page.onShortcut((ev) => {
  if (ev.key === '[' || ev.key === ']') {
    setLayer((ui.layer ?? 0) + (ev.key === ']' ? 1 : -1));
    return true;
  }
  if (ev.key === 'x') {
    ui.exclude = !ui.exclude;
    hard = null;
    save();
    render();
    return true;
  }
  if (ev.key === 'f') {
    ui.foreground = !ui.foreground;
    save();
    render();
    return true;
  }
  return false;
});

page.start<InsideHostMessage, InsidePageData>(
  (m) => {
    switch (m.type) {
      case 'result':
        show(m.data);
        break;
      case 'features':
        data = { ...data, features: m.features };
        render();
        break;
      case 'hardAttention':
        hard = m.result;
        render();
        break;
    }
  },
  (d) => show(d),
);
