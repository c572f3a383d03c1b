// What every ViT Lens panel script does alike (attention, DPT, gates): find out whether it runs in a VS
// Code webview or as a standalone page, the action-button labels, the help popover and its keys,
// which key presses belong to text fields, and saving an export as a download in the standalone page.
// The pages reach most of it through page.ts. DOM only; must not import vscode or Node.
import { type PanelActionId, QUIET_RUN_MS } from '../../src/shared/panelProtocol';
import { parseTyped } from '../../src/shared/typedJson';
import { h } from './dom';

export interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare const acquireVsCodeApi: undefined | (() => VsCodeApi);

/** The VS Code webview API, or null in a standalone page (acquireVsCodeApi may be called only once: call this once). */
export function connectVsCode(): VsCodeApi | null {
  const api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : null;
  // VS Code sets the theme class on <body>; a standalone page follows the OS theme with the same
  // class, so the styles hold one light palette (body.vscode-light) for both.
  if (!api && window.matchMedia?.('(prefers-color-scheme: light)').matches) document.body.classList.add('vscode-light');
  return api;
}

export const actionLabels: Record<PanelActionId, string> = {
  chooseModel: 'Choose model…',
  downloadModel: 'Download model…',
  openSettings: 'Open settings',
  rerun: 'Run again',
  showLog: 'Show log',
};

/** Key presses that belong to a control that types or searches (text fields, selects' type-ahead); sliders and checkboxes don't use the shortcut keys. */
export function isTypingTarget(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  const inputType = t instanceof HTMLInputElement ? t.type : '';
  return (
    t.tagName === 'SELECT' ||
    t.tagName === 'TEXTAREA' ||
    t.isContentEditable ||
    (t.tagName === 'INPUT' && !['range', 'checkbox', 'radio', 'button'].includes(inputType))
  );
}

/**
 * The help popover: its button toggles it, a click outside or Escape closes it (focus back on the
 * button), `?` toggles it. Returns a keydown pre-filter: true when the key was the popover's.
 */
export function helpPopover(
  helpEl: HTMLElement,
  helpButton: HTMLElement,
): { setHelp(open: boolean): void; handleKey(ev: KeyboardEvent): boolean } {
  const setHelp = (open: boolean) => {
    helpEl.hidden = !open;
    helpButton.setAttribute('aria-expanded', String(open));
  };
  helpButton.addEventListener('click', () => setHelp(helpEl.hidden !== false));
  document.addEventListener('click', (ev) => {
    if (!helpEl.hidden && !helpEl.contains(ev.target as Node) && ev.target !== helpButton) setHelp(false);
  });
  const handleKey = (ev: KeyboardEvent): boolean => {
    if (ev.key === 'Escape' && !helpEl.hidden) {
      setHelp(false);
      helpButton.focus();
      return true;
    }
    if (ev.key === '?' && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !isTypingTarget(ev.target)) {
      setHelp(helpEl.hidden !== false);
      ev.preventDefault();
      return true;
    }
    return false;
  };
  return { setHelp, handleKey };
}

/** Standalone page: save bytes as a downloaded file. */
export function downloadFile(bytes: Uint8Array, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Buttons that ask the host to run an action; none in a standalone page (there is no host to run them). */
export function fillActionButtons(
  container: HTMLElement,
  actions: PanelActionId[],
  labels: Record<PanelActionId, string>,
  run: ((a: PanelActionId) => void) | null,
): void {
  container.replaceChildren();
  if (!run) return;
  for (const a of actions) {
    if (!(a in labels)) continue;
    const b = h('button', { type: 'button', className: 'vl-btn vl-btn-small', 'data-action': a }, labels[a]);
    b.addEventListener('click', () => run(a));
    container.append(b);
  }
}

/** A notice or error line of a panel, with the host's action buttons. */
export interface Banner {
  el: HTMLElement;
  show(message: string, actions: PanelActionId[]): void;
  hide(): void;
}

/**
 * A notice ('i', status, dismissable) or an error ('!', alert) above a panel's content. Its buttons ask
 * the host to run an action through `runAction`; a standalone page (null) has no host and no buttons.
 */
export function createBanner(
  kind: 'notice' | 'error',
  labels: Record<PanelActionId, string>,
  runAction: ((a: PanelActionId) => void) | null,
  attrs: Record<string, string> = {},
): Banner {
  const text = h('span', { className: 'vl-banner-text' });
  const actions = h('span', { className: 'vl-banner-actions' });
  const notice = kind === 'notice';
  const el = h(
    'div',
    { className: `vl-banner vl-${kind}`, role: notice ? 'status' : 'alert', hidden: true, ...attrs },
    h('span', { className: 'vl-banner-icon', 'aria-hidden': 'true' }, notice ? 'i' : '!'),
    text,
    actions,
  );
  if (notice) {
    const close = h(
      'button',
      { type: 'button', className: 'vl-btn vl-btn-icon vl-banner-close', 'aria-label': 'Dismiss notice', title: 'Dismiss' },
      '×',
    );
    close.addEventListener('click', () => (el.hidden = true));
    el.append(close);
  }
  return {
    el,
    show(message, buttons) {
      text.textContent = message;
      fillActionButtons(actions, buttons, labels, runAction);
      el.hidden = false;
    },
    hide() {
      el.hidden = true;
    },
  };
}

/**
 * The header every panel has: title, subtitle and meta chips on the left; its buttons and the help popover
 * on the right (the page's `shortcuts`, then the popover's own `?` key).
 */
export function panelHeader(shortcuts: [string, string][], buttons: HTMLElement[], helpId = 'vl-help') {
  const keys: [string, string][] = [...shortcuts, ['?', 'show / hide this help']];
  const titleEl = h('h1', { className: 'vl-title' }, 'ViT Lens');
  const subtitleEl = h('div', { className: 'vl-subtitle' });
  const metaEl = h('div', { className: 'vl-meta' });
  /** One line on what the model is (config.json `vit_lens_description`, e.g. what a demo model was trained on). */
  const noteEl = h('p', { className: 'vl-model-note', 'data-testid': 'model-description', hidden: true });
  const helpButton = h(
    'button',
    {
      type: 'button',
      className: 'vl-btn vl-btn-icon',
      'aria-expanded': 'false',
      'aria-controls': helpId,
      title: 'Keyboard shortcuts (?)',
      'aria-label': 'Keyboard shortcuts',
    },
    '?',
  );
  const helpEl = h(
    'div',
    { id: helpId, className: 'vl-help', hidden: true, role: 'dialog', 'aria-label': 'Keyboard shortcuts' },
    h('h2', {}, 'Keyboard shortcuts'),
    h('dl', {}, ...keys.flatMap(([k, d]) => [h('dt', {}, ...k.split('  ').map((x) => h('kbd', {}, x))), h('dd', {}, d)])),
  );
  const header = h(
    'header',
    { className: 'vl-header' },
    h('div', { className: 'vl-header-main' }, h('div', { className: 'vl-title-row' }, titleEl, subtitleEl), noteEl, metaEl),
    h('div', { className: 'vl-header-actions' }, ...buttons, helpButton),
    helpEl,
  );
  return { header, titleEl, subtitleEl, metaEl, noteEl, helpButton, helpEl };
}

/** The "running…" line of a panel: message, spinner and progress bar (indeterminate without a
 *  fraction). It appears only once a run has lasted QUIET_RUN_MS: quicker runs change nothing on
 *  screen until their result. */
export function createBusyIndicator(testId = 'busy'): { el: HTMLElement; show(message: string, progress?: number): void; hide(): void } {
  const text = h('span', { className: 'vl-busy-text' });
  const bar = h('div', { className: 'vl-progress-fill' });
  const el = h(
    'div',
    { className: 'vl-busy', role: 'status', 'aria-live': 'polite', 'data-testid': testId, hidden: true },
    h('span', { className: 'vl-spinner', 'aria-hidden': 'true' }),
    text,
    h('div', { className: 'vl-progress', 'aria-hidden': 'true' }, bar),
  );
  let timer = 0;
  return {
    el,
    show(message, progress) {
      text.textContent = message;
      el.classList.toggle('vl-indeterminate', typeof progress !== 'number');
      bar.style.width = typeof progress === 'number' ? `${Math.round(Math.max(0, Math.min(1, progress)) * 100)}%` : '';
      if (el.hidden && !timer)
        timer = window.setTimeout(() => {
          timer = 0;
          el.hidden = false;
        }, QUIET_RUN_MS);
    },
    hide() {
      clearTimeout(timer);
      timer = 0;
      el.hidden = true;
    },
  };
}

/** A polite status line that shows a short message for 5 s (exports, errors of exports). */
export function createToast(): { el: HTMLElement; show(text: string): void } {
  const el = h('div', { className: 'vl-toast', role: 'status', 'aria-live': 'polite', hidden: true });
  let timer = 0;
  return {
    el,
    show(text: string) {
      el.textContent = text;
      el.hidden = false;
      clearTimeout(timer);
      timer = window.setTimeout(() => (el.hidden = true), 5000);
    },
  };
}

/** What an `exported` reply means for the user: saved, failed, or (neither) cancelled. */
export function exportedText(m: { savedTo?: string; error?: string }): string {
  return m.error ? `Export failed: ${m.error}` : m.savedTo ? `Saved to ${m.savedTo}` : 'Export cancelled';
}

/**
 * In VS Code: hands every message from the host to `handle` (a throw is reported to the host's log as
 * `log`, never lost), then tells the host this page is `ready` for its snapshot.
 */
export function listenToHost<M extends { type: string }>(api: VsCodeApi, label: string, handle: (m: M) => void): void {
  window.addEventListener('message', (ev: MessageEvent) => {
    const m = ev.data as M | undefined;
    if (!m || typeof m !== 'object' || typeof m.type !== 'string') return;
    try {
      handle(m);
    } catch (e) {
      api.postMessage({
        type: 'log',
        level: 'error',
        message: `${label}: ${m.type}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      });
    }
  });
  api.postMessage({ type: 'ready' });
}

/**
 * Starts a page: in VS Code, listens to the host (`listenToHost`); in a standalone report (no VS Code
 * API), shows the run inlined in <script id="vit-lens-data"> (see core/htmlReport.ts), or says why it
 * could not be read.
 */
export function startPage<M extends { type: string }, D>(
  api: VsCodeApi | null,
  label: string,
  handle: (m: M) => void,
  showReport: (data: D) => void,
  showError: (message: string) => void,
): void {
  if (api) {
    listenToHost(api, label, handle);
    return;
  }
  const text = document.getElementById('vit-lens-data')?.textContent;
  if (!text) return;
  try {
    showReport(parseTyped<D>(text));
  } catch (e) {
    showError(`The report's data could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
}
