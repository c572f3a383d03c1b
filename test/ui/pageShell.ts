// The preview scripts' stand-in for a VS Code webview: a page served from a fake origin with the strict
// CSP the extension uses (scripts by nonce, styles from the origin only), loading one webview bundle.
// Part of the UI tests (test/ui/preview*.ts): also the steps every one takes (launch chromium, post the
// host's messages, read what the page posted, screenshot), their --quick switch and the checks every
// one makes (test ids present, no page or console error).
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { HEADLESS_CHROMIUM_ARGS } from '../../scripts/vscode-offline/chromium.mjs';
import { stringifyTyped } from '../../src/shared/typedJson';
import { loadWebviewBundle, type WebviewBundle } from '../../src/cli/htmlReport';

/** Debian's chromium (CHROMIUM_PATH when set). */
export function chromiumPath(): string {
  const exe = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
    (p): p is string => !!p && fs.existsSync(p),
  );
  if (!exe) throw new Error('chromium not found: apt-get install -y chromium');
  return exe;
}

/** Headless chromium with the flags of every test run, plus `extraArgs` (e.g. --disable-gpu where no page needs WebGL). */
export function launchChromium(...extraArgs: string[]): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: [...HEADLESS_CHROMIUM_ARGS, ...extraArgs] });
}

/** Where the page and its bundle are served; goto `${WEBVIEW_ORIGIN}/index.html`. */
export const WEBVIEW_ORIGIN = 'https://webview.invalid';

/** Serves `<name>.js` / `<name>.css` and the page shell (body class = the VS Code theme) in this context. */
export async function routeWebview(
  ctx: BrowserContext,
  name: string,
  bundle: { js: string; css: string },
  bodyClass = 'vscode-dark',
): Promise<void> {
  const o = WEBVIEW_ORIGIN;
  const shell = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src blob: data:; style-src ${o}; script-src 'nonce-abc'">
<link rel="stylesheet" href="${o}/${name}.css"></head>
<body class="${bodyClass}"><div id="app"></div><script nonce="abc" src="${o}/${name}.js"></script></body></html>`;
  await ctx.route(`${o}/**`, (route) => {
    const p = new URL(route.request().url()).pathname;
    const [body, type] =
      p === `/${name}.js` ? [bundle.js, 'text/javascript'] : p === `/${name}.css` ? [bundle.css, 'text/css'] : [shell, 'text/html'];
    return route.fulfill({ status: 200, contentType: type, body });
  });
}

/**
 * A page as VS Code hosts the webview `name`: its own context (`width` × 900), the strict CSP, a stubbed
 * acquireVsCodeApi that records every posted message in `window.__sent` and keeps setState's state, and
 * page or console errors recorded in `errors` under `label`.
 */
export async function openVscodePage(
  browser: Browser,
  name: string,
  bundle: { js: string; css: string },
  opts: { theme?: string; width?: number; label: string },
  errors: string[],
): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: opts.width ?? 1400, height: 900 }, deviceScaleFactor: 1 });
  await routeWebview(ctx, name, bundle, opts.theme);
  await ctx.addInitScript(() => {
    const w = window as unknown as { __sent: unknown[]; __state: unknown; acquireVsCodeApi: () => unknown };
    w.__sent = [];
    w.acquireVsCodeApi = () => ({
      postMessage: (m: unknown) => w.__sent.push(m),
      getState: () => w.__state,
      setState: (s: unknown) => (w.__state = s),
    });
  });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(`${opts.label}: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`${opts.label}: console: ${m.text()}`));
  await page.goto(`${WEBVIEW_ORIGIN}/index.html`);
  return page;
}

/**
 * A standalone page (a report written to disk) in its own context (`width` × 900, `colorScheme`), its
 * page and console errors recorded in `errors` under `label`.
 */
export async function openReportPage(
  browser: Browser,
  file: string,
  opts: { label: string; width?: number; colorScheme?: 'dark' | 'light' },
  errors: string[],
): Promise<Page> {
  const ctx = await browser.newContext({
    viewport: { width: opts.width ?? 1400, height: 900 },
    colorScheme: opts.colorScheme,
    deviceScaleFactor: 1,
  });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(`${opts.label}: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`${opts.label}: console: ${m.text()}`));
  await page.goto('file://' + file);
  return page;
}

/** `--quick` (the npm test stage): render each page once and check it, without the screenshot tour. */
export const quick = process.argv.includes('--quick');

/** Records in `errors` every data-testid of `testIds` that the page does not have. */
export async function expectTestIds(page: Page, where: string, testIds: readonly string[], errors: string[]): Promise<void> {
  for (const id of testIds) {
    if ((await page.locator(`[data-testid="${id}"]`).count()) === 0) errors.push(`${where}: no element with data-testid="${id}"`);
  }
}

/** How far the page is wider than its viewport (px; 0 when it fits). */
export const horizontalOverflow = (page: Page): Promise<number> =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** Records in `errors` a page wider than its viewport. */
export async function expectNoOverflow(page: Page, where: string, errors: string[]): Promise<void> {
  const overflow = await horizontalOverflow(page);
  if (overflow > 0) errors.push(`${where}: horizontal overflow ${overflow}px`);
}

/** The body class VS Code gives a webview for its theme. */
export type Theme = 'vscode-dark' | 'vscode-light';

/**
 * The looks tour of a UI test: each look ([theme, width, name, …]) in a fresh page from `open`, shown by
 * `show` (which takes its screenshot), checked for horizontal overflow under `name`, then closed.
 */
export async function looksTour<L extends readonly [Theme, number, string, ...unknown[]]>(
  looks: readonly L[],
  open: (theme: Theme, width: number) => Promise<Page>,
  show: (page: Page, look: L) => Promise<void>,
  errors: string[],
): Promise<void> {
  for (const look of looks) {
    const page = await open(look[0], look[1]);
    await show(page, look);
    await expectNoOverflow(page, look[2], errors);
    await page.context().close();
  }
}

/** Runs a UI test's main: a throw (no chromium, a failed step) is printed and exits 1. */
export function runUiTest(main: () => Promise<void>): void {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

/** Ends a UI test: exit code 1 with the list when the pages threw, logged console errors or missed a test id. */
export function reportErrors(errors: string[]): void {
  if (!errors.length) return;
  console.error('page errors:\n' + errors.join('\n'));
  process.exitCode = 1;
}

/** A page's bundle built from the sources (`entry`, e.g. webview/panels/dense/main.ts) as `<name>.js` and `<name>.css`, as the build writes it. */
export async function buildWebviewBundle(entry: string, name: string): Promise<WebviewBundle> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vitlens-preview-'));
  try {
    await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      outfile: path.join(tmp, `${name}.js`),
      loader: { '.css': 'css' },
      logLevel: 'warning',
    });
    return loadWebviewBundle(tmp, name);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A message the page posted through the stubbed acquireVsCodeApi. */
export type Sent = { type: string; [k: string]: unknown };

/** Every message the page has posted so far (openVscodePage records them in `window.__sent`). */
export const sentMessages = <T = Sent>(page: Page): Promise<T[]> =>
  page.evaluate(() => (window as unknown as { __sent: unknown[] }).__sent) as Promise<T[]>;

/** Waits until the page has posted a message of `type`. */
export async function waitForSent(page: Page, type: string): Promise<void> {
  await page.waitForFunction((t) => (window as unknown as { __sent: Sent[] }).__sent.some((m) => m.type === t), type);
}

/**
 * Posts a message to the page as the host does. Its typed arrays arrive as typed arrays, as postMessage's
 * structured clone delivers them: they cross into the page as typed JSON (src/shared/typedJson.ts).
 */
export async function postToPage(page: Page, message: object): Promise<void> {
  await page.evaluate((t) => {
    const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    const d = JSON.parse(t, (_k, v) =>
      v && typeof v.$f32 === 'string' ? new Float32Array(b64(v.$f32).buffer) : v && typeof v.$u8 === 'string' ? b64(v.$u8) : v,
    );
    window.postMessage(d, '*');
  }, stringifyTyped(message));
}

/** Posts a host message and waits for the page's next `rendered`; returns that `rendered` message. */
export async function postAndWaitRendered(page: Page, message: object): Promise<Sent> {
  const rendered = async () => (await sentMessages(page)).filter((m) => m.type === 'rendered');
  const before = (await rendered()).length;
  await postToPage(page, message);
  await page.waitForFunction(
    (n) => (window as unknown as { __sent: Sent[] }).__sent.filter((m) => m.type === 'rendered').length > n,
    before,
  );
  return (await rendered()).pop()!;
}

/**
 * The screenshot step of a UI test: lets the page settle (`settleMs`), saves `outDir/name` (the viewport,
 * the whole page, or the first element matching `selector`) and logs the name.
 */
export function screenshotter(outDir: string, defaults: { settleMs?: number; fullPage?: boolean } = {}) {
  return async (page: Page, name: string, opts: boolean | { fullPage?: boolean; selector?: string } = {}): Promise<void> => {
    const { fullPage = defaults.fullPage ?? false, selector } = typeof opts === 'boolean' ? { fullPage: opts } : opts;
    await page.waitForTimeout(defaults.settleMs ?? 150);
    const file = path.join(outDir, name);
    if (selector) await page.locator(selector).first().screenshot({ path: file });
    else await page.screenshot({ path: file, fullPage });
    console.log(`  ${name}`);
  };
}
