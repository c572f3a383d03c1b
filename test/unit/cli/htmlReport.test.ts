// The standalone HTML report: self-contained, escaped, no network references, data round-trips.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { AttentionResult } from '../../../src/shared/attentionTypes';
import { parseTyped } from '../../../src/shared/typedJson';
import { escapeJsForScript, loadWebviewBundle, renderReportHtml } from '../../../src/cli/htmlReport';
import { distDir, modelSummary } from '../support';

function result(imagePath: string): AttentionResult {
  const tokens = 5;
  const data = new Float32Array(tokens * tokens).map((_, i) => (i % tokens === 0 ? 0.6 : 0.1));
  return {
    image: { path: imagePath, width: 32, height: 32 },
    model: modelSummary({ name: 'raw </script><!-- x', attentionSource: 'raw' }),
    grid: [2, 2],
    firstPatchToken: 1,
    attention: { layers: 1, heads: 1, tokens, data },
    baseline: { layers: 1, heads: 1, tokens, data },
    headStats: [{ layer: 0, head: 0, meanDistance: 10, entropy: 1.2 }],
    timingsMs: { decode: 1, modelLoad: 0, preprocess: 1, inference: 0, analysis: 1, total: 3 },
    view: { png: new Uint8Array([137, 80, 78, 71, 60, 47]), width: 32, height: 32, sourceRect: [0, 0, 32, 32] },
  };
}
const settings = { colormap: 'viridis' as const, opacity: 0.6, fusion: 'mean' as const, discardRatio: 0.9 };
const evilBundle = {
  js: 'const s = "</script><script>alert(1)</script>"; const t = `</SCRIPT >`; /* <!-- */ console.log(s, t);\n//# sourceMappingURL=webview.js.map',
  css: '.a::after { content: "</style><script>alert(2)</script>"; }\n/*# sourceMappingURL=webview.css.map */',
};

// Script elements outside the <style> element (whose raw text may mention "<script>" harmlessly).
const scripts = (html: string) =>
  [...html.replace(/<style>[\s\S]*?<\/style>/i, '').matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].map((m) => ({
    attrs: m[1],
    body: m[2],
  }));

test('renderReportHtml escapes </script in the data, the JS and the CSS', () => {
  const html = renderReportHtml({ result: result('/img/</script><script>alert(3)</script>.png'), settings }, evilBundle, 'Report <b>&</b>');
  const s = scripts(html);
  assert.equal(s.length, 2, 'exactly the data script and the bundle script');
  assert.match(s[0].attrs, /type="application\/json"/);
  assert.match(s[0].attrs, /id="vit-lens-data"/);
  assert.match(s[1].attrs, /nonce="/);
  assert.ok(!/<\/script/i.test(s[0].body) && !/<\/script/i.test(s[1].body));
  assert.ok(!s[1].body.includes('<!--'));
  const style = html.match(/<style>([\s\S]*?)<\/style>/);
  assert.ok(style && !style[1].includes('</style'));
  assert.ok(!html.includes('sourceMappingURL'));
  assert.match(html, /<title>Report &#60;b&#62;&#38;&#60;\/b&#62;<\/title>/);
  assert.equal(escapeJsForScript('a</script>b'), 'a<\\/script>b');
});

test('the embedded data round-trips with typed arrays', () => {
  const r = result('/img/cat "quoted" <3>.png');
  const html = renderReportHtml({ result: r, settings }, evilBundle, 't');
  const data = parseTyped<{ result: AttentionResult; settings: typeof settings }>(scripts(html)[0].body);
  assert.equal(data.result.image.path, r.image.path);
  assert.equal(data.result.model.name, r.model.name);
  assert.ok(data.result.attention.data instanceof Float32Array);
  assert.deepEqual(Array.from(data.result.attention.data), Array.from(r.attention.data));
  assert.ok(data.result.view.png instanceof Uint8Array);
  assert.deepEqual(Array.from(data.result.view.png), Array.from(r.view.png));
  assert.deepEqual(data.settings, settings);
});

test('the report has a strict CSP whose nonce matches the script, and no network URLs', () => {
  const html = renderReportHtml({ result: result('a.png'), settings }, evilBundle, 't');
  const csp = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)?.[1] ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /img-src blob: data:/);
  assert.match(csp, /style-src 'unsafe-inline'/);
  const nonce = csp.match(/'nonce-([^']+)'/)?.[1];
  assert.ok(nonce);
  assert.ok(html.includes(`<script nonce="${nonce}">`));
  assert.ok(!/https?:/i.test(html), 'no http: or https: references');
  assert.ok(!/\bsrc=|<link\b/i.test(html), 'no external files');
});

test('the real webview bundle, if built, yields a report without network URLs', (t) => {
  const dist = distDir;
  if (!fs.existsSync(path.join(dist, 'webview.js')) || !fs.existsSync(path.join(dist, 'webview.css'))) {
    t.skip('dist/webview.js not built');
    return;
  }
  const html = renderReportHtml({ result: result('a.png'), settings }, loadWebviewBundle(dist), 't');
  const urls = html.match(/https?:[^\s"'`)]*/gi) ?? [];
  assert.deepEqual(urls, []);
  assert.equal(scripts(html).length, 2);
});

test('loadWebviewBundle explains a missing build', () => {
  assert.throws(() => loadWebviewBundle(path.join(__dirname, 'no-such-dir')), /npm run build/);
});
