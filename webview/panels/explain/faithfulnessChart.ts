// The faithfulness chart: the perturbation test of every map (Chefer et al., CVPR 2021). Two panels,
// x = share of patches removed (0 … 0.9), y = p of the class: "positive" removes the most relevant
// patches first (a faithful map makes p fall fast: lower AUC is better), "negative" the least relevant
// first (higher is better). The seeded random map is the floor, drawn dashed. The legend gives the AUCs;
// a table gives every number to screen readers. When the result has them, a switch shows RISE's finer
// protocol instead (Petsiuk et al. 2018): deletion and insertion at one-patch steps, x = k / P.
// DOM only (SVG); colours come from CSS classes.
import type { FaithfulnessCurves, FaithfulnessMapName } from '../../../src/analyses/explain/types';
import { FAITHFULNESS_MAPS } from '../../../src/analyses/explain/types';
import { clear, h, s } from '../../shell/dom';
import { segmented } from '../../shell/controls';

const W = 460;
const H = 210;
const M = { l: 56, r: 10, t: 24, b: 32 };

const mapLabels: Record<FaithfulnessMapName, string> = {
  rollout: 'Rollout',
  attention: 'Attention (shown layer/head)',
  raw: 'Raw attention',
  occlusion: 'Occlusion',
  rise: 'RISE',
  random: 'Random (floor)',
};

/** The two protocols the chart can draw: Chefer et al.'s ten steps, RISE's one-patch steps. */
type Protocol = 'tenSteps' | 'onePatch';

/** One of the chart's two panels: which curve of a map it draws and how it is read. */
interface Side {
  /** What the panel removes (or puts back) first. */
  name: string;
  /** How its AUC reads. */
  reading: 'lower AUC is better' | 'higher AUC is better';
  xLabel: string;
  /** The share of patches on the x axis at the curve's end (0.9 for ten steps, 1 for one-patch steps). */
  xMax: number;
  curve: (c: FaithfulnessCurves) => { x: number[]; y: number[]; auc: number };
}

const tenSteps: Side[] = [
  {
    name: 'Most relevant removed first',
    reading: 'lower AUC is better',
    xLabel: 'patches removed',
    xMax: 0.9,
    curve: (c) => ({ x: c.fractions, y: c.positive, auc: c.positiveAuc }),
  },
  {
    name: 'Least relevant removed first',
    reading: 'higher AUC is better',
    xLabel: 'patches removed',
    xMax: 0.9,
    curve: (c) => ({ x: c.fractions, y: c.negative, auc: c.negativeAuc }),
  },
];

const steps = (y: number[]) => y.map((_, k) => k / (y.length - 1));
const onePatch: Side[] = [
  {
    name: 'Deletion: most relevant removed first',
    reading: 'lower AUC is better',
    xLabel: 'patches removed',
    xMax: 1,
    curve: (c) => ({ x: steps(c.deletion!), y: c.deletion!, auc: c.deletionAuc! }),
  },
  {
    name: 'Insertion: most relevant put back first',
    reading: 'higher AUC is better',
    xLabel: 'patches put back',
    xMax: 1,
    curve: (c) => ({ x: steps(c.insertion!), y: c.insertion!, auc: c.insertionAuc! }),
  },
];

export class FaithfulnessChart {
  readonly el: HTMLDivElement;
  private readonly panels: SVGSVGElement[];
  private readonly legend: HTMLUListElement;
  private readonly tableHead: HTMLTableRowElement;
  private readonly tableBody: HTMLTableSectionElement;
  private readonly empty: HTMLParagraphElement;
  private readonly protocolField: HTMLDivElement;
  private readonly protocolSwitch = segmented<Protocol>(
    'Protocol',
    [
      ['tenSteps', '10 steps', 'Chefer et al.: 0 … 90 % of the patches removed in ten steps'],
      ['onePatch', 'One-patch steps', 'RISE: deletion and insertion one patch at a time'],
    ],
    (v) => {
      this.protocol = v;
      this.draw();
    },
  );
  private protocol: Protocol = 'tenSteps';
  private shown: { f: Partial<Record<FaithfulnessMapName, FaithfulnessCurves>>; yLabel: string } | undefined;

  constructor() {
    this.panels = [0, 1].map(() => s('svg', { className: 'vl-chart vl-faith-panel', viewBox: `0 0 ${W} ${H}`, role: 'img' }));
    this.legend = h('ul', { className: 'vl-faith-legend' });
    this.tableHead = h('tr');
    this.tableBody = h('tbody');
    this.empty = h('p', { className: 'vl-card-note' }, 'Explain a class to see how faithful each map is.');
    this.protocolField = h(
      'div',
      { className: 'vl-field vl-faith-protocol', 'data-testid': 'faithfulness-protocol', hidden: true },
      h('span', { className: 'vl-field-label' }, 'Protocol'),
      this.protocolSwitch.el,
    );
    const table = h('table', { className: 'vl-table' }, h('thead', {}, this.tableHead), this.tableBody);
    this.el = h(
      'div',
      { className: 'vl-faith' },
      this.empty,
      this.protocolField,
      h('div', { className: 'vl-faith-panels' }, ...this.panels),
      this.legend,
      h('details', { className: 'vl-details' }, h('summary', {}, 'Table of the curves'), table),
    );
    this.clear();
  }

  clear(): void {
    this.shown = undefined;
    this.protocolField.hidden = true;
    this.wipe();
  }

  private wipe(): void {
    for (const p of this.panels) clear(p);
    clear(this.legend);
    clear(this.tableHead);
    clear(this.tableBody);
    this.empty.hidden = false;
    for (const p of this.panels) p.setAttribute('hidden', '');
  }

  /**
   * `yLabel`: what the curves record ('p' for a class probability; a region's mean depth leaves [0, 1],
   * so the axis then spans the curves' own range).
   */
  show(f: Partial<Record<FaithfulnessMapName, FaithfulnessCurves>>, yLabel = 'p'): void {
    this.shown = { f, yLabel };
    const names = FAITHFULNESS_MAPS.filter((m) => f[m]);
    const hasSteps = names.length > 0 && names.every((n) => f[n]!.deletion && f[n]!.insertion);
    this.protocolField.hidden = !hasSteps;
    if (!hasSteps) this.protocol = 'tenSteps';
    this.draw();
  }

  private draw(): void {
    this.wipe();
    if (!this.shown) return;
    const { f, yLabel } = this.shown;
    const names = FAITHFULNESS_MAPS.filter((m) => f[m]);
    if (!names.length) return;
    this.empty.hidden = true;
    this.protocolSwitch.set(this.protocol);
    const sides = this.protocol === 'onePatch' ? onePatch : tenSteps;
    const values = names.flatMap((n) => sides.flatMap((side) => side.curve(f[n]!).y));
    const unit = values.every((v) => v >= 0 && v <= 1);
    const lo = unit ? 0 : Math.min(...values);
    const hi = unit ? 1 : Math.max(...values);
    const span = hi - lo || 1;
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => lo + t * span);
    // Enough significant digits that ticks a quarter of the span apart read differently (9.7104, 9.7106…).
    const digits = Math.max(2, Math.ceil(Math.log10(Math.max(Math.abs(lo), Math.abs(hi)) / (span / 4))) + 1);
    // Curves that barely move (a span far below their level): ticks as the change from the start (every curve's y at 0 %).
    const relative = !unit && digits > 4;
    const start = values[0];
    const signed = (v: number) => (v === 0 ? '0' : `${v > 0 ? '+' : '−'}${Math.abs(v).toExponential(1)}`);
    const axisName = relative ? `Δ ${yLabel}` : yLabel;
    sides.forEach((side, i) => {
      const svg = this.panels[i];
      svg.removeAttribute('hidden');
      const aucs = names.map((n) => `${mapLabels[n]} AUC ${side.curve(f[n]!).auc.toFixed(1)}`);
      const title = `${side.name} · ${side.reading}`;
      svg.setAttribute('aria-label', `${title}: ${aucs.join(', ')}`);
      const x = (v: number) => M.l + (v / side.xMax) * (W - M.l - M.r);
      const y = (v: number) => M.t + (1 - (v - lo) / span) * (H - M.t - M.b);
      svg.append(s('text', { x: M.l, y: 13, className: 'vl-chart-label vl-faith-title' }, title));
      for (const t of ticks) {
        svg.append(s('line', { x1: M.l, x2: W - M.r, y1: y(t), y2: y(t), className: 'vl-chart-grid' }));
        const label = unit ? String(t) : relative ? signed(t - start) : String(Number(t.toPrecision(digits)));
        svg.append(s('text', { x: M.l - 5, y: y(t) + 3, className: 'vl-chart-tick', 'text-anchor': 'end' }, label));
      }
      for (const t of side.xMax === 1 ? [0, 0.25, 0.5, 0.75, 1] : [0, 0.3, 0.6, 0.9])
        svg.append(s('text', { x: x(t), y: H - M.b + 13, className: 'vl-chart-tick', 'text-anchor': 'middle' }, `${Math.round(t * 100)}%`));
      svg.append(s('text', { x: (M.l + W - M.r) / 2, y: H - 3, className: 'vl-chart-label', 'text-anchor': 'middle' }, side.xLabel));
      // The y axis's name, vertical beside the ticks.
      const yMid = (M.t + H - M.b) / 2;
      svg.append(
        s('text', { x: 9, y: yMid, className: 'vl-chart-label', 'text-anchor': 'middle', transform: `rotate(-90 9 ${yMid})` }, axisName),
      );
      for (const n of names) {
        const c = side.curve(f[n]!);
        const pts = c.x.map((fr, k) => `${x(fr).toFixed(1)},${y(Math.max(lo, Math.min(hi, c.y[k]))).toFixed(1)}`).join(' ');
        svg.append(s('polyline', { points: pts, className: `vl-faith-line vl-faith-${n}`, fill: 'none' }));
      }
    });
    const aucTitle = sides.map((side) => `${side.reading} (${side.name})`).join(' / ');
    this.tableHead.append(
      h('th', { scope: 'col' }, 'Map'),
      ...sides.map((side) => h('th', { scope: 'col' }, `${side.name}: AUC (${side.reading})`)),
      ...sides.map((side) => h('th', { scope: 'col' }, `${side.name}: curve`)),
    );
    for (const n of names) {
      const [c0, c1] = sides.map((side) => side.curve(f[n]!));
      this.legend.append(
        h(
          'li',
          { className: `vl-faith-key vl-faith-${n}` },
          h('span', { className: 'vl-faith-swatch', 'aria-hidden': 'true' }),
          h('span', {}, mapLabels[n]),
          h('span', { className: 'vl-faith-auc', title: aucTitle }, `${c0.auc.toFixed(1)} / ${c1.auc.toFixed(1)}`),
        ),
      );
      const fmt = (a: number[]) => a.map((v) => v.toFixed(3)).join(' ');
      this.tableBody.append(
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, mapLabels[n]),
          h('td', {}, c0.auc.toFixed(2)),
          h('td', {}, c1.auc.toFixed(2)),
          h('td', {}, fmt(c0.y)),
          h('td', {}, fmt(c1.y)),
        ),
      );
    }
  }
}
