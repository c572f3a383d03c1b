// The standalone HTML report: one self-contained page with a panel's bundle (dist/webview.js/.css for
// attention; the DPT and gates bundles work the same way) and the run's data inlined. No network: the
// CSP allows only the inline script (by nonce), inline styles and blob:/data: images (the view PNG is
// shown through a blob: URL).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pageHtml } from '../shared/pageHtml';
import { stringifyTyped } from '../shared/typedJson';
import { writeOutput } from './context';

export interface WebviewBundle {
  js: string;
  css: string;
}

/** Reads dist/<name>.js and dist/<name>.css (built by scripts/build.mjs). */
export function loadWebviewBundle(distDir: string, name = 'webview'): WebviewBundle {
  const read = (name: string) => {
    const file = path.join(distDir, name);
    if (!fs.existsSync(file)) throw new Error(`${name} not found in ${distDir}: run "npm run build" first`);
    return fs.readFileSync(file, 'utf8');
  };
  return { js: read(`${name}.js`), css: read(`${name}.css`) };
}

/** JSON inside <script type="application/json">: `<` only occurs in strings, where \u003c is the same text. */
export function escapeJsonForScript(json: string): string {
  return json
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** JavaScript inside <script>: neither `</script` nor `<!--` may appear (they would end or confuse the element). */
export function escapeJsForScript(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** CSS inside <style>: `</style` would end the element. */
export function escapeCssForStyle(css: string): string {
  return css.replace(/<\/(style)/gi, '<\\/$1');
}

/** Source-map comments would point at files the report does not have. */
function stripSourceMap(code: string): string {
  return code.replace(/\n?\/[/*]# sourceMappingURL=[^\n]*/g, '');
}

/** The page: `data` is what the bundle reads from <script id="vit-lens-data"> (typed arrays kept, see typedJson). */
export function renderReportHtml(data: object, bundle: WebviewBundle, title: string, bodyClass = ''): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  return pageHtml({
    csp: ["default-src 'none'", 'img-src blob: data:', "style-src 'unsafe-inline'", `script-src 'nonce-${nonce}'`],
    title,
    head: `<style>\n${escapeCssForStyle(stripSourceMap(bundle.css))}\n</style>`,
    body: `<script type="application/json" id="vit-lens-data">${escapeJsonForScript(stringifyTyped(data))}</script>
<script nonce="${nonce}">
${escapeJsForScript(stripSourceMap(bundle.js))}
</script>`,
    bodyClass,
  });
}

/**
 * Writes `file`: the report page of the webview bundle `name` (dist/<name>.js and .css, beside the CLI's
 * own bundle) with `data` embedded. Returns the path, for the "Report:" line.
 */
export function writeReport(file: string, name: string, data: object, title: string): string {
  return writeOutput(file, renderReportHtml(data, loadWebviewBundle(__dirname, name), title));
}
