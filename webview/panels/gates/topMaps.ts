// The activation maps of the channels a channel gate keeps most (U[0, c] for the largest weights), each
// over the image at the panel's opacity and colormap, each min–max scaled on its own, captioned with
// its channel, weight and rank. One small canvas per map (rasterized at most 4× the map, scaled by CSS).
// DOM only; must not import vscode or Node.
import type { TopChannels } from '../../../src/analyses/gates/types';
import { clear, h } from '../../shell/dom';
import { rasterize, valueRange } from '../../shell/raster';
import { formatValue } from '../../shell/format';

interface Tile {
  img: HTMLImageElement;
  canvas: HTMLCanvasElement;
  caption: [string, string];
}

export class TopChannelMaps {
  readonly el: HTMLDivElement;
  private tiles: Tile[] = [];

  constructor() {
    this.el = h('div', { className: 'vl-gtiles', role: 'list', 'aria-label': 'Activation maps of the most strongly kept channels' });
  }

  /** Draws one tile per top channel. `aspect` is the view image's "w / h". */
  setData(top: TopChannels, imageUrl: string, aspect: string, lut: Uint8ClampedArray, opacity: number, smooth: boolean): void {
    clear(this.el);
    this.tiles = [];
    const { height, width } = top;
    const plane = height * width;
    const scale = Math.max(1, Math.min(4, Math.floor(256 / Math.max(height, width))));
    top.channels.forEach((c, i) => {
      const map = top.maps.subarray(i * plane, (i + 1) * plane);
      const range = valueRange(map);
      const canvas = h('canvas', {
        className: 'vl-stage-heat',
        width: String(width * scale),
        height: String(height * scale),
        'aria-hidden': 'true',
      });
      const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
      const img = ctx.createImageData(canvas.width, canvas.height);
      rasterize(map, [height, width], canvas.width, canvas.height, lut, smooth, img.data);
      ctx.putImageData(img, 0, 0);
      canvas.style.opacity = String(opacity);
      canvas.classList.toggle('vl-pixelated', !smooth);
      const image = h('img', { className: 'vl-stage-img', src: imageUrl, alt: '', draggable: 'false' });
      const frame = h('div', { className: 'vl-gtile-frame' }, image, canvas);
      frame.style.aspectRatio = aspect;
      const label = `Channel ${c}, weight ${top.weights[i].toFixed(3)}, rank ${i + 1}; activations ${formatValue(range.min)} to ${formatValue(range.max)}`;
      this.el.append(
        h(
          'figure',
          { className: 'vl-gtile', role: 'listitem', 'aria-label': label, title: label, 'data-channel': String(c) },
          frame,
          h(
            'figcaption',
            {},
            h('span', { className: 'vl-gtile-ch' }, `#${c}`),
            h('span', { className: 'vl-gtile-w' }, top.weights[i].toFixed(2)),
          ),
        ),
      );
      this.tiles.push({ img: image, canvas, caption: [`#${c}`, top.weights[i].toFixed(2)] });
    });
  }

  setOpacity(opacity: number): void {
    for (const t of this.tiles) t.canvas.style.opacity = String(opacity);
  }

  /**
   * Paints the tiles in a row into a 2D context (PNG export): image, the map at `opacity`, and the caption
   * (channel, weight) in `colors` [text, weight] below, `captionH` px high.
   */
  paint(
    ctx: CanvasRenderingContext2D,
    x: number,
    y: number,
    tileW: number,
    tileH: number,
    gap: number,
    opacity: number,
    captionH: number,
    colors: [string, string],
  ): void {
    this.tiles.forEach((t, i) => {
      const tx = x + i * (tileW + gap);
      if (t.img.complete && t.img.naturalWidth > 0) ctx.drawImage(t.img, tx, y, tileW, tileH);
      ctx.globalAlpha = opacity;
      ctx.imageSmoothingEnabled = !t.canvas.classList.contains('vl-pixelated');
      ctx.drawImage(t.canvas, tx, y, tileW, tileH);
      ctx.globalAlpha = 1;
      ctx.imageSmoothingEnabled = true;
      ctx.font = `600 ${Math.round(captionH * 0.6)}px sans-serif`;
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'left';
      ctx.fillStyle = colors[0];
      ctx.fillText(t.caption[0], tx, y + tileH + captionH / 2);
      ctx.textAlign = 'right';
      ctx.fillStyle = colors[1];
      ctx.fillText(t.caption[1], tx + tileW, y + tileH + captionH / 2);
    });
  }

  get count(): number {
    return this.tiles.length;
  }
}
