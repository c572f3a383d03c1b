// One image + attention overlay: the view image, a heat canvas (colormap, opacity via CSS), a mask
// canvas (DINO attention-mass threshold: dims the rest and outlines the kept patches), the hovered
// and the query patch outlines, and a colour bar with the map's real min/max.
// Shared by the attention page, the DPT page's backbone attention and the gates page's spatial gates.
// DOM only; must not import vscode or Node.
import { h } from './dom';
import { rasterize, valueRange, type Range } from './raster';
import { formatValue } from './format';
import type { Patch } from './state';

/** Overlay backing pixels per patch (see backingSize), and at most this many along a side. */
const PIXELS_PER_PATCH = 16;
const MAX_BACKING = 1600;

export interface StageFrame {
  map: Float32Array;
  grid: [number, number];
  lut: Uint8ClampedArray;
  smooth: boolean;
  opacity: number;
  mask: Uint8Array | null;
  query: (Patch & { token: number }) | null;
}

export interface StageOptions {
  /** Put the test ids (image-overlay, query-patch) on this stage: only one stage may have them. */
  primary: boolean;
  ariaLabel: string;
  /** CSS length limiting the stage height (it keeps the image's aspect ratio). */
  maxHeight: string;
}

export class MapStage {
  readonly el: HTMLDivElement;
  readonly stage: HTMLDivElement;
  readonly img: HTMLImageElement;
  private readonly heat: HTMLCanvasElement;
  private readonly maskCanvas: HTMLCanvasElement;
  private readonly hoverCell: HTMLDivElement;
  private readonly queryCell: HTMLDivElement;
  private readonly barCanvas: HTMLCanvasElement;
  private readonly barMin: HTMLSpanElement;
  private readonly barMax: HTMLSpanElement;
  private frame: StageFrame | null = null;
  private aspect = 1;
  private barLut: Uint8ClampedArray | null = null;
  range: Range = { min: 0, max: 0 };
  /** Called with the patch under the pointer (null when it leaves) and the pointer event. */
  onHover: (p: Patch | null, ev: PointerEvent | null) => void = () => {};
  onPick: (p: Patch) => void = () => {};

  constructor(private readonly opts: StageOptions) {
    this.img = h('img', { className: 'vl-stage-img', alt: '', draggable: 'false' });
    this.heat = h('canvas', { className: 'vl-stage-heat', 'aria-hidden': 'true' });
    this.maskCanvas = h('canvas', { className: 'vl-stage-mask', 'aria-hidden': 'true' });
    this.hoverCell = h('div', { className: 'vl-cell vl-cell-hover', hidden: true, 'aria-hidden': 'true' });
    this.queryCell = h('div', {
      className: 'vl-cell vl-cell-query',
      hidden: true,
      'aria-hidden': 'true',
      'data-testid': opts.primary ? 'query-patch' : null,
    });
    this.stage = h(
      'div',
      {
        className: 'vl-stage',
        tabindex: '0',
        role: 'group',
        'aria-roledescription': 'attention map',
        'aria-label': opts.ariaLabel,
        'data-testid': opts.primary ? 'image-overlay' : null,
      },
      this.img,
      this.heat,
      this.maskCanvas,
      this.hoverCell,
      this.queryCell,
    );
    this.barCanvas = h('canvas', { className: 'vl-colorbar-ramp', width: '256', height: '1', 'aria-hidden': 'true' });
    this.barMin = h('span', { className: 'vl-colorbar-label' });
    this.barMax = h('span', { className: 'vl-colorbar-label' });
    const bar = h('div', { className: 'vl-colorbar', role: 'img' }, this.barMin, this.barCanvas, this.barMax);
    this.el = h('div', { className: 'vl-stage-wrap' }, h('div', { className: 'vl-stage-frame' }, this.stage), bar);

    this.stage.addEventListener('pointermove', (ev) => {
      const p = this.patchAt(ev.clientX, ev.clientY);
      this.showHover(p);
      this.onHover(p, ev);
    });
    this.stage.addEventListener('pointerleave', () => {
      this.showHover(null);
      this.onHover(null, null);
    });
    this.stage.addEventListener('click', (ev) => {
      const p = this.patchAt(ev.clientX, ev.clientY);
      if (p) this.onPick(p);
      this.stage.focus({ preventScroll: true });
    });
    // Only the mask follows the stage's size on screen (the overlay's backing is fixed per patch).
    new ResizeObserver(() => {
      if (this.frame?.mask) this.paint();
    }).observe(this.stage);
  }

  setImage(url: string, width: number, height: number, alt: string): void {
    this.aspect = width / height;
    this.img.src = url;
    this.img.alt = alt;
    this.stage.style.aspectRatio = `${width} / ${height}`;
    this.stage.style.maxWidth = `calc(${this.opts.maxHeight} * ${this.aspect.toFixed(5)})`;
  }

  setAriaLabel(label: string): void {
    this.stage.setAttribute('aria-label', label);
  }

  patchAt(clientX: number, clientY: number): Patch | null {
    if (!this.frame) return null;
    const [gh, gw] = this.frame.grid;
    const r = this.stage.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return null;
    const x = (clientX - r.left) / r.width;
    const y = (clientY - r.top) / r.height;
    if (x < 0 || y < 0 || x >= 1 || y >= 1) return null;
    return { row: Math.min(gh - 1, Math.floor(y * gh)), col: Math.min(gw - 1, Math.floor(x * gw)) };
  }

  private placeCell(el: HTMLElement, p: Patch | null): void {
    if (!p || !this.frame) {
      el.hidden = true;
      return;
    }
    const [gh, gw] = this.frame.grid;
    el.style.left = `${(p.col / gw) * 100}%`;
    el.style.top = `${(p.row / gh) * 100}%`;
    el.style.width = `${100 / gw}%`;
    el.style.height = `${100 / gh}%`;
    el.hidden = false;
  }

  showHover(p: Patch | null): void {
    this.placeCell(this.hoverCell, p);
  }

  /** Outline the query patch (null: a token before the patches). Also before its map is painted: the click shows at once. */
  showQuery(q: (Patch & { token: number }) | null): void {
    if (this.frame) this.frame = { ...this.frame, query: q };
    this.placeCell(this.queryCell, q);
    if (this.opts.primary) {
      this.queryCell.dataset.query = String(q ? q.token : 0);
      this.queryCell.dataset.row = q ? String(q.row) : '-1';
      this.queryCell.dataset.col = q ? String(q.col) : '-1';
    }
  }

  /** Draw a map (cheap to call repeatedly: the pixels are recomputed, the DOM is not). */
  render(frame: StageFrame): void {
    this.frame = frame;
    this.range = valueRange(frame.map);
    this.heat.style.opacity = String(frame.opacity);
    this.heat.classList.toggle('vl-pixelated', !frame.smooth);
    this.paint();
    this.showQuery(frame.query);
    this.barMin.textContent = formatValue(this.range.min);
    this.barMax.textContent = formatValue(this.range.max);
    this.barMin.title = `minimum ${this.range.min}`;
    this.barMax.title = `maximum ${this.range.max}`;
    (this.barCanvas.parentElement as HTMLElement).setAttribute(
      'aria-label',
      `Colour scale from ${formatValue(this.range.min)} to ${formatValue(this.range.max)} (display is min–max scaled)`,
    );
    if (this.barLut !== frame.lut) {
      this.barLut = frame.lut;
      const ctx = this.barCanvas.getContext('2d') as CanvasRenderingContext2D;
      const img = ctx.createImageData(256, 1);
      for (let i = 0; i < 256; i++) img.data.set([frame.lut[i * 3], frame.lut[i * 3 + 1], frame.lut[i * 3 + 2], 255], i * 4);
      ctx.putImageData(img, 0, 0);
    }
  }

  /** Only the opacity changed: no repaint. */
  setOpacity(opacity: number): void {
    if (this.frame) this.frame.opacity = opacity;
    this.heat.style.opacity = String(opacity);
  }

  /**
   * The overlay's backing pixels: PIXELS_PER_PATCH per patch, whatever the stage's size on screen (the
   * browser scales the canvas). Denser value interpolation looks the same once scaled, and the old
   * screen-sized backing (up to 1600 px wide, read from the layout) cost 10–20 ms per stage and map
   * change in a software-rendered webview: rasterised in JS, uploaded, and a forced layout to size it.
   */
  private backingSize(): [number, number] {
    const [gh, gw] = this.frame ? this.frame.grid : [1, 1];
    let w = Math.min(MAX_BACKING, gw * PIXELS_PER_PATCH);
    let hgt = Math.round(w / this.aspect);
    if (hgt > MAX_BACKING) {
      hgt = MAX_BACKING;
      w = Math.round(hgt * this.aspect);
    }
    return [Math.max(gw, w), Math.max(gh, hgt)];
  }

  /** The mask's backing pixels: the stage's size on screen, so its outlines stay crisp lines. */
  private screenSize(): [number, number] {
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const w = Math.round(Math.min(MAX_BACKING, Math.max(64, (this.stage.clientWidth || 448) * dpr)));
    return [w, Math.max(1, Math.round(w / this.aspect))];
  }

  private paint(): void {
    const f = this.frame;
    if (!f) return;
    const [w, hgt] = this.backingSize();
    if (this.heat.width !== w) this.heat.width = w;
    if (this.heat.height !== hgt) this.heat.height = hgt;
    const ctx = this.heat.getContext('2d') as CanvasRenderingContext2D;
    const img = ctx.createImageData(w, hgt);
    rasterize(f.map, f.grid, w, hgt, f.lut, f.smooth, img.data);
    ctx.putImageData(img, 0, 0);
    const [mw, mh] = f.mask ? this.screenSize() : [1, 1]; // no mask: an empty 1×1 canvas, no layout read
    if (this.maskCanvas.width !== mw) this.maskCanvas.width = mw;
    if (this.maskCanvas.height !== mh) this.maskCanvas.height = mh;
    drawMask(this.maskCanvas.getContext('2d') as CanvasRenderingContext2D, f.mask, f.grid, mw, mh);
  }

  /** The view as a PNG: image, overlay at its opacity, mask, query outline; at the view image's size. */
  async toPng(width: number, height: number): Promise<Uint8Array> {
    const c = document.createElement('canvas');
    c.width = width;
    c.height = height;
    const ctx = c.getContext('2d') as CanvasRenderingContext2D;
    if (this.img.complete && this.img.naturalWidth > 0) ctx.drawImage(this.img, 0, 0, width, height);
    if (this.frame) {
      ctx.imageSmoothingEnabled = this.frame.smooth;
      ctx.globalAlpha = this.frame.opacity;
      ctx.drawImage(this.heat, 0, 0, width, height);
      ctx.globalAlpha = 1;
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(this.maskCanvas, 0, 0, width, height);
      const q = this.frame.query;
      if (q) {
        const [gh, gw] = this.frame.grid;
        const cw = width / gw;
        const ch = height / gh;
        const lw = Math.max(2, Math.round(width / 300));
        ctx.lineWidth = lw + 2;
        ctx.strokeStyle = 'rgba(0,0,0,0.75)';
        ctx.strokeRect(q.col * cw, q.row * ch, cw, ch);
        ctx.lineWidth = lw;
        ctx.strokeStyle = '#ffffff';
        ctx.strokeRect(q.col * cw, q.row * ch, cw, ch);
      }
    }
    const blob = await new Promise<Blob | null>((resolve) => c.toBlob(resolve, 'image/png'));
    if (!blob) throw new Error('the canvas could not be encoded as PNG');
    return new Uint8Array(await blob.arrayBuffer());
  }
}

/** Dim the patches outside the mask and outline the kept region along the patch edges. */
export function drawMask(ctx: CanvasRenderingContext2D, mask: Uint8Array | null, grid: [number, number], w: number, hgt: number): void {
  ctx.clearRect(0, 0, w, hgt);
  if (!mask) return;
  const [gh, gw] = grid;
  const xs = Array.from({ length: gw + 1 }, (_, i) => Math.round((i * w) / gw));
  const ys = Array.from({ length: gh + 1 }, (_, i) => Math.round((i * hgt) / gh));
  const kept = (r: number, c: number) => r >= 0 && c >= 0 && r < gh && c < gw && mask[r * gw + c] === 1;
  ctx.fillStyle = 'rgba(0,0,0,0.6)';
  for (let r = 0; r < gh; r++)
    for (let c = 0; c < gw; c++) if (!kept(r, c)) ctx.fillRect(xs[c], ys[r], xs[c + 1] - xs[c], ys[r + 1] - ys[r]);
  ctx.beginPath();
  for (let r = 0; r < gh; r++) {
    for (let c = 0; c < gw; c++) {
      if (!kept(r, c)) continue;
      if (!kept(r - 1, c)) {
        ctx.moveTo(xs[c], ys[r]);
        ctx.lineTo(xs[c + 1], ys[r]);
      }
      if (!kept(r + 1, c)) {
        ctx.moveTo(xs[c], ys[r + 1]);
        ctx.lineTo(xs[c + 1], ys[r + 1]);
      }
      if (!kept(r, c - 1)) {
        ctx.moveTo(xs[c], ys[r]);
        ctx.lineTo(xs[c], ys[r + 1]);
      }
      if (!kept(r, c + 1)) {
        ctx.moveTo(xs[c + 1], ys[r]);
        ctx.lineTo(xs[c + 1], ys[r + 1]);
      }
    }
  }
  // Thinner and softer than the query outline, so the two never look alike.
  const lw = Math.max(1, w / 700);
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = 'rgba(0,0,0,0.55)';
  ctx.lineWidth = lw * 3;
  ctx.stroke();
  ctx.strokeStyle = 'rgba(255,255,255,0.85)';
  ctx.lineWidth = lw;
  ctx.stroke();
}
