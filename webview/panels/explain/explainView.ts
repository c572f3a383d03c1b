// The "Why this class" view of the attention page (the explain analysis, src/analyses/explain): the
// target class picker (a filter over id2label's labels; a click on a prediction picks it too), the
// method and its options, run / stop with progress, and the faithfulness chart (the perturbation test of
// every map, Chefer et al. 2021). The page paints the chosen map on its stage through `map()`.
// DOM only; must not import vscode or Node.
import type { ExplainRequest } from '../../../src/analyses/attention/messages';
import { explainJson } from '../../../src/analyses/explain/json';
import { EXPLAIN_DEFAULTS, type ExplainMethod, type ExplainPartial, type PanelExplainResult } from '../../../src/analyses/explain/types';
import type { PanelResult } from '../../../src/shared/attentionTypes';
import { clear, h } from '../../shell/dom';
import { card, field, segmented } from '../../shell/controls';
import { fmtMs } from '../../shell/format';
import { asFloat32 } from '../../shell/revive';
import { FaithfulnessChart } from './faithfulnessChart';
import './explain.css';

export const explainTestIds = { classSelect: 'explain-class-select', chart: 'faithfulness-chart', map: 'explain-map' } as const;

const methodLabels: Record<ExplainMethod, string> = { occlusion: 'Occlusion', rise: 'RISE' };

export class ExplainView {
  /** The options card, shown under the stage in the "Why this class" view. */
  readonly el: HTMLElement;
  /** The faithfulness chart's card. */
  readonly chartCard: HTMLElement;
  onRun: (req: Omit<ExplainRequest, 'layer' | 'head'>) => void = () => {};
  onCancel: () => void = () => {};
  /** A map, a result or a status changed: the page repaints. */
  onChange: () => void = () => {};

  private labels: string[] = [];
  private readonly filter: HTMLInputElement;
  private readonly select: HTMLSelectElement;
  private readonly method = segmented<ExplainMethod | 'both'>(
    'Method',
    [
      ['occlusion', 'Occlusion', 'Sliding w×w windows of patches removed; the drop of the class score per patch'],
      ['rise', 'RISE', 'Random halves of the patches kept; the class score weighted by which patches stayed'],
      ['both', 'Both'],
    ],
    (v) => {
      this.methodValue = v;
      this.method.set(v);
      this.syncOptions();
    },
  );
  private methodValue: ExplainMethod | 'both' = 'occlusion';
  private readonly shown = segmented<ExplainMethod>(
    'Show',
    [
      ['occlusion', 'Occlusion'],
      ['rise', 'RISE'],
    ],
    (v) => {
      this.showing = v;
      this.shown.set(v);
      this.onChange();
    },
  );
  private readonly windowSelect: HTMLSelectElement;
  private readonly samplesInput: HTMLInputElement;
  private readonly stepsInput: HTMLInputElement;
  private readonly score = segmented<'probability' | 'logOdds'>(
    'Score',
    [
      ['probability', 'p', 'The softmax probability of the class'],
      ['logOdds', 'log-odds', 'log(p / (1 − p)): differences stay visible when p is near 1'],
    ],
    (v) => {
      this.scoreValue = v;
      this.score.set(v);
    },
  );
  private scoreValue: 'probability' | 'logOdds' = 'probability';
  private readonly runButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;
  private readonly status: HTMLElement;
  private readonly exactNote: HTMLElement;
  private readonly chart = new FaithfulnessChart();
  private maps: Partial<Record<ExplainMethod, Float32Array>> = {};
  private showing: ExplainMethod = 'occlusion';
  private done: PanelExplainResult | undefined;
  private running = false;

  constructor(interactive: boolean) {
    this.filter = h('input', {
      type: 'search',
      id: 'vl-explain-filter',
      placeholder: 'Filter labels…',
      'aria-label': 'Filter class labels',
    });
    this.select = h('select', { id: 'vl-explain-class', 'data-testid': explainTestIds.classSelect, title: 'The class to explain' });
    this.filter.addEventListener('input', () => this.fillClasses());
    this.windowSelect = h(
      'select',
      { id: 'vl-explain-window', title: 'Occlusion window side, in patches (1 = single patches)' },
      ...[1, 2, 3, 4].map((w) => h('option', { value: String(w) }, `${w}×${w}`)),
    );
    this.windowSelect.value = String(EXPLAIN_DEFAULTS.window);
    this.samplesInput = h('input', {
      type: 'number',
      id: 'vl-explain-samples',
      min: '1',
      max: '100000',
      step: '50',
      value: String(EXPLAIN_DEFAULTS.samples),
      title: 'RISE: random masks',
    });
    this.stepsInput = h('input', {
      type: 'checkbox',
      id: 'vl-explain-steps',
      'data-testid': 'explain-steps',
      title: 'Also the deletion / insertion curves at one-patch steps (RISE’s protocol): P + 1 runs per map and direction',
    });
    this.score.set('probability');
    this.method.set('occlusion');
    this.shown.set('occlusion');
    this.runButton = h(
      'button',
      { type: 'button', className: 'vl-btn', 'data-testid': 'explain-run', disabled: !interactive },
      interactive ? 'Explain' : 'Explain (run in VS Code or with vit-lens explain)',
    );
    this.stopButton = h('button', { type: 'button', className: 'vl-btn vl-btn-secondary', hidden: true }, 'Stop');
    this.runButton.addEventListener('click', () => this.run());
    this.stopButton.addEventListener('click', () => this.onCancel());
    this.status = h('p', { className: 'vl-card-note', role: 'status', 'data-testid': 'explain-status' });
    this.exactNote = h('p', { className: 'vl-card-note vl-explain-inexact', hidden: true, 'data-testid': 'explain-inexact' });
    this.el = h(
      'div',
      { className: 'vl-controls vl-explain-controls', role: 'group', 'aria-label': 'Why this class' },
      h('div', { className: 'vl-field vl-explain-class' }, h('label', { for: 'vl-explain-class' }, 'Class'), this.filter, this.select),
      h('div', { className: 'vl-field' }, h('span', { className: 'vl-field-label' }, 'Method'), this.method.el),
      field('Window', this.windowSelect),
      field('Samples', this.samplesInput),
      h('div', { className: 'vl-field' }, h('span', { className: 'vl-field-label' }, 'Score'), this.score.el),
      h('label', { className: 'vl-check', for: 'vl-explain-steps' }, this.stepsInput, 'One-patch steps'),
      this.runButton,
      this.stopButton,
      h('div', { className: 'vl-field vl-explain-show' }, h('span', { className: 'vl-field-label' }, 'Show'), this.shown.el),
      this.status,
      this.exactNote,
    );
    this.chartCard = card(
      {
        className: 'vl-faithfulness',
        attrs: { 'data-testid': explainTestIds.chart },
        titleId: 'vl-faith-title',
        title: 'Faithfulness: is the map telling the truth?',
        hint: 'p of the class as patches are removed in each map’s order (perturbation test)',
      },
      this.chart.el,
    );
    this.syncOptions();
  }

  /** A new attention result: its labels, nothing explained yet. */
  reset(r: Pick<PanelResult, 'labels' | 'predictions'>): void {
    this.labels = r.labels ?? r.predictions?.map((p) => p.label) ?? [];
    this.filter.value = '';
    this.fillClasses(r.predictions?.[0]?.index);
    this.maps = {};
    this.done = undefined;
    this.running = false;
    this.chart.clear();
    this.exactNote.hidden = true;
    this.status.textContent = r.predictions?.length
      ? 'Pick a class (or click a prediction) and press Explain: tokens are removed exactly, by masking their keys before every Softmax.'
      : 'No classifier logits in this run: nothing to explain.';
    this.runButton.disabled = this.runButton.disabled || !r.predictions?.length;
    this.syncButtons();
  }

  /** A prediction was clicked: explain that class. */
  pick(index: number): void {
    if (index < 0 || index >= this.labels.length) return;
    this.filter.value = '';
    this.fillClasses(index);
    if (!this.runButton.disabled) this.run();
  }

  private fillClasses(selected = this.select.value === '' ? undefined : Number(this.select.value)): void {
    const f = this.filter.value.trim().toLowerCase();
    clear(this.select);
    this.labels.forEach((l, i) => {
      if (!f || l.toLowerCase().includes(f) || String(i) === f) this.select.append(h('option', { value: String(i) }, `${l} (${i})`));
    });
    if (selected !== undefined && [...this.select.options].some((o) => o.value === String(selected))) this.select.value = String(selected);
  }

  private methods(): ExplainMethod[] {
    const m = this.methodValue;
    return m === 'both' ? ['occlusion', 'rise'] : [m];
  }

  private syncOptions(): void {
    const m = this.methods();
    this.windowSelect.disabled = !m.includes('occlusion');
    this.samplesInput.disabled = !m.includes('rise');
  }

  private syncButtons(): void {
    this.stopButton.hidden = !this.running;
    this.runButton.hidden = this.running;
    const both = !!this.maps.occlusion && !!this.maps.rise;
    (this.shown.el.parentElement as HTMLElement).hidden = !both;
  }

  private run(): void {
    const samples = Math.round(Number(this.samplesInput.value));
    if (!(samples >= 1 && samples <= 100_000)) {
      this.status.textContent = 'Samples must be a whole number from 1 to 100000.';
      return;
    }
    const methods = this.methods();
    this.maps = {};
    this.done = undefined;
    this.chart.clear();
    this.showing = methods[0];
    this.shown.set(this.showing);
    this.running = true;
    this.status.textContent = 'Starting…';
    this.syncButtons();
    this.onRun({
      ...(this.select.value !== '' ? { target: Number(this.select.value) } : {}),
      methods,
      window: Number(this.windowSelect.value),
      samples,
      seed: EXPLAIN_DEFAULTS.seed,
      score: this.scoreValue,
      ...(this.stepsInput.checked ? { steps: true } : {}),
    });
    this.onChange();
  }

  progress(message: string): void {
    if (this.running) this.status.textContent = message;
  }

  partial(p: ExplainPartial): void {
    if (!this.running) return;
    this.maps[p.kind] = asFloat32(p.map, 'explain map');
    if (p.kind === 'occlusion' && p.pass === 'coarse')
      this.status.textContent = `Coarse occlusion map shown; refining (${p.done} / ${p.total} windows)…`;
    this.onChange();
  }

  result(r: PanelExplainResult): void {
    for (const k of ['rollout', 'attention', 'raw', 'random', 'occlusion', 'rise'] as const)
      if (r.maps[k]) r.maps[k] = asFloat32(r.maps[k], `maps.${k}`);
    this.done = r;
    this.running = false;
    this.maps = { occlusion: r.maps.occlusion, rise: r.maps.rise };
    if (!this.maps[this.showing]) this.showing = r.maps.occlusion ? 'occlusion' : 'rise';
    this.shown.set(this.showing);
    if (String(r.target.index) !== this.select.value) this.fillClasses(r.target.index);
    const t = r.timingsMs;
    this.status.textContent =
      `${r.target.label}: p = ${r.target.probability.toFixed(3)} · ${r.runs} masked runs in ${fmtMs(t.total)}` +
      (r.batch > 1 ? ` (batches of ${r.batch})` : ' (one at a time: the export fixes batch 1)');
    this.exactNote.hidden = r.removalExact;
    this.exactNote.textContent = r.removalNote ?? '';
    this.chart.show(r.faithfulness);
    this.syncButtons();
    this.onChange();
  }

  error(message: string, cancelled: boolean): void {
    this.running = false;
    this.status.textContent = cancelled && Object.keys(this.maps).length ? `${message}` : message;
    this.syncButtons();
    this.onChange();
  }

  /** The map to paint: the chosen method's latest (partial or final), undefined before any. */
  map(): Float32Array | undefined {
    return this.maps[this.showing] ?? this.maps.occlusion ?? this.maps.rise;
  }

  title(): string {
    const m = this.map();
    if (!m) return 'Why this class · not explained yet';
    const which = this.maps[this.showing] ? this.showing : this.maps.occlusion ? 'occlusion' : 'rise';
    const target = this.done?.target.label ?? this.select.selectedOptions[0]?.textContent ?? '';
    const extra =
      which === 'occlusion' ? `${this.windowSelect.value}×${this.windowSelect.value} windows` : `${this.samplesInput.value} samples`;
    return `Why ${target} · ${methodLabels[which]} · ${extra}${this.running ? ' · running' : ''}`;
  }

  /** The `vit-lens explain --json` document of the finished explanation. */
  json(): Record<string, unknown> | undefined {
    return this.done && explainJson(this.done);
  }

  /** A finished explanation embedded in the HTML report (no host to run one). */
  showEmbedded(r: PanelExplainResult): void {
    this.running = true;
    this.result(r);
  }
}
