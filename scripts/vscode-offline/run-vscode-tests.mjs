#!/usr/bin/env node
// Runs the extension's integration tests inside a REAL VS Code workbench + REAL Node extension host, offline.
// Server: code-server (from npm; bundles the VS Code 1.100 server + web workbench, installed by setup.sh).
// Client: Debian chromium driven by playwright-core. The web workbench reads
//   ?payload=[["extensionDevelopmentPath",…],["extensionTestsPath",…]]
// (same mechanism as microsoft/vscode test/integration/browser) and, when the remote (Node) extension host has run the
// tests, calls window.codeAutomationExit(code). We expose that function and exit with the same code.
//
// Test driver bridge: the runner holds the playwright page, the tests run in the extension host. The runner creates a
// directory, passes it as VITLENS_DRIVER_DIR to code-server (the extension host inherits code-server's environment),
// and serves requests that tests write there (`<id>.req.json` -> `<id>.res.json`, see test/integration/driver.ts):
//   screenshot {path}                       full workbench page screenshot
//   webviewQuery {selector, timeoutMs}      {count, text, attributes, boundingBox, frameUrl} of the first match in the
//                                           first webview frame (nested iframes, innermost first) containing it
//   webviewClick {selector, offsetX, offsetY, index, timeoutMs}   real mouse click through playwright
//   webviewEval {selector, expression, timeoutMs}                 evaluate an expression (with `el` = first match)
//   pressKey {key}                          page.keyboard.press
//   workbenchClick {selector, hasText, timeoutMs}   real mouse click on the workbench itself (a notification's button)
//   workbenchCount {selector, hasText}      how many visible workbench elements match now
//   runCommandFromPalette {title}           F1, type the title, Enter
//   traceStart {categories} / traceStop {path}   a Chromium performance trace of every process (JSON, for
//                                           chrome://tracing or Perfetto), e.g. of a webview receiving a result
//   ping                                    {pong: true}
//
// Env:
//   CODE_SERVER   code-server binary          (default <repo>/.vscode-test/code-server/node_modules/.bin/code-server)
//   CHROMIUM      chromium binary             (default: chromium on PATH, /usr/bin/chromium)
//   EXT_DEV_PATH  extension root(s), ':'-separated (default: repo root)
//   EXT_TESTS     tests module (exports run()) (default: <EXT_DEV_PATH>/dist/test/integration/suite/index.js)
//   WORKSPACE     folder to open              (default: fresh temp dir)
//   SCREENSHOT    png path saved when the tests finish (optional)
//   MODE=screenshot  no tests: open the workbench with the dev extension, run COMMAND_TITLE from the palette, wait for
//                 WEBVIEW_SELECTOR inside a webview, save SCREENSHOT (default ./workbench.png)
//   KEEP_TMP=1    keep the per-run temp dir (server + workbench logs: <tmp>/user-data/logs); VERBOSE=1 print everything
//   TEST_TIMEOUT_S overall timeout (default 900)
//   VSCODE_SETTINGS JSON object merged into the run's user settings
//   VSIX          installed-extension mode: ':'-separated .vsix files installed into this run's --extensions-dir with
//                 `code-server --install-extension` before the server starts, the way a user installs a VSIX. The
//                 tests then run against the installed copy: without EXT_DEV_PATH the extensionDevelopmentPath (VS Code
//                 runs extension tests only with one) is an empty stub extension, so no development folder is loaded;
//                 EXT_TESTS defaults to <repo>/dist/test/integration/vsix/index.js. The extension host gets
//                 VITLENS_EXTENSIONS_DIR (where the VSIX was installed) to check that against.
// Exit codes: 0 pass, 1 test failures, 2 code-server/workbench failed, 3 timeout, 4 extension host died, 130 interrupted.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import util from 'node:util';
import { HEADLESS_CHROMIUM_ARGS } from './chromium.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const t0 = Date.now();
const ts = () => `[${((Date.now() - t0) / 1000).toFixed(1)}s]`;
const log = (...a) => console.log(ts(), ...a);
const verbose = !!process.env.VERBOSE;

const vsixFiles = (process.env.VSIX || '')
  .split(path.delimiter)
  .filter(Boolean)
  .map((p) => path.resolve(p));
const extDevs = (process.env.EXT_DEV_PATH || (vsixFiles.length ? '' : repoRoot))
  .split(path.delimiter)
  .filter(Boolean)
  .map((p) => path.resolve(p));
const extDev = extDevs[0];
const extTests = path.resolve(
  process.env.EXT_TESTS ||
    (extDev ? path.join(extDev, 'dist/test/integration/suite/index.js') : path.join(repoRoot, 'dist/test/integration/vsix/index.js')),
);
for (const v of vsixFiles)
  if (!fs.existsSync(v)) {
    console.error(`VSIX not found: ${v} (npm run package)`);
    process.exit(2);
  }
const codeServer = process.env.CODE_SERVER || path.join(repoRoot, '.vscode-test/code-server/node_modules/.bin/code-server');
if (!fs.existsSync(codeServer)) {
  console.error(`code-server not found at ${codeServer}: run scripts/vscode-offline/setup.sh or set CODE_SERVER`);
  process.exit(2);
}
const which = (cmd) =>
  (process.env.PATH || '')
    .split(path.delimiter)
    .map((d) => path.join(d, cmd))
    .find((p) => fs.existsSync(p));
const chromiumPath = process.env.CHROMIUM || which('chromium') || '/usr/bin/chromium';
if (!fs.existsSync(chromiumPath)) {
  console.error(`chromium not found (${chromiumPath}): apt-get install chromium, or set CHROMIUM`);
  process.exit(2);
}
const mode = process.env.MODE || 'test';
const timeoutS = Number(process.env.TEST_TIMEOUT_S || 900);
// playwright-core is a devDependency of the extension (or resolvable from here)
let playwright;
try {
  playwright = createRequire(path.join(extDev ?? repoRoot, 'package.json'))('playwright-core');
} catch {
  playwright = createRequire(import.meta.url)('playwright-core');
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vscode-offline-run-'));
const workspace = path.resolve(process.env.WORKSPACE || fs.mkdtempSync(path.join(tmp, 'ws-')));
fs.mkdirSync(workspace, { recursive: true });
const home = path.join(tmp, 'home'); // isolate code-server/chromium config and data from the real $HOME
for (const d of ['config', 'data', 'cache', 'tmp']) fs.mkdirSync(path.join(home, d), { recursive: true });
const driverDir = path.join(tmp, 'driver');
fs.mkdirSync(driverDir);

const freePort = () =>
  new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
    s.on('error', rej);
  });
const port = Number(process.env.PORT || (await freePort()));

const csArgs = [
  '--bind-addr',
  `127.0.0.1:${port}`,
  '--auth',
  'none',
  '--user-data-dir',
  path.join(tmp, 'user-data'),
  '--extensions-dir',
  path.join(tmp, 'extensions'),
  '--disable-telemetry',
  '--disable-update-check',
  '--disable-workspace-trust',
  '--disable-getting-started-override',
  '--ignore-last-opened',
  '--config',
  path.join(home, 'config', 'config.yaml'),
];
fs.writeFileSync(path.join(home, 'config', 'config.yaml'), 'auth: none\n');
// user settings of the (throwaway) profile: keep prompts and background work out of the tests and screenshots
const userDir = path.join(tmp, 'user-data', 'User');
fs.mkdirSync(userDir, { recursive: true });
fs.writeFileSync(
  path.join(userDir, 'settings.json'),
  JSON.stringify(
    {
      'git.openRepositoryInParentFolders': 'never', // the test workspace usually lives inside the repo
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'extensions.ignoreRecommendations': true,
      'update.mode': 'none',
      'telemetry.telemetryLevel': 'off',
      'security.workspace.trust.enabled': false,
      ...JSON.parse(process.env.VSCODE_SETTINGS || '{}'),
    },
    null,
    2,
  ),
);
const csEnv = {
  ...process.env,
  XDG_CONFIG_HOME: path.join(home, 'config'),
  XDG_DATA_HOME: path.join(home, 'data'),
  XDG_CACHE_HOME: path.join(home, 'cache'),
  TMPDIR: path.join(home, 'tmp'), // ipc sockets of the extension host land here and are cleaned up with the run
  EXTENSIONS_GALLERY: process.env.EXTENSIONS_GALLERY ?? '{}', // no marketplace (offline): stops open-vsx.org queries
  VITLENS_DRIVER_DIR: driverDir, // inherited by the extension host: test/integration/driver.ts talks to us through it
};
if (vsixFiles.length) {
  // VSIX mode: install like a user (`code-server --install-extension x.vsix`), into this run's extensions dir
  const extensionsDir = path.join(tmp, 'extensions');
  for (const vsix of vsixFiles) {
    log(`installing ${vsix}`);
    const r = spawnSync(
      codeServer,
      ['--install-extension', vsix, '--force', '--extensions-dir', extensionsDir, '--user-data-dir', path.join(tmp, 'user-data')],
      { env: csEnv, encoding: 'utf8', timeout: 300000 },
    );
    if (verbose || r.status !== 0) process.stdout.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    if (r.status !== 0) {
      console.error(`installing ${vsix} failed (exit ${r.status ?? r.signal})`);
      fs.rmSync(tmp, { recursive: true, force: true });
      process.exit(2);
    }
  }
  log(
    'installed:',
    fs
      .readdirSync(extensionsDir)
      .filter((d) => !d.startsWith('.') && d !== 'extensions.json')
      .join(', '),
  );
  csEnv.VITLENS_EXTENSIONS_DIR = extensionsDir;
  if (!extDevs.length) {
    // VS Code runs extension tests only with an extensionDevelopmentPath: an empty extension, so nothing else loads
    const stub = path.join(tmp, 'vsix-test-host');
    fs.mkdirSync(stub);
    fs.writeFileSync(
      path.join(stub, 'package.json'),
      JSON.stringify(
        {
          name: 'vsix-test-host',
          publisher: 'vit-lens-test',
          version: '0.0.0',
          engines: { vscode: '*' },
          description: 'Placeholder development extension for running tests against installed VSIX files',
        },
        null,
        2,
      ),
    );
    extDevs.push(stub);
  }
}
log(`starting code-server on 127.0.0.1:${port}`);
const server = spawn(codeServer, csArgs, {
  env: csEnv,
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true,
});
const serverOut = [];
let extHostDied = null;
const onServerData = (b) => {
  const s = b.toString();
  serverOut.push(s);
  if (verbose) process.stdout.write('[cs] ' + s);
  else
    for (const l of s.split('\n')) if (/Error|error|crash/.test(l) && !/telemetry|Server is not running/i.test(l)) console.log('[cs]', l);
  // A crashed extension host (native segfault, OOM, process.exit(n)) never reports through codeAutomationExit, and the
  // web workbench then reports exit code 0, so watch the server log and override.
  const m = s.match(/Extension Host Process exited with code: (\S+), signal: (\S+?)\.?\s/);
  if (m && (m[1] !== '0' || m[2] !== 'null')) {
    extHostDied = `extension host died: code ${m[1]}, signal ${m[2]}`;
    console.log('[cs]', extHostDied);
    setTimeout(() => finish(4, extHostDied), 5000);
  }
};
server.stdout.on('data', onServerData);
server.stderr.on('data', onServerData);

let browser;
let page;
let finished = false;
async function finish(code, why) {
  if (finished) return;
  finished = true;
  log(`finishing: exit code ${code}${why ? ' (' + why + ')' : ''}`);
  clearInterval(driverTimer);
  try {
    await browser?.close();
  } catch {}
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {}
  setTimeout(() => {
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {}
    process.exit(code);
  }, 3000).unref();
  if (server.exitCode === null && server.signalCode === null) await new Promise((r) => server.once('exit', r));
  if (process.env.KEEP_TMP) log('kept', tmp);
  else fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(code);
}
server.on('exit', (c, s) => {
  if (!finished) {
    console.error(serverOut.join(''));
    finish(2, `code-server exited early ${c ?? s}`);
  }
});
setTimeout(() => finish(3, `timeout after ${timeoutS}s`), timeoutS * 1000).unref();
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => finish(130, sig));

// ---------------------------------------------------------------------------------------------------------------
// driver bridge
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/**
 * First webview frame holding `selector`; waits up to timeoutMs. The workbench page and its other iframes (e.g. the
 * web worker extension host) are not searched. VS Code
 * webviews are nested iframes (host frame > content frame): leaf frames (the content) are tried before their hosts,
 * so generic selectors such as `body` resolve to the webview's own document.
 */
function isWebviewFrame(f) {
  // webview host frame (…/contrib/webview/browser/pre/index.html) or anything inside one
  for (let x = f; x && x !== page.mainFrame(); x = x.parentFrame()) if (x.url().includes('/contrib/webview/')) return true;
  return false;
}
async function findFrame(selector, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const frames = page.frames().filter((f) => !f.isDetached() && isWebviewFrame(f));
    for (const f of [...frames.filter((f) => !f.childFrames().length), ...frames.filter((f) => f.childFrames().length)]) {
      try {
        if (await f.$(selector)) return f;
      } catch {
        /* frame navigating / detached */
      }
    }
    if (Date.now() >= end) return null;
    await sleep(100);
  }
}
const frameUrl = (f) => f.url().replace(/\?.*$/, '');
const ops = {
  async ping() {
    return { pong: true };
  },
  async screenshot({ path: p }) {
    if (!p || !path.isAbsolute(p)) throw new Error(`screenshot: need an absolute path, got ${p}`);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    await page.screenshot({ path: p });
    return { path: p, bytes: fs.statSync(p).size };
  },
  async webviewQuery({ selector, timeoutMs }) {
    const f = await findFrame(selector, timeoutMs ?? 10000);
    if (!f) return { count: 0, text: null, attributes: null, boundingBox: null, frameUrl: null };
    const all = await f.$$(selector);
    const first = all[0];
    const [text, attributes] = await first.evaluate((el) => [
      el.textContent,
      Object.fromEntries([...el.attributes].map((a) => [a.name, a.value])),
    ]);
    return { count: all.length, text, attributes, boundingBox: await first.boundingBox(), frameUrl: frameUrl(f) };
  },
  async webviewClick({ selector, offsetX, offsetY, index, timeoutMs }) {
    const f = await findFrame(selector, timeoutMs ?? 10000);
    if (!f) throw new Error(`webviewClick: no frame contains ${selector}`);
    const all = await f.$$(selector);
    const el = all[index ?? 0];
    if (!el) throw new Error(`webviewClick: ${selector} has ${all.length} matches, no index ${index}`);
    const position = offsetX !== undefined || offsetY !== undefined ? { x: offsetX ?? 0, y: offsetY ?? 0 } : undefined;
    await el.click({ position, timeout: timeoutMs ?? 10000 });
    return { clicked: true, boundingBox: await el.boundingBox(), frameUrl: frameUrl(f) };
  },
  async webviewEval({ selector, expression, timeoutMs }) {
    const f = await findFrame(selector, timeoutMs ?? 10000);
    if (!f) throw new Error(`webviewEval: no frame contains ${selector}`);
    // a string expression goes through CDP Runtime.evaluate, so the webview's CSP (no 'unsafe-eval') does not block it
    return await f.evaluate(`(async () => { const el = document.querySelector(${JSON.stringify(selector)}); return (${expression}); })()`);
  },
  async pressKey({ key }) {
    await page.keyboard.press(key);
    return {};
  },
  async workbenchClick({ selector, hasText, timeoutMs }) {
    await page
      .locator(selector, hasText ? { hasText } : {})
      .first()
      .click({ timeout: timeoutMs ?? 10000 });
    return { clicked: true };
  },
  async workbenchCount({ selector, hasText }) {
    const all = await page.locator(selector, hasText ? { hasText } : {}).all();
    let count = 0;
    for (const l of all) if (await l.isVisible()) count++;
    return { count };
  },
  async runCommandFromPalette({ title }) {
    await runCommandFromPalette(title);
    return {};
  },
  async traceStart({ categories }) {
    await browser.startTracing(undefined, { categories });
    return {};
  },
  async traceStop({ path: p }) {
    if (!p || !path.isAbsolute(p)) throw new Error(`traceStop: need an absolute path, got ${p}`);
    fs.writeFileSync(p, await browser.stopTracing());
    return { path: p, bytes: fs.statSync(p).size };
  },
};
async function runCommandFromPalette(title) {
  const input = page.locator('.quick-input-widget input');
  // Keys must reach the workbench, not a webview: a webview that has focus (an image preview just opened, still
  // loading) swallows F1. Blur it first; a palette that opened late or closed again is retried from the start.
  for (let attempt = 1; ; attempt++) {
    try {
      await page.evaluate(() => {
        const a = document.activeElement;
        if (a && a.tagName === 'IFRAME') a.blur();
      });
      if (!(await input.isVisible())) await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill('>' + title.replace(/^>/, ''), { timeout: 5000 });
      break;
    } catch (e) {
      if (attempt >= 4) throw e;
      log(`palette attempt ${attempt} failed (${String(e.message).split('\n')[0]}); retrying`);
      await page.keyboard.press('Escape').catch(() => {});
      await sleep(500);
    }
  }
  const row = page.locator('.quick-input-widget .monaco-list-row').first();
  await row.waitFor({ state: 'visible', timeout: 30000 });
  await sleep(300); // let the quick pick settle on the filtered list
  await page.keyboard.press('Enter');
}
const taken = new Set();
let serving = false;
async function serveDriver() {
  if (serving || !page) return;
  serving = true;
  try {
    const reqs = fs
      .readdirSync(driverDir)
      .filter((f) => f.endsWith('.req.json') && !taken.has(f))
      .sort();
    for (const f of reqs) {
      taken.add(f);
      const id = f.slice(0, -'.req.json'.length);
      let res;
      try {
        const r = JSON.parse(fs.readFileSync(path.join(driverDir, f), 'utf8'));
        if (!ops[r.op]) throw new Error(`unknown driver op ${r.op}`);
        if (verbose) log('driver', r.op, JSON.stringify(r.args));
        res = { ok: true, result: (await ops[r.op](r.args || {})) ?? null };
      } catch (e) {
        res = { ok: false, error: String(e?.message || e) };
        log('driver op failed:', res.error.split('\n')[0]);
      }
      const out = path.join(driverDir, id + '.res.json');
      fs.writeFileSync(out + '.tmp', JSON.stringify(res));
      fs.renameSync(out + '.tmp', out); // atomic: the test never reads a half-written reply
      fs.rmSync(path.join(driverDir, f), { force: true });
    }
  } catch (e) {
    if (!finished) log('driver loop error', e?.message || e);
  } finally {
    serving = false;
  }
}
const driverTimer = setInterval(serveDriver, 50);

// ---------------------------------------------------------------------------------------------------------------
for (let i = 0; ; i++) {
  // wait for /healthz
  try {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    if (r.ok) break;
  } catch {}
  if (i > 600) await finish(2, 'code-server did not become healthy');
  await sleep(100);
}
log('code-server healthy');

browser = await playwright.chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: [...HEADLESS_CHROMIUM_ARGS, '--disable-gpu', '--disable-dev-shm-usage'],
  // playwright's launch() uses a fresh temporary --user-data-dir; keep chromium's dconf/cache out of $HOME too
  env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_CACHE_HOME: path.join(home, 'cache') },
});
page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
// extension-host console output reaches us through window.codeAutomationLog (below); raw page console only with VERBOSE=1
page.on('console', (m) => {
  if (verbose) console.log('[browser]', m.text());
});
page.on('pageerror', (e) => {
  if (verbose) console.log('[pageerror]', e.message);
});

const authority = `127.0.0.1:${port}`;
const remoteUri = (p) => `vscode-remote://${authority}${p.split(path.sep).join('/')}`;
const payload = [...extDevs.map((p) => ['extensionDevelopmentPath', remoteUri(p)]), ['skipWelcome', 'true']];
if (mode === 'test') payload.push(['extensionTestsPath', remoteUri(extTests)]);

const noise = /^(Resolv|Creating a socket|Updating additional|ChatSession|\[Service Worker\]|Ignoring fetching additional builtin)/;
await page.exposeFunction('codeAutomationLog', (type, args) => {
  const line = util.format(...(args || []));
  if (verbose || !/^(info|trace|debug)$/.test(type) || !noise.test(line))
    console.log(type === 'error' ? '[workbench:error]' : '[workbench]', line);
});
await page.exposeFunction('codeAutomationExit', async (code) => {
  log(`workbench reported extension tests finished: code=${code}`);
  if (extHostDied) code = 4;
  if (process.env.SCREENSHOT) {
    try {
      await ops.screenshot({ path: path.resolve(process.env.SCREENSHOT) });
      log('screenshot', process.env.SCREENSHOT);
    } catch (e) {
      log('screenshot failed', e.message);
    }
  }
  finish(code);
});

const url = `http://${authority}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
log('opening', url);
try {
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout: 120000 });
} catch (e) {
  await finish(2, `workbench did not load: ${e.message}`);
}
log('workbench rendered');

if (mode === 'screenshot') {
  const title = process.env.COMMAND_TITLE;
  if (!title) await finish(2, 'MODE=screenshot needs COMMAND_TITLE');
  await sleep(3000); // let the remote extension host come up
  await runCommandFromPalette(title);
  const sel = process.env.WEBVIEW_SELECTOR || 'body';
  const frame = await findFrame(sel, 30000);
  log(frame ? `webview content ${sel} found` : `webview content ${sel} NOT found`);
  const out = path.resolve(process.env.SCREENSHOT || 'workbench.png');
  await ops.screenshot({ path: out });
  log('screenshot', out);
  await finish(frame ? 0 : 1);
}
