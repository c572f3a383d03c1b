// The small controls every page builds its toolbars and cards from: a labelled field, a slider, a
// segmented radio group, a header chip, the predictions card. Built with dom.ts (attributes only, CSP
// safe); the class names are the ones styles.css and the tests know. DOM only; no vscode or Node.
import type { Prediction } from '../../src/shared/attentionTypes';
import type { StageTimings } from '../../src/shared/timings';
import { clear, h, type Child } from './dom';
import { fmtMs, percent, timingsText } from './format';

/**
 * A card: `section.vl-card` labelled by its title (an h2 with `titleId`), its head holding the title and
 * `hint` (a short text, or an element such as a badge), then the body. `attrs`: the section's own (extra
 * class names, data-testid…).
 */
export function card(
  opts: { titleId: string; title: string; hint?: Child; className?: string; attrs?: Record<string, string> },
  ...body: Child[]
): HTMLElement {
  const hint = typeof opts.hint === 'string' ? h('span', { className: 'vl-card-hint' }, opts.hint) : (opts.hint ?? null);
  return h(
    'section',
    { ...opts.attrs, className: `vl-card${opts.className ? ` ${opts.className}` : ''}`, 'aria-labelledby': opts.titleId },
    h('div', { className: 'vl-card-head' }, h('h2', { className: 'vl-card-title', id: opts.titleId }, opts.title), hint),
    ...body,
  );
}

/** A label and its control (and an optional value output after it). */
export function field(label: string, control: HTMLElement, extra?: Node): HTMLDivElement {
  return h('div', { className: 'vl-field' }, h('label', { for: control.id }, label), control, extra ?? null);
}

/** A range input; its value is shown by the caller's <output>. */
export function slider(id: string, min: number, max: number, step: number, label: string): HTMLInputElement {
  return h('input', { type: 'range', id, min: String(min), max: String(max), step: String(step), 'aria-label': label });
}

/**
 * A result page's content (hidden until the first result): its toolbar, the viewer with its side column
 * (side by side when wide), then what goes below them.
 */
export function contentLayout(toolbar: HTMLElement, viewer: HTMLElement, side: HTMLElement, ...below: Child[]): HTMLElement {
  return h('main', { className: 'vl-content', hidden: true }, toolbar, h('div', { className: 'vl-layout' }, viewer, side), ...below);
}

/** A slider's field: its label, the range input and its value output (and e.g. a reset button after them). */
export function sliderField(label: string, input: HTMLInputElement, out: HTMLOutputElement, ...extra: Child[]): HTMLDivElement {
  return h('div', { className: 'vl-field vl-field-slider' }, h('label', { for: input.id }, label), input, out, ...extra);
}

/**
 * The overlay opacity slider (0…1) of a page's display controls, in its "Opacity" field with the value as a
 * percentage. `onInput` gets each value the user picks; `show` puts the page's state on the controls.
 */
export function opacitySlider(
  id: string,
  onInput: (opacity: number) => void,
): { input: HTMLInputElement; field: HTMLDivElement; show(opacity: number): void } {
  const input = slider(id, 0, 1, 0.05, 'Overlay opacity');
  const out = h('output', { className: 'vl-value', for: id });
  input.addEventListener('input', () => {
    out.textContent = percent(Number(input.value));
    onInput(Number(input.value));
  });
  return {
    input,
    field: sliderField('Opacity', input, out),
    show(opacity) {
      input.value = String(opacity);
      out.textContent = percent(opacity);
    },
  };
}

/** A header chip: "label value", with an optional tooltip. */
export function chip(label: string, value: string, title?: string): HTMLSpanElement {
  return h('span', { className: 'vl-chip', title: title ?? null }, h('span', { className: 'vl-chip-label' }, label), ' ', value);
}

/**
 * The header's time chip of a run: its total (`total`, as the page words it), and on hover the stages, the
 * last one being the run's analysis or its post-process.
 */
export function timeChip<L extends 'analysis' | 'postprocess'>(
  t: StageTimings<'decode' | 'modelLoad' | 'preprocess' | 'inference' | L>,
  last: L,
  total = fmtMs(t.total),
): HTMLSpanElement {
  return chip(
    'time',
    total,
    timingsText([
      ['decode', t.decode],
      ['model load', t.modelLoad],
      ['preprocess', t.preprocess],
      ['inference', t.inference],
      [last === 'analysis' ? 'analysis' : 'post-process', t[last]],
    ]),
  );
}

export interface Segmented<T extends string> {
  el: HTMLDivElement;
  /** Marks `v` as the checked choice (the page's state changed); it also becomes the one Tab reaches. */
  set(v: T): void;
  /** The button of a choice, for focus. */
  button(v: T): HTMLButtonElement | undefined;
}

/**
 * A radio group of buttons ([value, label, title?] each): a click picks a choice; with `arrows` (the
 * default) ← and → move to the next one and keep the focus on it. `pick` only reports: the page updates
 * its state and calls `set`.
 */
export function segmented<T extends string>(
  label: string,
  choices: readonly (readonly [T, string, string?])[],
  pick: (v: T) => void,
  arrows = true,
): Segmented<T> {
  const buttons = new Map<T, HTMLButtonElement>();
  const el = h('div', { className: 'vl-segmented', role: 'radiogroup', 'aria-label': label });
  let current = choices[0][0];
  for (const [v, text, title] of choices) {
    const b = h('button', { type: 'button', role: 'radio', className: 'vl-seg', 'data-value': v, title }, text);
    b.addEventListener('click', () => pick(v));
    buttons.set(v, b);
    el.append(b);
  }
  if (arrows) {
    el.addEventListener('keydown', (ev) => {
      if (ev.key !== 'ArrowLeft' && ev.key !== 'ArrowRight') return;
      ev.preventDefault();
      ev.stopPropagation();
      const i = choices.findIndex(([v]) => v === current);
      const next = choices[(i + (ev.key === 'ArrowRight' ? 1 : choices.length - 1)) % choices.length][0];
      pick(next);
      buttons.get(next)?.focus();
    });
  }
  return {
    el,
    set(v: T) {
      current = v;
      for (const [k, b] of buttons) {
        b.setAttribute('aria-checked', String(k === v));
        b.tabIndex = k === v ? 0 : -1;
      }
    },
    button: (v: T) => buttons.get(v),
  };
}

/** The header's model line: the model's own one-line description, hidden when it has none. */
export function showModelNote(el: HTMLElement, description: string | undefined): void {
  el.textContent = description ?? '';
  el.hidden = !description;
}

/**
 * The predictions card of a classifier run: top-k labels with bars scaled to the top one, or a note when
 * there are none. With `onPick`, each prediction is a button (the attention page explains that class).
 */
export function predictionsCard(
  titleId: string,
  testId: string,
  emptyNote: string,
  onPick?: (p: Prediction) => void,
): { el: HTMLElement; show(preds: Prediction[] | undefined): void } {
  const list = h('ol', { className: 'vl-preds' });
  const note = h('p', { className: 'vl-card-note', hidden: true }, emptyNote);
  const el = card({ className: 'vl-predictions', attrs: { 'data-testid': testId }, titleId, title: 'Predictions' }, list, note);
  return {
    el,
    show(predictions) {
      clear(list);
      const preds = predictions ?? [];
      list.hidden = preds.length === 0;
      note.hidden = preds.length > 0;
      const top = preds.reduce((m, p) => Math.max(m, p.probability), 0) || 1;
      preds.forEach((p, i) => {
        const fill = h('span', { className: 'vl-pred-fill' });
        fill.style.width = `${Math.max(0.5, (p.probability / top) * 100)}%`;
        const row: Child[] = [
          h('span', { className: 'vl-pred-label' }, p.label),
          h('span', { className: 'vl-pred-pct' }, `${(p.probability * 100).toFixed(p.probability >= 0.1 ? 1 : 2)}%`),
          h('span', { className: 'vl-pred-bar', 'aria-hidden': 'true' }, fill),
        ];
        const item = h('li', { className: i === 0 ? 'vl-pred vl-pred-top' : 'vl-pred', title: `class ${p.index}` }, ...row);
        if (onPick) {
          item.classList.add('vl-pred-pick');
          item.tabIndex = 0;
          item.setAttribute('role', 'button');
          item.title = `class ${p.index}: why this class? (Enter)`;
          item.addEventListener('click', () => onPick(p));
          item.addEventListener('keydown', (ev) => {
            if (ev.key === 'Enter' || ev.key === ' ') {
              ev.preventDefault();
              onPick(p);
            }
          });
        }
        list.append(item);
      });
    },
  };
}

/** A header button that saves something; disabled until there is a result to save. */
export function exportButton(label: string, title: string, attrs: Record<string, string> = {}): HTMLButtonElement {
  return h('button', { type: 'button', className: 'vl-btn vl-btn-secondary', disabled: true, title, ...attrs }, label);
}

/**
 * `paint` at the next animation frame, once however often it is asked for before then: a burst of state
 * changes (a dragged slider) repaints once per frame, and the controls can follow each change at once.
 */
export function framePainter(paint: () => void): () => void {
  let requested = false;
  return () => {
    if (requested) return;
    requested = true;
    requestAnimationFrame(() => {
      requested = false;
      paint();
    });
  };
}
