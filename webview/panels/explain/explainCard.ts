// The explain card of the panels without a viewer of their own for it. "Why this depth" (the DPT depth
// panel): the mean predicted depth inside a region (click two patches for its corners; the whole image by
// default) explained by occlusion or RISE over the backbone's tokens. "Why this class" (the gates panel of
// a CNN): a class of the predictions explained over pixel-fill cells. Both with the perturbation test of
// every map (the faithfulness chart). Removal is not exact in either (the DPT's neck reads every token's
// output; a CNN has no tokens): the card says so. DOM only; must not import vscode or Node.
import type { ExplainRequest } from '../../../src/analyses/explain/messages';
import { EXPLAIN_DEFAULTS, type ExplainMethod, type ExplainPartial, type PanelExplainResult } from '../../../src/analyses/explain/types';
import { colormapLut } from '../../../src/maths/colormaps';
import { h } from '../../shell/dom';
import { card, segmented } from '../../shell/controls';
import { fmtMs, formatValue } from '../../shell/format';
import { asFloat32 } from '../../shell/revive';
import { MapStage } from '../../shell/stage';
import type { Patch } from '../../shell/state';
import type { Prediction } from '../../../src/shared/attentionTypes';
import { FaithfulnessChart } from './faithfulnessChart';
import { explainTestIds } from './explainView';
import './explain.css';

/** 'region': a depth model's region (DPT panel); 'class': a classifier's class over pixel-fill cells (gates panel). */
export type ExplainCardMode = 'region' | 'class';

export class ExplainCard {
  readonly el: HTMLElement;
  onRun: (req: ExplainRequest) => void = () => {};
  onCancel: () => void = () => {};

  private readonly stage = new MapStage({ primary: false, ariaLabel: 'The explanation’s map over the image', maxHeight: '46vh' });
  private readonly classSelect: HTMLSelectElement;
  private readonly chart = new FaithfulnessChart();
  private readonly status: HTMLElement;
  private readonly note: HTMLElement;
  private readonly runButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;
  private methodValue: ExplainMethod = 'occlusion';
  private readonly method = segmented<ExplainMethod>(
    'Method',
    [
      ['occlusion', 'Occlusion', 'Sliding 2×2 windows of patches removed; the change of the score per patch'],
      ['rise', 'RISE', 'Random halves of the patches kept; the score weighted by which patches stayed'],
    ],
    (v) => {
      this.methodValue = v;
      this.method.set(v);
    },
  );
  private grid: [number, number] = [1, 1];
  private image = { width: 1, height: 1 };
  /** Region corners as patches (inclusive); null: the whole image. */
  private corners: [Patch, Patch | null] | null = null;
  private map: Float32Array | null = null;
  private running = false;

  constructor(
    interactive: boolean,
    private readonly mode: ExplainCardMode = 'region',
  ) {
    const region = mode === 'region';
    this.stage.stage.setAttribute('data-testid', explainTestIds.map);
    this.classSelect = h('select', {
      id: 'vl-card-explain-class',
      'data-testid': explainTestIds.classSelect,
      title: 'The class to explain',
      hidden: region,
    });
    this.status = h('p', { className: 'vl-card-note', role: 'status', 'data-testid': 'explain-status' });
    this.note = h('p', { className: 'vl-card-note vl-explain-inexact', hidden: true, 'data-testid': 'explain-inexact' });
    this.runButton = h('button', { type: 'button', className: 'vl-btn', 'data-testid': 'explain-run', disabled: !interactive }, 'Explain');
    this.stopButton = h('button', { type: 'button', className: 'vl-btn vl-btn-secondary', hidden: true }, 'Stop');
    const wholeButton = h('button', { type: 'button', className: 'vl-btn vl-btn-secondary vl-btn-small', hidden: !region }, 'Whole image');
    this.runButton.addEventListener('click', () => this.run());
    this.stopButton.addEventListener('click', () => this.onCancel());
    wholeButton.addEventListener('click', () => {
      this.corners = null;
      this.paint();
    });
    this.method.set('occlusion');
    this.stage.onPick = (p) => {
      if (!region) return;
      // First click: one corner; second: the opposite corner; a third starts again.
      this.corners = !this.corners || this.corners[1] ? [p, null] : [this.corners[0], p];
      this.paint();
    };
    const title = region ? 'Why this depth' : 'Why this class';
    const hint = region
      ? 'click two patches for the region’s corners; tokens removed by key masking'
      : 'cells of the image filled with the mean colour: a CNN has no tokens';
    this.el = card(
      { className: `vl-card-explain ${region ? 'vl-depth-explain' : 'vl-class-explain'}`, titleId: 'vd-explain-title', title, hint },
      this.stage.el,
      h(
        'div',
        { className: 'vl-controls vl-explain-controls', role: 'group', 'aria-label': 'Why this depth' },
        h('div', { className: 'vl-field', hidden: region }, h('label', { for: 'vl-card-explain-class' }, 'Class'), this.classSelect),
        h('div', { className: 'vl-field' }, h('span', { className: 'vl-field-label' }, 'Method'), this.method.el),
        wholeButton,
        this.runButton,
        this.stopButton,
        this.status,
        this.note,
      ),
      h('div', { 'data-testid': explainTestIds.chart }, this.chart.el),
    );
  }

  /** A new depth result: its image and grid, nothing explained yet. */
  reset(imageUrl: string, view: { width: number; height: number }, image: { width: number; height: number }, grid: [number, number]): void {
    this.grid = grid;
    this.image = image;
    this.corners = null;
    this.map = null;
    this.running = false;
    this.chart.clear();
    this.note.hidden = true;
    this.stage.setImage(imageUrl, view.width, view.height, 'the image, with the region and the map');
    this.status.textContent =
      this.mode === 'region'
        ? 'The region is the whole image; click two patches to choose one, then press Explain.'
        : 'Press Explain for the top-1 class, or pick another.';
    this.syncButtons();
    this.paint();
  }

  /** The classes offered (a gates result's predictions; the explanation's labels add every class). */
  setClasses(predictions: readonly Prediction[]): void {
    this.classSelect.replaceChildren(
      ...predictions.map((p) => h('option', { value: String(p.index) }, `${p.label} (${(p.probability * 100).toFixed(1)}%)`)),
    );
  }

  /** The region's patch rows and columns [r0, r1) × [c0, c1), from its corners; null: the whole image. */
  private patchRange(): [number, number, number, number] | null {
    if (!this.corners) return null;
    const [a, b0] = this.corners;
    const b = b0 ?? a;
    return [Math.min(a.row, b.row), Math.max(a.row, b.row) + 1, Math.min(a.col, b.col), Math.max(a.col, b.col) + 1];
  }

  /** The region in image pixels, [x0, y0, x1, y1] (x1, y1 exclusive), from the patch corners. */
  region(): [number, number, number, number] {
    const [gh, gw] = this.grid;
    const range = this.patchRange();
    if (!range) return [0, 0, this.image.width, this.image.height];
    const [r0, r1, c0, c1] = range;
    const x = (c: number) => Math.round((c * this.image.width) / gw);
    const y = (r: number) => Math.round((r * this.image.height) / gh);
    return [x(c0), y(r0), x(c1), y(r1)];
  }

  /** The patches whose centres lie in `box` (image pixels) as the region's corners; the whole image: none. */
  private showRegion([x0, y0, x1, y1]: [number, number, number, number]): void {
    const [gh, gw] = this.grid;
    const { width, height } = this.image;
    if (x0 <= 0 && y0 <= 0 && x1 >= width && y1 >= height) {
      this.corners = null;
      return;
    }
    const col = (x: number) => Math.max(0, Math.min(gw - 1, Math.floor((x * gw) / width)));
    const row = (y: number) => Math.max(0, Math.min(gh - 1, Math.floor((y * gh) / height)));
    this.corners = [
      { row: row(y0), col: col(x0) },
      { row: row(y1 - 1), col: col(x1 - 1) },
    ];
  }

  private regionMask(): Uint8Array | null {
    const range = this.patchRange();
    if (!range) return null;
    const [r0, r1, c0, c1] = range;
    const gw = this.grid[1];
    const m = new Uint8Array(this.grid[0] * gw);
    for (let r = r0; r < r1; r++) m.fill(1, r * gw + c0, r * gw + c1);
    return m;
  }

  private paint(): void {
    const P = this.grid[0] * this.grid[1];
    this.stage.render({
      map: this.map ?? new Float32Array(P),
      grid: this.grid,
      lut: colormapLut('inferno'),
      smooth: false,
      opacity: this.map ? 0.6 : 0,
      mask: this.regionMask(),
      query: null,
    });
  }

  private syncButtons(): void {
    this.runButton.hidden = this.running;
    this.stopButton.hidden = !this.running;
  }

  private run(): void {
    this.map = null;
    this.chart.clear();
    this.running = true;
    this.status.textContent = 'Starting…';
    this.syncButtons();
    this.paint();
    const target = this.mode === 'class' && this.classSelect.value !== '' ? { target: Number(this.classSelect.value) } : {};
    this.onRun({
      ...(this.mode === 'region' ? { region: this.region() } : target),
      methods: [this.methodValue],
      window: EXPLAIN_DEFAULTS.window,
      samples: EXPLAIN_DEFAULTS.samples,
      seed: EXPLAIN_DEFAULTS.seed,
      score: 'probability',
    });
  }

  progress(message: string): void {
    if (this.running) this.status.textContent = message;
  }

  partial(p: ExplainPartial): void {
    if (!this.running) return;
    this.map = asFloat32(p.map, 'explain map');
    this.paint();
  }

  result(r: PanelExplainResult): void {
    this.running = false;
    this.grid = r.grid;
    if (r.region) this.showRegion(r.region);
    const m = r.maps.occlusion ?? r.maps.rise;
    if (m) this.map = asFloat32(m, 'explain map');
    const what =
      this.mode === 'region'
        ? `Mean depth in [${(r.region ?? this.region()).join(', ')}]: ${formatValue(r.target.probability)}`
        : `${r.target.label}: p = ${r.target.probability.toFixed(3)}`;
    this.status.textContent = `${what} · ${r.runs} masked runs in ${fmtMs(r.timingsMs.total)}`;
    this.note.hidden = r.removalExact;
    this.note.textContent = r.removalNote ?? '';
    for (const f of Object.values(r.faithfulness)) {
      f.positive = Array.from(f.positive);
      f.negative = Array.from(f.negative);
    }
    this.chart.show(r.faithfulness, this.mode === 'region' ? 'mean depth' : 'p');
    this.syncButtons();
    this.paint();
  }

  error(message: string): void {
    this.running = false;
    this.status.textContent = message;
    this.syncButtons();
  }
}
