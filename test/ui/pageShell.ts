// The preview scripts' stand-in for a VS Code webview: a page served from a fake origin with the strict
// CSP the extension uses (scripts by nonce, styles from the origin only), loading one webview bundle.
// Part of the UI tests (test/ui/preview*.ts): also their --quick switch and the checks every one makes
// (test ids present, no page or console error). playwright-core only.
import type { Browser, BrowserContext, Page } from 'playwright-core';

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

/** `--quick` (the npm test stage): render each page once and check it, without the screenshot tour. */
export const quick = process.argv.includes('--quick');

/** Records in `errors` every data-testid of `testIds` that the page does not have. */
export async function expectTestIds(page: Page, where: string, testIds: readonly string[], errors: string[]): Promise<void> {
  for (const id of testIds) {
    if ((await page.locator(`[data-testid="${id}"]`).count()) === 0) errors.push(`${where}: no element with data-testid="${id}"`);
  }
}

/** Ends a UI test: exit code 1 with the list when the pages threw, logged console errors or missed a test id. */
export function reportErrors(errors: string[]): void {
  if (!errors.length) return;
  console.error('page errors:\n' + errors.join('\n'));
  process.exitCode = 1;
}
