// "Model view": every layer × head as a small heat thumbnail of the current query's map (rows = layers),
// plus a per-layer mean column. Thumbnails are buttons with a roving tabindex (arrow keys move, Enter /
// Space select) and one tiny canvas each (gw × gh pixels, scaled by CSS), so even 144 of them are cheap.
// Shared by the attention page and the DPT page's backbone attention. DOM only; must not import vscode or Node.
import { clear, h } from './dom';
import { normalize } from './raster';

export type HeadSel = number | 'mean';

interface Thumb {
  button: HTMLButtonElement;
  ctx: CanvasRenderingContext2D;
  image: ImageData;
  layer: number;
  head: HeadSel;
}

export class ModelView {
  readonly el: HTMLDivElement;
  private thumbs: Thumb[] = [];
  private layers = 0;
  private heads = 0;
  private focusIndex = 0;
  private shape = '';
  onSelect: (layer: number, head: HeadSel) => void = () => {};

  constructor() {
    this.el = h('div', { className: 'vl-thumbs', role: 'grid', 'aria-label': 'Attention of every layer and head for the current query' });
    this.el.addEventListener('keydown', (ev) => this.onKey(ev));
  }

  get count(): number {
    return this.thumbs.filter((t) => t.head !== 'mean').length;
  }

  /** Lays out the grid; a new result of the same shape keeps it (re-creating 156 canvases took ~10 ms). */
  build(layers: number, heads: number, grid: [number, number], aspect: string): void {
    const shape = `${layers}x${heads}|${grid.join('x')}|${aspect}`;
    if (shape === this.shape) return;
    this.shape = shape;
    clear(this.el);
    this.thumbs = [];
    this.layers = layers;
    this.heads = heads;
    const withMean = heads > 1;
    const cols = heads + (withMean ? 1 : 0);
    // Row labels, the heads, then (for several heads) a narrow gap and the mean column.
    this.el.style.gridTemplateColumns = `auto repeat(${heads}, minmax(0, 1fr))${withMean ? ' 4px minmax(0, 1fr)' : ''}`;
    this.el.style.maxWidth = `calc(3em + ${cols} * ${heads > 8 ? 4.2 : 6.5}rem)`;
    this.el.classList.toggle('vl-thumbs-dense', heads > 8);
    const headRow = h(
      'div',
      { className: 'vl-thumbs-row', role: 'row' },
      h('span', { className: 'vl-thumbs-corner', role: 'columnheader' }, 'L \\ H'),
    );
    for (let hd = 0; hd < heads; hd++) headRow.append(h('span', { className: 'vl-thumbs-colhead', role: 'columnheader' }, String(hd + 1)));
    if (withMean)
      headRow.append(
        h('span', { 'aria-hidden': 'true' }),
        h('span', { className: 'vl-thumbs-colhead vl-thumbs-meanhead', role: 'columnheader' }, 'mean'),
      );
    this.el.append(headRow);
    const [gh, gw] = grid;
    for (let l = 0; l < layers; l++) {
      const row = h(
        'div',
        { className: 'vl-thumbs-row', role: 'row' },
        h('span', { className: 'vl-thumbs-rowhead', role: 'rowheader' }, String(l + 1)),
      );
      const cells: HeadSel[] = Array.from({ length: heads }, (_, i) => i);
      if (withMean) cells.push('mean');
      for (const head of cells) {
        if (head === 'mean') row.append(h('span', { 'aria-hidden': 'true' }));
        const canvas = h('canvas', { width: String(gw), height: String(gh), 'aria-hidden': 'true' });
        canvas.style.aspectRatio = aspect;
        const label = head === 'mean' ? `Layer ${l + 1}, mean of heads` : `Layer ${l + 1}, head ${head + 1}`;
        const button = h(
          'button',
          {
            type: 'button',
            className: head === 'mean' ? 'vl-thumb vl-thumb-mean' : 'vl-thumb',
            role: 'gridcell',
            tabindex: '-1',
            title: label,
            'aria-label': label,
            'data-testid': head === 'mean' ? 'mean-thumb' : 'head-thumb',
            'data-layer': String(l),
            'data-head': String(head),
          },
          canvas,
        );
        const index = this.thumbs.length;
        button.addEventListener('click', () => {
          this.focusIndex = index;
          this.onSelect(l, head);
        });
        row.append(button);
        const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
        this.thumbs.push({ button, ctx, image: ctx.createImageData(gw, gh), layer: l, head });
      }
      this.el.append(row);
    }
  }

  /** Repaint every thumbnail (each min–max scaled on its own) and mark the selection. */
  update(mapOf: (layer: number, head: HeadSel) => Float32Array, lut: Uint8ClampedArray, layer: number, head: HeadSel): void {
    for (const t of this.thumbs) {
      const v = normalize(mapOf(t.layer, t.head));
      const d = t.image.data;
      for (let i = 0, o = 0; i < v.length; i++, o += 4) {
        const k = Math.round(v[i] * 255) * 3;
        d[o] = lut[k];
        d[o + 1] = lut[k + 1];
        d[o + 2] = lut[k + 2];
        d[o + 3] = 255;
      }
      t.ctx.putImageData(t.image, 0, 0);
    }
    this.select(layer, head);
  }

  select(layer: number, head: HeadSel): void {
    let selected = -1;
    this.thumbs.forEach((t, i) => {
      const on = t.layer === layer && t.head === head;
      t.button.classList.toggle('vl-selected', on);
      t.button.setAttribute('aria-selected', String(on));
      if (on) selected = i;
    });
    if (selected >= 0) this.focusIndex = selected;
    this.thumbs.forEach((t, i) => (t.button.tabIndex = i === this.focusIndex ? 0 : -1));
  }

  private onKey(ev: KeyboardEvent): void {
    const cols = this.heads + (this.heads > 1 ? 1 : 0);
    const i = this.thumbs.findIndex((t) => t.button === document.activeElement);
    if (i < 0 || !cols) return;
    let next = i;
    const r = Math.floor(i / cols);
    const c = i % cols;
    switch (ev.key) {
      case 'ArrowLeft':
        next = r * cols + Math.max(0, c - 1);
        break;
      case 'ArrowRight':
        next = r * cols + Math.min(cols - 1, c + 1);
        break;
      case 'ArrowUp':
        next = Math.max(0, r - 1) * cols + c;
        break;
      case 'ArrowDown':
        next = Math.min(this.layers - 1, r + 1) * cols + c;
        break;
      case 'Home':
        next = r * cols;
        break;
      case 'End':
        next = r * cols + cols - 1;
        break;
      default:
        return;
    }
    ev.preventDefault();
    ev.stopPropagation();
    this.focusIndex = next;
    this.thumbs.forEach((t, k) => (t.button.tabIndex = k === next ? 0 : -1));
    this.thumbs[next].button.focus();
  }
}
