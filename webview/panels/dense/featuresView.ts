// The four reassembled levels of the DPT neck (1/4, 1/8, 1/16, 1/32 of the input), each shown as an
// image: the engine projects the channels on their first three principal components → RGB. One figure per
// level with its stride, size, channel count and explained variance, finest first, all at the same
// displayed size so the loss of resolution from level to level is visible. DOM only; must not import
// vscode or Node.
import type { FeatureLevel } from '../../../src/analyses/dense/types';
import { clear, h } from '../../shell/dom';
import { showRestNote, type Rest } from '../../shell/rest';

const pct = (v: number) => (Number.isFinite(v) ? `${Math.round(v * 100)}` : '–');

export class FeaturesView {
  readonly el: HTMLDivElement;
  private readonly note: HTMLParagraphElement;
  count = 0;

  constructor() {
    this.el = h('div', { className: 'vl-features', role: 'list' });
    this.note = h('p', { className: 'vl-card-note', hidden: true });
  }

  get noteEl(): HTMLParagraphElement {
    return this.note;
  }

  /** `rest`: of the map shown first, the levels follow or the run stopped before them; the note says so. */
  build(levels: readonly FeatureLevel[], aspect: string, rest: Rest = 'whole'): void {
    clear(this.el);
    this.count = 0;
    this.note.hidden = levels.length > 0;
    showRestNote(
      this.note,
      levels.length ? 'whole' : rest,
      { name: 'the principal components of the neck levels', plural: true },
      'Computing the principal components of the neck levels…',
      levels.length
        ? ''
        : 'No neck features in this result: the reassemble stage of the DPT neck was not found in the graph (see the notes above).',
    );
    for (const f of levels) {
      const canvas = h('canvas', { width: String(f.width), height: String(f.height), 'aria-hidden': 'true' });
      canvas.style.aspectRatio = aspect;
      const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
      const img = ctx.createImageData(f.width, f.height);
      for (let i = 0, o = 0; i < f.width * f.height; i++, o += 4) {
        img.data[o] = f.rgb[i * 3];
        img.data[o + 1] = f.rgb[i * 3 + 1];
        img.data[o + 2] = f.rgb[i * 3 + 2];
        img.data[o + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      const [e1, e2, e3] = f.explained;
      const total = [e1, e2, e3].every(Number.isFinite) ? e1 + e2 + e3 : NaN;
      const label =
        `${f.name}: stride ${f.stride} (1/${f.stride} of the input), ${f.width}×${f.height}, ${f.channels} channels; ` +
        `the first three principal components (red, green, blue) explain ${pct(e1)}, ${pct(e2)} and ${pct(e3)} % of the variance.`;
      this.el.append(
        h(
          'figure',
          {
            className: 'vl-feature',
            role: 'listitem',
            'data-testid': 'feature-level',
            'data-stride': String(f.stride),
            'aria-label': label,
            title: label,
          },
          h('div', { className: 'vl-feature-img' }, canvas),
          h(
            'figcaption',
            {},
            h('span', { className: 'vl-feature-name' }, `1/${f.stride} · stride\u00a0${f.stride}`),
            h('span', { className: 'vl-feature-meta' }, `${f.width}×${f.height} · ${f.channels}\u00a0ch`),
            h(
              'span',
              { className: 'vl-feature-meta', title: 'Variance explained by principal components 1, 2, 3 (shown as red, green, blue)' },
              `PC1–3 ${pct(total)}\u00a0% (${pct(e1)}\u00a0·\u00a0${pct(e2)}\u00a0·\u00a0${pct(e3)})`,
            ),
            h('span', { className: 'vl-feature-sub' }, f.name),
          ),
        ),
      );
      this.count++;
    }
  }
}
