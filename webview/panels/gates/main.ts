// ViT Lens gates page: the SE-Net / CBAM gates of a CNN, in the VS Code webview. Per block (depth
// order): a channel gate's weights as a sorted bar chart with the activation maps of its strongest
// channels, or a spatial gate as an overlay on the image like an attention map; a block selector; the
// predictions. The frame (VS Code connection, state, banners, busy line, exports, shortcut filter) is
// the shell's page.ts; the messages are src/analyses/gates/messages.ts. Browser code: must not import
// vscode or Node modules.
import { ExplainCard } from '../explain/explainCard';
import { routeExplainMessage } from '../explain/route';
import { PIXEL_FILL_CELL } from '../../../src/analyses/explain/types';
import '../../shell/styles.css';
import { gatesJson } from '../../../src/analyses/gates/json';
import './gates.css';
import type { Gate, GatesResult } from '../../../src/analyses/gates/types';
import {
  gatesTestIds,
  type GatesHostMessage,
  type GatesPanelSettings,
  type GatesWebviewMessage,
} from '../../../src/analyses/gates/messages';
import { colormapNames, type PanelActionId } from '../../../src/shared/panelProtocol';
import { colormapLabels, colormapLut } from '../../../src/maths/colormaps';
import { clear, h } from '../../shell/dom';
import { card, chip, contentLayout, exportButton, field, opacitySlider, predictionsCard, segmented, timeChip } from '../../shell/controls';
import { fileName, formatValue } from '../../shell/format';
import { createPage } from '../../shell/page';
import { MapStage } from '../../shell/stage';
import { BlockList } from './blockList';
import { ChannelChart } from './channelChart';
import {
  applyGatesSettings,
  blockLabel,
  defaultGatesState,
  fitGatesState,
  gateExportName,
  gateScope,
  parseGatesUiState,
  shortNode,
  summarize,
  type ChannelOrder,
  type GatesUiState,
} from './gatesState';
import { TopChannelMaps } from './topMaps';

const shortcuts: [string, string][] = [
  ['[  ]', 'previous / next block'],
  ['Home  End', 'first / last block (block list focused)'],
  ['←  →', 'move along the channel bars (chart focused; Shift: 10%)'],
  ['o', 'channel order: by weight / by index'],
  ['s', 'smooth / nearest upsampling'],
];

// ---------------------------------------------------------------- page and state

const pngButton = exportButton('Save PNG', 'Save the shown gate as PNG');
const jsonButton = exportButton('Save JSON', "Save the shown gate's numbers as JSON");
const page = createPage<GatesWebviewMessage>({
  label: 'gates webview',
  classes: ['vl-gates'],
  shortcuts,
  buttons: [pngButton, jsonButton],
  errorTestId: gatesTestIds.error,
  busyTestId: gatesTestIds.busy,
  emptyTitle: 'No gates run yet',
  standaloneText: 'Open this panel from VS Code: ViT Lens: Show Attention on a CNN with SE or CBAM gates.',
  exportLog: 'gates export',
});
const { post } = page;

let state: GatesUiState = page.restoreState(parseGatesUiState, defaultGatesState());
let result: GatesResult | null = null;
let imageUrl: string | null = null;

function saveState(): void {
  page.saveState(state);
}

// ---------------------------------------------------------------- DOM

// Toolbar: block selector, display controls.
const prevButton = h(
  'button',
  { type: 'button', className: 'vl-btn vl-btn-secondary vl-btn-small', 'aria-label': 'Previous block', title: 'Previous block ([)' },
  '‹',
);
const nextButton = h(
  'button',
  { type: 'button', className: 'vl-btn vl-btn-secondary vl-btn-small', 'aria-label': 'Next block', title: 'Next block (])' },
  '›',
);
const blockSelect = h('select', { id: 'vg-block', 'data-testid': gatesTestIds.blockSelect, title: 'Block, in depth order ([ and ])' });
blockSelect.addEventListener('change', () => selectBlock(Number(blockSelect.value)));
prevButton.addEventListener('click', () => selectBlock(state.block - 1));
nextButton.addEventListener('click', () => selectBlock(state.block + 1));

const colormapSelect = h(
  'select',
  { id: 'vg-colormap', 'data-testid': 'colormap-select' },
  ...colormapNames.map((n) => h('option', { value: n }, colormapLabels[n])),
);
colormapSelect.addEventListener('change', () => update({ colormap: colormapSelect.value as GatesUiState['colormap'] }));
const opacity = opacitySlider('vg-opacity', (v) => {
  state.opacity = v;
  stage.setOpacity(v);
  tiles.setOpacity(v);
  saveState();
});

const upsampling = segmented<'nearest' | 'smooth'>(
  'Upsampling',
  [
    ['nearest', 'Nearest'],
    ['smooth', 'Smooth'],
  ],
  (v) => update({ smooth: v === 'smooth' }),
);
const orderControl = segmented<ChannelOrder>(
  'Channel order',
  [
    ['sorted', 'By weight'],
    ['index', 'By index'],
  ],
  (v) => update({ order: v }),
);

const orderField = h('div', { className: 'vl-field' }, h('span', { className: 'vl-field-label' }, 'Channels'), orderControl.el);
const toolbar = h(
  'div',
  { className: 'vl-toolbar' },
  h(
    'div',
    { className: 'vl-toolbar-group vl-gblock-nav', role: 'group', 'aria-label': 'Block' },
    h('label', { className: 'vl-field-label', for: 'vg-block' }, 'Block'),
    prevButton,
    blockSelect,
    nextButton,
  ),
  h(
    'div',
    { className: 'vl-toolbar-group', role: 'group', 'aria-label': 'Display' },
    field('Colormap', colormapSelect),
    opacity.field,
    h('div', { className: 'vl-field' }, h('span', { className: 'vl-field-label' }, 'Upsampling'), upsampling.el),
    orderField,
  ),
);

// Viewer: the selected gate.
const viewerTitle = h('h2', { className: 'vl-card-title', id: 'vg-viewer-title' });
const viewerHint = h('span', { className: 'vl-card-hint' });
const gateChips = h('div', { className: 'vl-meta vl-gchips' });
const chart = new ChannelChart(gatesTestIds.channelChart);
const tiles = new TopChannelMaps();
const tilesTitle = h('h3', { className: 'vl-gsubtitle' });
const channelSection = h(
  'div',
  { className: 'vl-gchannel', hidden: true },
  chart.el,
  tilesTitle,
  tiles.el,
  h(
    'p',
    { className: 'vl-card-note' },
    "Each map is the channel's activation U[c] before the gate, min–max scaled on its own, over the image the model saw.",
  ),
);
const stage = new MapStage({ primary: false, ariaLabel: 'Spatial gate over the image', maxHeight: '62vh' });
stage.stage.setAttribute('data-testid', gatesTestIds.spatialMap);
const stageReadout = h('div', { className: 'vl-readout', 'aria-live': 'off' });
const spatialSection = h(
  'div',
  { className: 'vl-gspatial', hidden: true },
  stage.el,
  stageReadout,
  h(
    'p',
    { className: 'vl-card-note' },
    "The gate's weight per position (CBAM's σ(conv7×7([max_c; mean_c]))), stretched over the image; colours min–max scaled, the colour bar shows the real range.",
  ),
);
const viewer = h(
  'section',
  { className: 'vl-card vl-viewer', 'aria-labelledby': 'vg-viewer-title' },
  h('div', { className: 'vl-card-head' }, viewerTitle, viewerHint),
  gateChips,
  channelSection,
  spatialSection,
);

// Side: the blocks in depth order, and the predictions.
const blocks = new BlockList(gatesTestIds.block);
const blocksCard = card(
  { className: 'vl-gblocks-card', titleId: 'vg-blocks-title', title: 'Gates by depth', hint: 'input → output' },
  blocks.el,
);
const predictions = predictionsCard('vg-pred-title', gatesTestIds.predictions, 'No predictions: the model has no classifier logits.');
const side = h('div', { className: 'vl-side' }, blocksCard, predictions.el);

// "Why this class": the explain analysis over pixel-fill cells (a CNN has no tokens), on the result shown.
let currentResultId = 0;
const whyClass = new ExplainCard(!!page.vscode, 'class');
whyClass.onRun = (request) => page.post({ type: 'explain', resultId: currentResultId, request });
whyClass.onCancel = () => page.post({ type: 'cancelExplain' });

page.mount(contentLayout(toolbar, viewer, side, whyClass.el));

// ---------------------------------------------------------------- rendering

/** Applies a state change and repaints what depends on it. */
function update(patch: Partial<GatesUiState> = {}): void {
  const before = state;
  state = { ...state, ...patch };
  saveState();
  colormapSelect.value = state.colormap;
  opacity.show(state.opacity);
  upsampling.set(state.smooth ? 'smooth' : 'nearest');
  orderControl.set(state.order);
  if (!result) return;
  const lut = colormapLut(state.colormap);
  if (before.colormap !== state.colormap) blocks.recolor(result.gates, lut);
  if (patch.order !== undefined && Object.keys(patch).length === 1) chart.setOrder(state.order);
  else renderGate();
}

function renderGate(): void {
  if (!result) return;
  const g = result.gates[state.block];
  const n = result.gates.length;
  const lut = colormapLut(state.colormap);
  blockSelect.value = String(g.index);
  prevButton.disabled = g.index === 0;
  nextButton.disabled = g.index === n - 1;
  blocks.select(g.index);
  viewerTitle.textContent = `Block ${g.index + 1} of ${n} · ${g.kind} gate`;
  viewerHint.textContent = g.node;
  viewerHint.title = `${g.node} (${g.op}) · applied by ${g.mulNode} to ${g.featureTensor}`;
  const { min, mean, max } = summarize(g.values);
  clear(gateChips);
  gateChips.append(
    chip(
      'op',
      g.op === 'HardSigmoid' ? 'HardSigmoid' : 'σ',
      g.op === 'HardSigmoid' ? 'max(0, min(1, x/6 + 1/2)) (MobileNetV3)' : 'sigmoid',
    ),
    chip('gates', gateScope(g)),
    chip('shape', `[${g.shape.join(', ')}]`, `feature map U [${g.featureShape.join(', ')}]`),
    chip('min', min.toFixed(3)),
    chip('mean', mean.toFixed(3)),
    chip('max', max.toFixed(3)),
  );
  orderField.hidden = g.kind !== 'channel';
  channelSection.hidden = g.kind !== 'channel';
  spatialSection.hidden = g.kind !== 'spatial';
  if (g.kind === 'channel') {
    chart.setData(
      g.values,
      g.topChannels?.channels ?? [],
      state.order,
      `Weights of the ${g.values.length} channels of ${shortNode(g.node)}`,
    );
    const top = g.topChannels;
    tilesTitle.textContent =
      top && top.channels.length
        ? `Top ${top.channels.length} channels (${top.height}×${top.width} maps)`
        : 'No channel maps in this result';
    if (top && imageUrl) tiles.setData(top, imageUrl, `${result.view.width} / ${result.view.height}`, lut, state.opacity, state.smooth);
  } else {
    const [, , hgt, w] = g.featureShape;
    stage.render({ map: g.values, grid: [hgt, w], lut, smooth: state.smooth, opacity: state.opacity, mask: null, query: null });
    stage.setAriaLabel(`Spatial gate ${g.index + 1} (${hgt}×${w}) over the image; weights ${formatValue(min)} to ${formatValue(max)}.`);
    stageReadout.textContent = `Range ${formatValue(min)} – ${formatValue(max)} · hover the image to read a position`;
  }
  void announceRendered(g);
}

async function announceRendered(g: Gate): Promise<void> {
  if (g.kind === 'spatial') {
    try {
      await stage.img.decode();
    } catch {
      // a broken image still leaves the overlay painted
    }
  }
  if (result && result.gates[state.block] === g) post({ type: 'rendered', gates: result.gates.length, block: g.index, kind: g.kind });
}

stage.onHover = (p) => {
  const g = result?.gates[state.block];
  if (!g || g.kind !== 'spatial') return;
  if (!p) {
    stageReadout.textContent = `Range ${formatValue(summarize(g.values).min)} – ${formatValue(summarize(g.values).max)} · hover the image to read a position`;
    return;
  }
  const w = g.featureShape[3];
  stageReadout.textContent = `Position (${p.row + 1}, ${p.col + 1}) of ${g.featureShape[2]}×${w} · weight ${g.values[p.row * w + p.col].toFixed(3)}`;
};

function selectBlock(index: number): void {
  if (!result) return;
  const block = Math.max(0, Math.min(result.gates.length - 1, index));
  if (block === state.block) return;
  update({ block });
}
blocks.onSelect = selectBlock;

function showResult(r: GatesResult, settings: GatesPanelSettings | undefined, n?: { message: string; actions: PanelActionId[] }): void {
  result = r;
  if (settings) state = applyGatesSettings(state, settings);
  state = fitGatesState(state, r);
  const name = fileName(r.image.path);
  const channel = r.gates.filter((g) => g.kind === 'channel').length;
  const t = r.timingsMs;
  page.setHeader(
    r.image.path,
    [
      h('span', { className: 'vl-model-name', title: r.model.path }, r.model.name),
      h('span', { className: 'vl-badge vl-badge-gates', title: 'Channel and spatial gates (SE-Net, CBAM)' }, 'gates'),
    ],
    [
      chip('input', `${r.model.inputSize[1]}×${r.model.inputSize[0]}`, `image ${r.image.width}×${r.image.height}`),
      chip('channel gates', String(channel)),
      chip('spatial gates', String(r.gates.length - channel)),
      timeChip(t, 'analysis'),
    ],
    `ViT Lens gates — ${name}`,
  );
  if (n) page.notice.show(n.message, n.actions);
  else page.notice.hide();
  page.clearStatus();

  imageUrl = page.imageUrl(r.view.png);
  stage.setImage(imageUrl, r.view.width, r.view.height, `${name} as the model saw it`);
  // Pixel-fill cells over the input the model saw; only a classifier has a class to explain.
  whyClass.el.hidden = !r.predictions?.length;
  const [ih, iw] = r.model.inputSize;
  whyClass.reset(imageUrl, r.view, r.image, [Math.ceil(ih / PIXEL_FILL_CELL), Math.ceil(iw / PIXEL_FILL_CELL)]);
  whyClass.setClasses(r.predictions ?? []);

  clear(blockSelect);
  for (const g of r.gates) blockSelect.append(h('option', { value: String(g.index) }, blockLabel(g)));
  blocks.build(r.gates, colormapLut(state.colormap));

  predictions.show(r.predictions);

  page.showContent();
  pngButton.disabled = false;
  jsonButton.disabled = false;
  update(); // paints the selected gate
}

// ---------------------------------------------------------------- keyboard and help

page.onShortcut((ev) => {
  switch (ev.key) {
    case '[':
      selectBlock(state.block - 1);
      break;
    case ']':
      selectBlock(state.block + 1);
      break;
    case 'o':
      if (result?.gates[state.block].kind === 'channel') update({ order: state.order === 'sorted' ? 'index' : 'sorted' });
      break;
    case 's':
      update({ smooth: !state.smooth });
      break;
    default:
      return false;
  }
  return true;
});

// ---------------------------------------------------------------- exports

/** A channel gate as one picture: the bar chart, and the top channels' maps in a row beneath it. */
async function channelPng(): Promise<Uint8Array> {
  const chartImg = await chart.toImage();
  const width = chartImg.naturalWidth;
  const gap = 12;
  const k = Math.max(1, tiles.count);
  const tileW = Math.min(220, (width - gap * (k + 1)) / k);
  const tileH = result ? tileW * (result.view.height / result.view.width) : tileW;
  const captionH = 30;
  const c = document.createElement('canvas');
  c.width = width;
  c.height = chartImg.naturalHeight + (tiles.count ? tileH + captionH + 2 * gap : 0);
  const ctx = c.getContext('2d') as CanvasRenderingContext2D;
  const body = getComputedStyle(document.body);
  ctx.fillStyle = body.backgroundColor || '#1e1e1e';
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.drawImage(chartImg, 0, 0);
  const weightColor = body.getPropertyValue('--vl-highlight').trim() || body.color;
  tiles.paint(ctx, gap, chartImg.naturalHeight + gap, tileW, tileH, gap, state.opacity, captionH, [body.color, weightColor]);
  return canvasPng(c);
}

async function canvasPng(c: HTMLCanvasElement): Promise<Uint8Array> {
  const blob = await new Promise<Blob | null>((resolve) => c.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the canvas could not be encoded as PNG');
  return new Uint8Array(await blob.arrayBuffer());
}

async function doExport(format: 'png' | 'json'): Promise<void> {
  if (!result) return;
  const g = result.gates[state.block];
  const r = result;
  await page.exportFile(format, format === 'png' ? 'image/png' : 'application/json', async () => ({
    name: gateExportName(r, g, format),
    bytes:
      format === 'json'
        ? new TextEncoder().encode(JSON.stringify(gatesJson(r, g), null, 1) + '\n')
        : g.kind === 'spatial'
          ? await stage.toPng(r.view.width, r.view.height)
          : await channelPng(),
  }));
}
pngButton.addEventListener('click', () => void doExport('png'));
jsonButton.addEventListener('click', () => void doExport('json'));

// ---------------------------------------------------------------- messages

/** The gates page's own host messages (running, error and exported are the frame's). */
function onHostMessage(m: GatesHostMessage): void {
  if (m.type === 'result') {
    currentResultId = m.resultId;
    showResult(m.result, m.settings, m.notice);
  } else routeExplainMessage(m, currentResultId, whyClass);
}

update();
// No standalone gates report is written yet; one with the usual embedded data would show as the others do.
page.start<GatesHostMessage, { result: GatesResult; settings?: GatesPanelSettings }>(onHostMessage, (d) =>
  showResult(d.result, d.settings),
);
