// Every gate of the model in depth order, one button each (data-testid="gate-block", data-kind), with a
// thumbnail: a channel gate's weights sorted as a tiny bar profile, a spatial gate's map as a tiny heat
// image. A roving tabindex makes the list one tab stop: arrow keys move, Home/End jump, Enter/Space select.
// DOM only; must not import vscode or Node.
import type { Gate } from '../../../src/analyses/gates/types';
import { clear, h, s } from '../../shell/dom';
import { rasterize } from '../../shell/raster';
import { channelOrder, gateScope, shortNode, summarize } from './gatesState';

const SPARK_W = 64;
const SPARK_H = 24;

export class BlockList {
  readonly el: HTMLOListElement;
  private buttons: HTMLButtonElement[] = [];
  private selected = 0;
  onSelect: (index: number) => void = () => {};

  constructor(private readonly testId: string) {
    this.el = h('ol', { className: 'vl-gblocks', 'aria-label': 'Gates in depth order' });
    this.el.addEventListener('keydown', (ev) => this.onKey(ev));
  }

  build(gates: Gate[], lut: Uint8ClampedArray): void {
    clear(this.el);
    this.buttons = gates.map((g) => {
      const { min, mean, max } = summarize(g.values);
      const button = h(
        'button',
        {
          type: 'button',
          className: 'vl-gblock',
          'data-testid': this.testId,
          'data-kind': g.kind,
          'data-index': String(g.index),
          tabindex: '-1',
          'aria-label': `Gate ${g.index + 1}: ${g.kind} gate ${g.node}, ${gateScope(g)}; weights ${min.toFixed(2)} to ${max.toFixed(2)}, mean ${mean.toFixed(2)}`,
          title: `${g.node} (${g.op}) → ${g.mulNode}`,
        },
        h('span', { className: 'vl-gblock-index' }, String(g.index + 1)),
        g.kind === 'channel' ? sparkline(g.values) : heatThumb(g, lut),
        h(
          'span',
          { className: 'vl-gblock-text' },
          h('span', { className: 'vl-gblock-node' }, shortNode(g.node)),
          h('span', { className: 'vl-gblock-meta' }, h('span', { className: `vl-badge vl-gbadge-${g.kind}` }, g.kind), ` ${gateScope(g)}`),
        ),
      );
      button.addEventListener('click', () => this.onSelect(g.index));
      this.el.append(h('li', {}, button));
      return button;
    });
    this.select(Math.min(this.selected, this.buttons.length - 1));
  }

  select(index: number): void {
    this.selected = Math.max(0, index);
    this.buttons.forEach((b, i) => {
      b.setAttribute('aria-current', i === this.selected ? 'true' : 'false');
      b.tabIndex = i === this.selected ? 0 : -1;
      b.classList.toggle('vl-selected', i === this.selected);
    });
  }

  /** Same repaint for a new colormap: the heat thumbnails only. */
  recolor(gates: Gate[], lut: Uint8ClampedArray): void {
    this.buttons.forEach((b, i) => {
      const old = b.querySelector('canvas');
      if (old && gates[i].kind === 'spatial') old.replaceWith(heatThumb(gates[i], lut));
    });
  }

  private onKey(ev: KeyboardEvent): void {
    const i = this.buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (i < 0) return;
    const n = this.buttons.length;
    const next =
      ev.key === 'ArrowDown' || ev.key === 'ArrowRight'
        ? Math.min(n - 1, i + 1)
        : ev.key === 'ArrowUp' || ev.key === 'ArrowLeft'
          ? Math.max(0, i - 1)
          : ev.key === 'Home'
            ? 0
            : ev.key === 'End'
              ? n - 1
              : -1;
    if (next < 0) return;
    ev.preventDefault();
    ev.stopPropagation();
    this.onSelect(next);
    this.buttons[next].focus();
  }
}

/** Channel weights, largest first, as a filled profile on the 0..1 scale. */
function sparkline(values: Float32Array): SVGSVGElement {
  const order = channelOrder(values, 'sorted');
  const n = order.length;
  const pts = order.map(
    (c, i) => `${(((i + 0.5) / n) * SPARK_W).toFixed(2)},${(SPARK_H - Math.max(0, Math.min(1, values[c])) * SPARK_H).toFixed(2)}`,
  );
  return s(
    'svg',
    { className: 'vl-gblock-thumb vl-gspark', viewBox: `0 0 ${SPARK_W} ${SPARK_H}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' },
    s('line', { className: 'vl-gspark-half', x1: 0, x2: SPARK_W, y1: SPARK_H / 2, y2: SPARK_H / 2 }),
    s('polygon', { className: 'vl-gspark-fill', points: `0,${SPARK_H} ${pts.join(' ')} ${SPARK_W},${SPARK_H}` }),
  );
}

/** A spatial gate's map as a tiny heat image (one pixel per position, scaled by CSS). */
function heatThumb(g: Gate, lut: Uint8ClampedArray): HTMLCanvasElement {
  const [, , height, width] = g.featureShape;
  const canvas = h('canvas', {
    className: 'vl-gblock-thumb vl-pixelated',
    width: String(width),
    height: String(height),
    'aria-hidden': 'true',
  });
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const img = ctx.createImageData(width, height);
  rasterize(g.values, [height, width], width, height, lut, false, img.data);
  ctx.putImageData(img, 0, 0);
  return canvas;
}
