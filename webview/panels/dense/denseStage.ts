// The image and a per-pixel map (depth colours or segmentation classes) in three arrangements: side by
// side (linked cursor), the map over the image (opacity), and a swipe divider (drag, or the keyboard on
// the divider, which is a slider). The map canvas has the view image's own size, so one canvas pixel is
// one image pixel and the hover position maps straight to an index. DOM only; no data logic; must not
// import vscode or Node.
import { h } from '../../shell/dom';

export type StageMode = 'side' | 'overlay' | 'swipe';

/** A view-image pixel (integers, inside the image). */
export interface PixelPos {
  x: number;
  y: number;
}

export interface DenseStageOptions {
  /** data-testid of the map canvas (depth-map / segmentation-map). */
  testId: string;
  /** What the map is, for labels ("depth", "classes"); setMapLabel can change it. */
  mapName: string;
  /** CSS length limiting the height of one frame. */
  maxHeight: string;
}

export class DenseStage {
  readonly el: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly frameImage: HTMLDivElement;
  private readonly frameMap: HTMLDivElement;
  private readonly imgA: HTMLImageElement;
  private readonly imgB: HTMLImageElement;
  private readonly divider: HTMLDivElement;
  private readonly markers: HTMLDivElement[];
  private mode: StageMode = 'side';
  private opacity = 0.65;
  private swipe = 0.5;
  private width = 1;
  private height = 1;
  private dragging = false;
  private mapName: string;
  /** The pixel under the pointer (null when it leaves). */
  onHover: (p: PixelPos | null) => void = () => {};
  /** The swipe divider moved (0..1). */
  onSwipe: (f: number) => void = () => {};

  constructor(private readonly opts: DenseStageOptions) {
    this.mapName = opts.mapName;
    this.imgA = h('img', { className: 'vl-dstage-img', alt: '', draggable: 'false' });
    this.imgB = h('img', { className: 'vl-dstage-img', alt: '', draggable: 'false', 'aria-hidden': 'true' });
    this.canvas = h('canvas', { className: 'vl-dstage-map', 'data-testid': opts.testId, role: 'img', 'aria-label': `${opts.mapName} map` });
    this.ctx = this.canvas.getContext('2d') as CanvasRenderingContext2D;
    this.divider = h(
      'div',
      {
        className: 'vl-swipe-divider',
        role: 'slider',
        tabindex: '0',
        'aria-orientation': 'horizontal',
        'aria-valuemin': '0',
        'aria-valuemax': '100',
        'aria-label': `Swipe divider: ${opts.mapName} on the left, image on the right`,
        'data-testid': 'swipe-divider',
        hidden: true,
      },
      h('span', { className: 'vl-swipe-handle', 'aria-hidden': 'true' }),
    );
    this.markers = [0, 1].map(() => h('div', { className: 'vl-dstage-marker', hidden: true, 'aria-hidden': 'true' }));
    this.frameImage = h('div', { className: 'vl-dstage-frame' }, this.imgA, this.markers[0]);
    this.frameMap = h('div', { className: 'vl-dstage-frame' }, this.imgB, this.canvas, this.divider, this.markers[1]);
    this.el = h('div', { className: 'vl-dstage' }, this.frameImage, this.frameMap);

    for (const frame of [this.frameImage, this.frameMap]) {
      frame.addEventListener('pointermove', (ev) => {
        if (this.dragging) this.setSwipeFromPointer(ev.clientX);
        const p = this.pixelAt(frame, ev.clientX, ev.clientY);
        this.showMarker(p);
        this.onHover(p);
      });
      frame.addEventListener('pointerleave', () => {
        if (this.dragging) return;
        this.showMarker(null);
        this.onHover(null);
      });
    }
    this.frameMap.addEventListener('pointerdown', (ev) => {
      if (this.mode !== 'swipe' || ev.button !== 0) return;
      this.dragging = true;
      this.frameMap.setPointerCapture(ev.pointerId);
      this.setSwipeFromPointer(ev.clientX);
      this.divider.focus({ preventScroll: true });
      ev.preventDefault();
    });
    const endDrag = (ev: PointerEvent) => {
      if (!this.dragging) return;
      this.dragging = false;
      if (this.frameMap.hasPointerCapture(ev.pointerId)) this.frameMap.releasePointerCapture(ev.pointerId);
    };
    this.frameMap.addEventListener('pointerup', endDrag);
    this.frameMap.addEventListener('pointercancel', endDrag);
    this.divider.addEventListener('keydown', (ev) => {
      const big = ev.shiftKey ? 0.1 : 0.02;
      const steps: Record<string, number> = {
        ArrowLeft: -big,
        ArrowDown: -big,
        ArrowRight: big,
        ArrowUp: big,
        PageDown: -0.1,
        PageUp: 0.1,
      };
      let f: number | null = null;
      if (ev.key in steps) f = this.swipe + steps[ev.key];
      else if (ev.key === 'Home') f = 0;
      else if (ev.key === 'End') f = 1;
      if (f === null) return;
      ev.preventDefault();
      ev.stopPropagation();
      this.setSwipe(f);
      this.onSwipe(this.swipe);
    });
  }

  setImage(url: string, width: number, height: number, alt: string): void {
    this.width = width;
    this.height = height;
    for (const img of [this.imgA, this.imgB]) img.src = url;
    this.imgA.alt = alt;
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;
    const aspect = width / height;
    for (const f of [this.frameImage, this.frameMap]) {
      f.style.aspectRatio = `${width} / ${height}`;
      f.style.maxWidth = `calc(${this.opts.maxHeight} * ${aspect.toFixed(5)})`;
    }
  }

  /** The image element, for exports and the relief texture. */
  get image(): HTMLImageElement {
    return this.imgA;
  }

  /** Paint the map: RGBA bytes of the view image's size. */
  paint(rgba: Uint8ClampedArray): void {
    const img = new ImageData(
      new Uint8ClampedArray(rgba.buffer as ArrayBuffer, rgba.byteOffset, this.width * this.height * 4),
      this.width,
      this.height,
    );
    this.ctx.putImageData(img, 0, 0);
  }

  setMode(mode: StageMode): void {
    this.mode = mode;
    this.el.dataset.mode = mode;
    this.frameImage.hidden = mode !== 'side';
    this.imgB.hidden = mode === 'side';
    this.divider.hidden = mode !== 'swipe';
    this.applyLook();
  }

  setOpacity(opacity: number): void {
    this.opacity = opacity;
    this.applyLook();
  }

  setSwipe(f: number): void {
    this.swipe = Math.min(1, Math.max(0, f));
    this.applyLook();
  }

  /** The map's accessible description, and its short name for the swipe divider ("depth", "classes"). */
  setMapLabel(label: string, mapName = this.mapName): void {
    this.canvas.setAttribute('aria-label', label);
    if (mapName !== this.mapName) {
      this.mapName = mapName;
      this.divider.setAttribute('aria-label', `Swipe divider: ${mapName} on the left, image on the right`);
      this.applyLook();
    }
  }

  private applyLook(): void {
    this.canvas.style.opacity = this.mode === 'overlay' ? String(this.opacity) : '1';
    const pct = (this.swipe * 100).toFixed(2);
    this.canvas.style.clipPath = this.mode === 'swipe' ? `inset(0 ${(100 - this.swipe * 100).toFixed(2)}% 0 0)` : '';
    this.divider.style.left = `${pct}%`;
    this.divider.setAttribute('aria-valuenow', String(Math.round(this.swipe * 100)));
    this.divider.setAttribute('aria-valuetext', `${Math.round(this.swipe * 100)}% ${this.mapName}`);
  }

  private setSwipeFromPointer(clientX: number): void {
    const r = this.frameMap.getBoundingClientRect();
    if (r.width <= 0) return;
    this.setSwipe((clientX - r.left) / r.width);
    this.onSwipe(this.swipe);
  }

  private pixelAt(frame: HTMLElement, clientX: number, clientY: number): PixelPos | null {
    const r = frame.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return null;
    const fx = (clientX - r.left) / r.width;
    const fy = (clientY - r.top) / r.height;
    if (fx < 0 || fy < 0 || fx >= 1 || fy >= 1) return null;
    return { x: Math.min(this.width - 1, Math.floor(fx * this.width)), y: Math.min(this.height - 1, Math.floor(fy * this.height)) };
  }

  /** A small crosshair at the same pixel in every visible frame (the linked cursor of the side-by-side view). */
  showMarker(p: PixelPos | null): void {
    for (const m of this.markers) {
      if (!p) {
        m.hidden = true;
        continue;
      }
      m.style.left = `${((p.x + 0.5) / this.width) * 100}%`;
      m.style.top = `${((p.y + 0.5) / this.height) * 100}%`;
      m.hidden = false;
    }
  }

  /** The current view as a PNG at the view image's size: the map (side), the map over the image (overlay), or the swipe split. */
  async toPng(): Promise<Uint8Array> {
    const c = document.createElement('canvas');
    c.width = this.width;
    c.height = this.height;
    const ctx = c.getContext('2d') as CanvasRenderingContext2D;
    const imageReady = this.imgA.complete && this.imgA.naturalWidth > 0;
    if (this.mode !== 'side' && imageReady) ctx.drawImage(this.imgA, 0, 0, this.width, this.height);
    if (this.mode === 'swipe') {
      const w = Math.round(this.swipe * this.width);
      if (w > 0) ctx.drawImage(this.canvas, 0, 0, w, this.height, 0, 0, w, this.height);
    } else {
      ctx.globalAlpha = this.mode === 'overlay' ? this.opacity : 1;
      ctx.drawImage(this.canvas, 0, 0);
      ctx.globalAlpha = 1;
    }
    return canvasToPng(c);
  }
}

export async function canvasToPng(c: HTMLCanvasElement): Promise<Uint8Array> {
  const blob = await new Promise<Blob | null>((resolve) => c.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the canvas could not be encoded as PNG');
  return new Uint8Array(await blob.arrayBuffer());
}
