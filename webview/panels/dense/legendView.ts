// The segmentation legend: one row per class present (colour swatch, name, area share and bar), largest
// first. Click a row to show that class alone (again: show all), Alt+click or its eye button to hide it.
// Keyboard: one tab stop (roving tabindex); ↑ ↓ Home End move, Enter/Space isolate, H or Delete hide,
// → / ← reach the eye button, Escape shows all. Pointing at a row emphasises its class on the map.
// DOM only; the state logic is in legend.ts. Must not import vscode or Node.
import type { SegmentClass } from '../../../src/analyses/dense/types';
import { clear, h, s } from '../../shell/dom';
import { formatShare, isClassVisible, isolateClass, sortLegend, toggleHidden, type LegendState } from './legend';

interface Row {
  cls: SegmentClass;
  li: HTMLLIElement;
  main: HTMLButtonElement;
  eye: HTMLButtonElement;
}

function eyeIcon(): SVGSVGElement {
  return s(
    'svg',
    { viewBox: '0 0 16 16', width: '14', height: '14', 'aria-hidden': 'true', className: 'vl-eye-icon' },
    s('path', { d: 'M1 8s2.6-4.5 7-4.5S15 8 15 8s-2.6 4.5-7 4.5S1 8 1 8z', fill: 'none', stroke: 'currentColor', 'stroke-width': '1.3' }),
    s('circle', { cx: '8', cy: '8', r: '2.1', fill: 'currentColor' }),
    s('path', { className: 'vl-eye-slash', d: 'M2.5 13.5l11-11', stroke: 'currentColor', 'stroke-width': '1.5' }),
  );
}

export class LegendView {
  readonly el: HTMLDivElement;
  readonly list: HTMLUListElement;
  private readonly countEl: HTMLSpanElement;
  private readonly showAllButton: HTMLButtonElement;
  private rows: Row[] = [];
  private state: LegendState = { isolated: null, hidden: [] };
  private focusIndex = 0;
  onChange: (s: LegendState) => void = () => {};
  /** The pointer or focus rests on a class (null: none). */
  onEmphasis: (id: number | null) => void = () => {};

  constructor() {
    this.countEl = h('span', { className: 'vl-card-hint' });
    this.showAllButton = h(
      'button',
      {
        type: 'button',
        className: 'vl-btn vl-btn-secondary vl-btn-small',
        'data-testid': 'legend-show-all',
        title: 'Show every class (Escape in the list)',
      },
      'Show all',
    );
    this.showAllButton.addEventListener('click', () => this.change({ isolated: null, hidden: [] }));
    const hintId = 'vl-legend-hint';
    this.list = h('ul', {
      className: 'vl-legend',
      'data-testid': 'segmentation-legend',
      'aria-label': 'Classes, largest first',
      'aria-describedby': hintId,
    });
    this.el = h(
      'div',
      { className: 'vl-legend-box' },
      h('div', { className: 'vl-legend-head' }, h('span', { className: 'vl-field-label' }, 'Classes'), this.countEl, this.showAllButton),
      this.list,
      h(
        'p',
        { className: 'vl-card-note', id: hintId },
        'Click a class to show it alone, Alt+click or ',
        eyeIcon(),
        ' to hide it. Keys: ↑ ↓, Enter, H, Esc.',
      ),
    );
    this.list.addEventListener('keydown', (ev) => this.onKey(ev));
    this.list.addEventListener('pointerleave', () => this.onEmphasis(null));
  }

  build(classes: readonly SegmentClass[]): void {
    clear(this.list);
    const sorted = sortLegend(classes);
    const top = sorted[0]?.area || 1;
    this.rows = sorted.map((cls, i) => {
      const swatch = h('span', { className: 'vl-swatch', 'aria-hidden': 'true' });
      swatch.style.background = `rgb(${cls.color[0]}, ${cls.color[1]}, ${cls.color[2]})`;
      const fill = h('span', { className: 'vl-legend-fill' });
      fill.style.width = `${Math.max(0.5, (cls.area / top) * 100)}%`;
      const share = formatShare(cls.area);
      const main = h(
        'button',
        {
          type: 'button',
          className: 'vl-legend-main',
          tabindex: i === 0 ? '0' : '-1',
          title: `${cls.name} (class ${cls.id}): ${share} of the image. Click: show it alone; Alt+click: hide it.`,
        },
        swatch,
        h('span', { className: 'vl-legend-name' }, cls.name),
        h('span', { className: 'vl-legend-share' }, share),
        h('span', { className: 'vl-legend-bar', 'aria-hidden': 'true' }, fill),
      );
      const eye = h('button', { type: 'button', className: 'vl-legend-eye', tabindex: '-1' }, eyeIcon());
      const li = h('li', { className: 'vl-legend-item', 'data-testid': 'legend-item', 'data-class-id': String(cls.id) }, main, eye);
      main.addEventListener('click', (ev) => {
        this.focusIndex = i;
        this.change(ev.altKey ? toggleHidden(this.state, cls.id) : isolateClass(this.state, cls.id));
      });
      eye.addEventListener('click', () => {
        this.focusIndex = i;
        this.change(toggleHidden(this.state, cls.id));
      });
      li.addEventListener('pointerenter', () => this.onEmphasis(cls.id));
      main.addEventListener('focus', () => this.onEmphasis(cls.id));
      main.addEventListener('blur', () => this.onEmphasis(null));
      this.list.append(li);
      return { cls, li, main, eye };
    });
    this.focusIndex = 0;
    this.countEl.textContent = `${sorted.length} present`;
  }

  get count(): number {
    return this.rows.length;
  }

  /** Reflect a legend state (and the class under the map pointer, highlighted). */
  update(state: LegendState, hoverId: number | null): void {
    this.state = state;
    for (const r of this.rows) {
      const visible = isClassVisible(state, r.cls.id);
      const hidden = state.hidden.includes(r.cls.id);
      const isolated = state.isolated === r.cls.id;
      r.li.classList.toggle('vl-legend-off', !visible);
      r.li.classList.toggle('vl-legend-isolated', isolated);
      r.li.classList.toggle('vl-legend-hover', hoverId === r.cls.id);
      r.li.dataset.state = isolated ? 'isolated' : visible ? 'shown' : 'hidden';
      r.main.setAttribute('aria-pressed', String(isolated));
      r.main.setAttribute(
        'aria-label',
        `${r.cls.name}, ${formatShare(r.cls.area)}${visible ? '' : ', not shown'}${isolated ? ', shown alone' : ''}`,
      );
      r.eye.setAttribute('aria-pressed', String(hidden));
      r.eye.setAttribute('aria-label', hidden ? `Show ${r.cls.name}` : `Hide ${r.cls.name}`);
      r.eye.title = hidden ? `Show ${r.cls.name}` : `Hide ${r.cls.name} (H)`;
      r.eye.classList.toggle('vl-eye-off', hidden);
    }
    this.showAllButton.disabled = state.isolated === null && state.hidden.length === 0;
  }

  private change(next: LegendState): void {
    this.update(next, null);
    this.onChange(next);
  }

  private focusRow(i: number): void {
    if (!this.rows.length) return;
    this.focusIndex = Math.max(0, Math.min(this.rows.length - 1, i));
    this.rows.forEach((r, k) => (r.main.tabIndex = k === this.focusIndex ? 0 : -1));
    this.rows[this.focusIndex].main.focus();
    this.rows[this.focusIndex].li.scrollIntoView({ block: 'nearest' });
  }

  private onKey(ev: KeyboardEvent): void {
    const i = this.rows.findIndex((r) => r.main === document.activeElement || r.eye === document.activeElement);
    if (i < 0 || ev.ctrlKey || ev.metaKey) return;
    const row = this.rows[i];
    switch (ev.key) {
      case 'ArrowDown':
        this.focusRow(i + 1);
        break;
      case 'ArrowUp':
        this.focusRow(i - 1);
        break;
      case 'Home':
        this.focusRow(0);
        break;
      case 'End':
        this.focusRow(this.rows.length - 1);
        break;
      case 'ArrowRight':
        row.eye.focus();
        break;
      case 'ArrowLeft':
        row.main.focus();
        break;
      case 'h':
      case 'H':
      case 'Delete':
        this.change(toggleHidden(this.state, row.cls.id));
        break;
      case 'Escape':
        if (this.state.isolated === null && !this.state.hidden.length) return;
        this.change({ isolated: null, hidden: [] });
        break;
      default:
        return;
    }
    ev.preventDefault();
    ev.stopPropagation();
  }
}
