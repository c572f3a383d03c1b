// The frame every ViT Lens page is built in (attention, DPT, gates): it connects to VS Code or finds the
// standalone report, restores and saves the UI state, lays out #app (header, notice, error, busy line,
// empty state, the page's content, toast), handles the host messages every page answers alike (running,
// error, exported), saves exports (to the host, or as a download in the report), and filters the
// shortcut keys. A page adds only what its analysis shows. DOM only; must not import vscode or Node:
// it runs in the webview and in the report's browser.
import type { PanelActionId } from '../../src/shared/panelProtocol';
import { append, clear, h, type Child } from './dom';
import { fileName } from './format';
import {
  actionLabels as sharedActionLabels,
  connectVsCode,
  createBanner,
  createBusyIndicator,
  createToast,
  downloadFile,
  exportedText,
  helpPopover,
  isTypingTarget,
  panelHeader,
  startPage,
} from './shell';

export interface PageOptions {
  /** Names the page in the host's log ("webview: result: …" when handling a message throws). */
  label: string;
  /** Classes of #app besides vl-app (vl-dense, vl-gates). */
  classes?: string[];
  /** The page's keys and what they do, for the help popover (which adds its own `?` key); none by default. */
  shortcuts?: [string, string][];
  /** The header's own buttons (exports), left of the help button. */
  buttons: HTMLElement[];
  helpId?: string;
  /** Labels of the host's action buttons in the banners (a page may name its model differently). */
  actionLabels?: Record<PanelActionId, string>;
  errorTestId?: string;
  busyTestId?: string;
  /** The empty state before the first result: its title, and its text in a standalone page. */
  emptyTitle: string;
  standaloneText?: string;
  /** How a failed export is named in the host's log: `${exportLog} png failed: …`. */
  exportLog?: string;
}

/** Fields of the host messages the frame handles itself (`running`, `error`, `exported`). */
type CommonHostMessage = { type: string; message?: string; progress?: number; actions?: PanelActionId[]; savedTo?: string; error?: string };

/** Builds the frame. Call once, first: it calls acquireVsCodeApi, which may be called only once. */
export function createPage<W extends { type: string }>(o: PageOptions) {
  const vscode = connectVsCode();
  /** To the host; nothing in a standalone page (no host to tell). */
  const post = (m: W) => vscode?.postMessage(m);
  const postRaw = (m: unknown) => vscode?.postMessage(m);

  const app = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
  app.classList.add('vl-app', ...(o.classes ?? []));
  if (!vscode) app.classList.add('vl-standalone');

  const { header, titleEl, subtitleEl, metaEl, noteEl, helpButton, helpEl } = panelHeader(o.shortcuts ?? [], o.buttons, o.helpId);
  const labels = o.actionLabels ?? sharedActionLabels;
  const runAction = vscode && ((a: PanelActionId) => postRaw({ type: 'action', action: a }));
  const notice = createBanner('notice', labels, runAction);
  const error = createBanner('error', labels, runAction, { 'data-testid': o.errorTestId ?? 'error' });
  const busy = createBusyIndicator(o.busyTestId);
  const emptyEl = h(
    'div',
    { className: 'vl-empty' },
    h('div', { className: 'vl-empty-title' }, o.emptyTitle),
    h('p', {}, vscode ? 'Waiting for the extension to send a result…' : (o.standaloneText ?? 'This report contains no data.')),
  );
  const toast = createToast();
  const help = helpPopover(helpEl, helpButton);
  let content: HTMLElement | null = null;
  let imageUrl: string | null = null;
  let exportSeq = 0;
  let onError = () => {};

  function showError(message: string, actions: PanelActionId[] | undefined): void {
    busy.hide();
    emptyEl.hidden = true;
    error.show(message, Array.isArray(actions) ? actions : []);
    onError();
  }

  /**
   * Saves what `make` produces: in VS Code the host asks where (the toast says so until `exported`
   * answers); in a standalone page the browser downloads it. A throw becomes a toast and a log line.
   */
  async function exportFile(format: string, mime: string, make: () => Promise<{ name: string; bytes: Uint8Array }>): Promise<void> {
    try {
      const { name, bytes } = await make();
      if (vscode) {
        postRaw({ type: 'export', requestId: ++exportSeq, format, suggestedName: name, bytes });
        toast.show(`Saving ${name}…`);
      } else {
        downloadFile(bytes, name, mime);
        toast.show(`Downloaded ${name}`);
      }
    } catch (e) {
      toast.show(`Export failed: ${e instanceof Error ? e.message : String(e)}`);
      postRaw({ type: 'log', level: 'error', message: `${o.exportLog ?? 'export'} ${format} failed: ${String(e)}` });
    }
  }

  /** The host messages every page answers alike; false for the page's own ones. */
  function handleCommon(m: CommonHostMessage): boolean {
    switch (m.type) {
      case 'running':
        busy.show(m.message ?? '', m.progress);
        error.hide();
        emptyEl.hidden = true;
        return true;
      case 'error':
        showError(m.message ?? '', m.actions);
        return true;
      case 'exported':
        toast.show(exportedText(m));
        return true;
      default:
        return false;
    }
  }

  return {
    vscode,
    post,
    app,
    titleEl,
    subtitleEl,
    metaEl,
    noteEl,
    notice,
    error,
    busy,
    toast,
    emptyEl,

    /** The state saved by setState, checked by the page's `parse` (anything invalid keeps `base`). */
    restoreState<S>(parse: (raw: unknown, base: S) => S, base: S): S {
      return parse(vscode?.getState(), base);
    },
    saveState(state: unknown): void {
      vscode?.setState(state);
    },

    /** Puts the frame and the page's content (hidden until a result) into #app; `noticeEl` replaces the notice banner. */
    mount(main: HTMLElement, noticeEl: HTMLElement = notice.el): void {
      content = main;
      app.append(header, noticeEl, error.el, busy.el, emptyEl, main, toast.el);
    },

    showError,
    /**
     * `f` runs after each error the frame shows (a run cancelled or failed, a result that could not be
     * shown): the rest of a partial result on screen will not come.
     */
    onError(f: () => void): void {
      onError = f;
    },
    /** A result from the host that could not be revived: the error banner and a line in the host's log. */
    showBadResult(e: unknown): void {
      showError(`The result could not be shown: ${e instanceof Error ? e.message : String(e)}`, []);
      postRaw({ type: 'log', level: 'error', message: `${o.label}: bad result: ${String(e)}` });
    },
    /** A result replaces the error and busy line. */
    clearStatus(): void {
      error.hide();
      busy.hide();
    },
    /** The content replaces the empty state (after a result is laid out). */
    showContent(): void {
      emptyEl.hidden = true;
      if (content) content.hidden = false;
    },

    /** The header of a result: the image's name (its path on hover), subtitle parts, chips and the document title. */
    setHeader(imagePath: string, subtitle: Child[], chips: Child[], docTitle: string): void {
      titleEl.textContent = fileName(imagePath);
      titleEl.title = imagePath;
      clear(subtitleEl);
      append(subtitleEl, subtitle);
      clear(metaEl);
      append(metaEl, chips);
      document.title = docTitle;
    },

    /** A blob URL for the result's PNG; the previous one is released. */
    imageUrl(png: Uint8Array): string {
      if (imageUrl) URL.revokeObjectURL(imageUrl);
      imageUrl = URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
      return imageUrl;
    },

    exportFile,
    /** Saves `doc` as indented JSON (see exportFile); `make` names the file and builds the document. */
    exportJson(make: () => { name: string; doc: unknown }): Promise<void> {
      return exportFile('json', 'application/json', async () => {
        const { name, doc } = make();
        return { name, bytes: new TextEncoder().encode(JSON.stringify(doc, null, 1)) };
      });
    },

    /**
     * The page's shortcut keys: `handle` sees a key only when the help popover did not take it, no
     * Ctrl/Meta/Alt is held and no text field has the focus (with `ignorePrevented`, nor a control
     * already handled it); it returns true for a key it used (its default is then prevented).
     */
    onShortcut(handle: (ev: KeyboardEvent) => boolean, ignorePrevented = false): void {
      document.addEventListener('keydown', (ev) => {
        if (help.handleKey(ev)) return;
        if (ev.ctrlKey || ev.metaKey || ev.altKey || (ignorePrevented && ev.defaultPrevented)) return;
        if (isTypingTarget(ev.target)) return;
        if (handle(ev)) ev.preventDefault();
      });
    },

    /**
     * Starts the page: in VS Code the host's messages go to `handle` (after the common ones) and the page
     * says `ready`; in a standalone report the embedded run goes to `showReport` (`reportError` when it
     * cannot be read; by default the error banner).
     */
    start<M extends { type: string }, D>(
      handle: (m: M) => void,
      showReport: (data: D) => void,
      reportError: (message: string) => void = (m) => showError(m, []),
    ): void {
      startPage<M, D>(
        vscode,
        o.label,
        (m) => {
          if (!handleCommon(m as CommonHostMessage)) handle(m);
        },
        showReport,
        reportError,
      );
    },
  };
}
