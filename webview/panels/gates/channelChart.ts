// A channel gate's weights as a bar chart (SVG): one bar per channel, sorted by weight (largest first)
// or in channel order, on the gate's fixed 0..1 scale with the neutral 0.5 marked; the channels whose
// activation maps are shown below are highlighted. Pointer hover or arrow keys (chart focused) move a
// cursor whose channel, weight and rank are read out below the chart (aria-live); a <details> table
// gives every number to screen readers. Bars are drawn as two <path>s (plain and highlighted), so 2048 channels cost two elements.
// DOM only (SVG); must not import vscode or Node.
import { clear, h, s } from '../../shell/dom';
import { channelOrder, type ChannelOrder } from './gatesState';

const W = 600;
const H = 230;
const M = { l: 44, r: 12, t: 12, b: 40 };
const TICKS = [0, 0.25, 0.5, 0.75, 1];

export class ChannelChart {
  readonly el: HTMLDivElement;
  private readonly svg: SVGSVGElement;
  private readonly readout: HTMLDivElement;
  private readonly tableBody: HTMLTableSectionElement;
  private values: Float32Array = new Float32Array(0);
  private order: number[] = [];
  private rankOf: number[] = [];
  private highlighted = new Set<number>();
  private mode: ChannelOrder = 'sorted';
  /** Cursor position in display order, −1 when none. */
  private cursor = -1;

  constructor(testId: string) {
    this.svg = s('svg', {
      className: 'vl-gchart',
      viewBox: `0 0 ${W} ${H}`,
      tabindex: '0',
      role: 'group',
      'aria-roledescription': 'bar chart',
    });
    this.readout = h('div', { className: 'vl-readout', 'aria-live': 'polite' });
    this.tableBody = h('tbody');
    const table = h(
      'table',
      { className: 'vl-table' },
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col' }, 'Rank'), h('th', { scope: 'col' }, 'Channel'), h('th', { scope: 'col' }, 'Weight')),
      ),
      this.tableBody,
    );
    this.el = h(
      'div',
      { className: 'vl-gchart-wrap', 'data-testid': testId },
      h('div', { className: 'vl-chart-box' }, this.svg),
      this.readout,
      h(
        'details',
        { className: 'vl-details' },
        h('summary', {}, 'Table of channel weights'),
        h('div', { className: 'vl-table-scroll' }, table),
      ),
    );
    this.svg.addEventListener('keydown', (ev) => this.onKey(ev));
    this.svg.addEventListener('pointermove', (ev) => this.onPointer(ev));
    this.svg.addEventListener('pointerleave', () => {
      if (document.activeElement !== this.svg) this.setCursor(-1);
    });
    this.svg.addEventListener('focus', () => {
      if (this.cursor < 0 && this.order.length) this.setCursor(0);
    });
    this.svg.addEventListener('blur', () => this.setCursor(-1));
  }

  /** New gate values (C weights in 0..1) and the channels to highlight. */
  setData(values: Float32Array, highlighted: readonly number[], mode: ChannelOrder, label: string): void {
    this.values = values;
    this.highlighted = new Set(highlighted);
    this.svg.setAttribute('aria-label', `${label}. Arrow keys move between channels; Home and End jump to the ends.`);
    this.el.dataset.channels = String(values.length);
    // The rank of each channel by weight, for the readout in either order.
    this.rankOf = new Array(values.length);
    channelOrder(values, 'sorted').forEach((c, r) => (this.rankOf[c] = r));
    clear(this.tableBody);
    for (const c of channelOrder(values, 'sorted')) {
      this.tableBody.append(
        h(
          'tr',
          { className: this.highlighted.has(c) ? 'vl-gtable-top' : null },
          h('td', {}, String(this.rankOf[c] + 1)),
          h('td', {}, String(c)),
          h('td', {}, values[c].toFixed(4)),
        ),
      );
    }
    this.cursor = -1;
    this.setOrder(mode);
  }

  setOrder(mode: ChannelOrder): void {
    const channel = this.cursor >= 0 ? this.order[this.cursor] : -1;
    this.mode = mode;
    this.order = channelOrder(this.values, mode);
    this.el.dataset.order = mode;
    this.cursor = channel >= 0 ? this.order.indexOf(channel) : -1;
    this.draw();
  }

  private geometry(): { band: number; x: (i: number) => number; y: (v: number) => number; ph: number } {
    const pw = W - M.l - M.r;
    const ph = H - M.t - M.b;
    const band = pw / Math.max(1, this.order.length);
    return { band, ph, x: (i) => M.l + band * i, y: (v) => M.t + ph - Math.max(0, Math.min(1, v)) * ph };
  }

  private draw(): void {
    clear(this.svg);
    const { band, ph, x, y } = this.geometry();
    for (const t of TICKS) {
      this.svg.append(s('line', { className: t === 0.5 ? 'vl-gchart-half' : 'vl-chart-grid', x1: M.l, x2: W - M.r, y1: y(t), y2: y(t) }));
      this.svg.append(s('text', { className: 'vl-chart-tick', x: M.l - 6, y: y(t) + 3.5, 'text-anchor': 'end' }, String(t)));
    }
    // Bars: a gap between them only when they are wide enough to show it.
    const gap = band >= 4 ? Math.min(2, band * 0.2) : 0;
    let plain = '';
    let top = '';
    const base = y(0);
    this.order.forEach((c, i) => {
      const yt = y(this.values[c]);
      const hgt = Math.max(0.5, base - yt); // a zero weight still shows a hairline
      const d = `M${(x(i) + gap / 2).toFixed(2)} ${(base - hgt).toFixed(2)}h${Math.max(0.4, band - gap).toFixed(2)}v${hgt.toFixed(2)}h${(-Math.max(0.4, band - gap)).toFixed(2)}Z`;
      if (this.highlighted.has(c)) top += d;
      else plain += d;
    });
    this.svg.append(
      s('path', { className: 'vl-gchart-bar', d: plain || 'M0 0' }),
      s('path', { className: 'vl-gchart-bar vl-gchart-bar-top', d: top || 'M0 0' }),
    );
    this.svg.append(s('line', { className: 'vl-chart-axis', x1: M.l, x2: W - M.r, y1: base, y2: base }));
    this.svg.append(s('line', { className: 'vl-chart-axis', x1: M.l, x2: M.l, y1: M.t, y2: base }));
    // X ticks: a few channel numbers (index order) or ranks (sorted order).
    const n = this.order.length;
    const every = Math.max(1, Math.ceil(n / 8));
    for (let i = 0; i < n; i += every) {
      const label = this.mode === 'index' ? String(i) : `#${i + 1}`;
      this.svg.append(s('text', { className: 'vl-chart-tick', x: x(i) + band / 2, y: base + 14, 'text-anchor': 'middle' }, label));
    }
    this.svg.append(
      s(
        'text',
        { className: 'vl-chart-label', x: M.l + (W - M.l - M.r) / 2, y: H - 6, 'text-anchor': 'middle' },
        this.mode === 'sorted' ? `${n} channels, largest weight first` : `channel index (0 … ${n - 1})`,
      ),
    );
    this.svg.append(
      s(
        'text',
        { className: 'vl-chart-label', x: 12, y: M.t + ph / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${M.t + ph / 2})` },
        'gate weight',
      ),
    );
    this.drawCursor();
  }

  private drawCursor(): void {
    this.svg.querySelector('.vl-gchart-cursor')?.remove();
    if (this.cursor < 0 || this.cursor >= this.order.length) {
      this.readout.textContent = this.order.length ? 'Hover a bar, or focus the chart and use the arrow keys, to read a channel.' : '';
      return;
    }
    const { band, x, y } = this.geometry();
    const c = this.order[this.cursor];
    const w = Math.max(band, 3);
    this.svg.append(
      s('rect', { className: 'vl-gchart-cursor', x: x(this.cursor) + band / 2 - w / 2, y: y(1), width: w, height: y(0) - y(1) }),
    );
    this.readout.textContent = `Channel ${c} · weight ${this.values[c].toFixed(3)} · rank ${this.rankOf[c] + 1} of ${this.order.length}${this.highlighted.has(c) ? ' · map shown below' : ''}`;
  }

  private setCursor(i: number): void {
    this.cursor = i;
    this.drawCursor();
  }

  private onPointer(ev: PointerEvent): void {
    const r = this.svg.getBoundingClientRect();
    if (r.width <= 0 || !this.order.length) return;
    const vx = ((ev.clientX - r.left) / r.width) * W;
    const { band } = this.geometry();
    const i = Math.floor((vx - M.l) / band);
    this.setCursor(i >= 0 && i < this.order.length ? i : -1);
  }

  private onKey(ev: KeyboardEvent): void {
    const n = this.order.length;
    if (!n) return;
    const step = ev.shiftKey ? Math.max(1, Math.round(n / 10)) : 1;
    let i = this.cursor < 0 ? 0 : this.cursor;
    switch (ev.key) {
      case 'ArrowLeft':
        i = Math.max(0, i - step);
        break;
      case 'ArrowRight':
        i = Math.min(n - 1, i + step);
        break;
      case 'Home':
        i = 0;
        break;
      case 'End':
        i = n - 1;
        break;
      default:
        return;
    }
    ev.preventDefault();
    ev.stopPropagation();
    this.setCursor(i);
  }

  /** The chart as an image for the PNG export: the SVG with its computed colours inlined. */
  async toImage(): Promise<HTMLImageElement> {
    const clone = this.svg.cloneNode(true) as SVGSVGElement;
    clone.querySelector('.vl-gchart-cursor')?.remove();
    const live = this.svg.querySelectorAll('*');
    clone.querySelectorAll('*').forEach((el, i) => {
      const cs = getComputedStyle(live[i]);
      for (const p of ['fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-dasharray', 'stroke-opacity', 'font-size', 'font-family'])
        el.setAttribute(p, cs.getPropertyValue(p));
    });
    clone.setAttribute('width', String(W * 2));
    clone.setAttribute('height', String(H * 2));
    const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(clone)], { type: 'image/svg+xml' }));
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      return img;
    } finally {
      URL.revokeObjectURL(url);
    }
  }
}
