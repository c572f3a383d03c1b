#!/usr/bin/env node
// `npm test` runner (after `npm run build` and `npm run typecheck`):
//   1. unit tests:        node --test dist/test/unit/   (built from test/unit/*.test.ts)
//   1b. UI tests:        the panel pages in headless chromium (dist/test/ui/preview*.js, built from test/ui/), in their
//      --quick mode (~20 s for the three): each renders its pages once, checks its data-testids and the VS Code messages,
//      fails on any page or console error, and leaves a few screenshots in test-results/preview*/; one test each
//      (`npm run test:ui` runs them with every screenshot).
//   2. integration tests: mocha suites (dist/test/integration/suite/index.js) inside a REAL VS Code extension host,
//      through @vscode/test-electron's standard runTests(). Offline by default: VS Code = code-server 4.100.3 +
//      headless Debian chromium (scripts/vscode-offline/, installed on first use by setup.sh into .vscode-test/).
//   3. installed-VSIX test: packages the host platform's VSIX (`scripts/package.mjs --target <t>`) when dist-vsix/
//      has none or it is older than the sources, installs it into code-server with --install-extension and runs
//      dist/test/integration/vsix/index.js against the installed copy (scripts/vscode-offline/run-vscode-tests.mjs,
//      VSIX mode), with the demo models (models/demo/, packed in the VSIX) set in the run's user settings.
//   4. one summary line `N passed, N failed, N skipped`; exit code 1 on any failure.
// Env:
//   VITLENS_SKIP_INTEGRATION=1   unit tests only (no VS Code, no VSIX)
//   VITLENS_SKIP_UNIT=1          integration stages only (a quick re-run of the VS Code suites)
//   VITLENS_SKIP_VSIX=1          no installed-VSIX stage
//   VITLENS_SKIP_UI=1            no UI tests (the pages in headless chromium)
//   VITLENS_VSCODE=download      let @vscode/test-electron download Electron VS Code (needs internet; VITLENS_VSCODE_VERSION)
//   VSCODE_EXECUTABLE_PATH       use this VS Code executable (or shim) instead of the offline code-server shim
//   VITLENS_TEST_GREP            only run integration tests whose full title matches this regexp
//   VERBOSE=1, KEEP_TMP=1        passed on to the offline runner (full code-server/workbench logs)
// Output: test-results/screenshots/ (screenshots taken by tests), test-results/workspace/ (fresh folder opened in VS Code),
// test-results/integration-results.json, test-results/unit.tap; VSIX stage: test-results/vsix-workspace/,
// test-results/vsix-results.json, test-results/vsix-metrics.json (activation time, time to first panel).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { vsixIsStale, vsixPath } from './package.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const results = path.join(root, 'test-results');
const totals = { passed: 0, failed: 0, skipped: 0 };
const problems = [];
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const banner = (s) => console.log(`\n=== ${s} ===`);
fs.mkdirSync(results, { recursive: true });

// ---------------------------------------------------------------------------------------------------------------
// 1. unit tests
async function unitTests() {
  const dir = path.join(root, 'dist/test/unit');
  const files = fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).filter((f) => /\.test\.(c|m)?js$/.test(f)) : [];
  banner(`unit tests (${files.length} file${files.length === 1 ? '' : 's'})`);
  if (!files.length) {
    console.log('no unit tests in dist/test/unit: 0 tests');
    return;
  }
  const tap = path.join(results, 'unit.tap');
  fs.rmSync(tap, { force: true });
  const args = [
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files.map((f) => path.join('dist/test/unit', f)),
  ];
  const code = await new Promise((res) =>
    spawn(process.execPath, args, { cwd: root, stdio: 'inherit' }).on('exit', (c, s) => res(c ?? (s ? 1 : 0))),
  );
  const text = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
  const count = (k) => Number((text.match(new RegExp(`^# ${k} (\\d+)$`, 'm')) || [])[1] || 0);
  const [pass, fail, skipped, todo, cancelled] = ['pass', 'fail', 'skipped', 'todo', 'cancelled'].map(count);
  totals.passed += pass;
  totals.failed += fail + cancelled;
  totals.skipped += skipped + todo;
  if (code !== 0 && fail + cancelled === 0) {
    totals.failed++;
    problems.push(`node --test exited with ${code} without reporting a failed test`);
  }
  if (fail + cancelled) problems.push(`${fail + cancelled} unit test(s) failed`);
  console.log(`unit: ${pass} passed, ${fail + cancelled} failed, ${skipped + todo} skipped (${elapsed()})`);
}

// ---------------------------------------------------------------------------------------------------------------
// 1b. UI tests: the pages in headless chromium (the same Debian chromium the integration stage uses)
async function uiTests() {
  const dir = path.join(root, 'dist/test/ui');
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => /^preview\w+\.js$/.test(f))
        .sort()
    : [];
  banner(`UI tests (${files.length} page${files.length === 1 ? '' : 's'} in headless chromium)`);
  if (!files.length) {
    console.log('no UI tests in dist/test/ui');
    return;
  }
  if (!which('chromium')) {
    if (process.getuid?.() === 0 && ensureOfflineVSCode() && which('chromium')) {
      /* installed now */
    } else {
      console.log('skipped: no chromium (sudo apt-get install chromium, or run the integration stage once)');
      totals.skipped += files.length;
      return;
    }
  }
  for (const f of files) {
    const t = Date.now();
    const code = await new Promise((res) =>
      spawn(process.execPath, [path.join(dir, f), '--quick'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] }).on('exit', (c, sig) =>
        res(c ?? (sig ? 1 : 0)),
      ),
    );
    const name = f.replace(/\.js$/, '');
    if (code === 0) {
      totals.passed++;
      console.log(`✔ ${name} (${((Date.now() - t) / 1000).toFixed(1)}s)`);
    } else {
      totals.failed++;
      problems.push(`UI test ${name} failed (exit ${code})`);
      console.log(`✖ ${name} exited with ${code}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 2. integration tests in a real VS Code
const which = (cmd) => (process.env.PATH || '').split(path.delimiter).some((d) => fs.existsSync(path.join(d, cmd)));

function ensureOfflineVSCode() {
  const csDir = path.join(root, '.vscode-test/code-server');
  const ready = fs.existsSync(path.join(csDir, 'node_modules/.bin/code-server')) && fs.existsSync(path.join(csDir, '.install-complete'));
  if (ready && which('chromium') && which('rg')) return true;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot && (!which('chromium') || !which('rg'))) {
    console.error(
      'The offline VS Code needs Debian packages that are missing. Install them once with:\n' +
        '  sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium ripgrep libkrb5-dev build-essential python3\n' +
        'then re-run `npm test` (or set VITLENS_SKIP_INTEGRATION=1, or VITLENS_VSCODE=download when online).',
    );
    return false;
  }
  console.log('installing the offline VS Code (code-server + chromium) into .vscode-test/, first time only (~1-2 min)…');
  const r = spawnSync('bash', [path.join(root, 'scripts/vscode-offline/setup.sh')], { cwd: root, stdio: 'inherit' });
  return r.status === 0;
}

async function integrationTests() {
  banner('integration tests (real VS Code extension host)');
  if (process.env.VITLENS_SKIP_INTEGRATION === '1') {
    console.log('skipped: VITLENS_SKIP_INTEGRATION=1');
    return;
  }
  const suiteIndex = path.join(root, 'dist/test/integration/suite/index.js');
  if (!fs.existsSync(suiteIndex)) {
    totals.failed++;
    problems.push('dist/test/integration/suite/index.js missing (run `npm run build`)');
    console.error(problems.at(-1));
    return;
  }
  const download = process.env.VITLENS_VSCODE === 'download';
  let vscodeExecutablePath = process.env.VSCODE_EXECUTABLE_PATH || undefined;
  if (!vscodeExecutablePath && !download) {
    if (!ensureOfflineVSCode()) {
      totals.failed++;
      problems.push('offline VS Code setup failed');
      return;
    }
    vscodeExecutablePath = path.join(root, 'scripts/vscode-offline/code-test-shim.mjs');
    fs.chmodSync(vscodeExecutablePath, 0o755); // runTests() spawns it directly (#!/usr/bin/env node)
  }
  const workspace = path.join(results, 'workspace');
  fs.rmSync(workspace, { recursive: true, force: true });
  fs.mkdirSync(workspace, { recursive: true });
  const screenshots = path.join(results, 'screenshots');
  fs.mkdirSync(screenshots, { recursive: true });
  const resultsFile = path.join(results, 'integration-results.json');
  fs.rmSync(resultsFile, { force: true });

  const { runTests } = require('@vscode/test-electron');
  let runError = null;
  try {
    await runTests({
      vscodeExecutablePath,
      version: download ? process.env.VITLENS_VSCODE_VERSION || undefined : undefined,
      extensionDevelopmentPath: root,
      extensionTestsPath: suiteIndex,
      launchArgs: [workspace, '--disable-extensions'],
      extensionTestsEnv: { VITLENS_TEST_RESULTS: resultsFile, VITLENS_SCREENSHOTS_DIR: screenshots },
    });
  } catch (e) {
    runError = e;
  }

  recordSuiteResults('integration', resultsFile, runError, runError?.code);
}

/**
 * Adds a mocha suite's results file (written by test/integration/suite/index.ts) to the totals. `failure` is truthy
 * when the run failed, `exitCode` the runner's code (1 tests failed, 2 code-server/workbench, 3 timeout, 4 crash).
 */
function recordSuiteResults(label, resultsFile, failure, exitCode) {
  let r = null;
  try {
    r = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
  } catch {
    /* missing: the suite never ran */
  }
  if (r) {
    totals.passed += r.passed;
    totals.failed += r.failed;
    totals.skipped += r.skipped;
    for (const f of r.failures || []) problems.push(`${label}: ${f.title}\n    ${String(f.error).split('\n').slice(0, 6).join('\n    ')}`);
    console.log(`${label}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped (${elapsed()})`);
  }
  const why =
    exitCode === 4
      ? 'the extension host crashed'
      : exitCode === 3
        ? 'the run timed out'
        : exitCode === 2
          ? 'code-server or the workbench failed'
          : failure
            ? failure.message
            : null;
  if (!r) {
    totals.failed++;
    problems.push(`${label} tests produced no results${why ? ` (${why})` : ''}`);
  } else if (!r.complete) {
    totals.failed++;
    problems.push(`${label} run did not complete${why ? ` (${why})` : ''}`);
  } else if (failure && (r.failed === 0 || exitCode !== 1)) {
    totals.failed++;
    problems.push(`${label} run failed: ${why}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 3. the installed VSIX in a real VS Code
/** The demo models (models/demo/, packed into the VSIX) the VSIX suite points the settings at: its screenshots are the README's. */
const VSIX_SUITE_MODELS = { 'vitLens.model': 'demo:shapes-vit', 'vitLens.depthModel': 'demo:scenes-depth' };

async function vsixTests() {
  banner('installed-VSIX test (the packaged extension in a real VS Code)');
  if (process.env.VITLENS_SKIP_INTEGRATION === '1' || process.env.VITLENS_SKIP_VSIX === '1') {
    console.log(`skipped: ${process.env.VITLENS_SKIP_VSIX === '1' ? 'VITLENS_SKIP_VSIX=1' : 'VITLENS_SKIP_INTEGRATION=1'}`);
    return;
  }
  if (process.env.VITLENS_VSCODE === 'download' || process.env.VSCODE_EXECUTABLE_PATH) {
    // installing a VSIX needs the offline runner's code-server
    console.log('skipped: the installed-VSIX test runs on the offline code-server only');
    totals.skipped++;
    return;
  }
  const target = `${process.platform}-${process.arch}`;
  const fail = (msg) => {
    totals.failed++;
    problems.push(`vsix: ${msg}`);
    console.error(problems.at(-1));
  };
  if (!ensureOfflineVSCode()) {
    fail('offline VS Code setup failed');
    return;
  }
  const vsix = vsixPath(target);
  if (vsixIsStale(target)) {
    console.log(`packaging ${path.relative(root, vsix)} (missing or older than the sources)…`);
    const p = spawnSync(process.execPath, [path.join(root, 'scripts/package.mjs'), '--target', target], { cwd: root, stdio: 'inherit' });
    if (p.status !== 0) {
      fail(`npm run package -- --target ${target} failed (exit ${p.status})`);
      return;
    }
  } else {
    console.log(`${path.relative(root, vsix)} is up to date`);
  }
  const settings = VSIX_SUITE_MODELS;

  const workspace = path.join(results, 'vsix-workspace', 'images'); // the folder name shows in the screenshots
  fs.rmSync(path.dirname(workspace), { recursive: true, force: true });
  fs.mkdirSync(workspace, { recursive: true });
  // the demo's generated scenes (prepared out here, so the test itself loads no sharp into the extension host it checks)
  const demo = path.join(path.dirname(workspace), 'demo');
  const d = spawnSync(process.execPath, [path.join(root, 'dist/cli.js'), 'demo', '--out', demo], { cwd: root, stdio: 'ignore' });
  for (const f of ['scene.png', 'depth-scene.png']) {
    if (d.status !== 0 || !fs.existsSync(path.join(demo, f))) {
      fail(`vit-lens demo did not write ${f}`);
      return;
    }
    fs.copyFileSync(path.join(demo, f), path.join(workspace, f));
  }
  const resultsFile = path.join(results, 'vsix-results.json');
  const metricsFile = path.join(results, 'vsix-metrics.json');
  for (const f of [resultsFile, metricsFile]) fs.rmSync(f, { force: true });
  const code = await new Promise((res) => {
    const child = spawn(process.execPath, [path.join(root, 'scripts/vscode-offline/run-vscode-tests.mjs')], {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        VSIX: vsix,
        EXT_TESTS: path.join(root, 'dist/test/integration/vsix/index.js'),
        WORKSPACE: workspace,
        VSCODE_SETTINGS: JSON.stringify(settings),
        VITLENS_TEST_RESULTS: resultsFile,
        VITLENS_VSIX_METRICS: metricsFile,
        VITLENS_SCREENSHOTS_DIR: path.join(results, 'screenshots'),
      },
    });
    child.on('exit', (c, sig) => res(c ?? (sig ? 1 : 0)));
  });
  recordSuiteResults('vsix', resultsFile, code !== 0 ? new Error(`the runner exited with ${code}`) : null, code);
  if (fs.existsSync(metricsFile)) {
    const m = JSON.parse(fs.readFileSync(metricsFile, 'utf8'));
    const mb = (fs.statSync(vsix).size / 1024 / 1024).toFixed(1);
    console.log(
      `vsix: ${path.basename(vsix)} ${mb} MB; activation ${m.activation?.totalMs} ms (code loading ${m.activation?.codeLoadingMs} ms), ` +
        `time to first panel ${m.timeToFirstPanelMs} ms${m.dptDepth ? `, command → depth map ${m.dptDepth.enterToDepthMapMs} ms` : ''}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
if (process.env.VITLENS_SKIP_UNIT === '1') banner('unit tests skipped: VITLENS_SKIP_UNIT=1');
else await unitTests();
if (process.env.VITLENS_SKIP_UI === '1') banner('UI tests skipped: VITLENS_SKIP_UI=1');
else await uiTests();
await integrationTests();
await vsixTests();
banner(`summary (${elapsed()})`);
for (const p of problems) console.log('✗ ' + p);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 ? 1 : 0);
