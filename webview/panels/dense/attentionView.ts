// "Inside the transformer", part 1: the DPT backbone's attention, with the attention panel's own parts —
// MapStage (image + patch overlay, click/arrow-key query), ModelView (layers × heads thumbnails), the
// SliceStore (one query's rows and rollout at a time: from the host, or sliced locally when the result
// carries the tensor) and src/maths. Keys inside this card: [ ] layer, , . head, m mean,
// r rollout, c CLS; arrows on the image move the query. DOM only; state lives in the owner (main.ts).
// Must not import vscode or Node.
import type { HeadFusion, RolloutSettings } from '../../../src/shared/attentionTypes';
import type { DensePanelResult } from '../../../src/analyses/dense/messages';
import { colormapNames } from '../../../src/shared/panelProtocol';
import { slicePatchMap } from '../../../src/maths/attention';
import { colormapLabels, colormapLut } from '../../../src/maths/colormaps';
import { clear, h } from '../../shell/dom';
import { card, sliderField } from '../../shell/controls';
import { ModelView } from '../../shell/modelView';
import { formatValue } from '../../shell/format';
import { MapStage } from '../../shell/stage';
import type { SliceStore } from '../../shell/sliceStore';
import { showRestNote, type Rest } from '../../shell/rest';
import { moveQuery, patchOfToken, stepHead, tokenOfPatch } from '../../shell/state';
import type { DenseUiState } from './denseState';

type AttentionUi = DenseUiState['attention'];
const sourceLabels = { outputs: 'model outputs', tapped: 'tapped Softmax', raw: 'raw baseline' } as const;

export class BackboneAttentionView {
  readonly el: HTMLElement;
  private readonly body: HTMLDivElement;
  private readonly missing: HTMLParagraphElement;
  private readonly badge: HTMLSpanElement;
  private readonly stage = new MapStage({ primary: true, ariaLabel: 'Backbone attention over the image', maxHeight: '46vh' });
  private readonly modelView = new ModelView();
  private readonly modeButtons = new Map<AttentionUi['mode'], HTMLButtonElement>();
  private readonly layerSelect: HTMLSelectElement;
  private readonly headSelect: HTMLSelectElement;
  private readonly colormapSelect: HTMLSelectElement;
  private readonly fusionSelect: HTMLSelectElement;
  private readonly discardInput: HTMLInputElement;
  private readonly discardOut: HTMLOutputElement;
  private readonly rolloutControls: HTMLDivElement;
  private readonly queryOut: HTMLOutputElement;
  private readonly clsButton: HTMLButtonElement;
  private readonly title: HTMLSpanElement;
  private readonly readout: HTMLDivElement;
  private result: DensePanelResult | null = null;
  private store: SliceStore | null = null;
  private ui: AttentionUi | null = null;
  private opacity = 0.65;
  private thumbsKey = '';
  private seq = 0;
  /** The user changed something: the owner merges it into its state and calls render again. */
  onChange: (patch: Partial<AttentionUi>) => void = () => {};

  constructor() {
    const modeGroup = h('div', { className: 'vl-segmented', role: 'radiogroup', 'aria-label': 'Attention view' });
    for (const [mode, label, title] of [
      ['attention', 'Query attention', "The query token's attention in one layer and head"],
      ['rollout', 'Rollout', 'Attention rollout over all layers (r)'],
    ] as const) {
      const b = h('button', { type: 'button', role: 'radio', className: 'vl-seg', 'data-value': mode, title }, label);
      b.addEventListener('click', () => this.onChange({ mode }));
      this.modeButtons.set(mode, b);
      modeGroup.append(b);
    }
    modeGroup.addEventListener('keydown', (ev) => {
      if (ev.key !== 'ArrowLeft' && ev.key !== 'ArrowRight') return;
      ev.preventDefault();
      ev.stopPropagation();
      const next = this.ui?.mode === 'rollout' ? 'attention' : 'rollout';
      this.onChange({ mode: next });
      this.modeButtons.get(next)?.focus();
    });
    this.layerSelect = h('select', { id: 'vd-layer', 'data-testid': 'attention-layer-select', title: 'Layer ( [ and ] )' });
    this.headSelect = h('select', { id: 'vd-head', 'data-testid': 'attention-head-select', title: 'Head ( , and . )' });
    this.colormapSelect = h('select', { id: 'vd-att-colormap' }, ...colormapNames.map((n) => h('option', { value: n }, colormapLabels[n])));
    this.layerSelect.addEventListener('change', () => this.onChange({ layer: Number(this.layerSelect.value), mode: 'attention' }));
    this.headSelect.addEventListener('change', () =>
      this.onChange({ head: this.headSelect.value === 'mean' ? 'mean' : Number(this.headSelect.value), mode: 'attention' }),
    );
    this.colormapSelect.addEventListener('change', () => this.onChange({ colormap: this.colormapSelect.value as AttentionUi['colormap'] }));
    this.fusionSelect = h(
      'select',
      { id: 'vd-fusion' },
      h('option', { value: 'mean' }, 'Mean'),
      h('option', { value: 'max' }, 'Max'),
      h('option', { value: 'min' }, 'Min'),
    );
    this.fusionSelect.addEventListener('change', () => this.onChange({ fusion: this.fusionSelect.value as HeadFusion }));
    this.discardInput = h('input', {
      type: 'range',
      id: 'vd-discard',
      min: '0',
      max: '0.99',
      step: '0.01',
      'aria-label': 'Rollout discard ratio',
    });
    this.discardOut = h('output', { className: 'vl-value', for: 'vd-discard' });
    this.discardInput.addEventListener('input', () => this.onChange({ discardRatio: Number(this.discardInput.value) }));
    this.queryOut = h('output', { className: 'vl-query-out', 'aria-live': 'polite' });
    this.clsButton = h(
      'button',
      { type: 'button', className: 'vl-btn vl-btn-secondary vl-btn-small', title: 'Query the CLS token (c)' },
      'CLS',
    );
    this.clsButton.addEventListener('click', () => this.onChange({ query: 0 }));
    const field = (label: string, control: HTMLElement) =>
      h('div', { className: 'vl-field' }, h('label', { for: control.id }, label), control);
    this.rolloutControls = h(
      'div',
      { className: 'vl-controls', role: 'group', 'aria-label': 'Rollout' },
      field('Head fusion', this.fusionSelect),
      sliderField('Discard', this.discardInput, this.discardOut),
    );

    this.title = h('span', { className: 'vl-card-hint' });
    this.readout = h('div', { className: 'vl-readout', 'aria-live': 'off' });
    this.badge = h('span', { className: 'vl-badge' });
    this.missing = h('p', { className: 'vl-card-note', hidden: true });
    this.body = h(
      'div',
      { className: 'vl-att-body' },
      h(
        'div',
        { className: 'vl-controls' },
        modeGroup,
        field('Layer', this.layerSelect),
        field('Head', this.headSelect),
        field('Colormap', this.colormapSelect),
        h(
          'div',
          { className: 'vl-field', role: 'group', 'aria-label': 'Query token' },
          h('span', { className: 'vl-field-label' }, 'Query'),
          this.queryOut,
          this.clsButton,
        ),
      ),
      this.rolloutControls,
      h('div', { className: 'vl-att-title' }, this.title),
      this.stage.el,
      this.readout,
      h(
        'details',
        { className: 'vl-details vl-att-thumbs', open: true },
        h('summary', {}, 'Every layer and head (rows = layers, columns = heads; each tile scaled on its own)'),
        this.modelView.el,
      ),
    );
    this.el = card(
      {
        className: 'vl-att',
        attrs: { 'data-testid': 'attention-map' },
        titleId: 'vd-att-title',
        title: 'Backbone attention',
        hint: this.badge,
      },
      this.missing,
      this.body,
    );

    this.stage.onPick = (p) => this.result && this.onChange({ query: tokenOfPatch(this.result, p.row, p.col), mode: this.ui?.mode });
    this.stage.onHover = (p) => this.showReadout(p);
    this.stage.stage.addEventListener('keydown', (ev) => {
      const r = this.result;
      if (!r || !this.ui || ev.altKey || ev.ctrlKey || ev.metaKey) return;
      const step = ev.shiftKey ? 3 : 1;
      const moves: Record<string, [number, number]> = {
        ArrowUp: [-step, 0],
        ArrowDown: [step, 0],
        ArrowLeft: [0, -step],
        ArrowRight: [0, step],
      };
      const m = moves[ev.key];
      if (!m && !(ev.key === 'Home' && r.firstPatchToken > 0)) return;
      ev.preventDefault();
      ev.stopPropagation();
      this.onChange({ query: m ? moveQuery(r, this.ui.query, m[0], m[1]) : 0 });
    });
    this.modelView.onSelect = (layer, head) => this.onChange({ layer, head, mode: 'attention' });
    this.el.addEventListener('keydown', (ev) => this.onKey(ev));
  }

  private onKey(ev: KeyboardEvent): void {
    const r = this.result;
    const ui = this.ui;
    const t = ev.target as HTMLElement;
    if (!r?.attention || !ui || ev.ctrlKey || ev.metaKey || ev.altKey || t.tagName === 'SELECT') return;
    const { layers, heads } = r.attention;
    switch (ev.key) {
      case '[':
        this.onChange({ layer: Math.max(0, ui.layer - 1), mode: 'attention' });
        break;
      case ']':
        this.onChange({ layer: Math.min(layers - 1, ui.layer + 1), mode: 'attention' });
        break;
      case ',':
        this.onChange({ head: stepHead(ui.head, heads, -1), mode: 'attention' });
        break;
      case '.':
        this.onChange({ head: stepHead(ui.head, heads, 1), mode: 'attention' });
        break;
      case 'm':
        if (heads > 1) this.onChange({ head: 'mean', mode: 'attention' });
        break;
      case 'r':
        this.onChange({ mode: ui.mode === 'rollout' ? 'attention' : 'rollout' });
        break;
      case 'c':
        if (r.firstPatchToken > 0) this.onChange({ query: 0 });
        break;
      default:
        return;
    }
    ev.preventDefault();
    ev.stopPropagation();
  }

  /**
   * A new result and where its attention slices come from (null: no attention). Builds the selects and
   * thumbnails; render() paints. `rest`: of a map shown first, the attention follows or the run stopped before it.
   */
  setResult(r: DensePanelResult, imageUrl: string, store: SliceStore | null, rest: Rest = 'whole'): void {
    this.result = r;
    this.store = store;
    this.seq++;
    this.thumbsKey = '';
    if (store) store.onSlice = () => this.ui && this.render(this.ui);
    const t = store ? r.attention : undefined;
    this.missing.hidden = !!t;
    this.body.hidden = !t;
    this.badge.hidden = !t;
    showRestNote(
      this.missing,
      t ? 'whole' : rest,
      { name: 'the backbone attention' },
      'Preparing the backbone attention…',
      t ? '' : 'This run has no backbone attention: the graph had no attention probabilities to tap (see the notes above).',
    );
    if (!t) return;
    this.badge.textContent = sourceLabels[r.model.attentionSource] ?? r.model.attentionSource;
    this.badge.className = `vl-badge vl-badge-${r.model.attentionSource}`;
    this.stage.setImage(imageUrl, r.view.width, r.view.height, 'The image as the model saw it');
    clear(this.layerSelect);
    for (let l = 0; l < t.layers; l++) this.layerSelect.append(h('option', { value: String(l) }, `${l + 1} / ${t.layers}`));
    clear(this.headSelect);
    if (t.heads > 1) this.headSelect.append(h('option', { value: 'mean' }, 'Mean'));
    for (let hd = 0; hd < t.heads; hd++) this.headSelect.append(h('option', { value: String(hd) }, `${hd + 1} / ${t.heads}`));
    this.modelView.build(t.layers, t.heads, r.grid, `${r.view.width} / ${r.view.height}`);
  }

  setOpacity(opacity: number): void {
    this.opacity = opacity;
    this.stage.setOpacity(opacity);
  }

  private queryLabel(query: number): string {
    const r = this.result as DensePanelResult;
    const p = patchOfToken(r, query);
    return p ? `Patch ${p.row + 1}, ${p.col + 1}` : r.model.specialTokens.cls ? 'CLS' : 'Token 0';
  }

  private static rolloutSettings(ui: AttentionUi): RolloutSettings {
    return { fusion: ui.fusion, discardRatio: ui.discardRatio, startLayer: 0 };
  }

  /** The shown map, or undefined while its slice is on its way from the host. */
  private mapFor(ui: AttentionUi): Float32Array | undefined {
    const r = this.result as DensePanelResult;
    const store = this.store as SliceStore;
    const settings = BackboneAttentionView.rolloutSettings(ui);
    if (ui.mode === 'rollout') return store.rollout(ui.query, settings);
    const rows = store.rows(ui.query, settings);
    return rows && slicePatchMap(rows, r.attention!, ui.layer, ui.head, r.firstPatchToken);
  }

  render(ui: AttentionUi): void {
    this.ui = ui;
    const r = this.result;
    const store = this.store;
    if (!r?.attention || !store) return;
    const t = r.attention;
    for (const [mode, b] of this.modeButtons) {
      b.setAttribute('aria-checked', String(mode === ui.mode));
      b.tabIndex = mode === ui.mode ? 0 : -1;
    }
    this.layerSelect.value = String(ui.layer);
    this.headSelect.value = String(ui.head);
    this.layerSelect.disabled = t.layers <= 1;
    this.headSelect.disabled = t.heads <= 1;
    this.colormapSelect.value = ui.colormap;
    this.fusionSelect.value = ui.fusion;
    this.discardInput.value = String(ui.discardRatio);
    this.discardOut.textContent = `${Math.round(ui.discardRatio * 100)}%`;
    this.rolloutControls.hidden = ui.mode !== 'rollout';
    const p = patchOfToken(r, ui.query);
    this.queryOut.textContent = this.queryLabel(ui.query);
    this.clsButton.disabled = r.firstPatchToken === 0 || !p;
    this.clsButton.textContent = r.model.specialTokens.cls ? 'CLS' : 'Token 0';

    const lut = colormapLut(ui.colormap);
    const map = this.mapFor(ui);
    // While a slice is on its way the stage keeps its last map.
    if (map)
      this.stage.render({
        map,
        grid: r.grid,
        lut,
        smooth: false,
        opacity: this.opacity,
        mask: null,
        query: p ? { ...p, token: ui.query } : null,
      });
    this.el.toggleAttribute('aria-busy', !map);
    const headText = ui.head === 'mean' ? `mean of ${t.heads} heads` : `head ${ui.head + 1}`;
    this.title.textContent =
      ui.mode === 'rollout'
        ? `Rollout over ${t.layers} layers · ${ui.fusion} fusion · discard ${Math.round(ui.discardRatio * 100)}% · ${this.queryLabel(ui.query)} query`
        : `Layer ${ui.layer + 1} · ${headText} · ${this.queryLabel(ui.query)} query`;
    this.stage.setAriaLabel(`${this.title.textContent}. Click a patch or use the arrow keys to move the query; c returns to CLS.`);
    this.showReadout(null);

    const tk = `${this.seq}|${ui.query}|${ui.colormap}`;
    const rows = tk !== this.thumbsKey ? store.rows(ui.query, BackboneAttentionView.rolloutSettings(ui)) : undefined;
    if (rows) {
      this.thumbsKey = tk;
      this.modelView.update((l, hd) => slicePatchMap(rows, t, l, hd, r.firstPatchToken), lut, ui.layer, ui.head);
    }
    this.modelView.select(ui.mode === 'attention' ? ui.layer : -1, ui.head);
  }

  private showReadout(p: { row: number; col: number } | null): void {
    const r = this.result;
    if (!r?.attention || !this.ui) return;
    if (this.el.hasAttribute('aria-busy')) {
      this.readout.textContent = "Fetching this query's attention…";
      return;
    }
    if (!p) {
      const { min, max } = this.stage.range;
      this.readout.textContent = `Grid ${r.grid[0]}×${r.grid[1]} · range ${formatValue(min)} – ${formatValue(max)} (colours min–max scaled) · click a patch to query it`;
      return;
    }
    const v = this.mapFor(this.ui)?.[p.row * r.grid[1] + p.col];
    this.readout.textContent = `Patch (${p.row + 1}, ${p.col + 1}) · token ${tokenOfPatch(r, p.row, p.col)} · ${this.ui.mode === 'rollout' ? 'rollout' : 'attention'} ${v === undefined ? '…' : formatValue(v)}`;
  }
}
