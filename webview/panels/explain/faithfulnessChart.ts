// The faithfulness chart: the perturbation test of every map (Chefer et al., CVPR 2021). Two panels,
// x = share of patches removed (0 … 0.9), y = p of the class: "positive" removes the most relevant
// patches first (a faithful map makes p fall fast: lower AUC is better), "negative" the least relevant
// first (higher is better). The seeded random map is the floor, drawn dashed. The legend gives the AUCs;
// a table gives every number to screen readers. DOM only (SVG); colours come from CSS classes.
import type { FaithfulnessCurves, FaithfulnessMapName } from '../../../src/analyses/explain/types';
import { FAITHFULNESS_MAPS } from '../../../src/analyses/explain/types';
import { clear, h, s } from '../../shell/dom';

const W = 460;
const H = 210;
const M = { l: 46, r: 10, t: 24, b: 32 };

const mapLabels: Record<FaithfulnessMapName, string> = {
  rollout: 'Rollout',
  attention: 'Attention (shown layer/head)',
  raw: 'Raw attention',
  occlusion: 'Occlusion',
  rise: 'RISE',
  random: 'Random (floor)',
};

export class FaithfulnessChart {
  readonly el: HTMLDivElement;
  private readonly panels: SVGSVGElement[];
  private readonly legend: HTMLUListElement;
  private readonly tableBody: HTMLTableSectionElement;
  private readonly empty: HTMLParagraphElement;

  constructor() {
    this.panels = [0, 1].map(() => s('svg', { className: 'vl-chart vl-faith-panel', viewBox: `0 0 ${W} ${H}`, role: 'img' }));
    this.legend = h('ul', { className: 'vl-faith-legend' });
    this.tableBody = h('tbody');
    this.empty = h('p', { className: 'vl-card-note' }, 'Explain a class to see how faithful each map is.');
    const table = h(
      'table',
      { className: 'vl-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Map'),
          h('th', { scope: 'col' }, 'Positive AUC (lower is better)'),
          h('th', { scope: 'col' }, 'Negative AUC (higher is better)'),
          h('th', { scope: 'col' }, 'Positive curve'),
          h('th', { scope: 'col' }, 'Negative curve'),
        ),
      ),
      this.tableBody,
    );
    this.el = h(
      'div',
      { className: 'vl-faith' },
      this.empty,
      h('div', { className: 'vl-faith-panels' }, ...this.panels),
      this.legend,
      h('details', { className: 'vl-details' }, h('summary', {}, 'Table of the curves'), table),
    );
    this.clear();
  }

  clear(): void {
    for (const p of this.panels) clear(p);
    clear(this.legend);
    clear(this.tableBody);
    this.empty.hidden = false;
    for (const p of this.panels) p.setAttribute('hidden', '');
  }

  /**
   * `yLabel`: what the curves record ('p' for a class probability; log-odds and a region's mean depth leave
   * [0, 1], so the axis then spans the curves' own range).
   */
  show(f: Partial<Record<FaithfulnessMapName, FaithfulnessCurves>>, yLabel = 'p'): void {
    this.clear();
    const names = FAITHFULNESS_MAPS.filter((m) => f[m]);
    if (!names.length) return;
    this.empty.hidden = true;
    const values = names.flatMap((n) => [...f[n]!.positive, ...f[n]!.negative]);
    const unit = values.every((v) => v >= 0 && v <= 1);
    const lo = unit ? 0 : Math.min(...values);
    const hi = unit ? 1 : Math.max(...values);
    const span = hi - lo || 1;
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => lo + t * span);
    const sides = [
      ['positive', 'Most relevant removed first · lower AUC is better'],
      ['negative', 'Least relevant removed first · higher AUC is better'],
    ] as const;
    sides.forEach(([side, title], i) => {
      const svg = this.panels[i];
      svg.removeAttribute('hidden');
      svg.setAttribute('aria-label', `${title}: ${names.map((n) => `${mapLabels[n]} AUC ${f[n]![`${side}Auc`].toFixed(1)}`).join(', ')}`);
      const x = (v: number) => M.l + (v / 0.9) * (W - M.l - M.r);
      const y = (v: number) => M.t + (1 - (v - lo) / span) * (H - M.t - M.b);
      svg.append(s('text', { x: M.l, y: 13, className: 'vl-chart-label vl-faith-title' }, title));
      for (const t of ticks) {
        svg.append(s('line', { x1: M.l, x2: W - M.r, y1: y(t), y2: y(t), className: 'vl-chart-grid' }));
        const label = unit ? String(t) : String(Number(t.toPrecision(2)));
        svg.append(s('text', { x: M.l - 5, y: y(t) + 3, className: 'vl-chart-tick', 'text-anchor': 'end' }, label));
      }
      for (const t of [0, 0.3, 0.6, 0.9])
        svg.append(s('text', { x: x(t), y: H - M.b + 13, className: 'vl-chart-tick', 'text-anchor': 'middle' }, `${Math.round(t * 100)}%`));
      svg.append(s('text', { x: (M.l + W - M.r) / 2, y: H - 3, className: 'vl-chart-label', 'text-anchor': 'middle' }, 'patches removed'));
      // The y axis's name, vertical beside the ticks.
      const yMid = (M.t + H - M.b) / 2;
      svg.append(
        s('text', { x: 9, y: yMid, className: 'vl-chart-label', 'text-anchor': 'middle', transform: `rotate(-90 9 ${yMid})` }, yLabel),
      );
      for (const n of names) {
        const c = f[n]!;
        const pts = c.fractions.map((fr, k) => `${x(fr).toFixed(1)},${y(Math.max(lo, Math.min(hi, c[side][k]))).toFixed(1)}`).join(' ');
        svg.append(s('polyline', { points: pts, className: `vl-faith-line vl-faith-${n}`, fill: 'none' }));
      }
    });
    for (const n of names) {
      const c = f[n]!;
      this.legend.append(
        h(
          'li',
          { className: `vl-faith-key vl-faith-${n}` },
          h('span', { className: 'vl-faith-swatch', 'aria-hidden': 'true' }),
          h('span', {}, mapLabels[n]),
          h(
            'span',
            { className: 'vl-faith-auc', title: 'positive AUC (lower is better) / negative AUC (higher is better)' },
            `${c.positiveAuc.toFixed(1)} / ${c.negativeAuc.toFixed(1)}`,
          ),
        ),
      );
      const fmt = (a: number[]) => a.map((v) => v.toFixed(3)).join(' ');
      this.tableBody.append(
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, mapLabels[n]),
          h('td', {}, c.positiveAuc.toFixed(2)),
          h('td', {}, c.negativeAuc.toFixed(2)),
          h('td', {}, fmt(c.positive)),
          h('td', {}, fmt(c.negative)),
        ),
      );
    }
  }
}
