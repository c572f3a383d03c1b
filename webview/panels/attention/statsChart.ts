// Head statistics (ViT paper, Fig. 7): one point per head, x = layer, y = mean attention distance in
// pixels or mean entropy in nats. The selected head's points are joined across layers; click or arrow
// keys select a layer/head. A <details> table gives the same numbers to screen readers.
// DOM only (SVG); must not import vscode or Node.
import type { HeadStat } from '../../../src/shared/attentionTypes';
import { clear, h, s } from '../../shell/dom';
import type { HeadSel } from '../../shell/modelView';
import type { StatMetric } from '../../shell/state';

const W = 520;
const H = 250;
const M = { l: 50, r: 14, t: 14, b: 40 };

/** Round axis ticks covering [0, max]. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export class HeadStatsChart {
  readonly el: HTMLDivElement;
  private readonly svg: SVGSVGElement;
  private readonly tip: HTMLDivElement;
  private readonly tableBody: HTMLTableSectionElement;
  private stats: HeadStat[] = [];
  private layers = 0;
  private heads = 0;
  private metric: StatMetric = 'distance';
  private sel: { layer: number; head: HeadSel } = { layer: 0, head: 'mean' };
  onSelect: (layer: number, head: number) => void = () => {};

  constructor() {
    this.svg = s('svg', {
      className: 'vl-chart',
      viewBox: `0 0 ${W} ${H}`,
      tabindex: '0',
      role: 'group',
      'aria-roledescription': 'scatter chart',
    });
    this.tip = h('div', { className: 'vl-tooltip', hidden: true, role: 'status' });
    this.tableBody = h('tbody');
    const table = h(
      'table',
      { className: 'vl-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Layer'),
          h('th', { scope: 'col' }, 'Head'),
          h('th', { scope: 'col' }, 'Mean distance (px)'),
          h('th', { scope: 'col' }, 'Entropy (nats)'),
        ),
      ),
      this.tableBody,
    );
    this.el = h(
      'div',
      { className: 'vl-chart-wrap' },
      h('div', { className: 'vl-chart-box' }, this.svg, this.tip),
      h(
        'details',
        { className: 'vl-details' },
        h('summary', {}, 'Table of head statistics'),
        h('div', { className: 'vl-table-scroll' }, table),
      ),
    );
    this.svg.addEventListener('keydown', (ev) => this.onKey(ev));
    this.svg.addEventListener('blur', () => (this.tip.hidden = true));
  }

  setData(stats: HeadStat[], layers: number, heads: number): void {
    this.stats = stats;
    this.layers = layers;
    this.heads = heads;
    clear(this.tableBody);
    for (const st of stats) {
      this.tableBody.append(
        h(
          'tr',
          {},
          h('td', {}, String(st.layer + 1)),
          h('td', {}, String(st.head + 1)),
          h('td', {}, st.meanDistance.toFixed(1)),
          h('td', {}, st.entropy.toFixed(3)),
        ),
      );
    }
  }

  update(metric: StatMetric, layer: number, head: HeadSel): void {
    this.metric = metric;
    this.sel = { layer, head };
    this.draw();
  }

  private value(st: HeadStat): number {
    return this.metric === 'distance' ? st.meanDistance : st.entropy;
  }

  private draw(): void {
    clear(this.svg);
    const label = this.metric === 'distance' ? 'Mean attention distance (px)' : 'Mean attention entropy (nats)';
    this.svg.setAttribute('aria-label', `${label} of every head by layer. Arrow keys select a layer and head.`);
    const L = Math.max(1, this.layers);
    const pw = W - M.l - M.r;
    const ph = H - M.t - M.b;
    const max = Math.max(0, ...this.stats.map((st) => this.value(st)));
    const ticks = niceTicks(max || 1);
    const top = ticks[ticks.length - 1];
    const band = pw / L;
    const x = (layer: number) => M.l + band * (layer + 0.5);
    const y = (v: number) => M.t + ph - (v / top) * ph;
    const jitter = (hd: number) => (this.heads > 1 ? (hd / (this.heads - 1) - 0.5) * band * 0.5 : 0);

    // Selected layer band, grid lines, axes.
    if (this.sel.layer >= 0 && this.sel.layer < L) {
      this.svg.append(s('rect', { className: 'vl-chart-band', x: M.l + band * this.sel.layer, y: M.t, width: band, height: ph }));
    }
    for (const t of ticks) {
      this.svg.append(s('line', { className: 'vl-chart-grid', x1: M.l, x2: W - M.r, y1: y(t), y2: y(t) }));
      this.svg.append(s('text', { className: 'vl-chart-tick', x: M.l - 6, y: y(t) + 3.5, 'text-anchor': 'end' }, formatTick(t)));
    }
    const every = L > 16 ? Math.ceil(L / 12) : 1;
    for (let l = 0; l < L; l++) {
      if (l % every === 0 || l === L - 1)
        this.svg.append(s('text', { className: 'vl-chart-tick', x: x(l), y: H - M.b + 15, 'text-anchor': 'middle' }, String(l + 1)));
    }
    this.svg.append(s('line', { className: 'vl-chart-axis', x1: M.l, x2: W - M.r, y1: M.t + ph, y2: M.t + ph }));
    this.svg.append(s('line', { className: 'vl-chart-axis', x1: M.l, x2: M.l, y1: M.t, y2: M.t + ph }));
    this.svg.append(s('text', { className: 'vl-chart-label', x: M.l + pw / 2, y: H - 6, 'text-anchor': 'middle' }, 'Layer'));
    this.svg.append(
      s(
        'text',
        { className: 'vl-chart-label', x: 12, y: M.t + ph / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${M.t + ph / 2})` },
        this.metric === 'distance' ? 'Mean distance (px)' : 'Entropy (nats)',
      ),
    );

    // The selected head across layers.
    const selHead = this.sel.head;
    if (selHead !== 'mean') {
      const pts = this.stats.filter((st) => st.head === selHead).sort((a, b) => a.layer - b.layer);
      if (pts.length > 1) {
        this.svg.append(
          s('polyline', {
            className: 'vl-chart-trace',
            points: pts.map((st) => `${x(st.layer) + jitter(st.head)},${y(this.value(st))}`).join(' '),
          }),
        );
      }
    }
    const selected: SVGCircleElement[] = [];
    for (const st of this.stats) {
      const onHead = selHead !== 'mean' && st.head === selHead;
      const isSel = onHead && st.layer === this.sel.layer;
      const c = s('circle', {
        className: `vl-chart-pt${onHead ? ' vl-chart-pt-head' : ''}${isSel ? ' vl-chart-pt-sel' : ''}`,
        cx: x(st.layer) + jitter(st.head),
        cy: y(this.value(st)),
        r: isSel ? 6 : onHead ? 4.5 : 3.5,
        'data-layer': String(st.layer),
        'data-head': String(st.head),
      });
      c.addEventListener('pointerenter', () => this.showTip(st, c));
      c.addEventListener('pointerleave', () => (this.tip.hidden = true));
      c.addEventListener('click', () => this.onSelect(st.layer, st.head));
      if (isSel) selected.push(c);
      else this.svg.append(c);
    }
    for (const c of selected) this.svg.append(c); // on top
    // Keyboard users get the selected point's numbers as a tooltip.
    const selStat = this.stats.find((st) => st.layer === this.sel.layer && st.head === selHead);
    if (document.activeElement === this.svg && selStat && selected[0]) this.showTip(selStat, selected[0]);
  }

  private showTip(st: HeadStat, anchor: SVGGraphicsElement): void {
    this.tip.textContent = `Layer ${st.layer + 1} · head ${st.head + 1} — ${st.meanDistance.toFixed(1)} px · ${st.entropy.toFixed(3)} nats`;
    this.tip.hidden = false;
    const box = (this.svg.parentElement as HTMLElement).getBoundingClientRect();
    const r = anchor.getBoundingClientRect();
    this.tip.style.left = `${r.left + r.width / 2 - box.left}px`;
    this.tip.style.top = `${r.top - box.top}px`;
  }

  private onKey(ev: KeyboardEvent): void {
    if (!this.stats.length) return;
    let { layer } = this.sel;
    let head = this.sel.head === 'mean' ? 0 : this.sel.head;
    switch (ev.key) {
      case 'ArrowLeft':
        layer = Math.max(0, layer - 1);
        break;
      case 'ArrowRight':
        layer = Math.min(this.layers - 1, layer + 1);
        break;
      case 'ArrowUp':
        head = Math.min(this.heads - 1, head + 1);
        break;
      case 'ArrowDown':
        head = Math.max(0, head - 1);
        break;
      default:
        return;
    }
    ev.preventDefault();
    ev.stopPropagation();
    this.onSelect(layer, head);
  }
}

function formatTick(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(v < 1 ? 2 : 1);
}
