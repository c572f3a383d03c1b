// Smoke suite for the integration-test harness itself: real Node extension host, the extension activates, and the
// driver bridge delivers a REAL mouse click into a webview and takes a workbench screenshot.
import * as assert from 'assert';
import * as fs from 'fs';
import * as vscode from 'vscode';
import {
  driverAvailable,
  ping,
  pressKey,
  runCommandFromPalette,
  screenshot,
  screenshotPath,
  webviewClick,
  webviewEval,
  webviewQuery,
} from '../driver';

const EXTENSION_ID = 'vit-lens.vit-lens';
const BUTTON = '[data-testid="harness-btn"]';

type PanelMessage = { type: 'ready' } | { type: 'clicked'; isTrusted: boolean; x: number; y: number };

suite('harness: real VS Code extension host', () => {
  let panel: vscode.WebviewPanel | undefined;
  const messages: PanelMessage[] = [];

  /** Resolves with the first message (already received or future) matching `pred`. */
  function waitForMessage(pred: (m: PanelMessage) => boolean, timeoutMs = 20000): Promise<PanelMessage> {
    const seen = messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(new Error(`no matching webview message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`));
      }, timeoutMs);
      const sub = panel!.webview.onDidReceiveMessage((m: PanelMessage) => {
        if (pred(m)) {
          clearTimeout(timer);
          sub.dispose();
          resolve(m);
        }
      });
    });
  }

  suiteTeardown(() => panel?.dispose());

  test('runs in a Node extension host', () => {
    assert.ok(process.versions.node, 'process.versions.node');
    assert.strictEqual(typeof fs.readFileSync, 'function');
    console.log(
      `vscode ${vscode.version}, extension host node ${process.versions.node}, uiKind ${vscode.UIKind[vscode.env.uiKind]}, remoteName ${vscode.env.remoteName}`,
    );
  });

  test('the test driver is reachable', async function () {
    if (!driverAvailable()) this.skip();
    assert.deepStrictEqual(await ping(), { pong: true });
  });

  test(`extension ${EXTENSION_ID} is found and activates`, async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} not found`);
    await ext.activate();
    assert.strictEqual(ext.isActive, true);
  });

  test('a webview receives a real mouse click through the driver', async function () {
    if (!driverAvailable()) this.skip();
    panel = vscode.window.createWebviewPanel('vitLensHarness', 'Harness Webview', vscode.ViewColumn.One, { enableScripts: true });
    panel.webview.onDidReceiveMessage((m: PanelMessage) => messages.push(m));
    const nonce = Math.random().toString(36).slice(2);
    panel.webview.html = `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';">
<style>body{font-family:sans-serif;padding:2em} button{font-size:24px;padding:.5em 1em}</style></head>
<body><h1>ViT Lens test harness</h1><button data-testid="harness-btn">Click me</button><p id="status">waiting</p><input id="kb" placeholder="type here">
<script nonce="${nonce}">
  const api = acquireVsCodeApi();
  const btn = document.querySelector('[data-testid="harness-btn"]');
  btn.addEventListener('click', (e) => {
    document.getElementById('status').textContent = 'clicked';
    btn.textContent = 'Clicked!';
    const r = btn.getBoundingClientRect();
    api.postMessage({ type: 'clicked', isTrusted: e.isTrusted, x: e.clientX - r.left - btn.clientLeft, y: e.clientY - r.top - btn.clientTop });
  });
  api.postMessage({ type: 'ready' });
</script></body></html>`;
    await waitForMessage((m) => m.type === 'ready');

    const q = await webviewQuery(BUTTON);
    assert.strictEqual(q.count, 1, 'button found in a webview frame');
    assert.strictEqual(q.text, 'Click me');
    assert.strictEqual(q.attributes?.['data-testid'], 'harness-btn');
    assert.ok(q.boundingBox && q.boundingBox.width > 0 && q.boundingBox.height > 0, `visible button box: ${JSON.stringify(q.boundingBox)}`);

    await webviewClick(BUTTON, { offsetX: 5, offsetY: 5 });
    const click = await waitForMessage((m) => m.type === 'clicked');
    assert.ok(click.type === 'clicked' && click.isTrusted, 'click event is a trusted (real input) event');
    // playwright's position is relative to the element's padding box; allow a pixel of rounding
    assert.ok(Math.abs(click.x - 5) <= 1 && Math.abs(click.y - 5) <= 1, `click landed at the requested offset: ${click.x},${click.y}`);
    const after = await webviewQuery('#status');
    assert.strictEqual(after.text, 'clicked');
  });

  test('a workbench screenshot lands as a PNG in test-results/screenshots', async function () {
    if (!driverAvailable()) this.skip();
    const out = screenshotPath('harness');
    fs.rmSync(out, { force: true });
    const r = await screenshot(out);
    assert.strictEqual(r.path, out);
    const png = fs.readFileSync(out);
    assert.ok(png.length > 1000, `PNG has ${png.length} bytes`);
    assert.deepStrictEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  });

  test('keys, webviewEval and palette commands reach the workbench', async function () {
    if (!driverAvailable() || !panel) this.skip();
    await webviewClick('#kb');
    await pressKey('v');
    await pressKey('Shift+L');
    assert.strictEqual(await webviewEval<string>('#kb', 'el.value'), 'vL');
    assert.strictEqual(await webviewEval<number>('body', 'document.querySelectorAll("button").length'), 1);
    const disposed = new Promise<void>((resolve) => panel!.onDidDispose(() => resolve()));
    await runCommandFromPalette('View: Close All Editors');
    await Promise.race([
      disposed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('panel not closed by the palette command')), 20000)),
    ]);
    panel = undefined;
  });
});
