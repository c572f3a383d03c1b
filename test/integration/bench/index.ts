// Workbench benchmark (not a test: run by `npm run bench` through scripts/benchWorkbench.ts). Loaded by
// the extension host as extensionTestsPath: runs Show Attention on copies of one image with the model
// in VITLENS_BENCH_MODEL and records, per run, the time from the command to the main map on screen
// (the webview's `painted`, wall clock) and to everything painted, plus the engine's own timings.
// Writes {runs: [...]} to VITLENS_BENCH_OUT. Run 0 is cold (engine start, model load); the rest warm.
// Two references measured in the same workbench: an empty webview's time to load (the floor of any new
// panel here), and the bare session.run while the workbench is open (forked), alternating with the re-runs.
// The re-runs also record CPU time by process (engine, Chromium, code-server): who else used the cores.
// VITLENS_BENCH_PAUSE: milliseconds of quiet before each re-run (default 300).
import { fork } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { VitLensApi } from '../../../src/host/extension';
import * as driver from '../driver';
import { cpuByProcess, cpuDelta } from './cpuByProcess';

/** VITLENS_BENCH_TRACE=<file.json>: what the trace of the last re-run records (main-thread tasks, JS, paint and raster). */
const TRACE_CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'v8.execute',
  'disabled-by-default-v8.cpu_profiler',
  'blink',
  'cc',
  'gpu',
  'toplevel',
  'ipc',
];

/** One new panel's figures. */
export interface RunRecord {
  commandToPaintedMs: number;
  commandToWebviewReceivedMs: number;
  commandToRunStartMs: number;
  commandToWebviewReadyMs: number;
  commandToRenderedMs: number;
  commandToResultPostedMs: number;
  engine: Record<string, number>;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Milliseconds from createWebviewPanel to the first message of a page that only says it loaded. */
async function emptyWebviewReadyMs(): Promise<number> {
  const t0 = performance.now();
  const panel = vscode.window.createWebviewPanel('vitLensBenchEmpty', 'empty', vscode.ViewColumn.Beside, { enableScripts: true });
  const loaded = new Promise<number>((resolve) => panel.webview.onDidReceiveMessage(() => resolve(performance.now() - t0)));
  panel.webview.html = `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-n0'"></head>
    <body><script nonce="n0">acquireVsCodeApi().postMessage('ready');</script></body></html>`;
  const ms = await loaded;
  panel.dispose();
  return ms;
}

/**
 * A bare onnxruntime session of the model in a forked process while this workbench is open
 * (scripts/benchWorkbench.ts --bare-server): `run()` answers one session.run's milliseconds. The re-runs
 * alternate with it, so both meet the same machine and the same workbench.
 */
async function bareInWorkbench(model: string, image: string): Promise<{ run(): Promise<number>; close(): void }> {
  const child = fork(path.join(__dirname, '..', '..', '..', 'benchWorkbench.js'), ['--bare-server', '--model', model, '--image', image], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<number>((resolve, reject) => {
      child.once('message', (m: { ms: number }) => resolve(m.ms));
      child.once('exit', (code) => reject(new Error(`the bare run exited (${code})`)));
    });
  await next(); // loaded and warmed up
  return {
    run: () => {
      const ms = next();
      child.send('run');
      return ms;
    },
    close: () => child.kill(),
  };
}

/** One re-run's figures, with the bare runs just before it. */
export interface RerunRecord {
  commandToPaintedMs: number;
  /** The first map: the host posts it, the webview receives it (its clock). */
  commandToMapPostedMs: number;
  commandToMapReceivedMs: number;
  commandToResultPostedMs: number;
  engine: Record<string, number>;
  cpuUntilResultPostedMs: Record<string, number>;
  cpuResultPostedToPaintedMs: Record<string, number>;
  bareMs: number;
}

/** What the benchmark writes to VITLENS_BENCH_OUT. */
export interface WorkbenchFigures {
  runs: RunRecord[];
  reruns: RerunRecord[];
  emptyWebview: number[];
}

export async function run(): Promise<void> {
  const model = process.env.VITLENS_BENCH_MODEL;
  const image = process.env.VITLENS_BENCH_IMAGE;
  const out = process.env.VITLENS_BENCH_OUT;
  const runs = Number(process.env.VITLENS_BENCH_RUNS ?? 6);
  if (!model || !image || !out) throw new Error('VITLENS_BENCH_MODEL, VITLENS_BENCH_IMAGE and VITLENS_BENCH_OUT must be set');
  const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
  const api = await vscode.extensions.getExtension<VitLensApi>('vit-lens.vit-lens')!.activate();
  await vscode.workspace.getConfiguration('vitLens').update('model', model, vscode.ConfigurationTarget.Workspace);
  const records: RunRecord[] = [];
  for (let i = 0; i < runs; i++) {
    // A fresh copy each time: every run opens a new panel, as a user inspecting another image does.
    const copy = path.join(ws, `bench-${i}${path.extname(image)}`);
    fs.copyFileSync(image, copy);
    const t0 = Date.now();
    const tp0 = performance.now();
    await vscode.commands.executeCommand('vitLens.showAttention', vscode.Uri.file(copy));
    const panel = await waitFor('panel', () => api.panel(copy));
    const painted = await waitFor('painted', () => panel.observation.received.find((m) => m.type === 'painted'));
    await waitFor('rendered', () => panel.observation.received.find((m) => m.type === 'rendered'));
    const obs = panel.observation;
    const engine = await waitFor('engine timings', () => obs.timingsMs);
    records.push({
      commandToPaintedMs: (painted.at as number) - t0,
      commandToWebviewReceivedMs: (painted.receivedAt as number) - t0,
      commandToRunStartMs: (obs.runStartedMs ?? NaN) - tp0,
      commandToWebviewReadyMs: (obs.readyAtMs ?? NaN) - tp0,
      commandToRenderedMs: (obs.renderedMs ?? NaN) + (obs.runStartedMs ?? 0) - tp0,
      commandToResultPostedMs: (obs.resultPostedMs ?? NaN) + (obs.runStartedMs ?? 0) - tp0,
      engine: { ...engine },
    });
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await new Promise((r) => setTimeout(r, 300));
  }
  // Re-runs in an open panel (the webview is loaded: what remains is the engine and the transport).
  const reruns: RerunRecord[] = [];
  const again = path.join(ws, `bench-rerun${path.extname(image)}`);
  fs.copyFileSync(image, again);
  await vscode.commands.executeCommand('vitLens.showAttention', vscode.Uri.file(again));
  const panel = await waitFor('panel', () => api.panel(again));
  await waitFor('rendered', () => panel.observation.received.find((m) => m.type === 'rendered'));
  const bare = await bareInWorkbench(model, image);
  const pause = () => new Promise((r) => setTimeout(r, Number(process.env.VITLENS_BENCH_PAUSE ?? 300)));
  for (let i = 0; i < runs; i++) {
    // Two bare runs (the second counted: the first may meet the engine's spinning threads), then the re-run.
    await pause();
    await bare.run();
    const bareMs = await bare.run();
    await pause();
    const t0 = Date.now();
    const tp0 = performance.now();
    const cpu0 = cpuByProcess();
    const trace = i === runs - 1 ? process.env.VITLENS_BENCH_TRACE : undefined; // the last re-run, when asked
    if (trace) await driver.request('traceStart', { categories: TRACE_CATEGORIES });
    await vscode.commands.executeCommand('vitLens.showAttention', vscode.Uri.file(again));
    const engine = await waitFor('timings', () => panel.observation.timingsMs); // the command returns once the result is posted
    const commandToResultPostedMs = Date.now() - t0;
    const cpu1 = cpuByProcess();
    const painted = await waitFor('painted', () => panel.observation.received.find((m) => m.type === 'painted' && (m.at as number) >= t0));
    if (trace) await driver.request('traceStop', { path: trace });
    reruns.push({
      commandToPaintedMs: (painted.at as number) - t0,
      commandToMapPostedMs: (panel.observation.mapPostedMs ?? NaN) + (panel.observation.runStartedMs ?? NaN) - tp0,
      commandToMapReceivedMs: (painted.receivedAt as number) - t0,
      commandToResultPostedMs,
      engine: { ...engine },
      cpuUntilResultPostedMs: cpuDelta(cpu0, cpu1),
      cpuResultPostedToPaintedMs: cpuDelta(cpu1, cpuByProcess()),
      bareMs,
    });
  }
  bare.close();
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  const emptyWebview: number[] = [];
  for (let i = 0; i < runs; i++) emptyWebview.push(await emptyWebviewReadyMs());
  fs.writeFileSync(out, JSON.stringify({ runs: records, reruns, emptyWebview } satisfies WorkbenchFigures, null, 2));
}
