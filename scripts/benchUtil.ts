// What the benchmark scripts share (scripts/bench.ts, scripts/benchWorkbench.ts): flags, medians, the
// benchmark image, and the bare onnxruntime run every ratio is taken against.
import fs from 'node:fs';
import path from 'node:path';
import { fork, spawn } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { engineProcessEnv, type EngineClient } from '../src/client/engineClient';
import { inferenceThreads } from '../src/core/onnx/threads';
import { recycleAttention } from '../src/core/placedOutputs';
import { photoOrSampleScene } from '../test/fixtures/builders/sampleImages';
import { defaultFixtureDir } from '../test/fixtures/builders/writeFixtures';

export const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
export const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
export const fmt = (ms: number): string => `${ms.toFixed(1).padStart(7)} ms`;

/** --image, else the CC0 photo beside the repository, else the generated sample scene. */
export async function benchImage(): Promise<string> {
  const given = arg('--image');
  if (given) return path.resolve(given);
  return photoOrSampleScene(root, path.join(defaultFixtureDir(root), 'sample-scene.png'));
}

/**
 * Runs this benchmark script again in a child process with the engine process's environment (its glibc
 * malloc settings, client/engineClient.ts engineProcessEnv), so the pipeline and its bare reference are
 * measured as the engine runs them. Returns the child's exit code in the parent, undefined in the child.
 */
export async function inEngineEnvironment(): Promise<number | undefined> {
  if (process.env.VITLENS_BENCH_CHILD) return undefined;
  const child = fork(process.argv[1], process.argv.slice(2), {
    env: { ...engineProcessEnv(), VITLENS_BENCH_CHILD: '1' },
    stdio: 'inherit',
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

/** A preprocessed image: its [1, 3, height, width] pixel tensor. */
export type PixelInput = { pixels: Float32Array; height: number; width: number };

/**
 * A bare session.run of the untapped model file on this pixel tensor; `run` returns its milliseconds.
 * `threads`: onnxruntime's intra-op threads, by default the engine's (core/onnx/threads.ts) so that the
 * two sides differ only by ViT Lens's work; 0 is onnxruntime's own default.
 */
export async function openBareSession(
  modelPath: string,
  input: PixelInput,
  threads = inferenceThreads(),
): Promise<{ run(): Promise<number>; release(): Promise<void> }> {
  const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'all', intraOpNumThreads: threads });
  const feed = { [session.inputNames[0]]: new ort.Tensor('float32', input.pixels, [1, 3, input.height, input.width]) };
  await session.run(feed); // warm-up
  return {
    async run() {
      const t0 = performance.now();
      await session.run(feed);
      return performance.now() - t0;
    },
    release: () => session.release(),
  };
}

/**
 * Bare runs and measured runs in alternating blocks of `perBlock` until each side has `runs`; returns
 * the bare times. This shared VM drifts by ±10 % over tens of seconds, which two separate phases would read as
 * a ratio change; alternating blocks meet the same drift. The first run of each block is not counted:
 * the other session's threads may still be spinning, and on 2 cores that slows it.
 */
export async function alternateWithBare(
  bare: () => Promise<number>,
  measured: (counted: boolean) => Promise<void>,
  runs: number,
  perBlock = 4,
): Promise<number[]> {
  const bareTimes: number[] = [];
  for (let round = 0; round < Math.ceil(runs / perBlock); round++) {
    await bare();
    for (let i = 0; i < perBlock; i++) bareTimes.push(await bare());
    await measured(false);
    for (let i = 0; i < perBlock; i++) await measured(true);
  }
  return bareTimes;
}

/**
 * A panel's engine request (IPC included) as the panel gets it: request → its first partial message (the
 * map), and → the whole result; in blocks alternating with bare runs of `modelPath` on `input` in this process (the
 * first of each block not counted: the other side's threads may still spin). `request` sends one request
 * with this onPartial; a kept attention is released after each. Medians, and the ratios to the bare one.
 */
export async function panelAgainstBare(
  client: EngineClient,
  request: (onPartial: () => void) => Promise<{ attentionKey?: string }>,
  modelPath: string,
  input: PixelInput,
  runs: number,
): Promise<{ bareMs: number; mapMs: number; doneMs: number; mapRatio: number; doneRatio: number }> {
  const mapTimes: number[] = [];
  const doneTimes: number[] = [];
  const panelRun = async (counted: boolean) => {
    const t0 = performance.now();
    let mapAt = NaN;
    const r = await request(() => {
      if (Number.isNaN(mapAt)) mapAt = performance.now() - t0; // the first partial: the map (more may follow)
    });
    const doneAt = performance.now() - t0;
    if (r.attentionKey) await client.request('release', { attentionKey: r.attentionKey });
    if (counted) {
      mapTimes.push(mapAt);
      doneTimes.push(doneAt);
    }
  };
  await panelRun(false); // load and first run
  const bare = await openBareSession(modelPath, input);
  const bareMs = median(await alternateWithBare(bare.run, panelRun, runs));
  await bare.release();
  const mapMs = median(mapTimes);
  const doneMs = median(doneTimes);
  return { bareMs, mapMs, doneMs, mapRatio: mapMs / bareMs, doneRatio: doneMs / bareMs };
}

/** The line of panelAgainstBare's figures. */
export const panelLine = (what: string, e: Awaited<ReturnType<typeof panelAgainstBare>>): string =>
  `${what} (IPC incl.), against bare ${fmt(e.bareMs)} alternated: request → map ${fmt(e.mapMs)} (ratio ${e.mapRatio.toFixed(3)}), → whole result ${fmt(e.doneMs)} (ratio ${e.doneRatio.toFixed(3)})`;

/**
 * Stage medians of a pipeline against the bare run of `modelPath` on the same pixels, in alternating
 * blocks (alternateWithBare). Each result's attention array is recycled, as the engine does once a
 * result is sent or superseded (core/placedOutputs.ts).
 */
export async function pipelineAgainstBare(
  modelPath: string,
  input: PixelInput,
  runPipeline: () => Promise<{ timingsMs: object; attention?: { data: Float32Array } }>,
  stageNames: string[],
  runs: number,
): Promise<{ bareMs: number; stages: Record<string, number> }> {
  const bare = await openBareSession(modelPath, input);
  const stages: Record<string, number[]> = Object.fromEntries(stageNames.map((k) => [k, []]));
  const bareTimes = await alternateWithBare(
    bare.run,
    async (counted) => {
      const r = await runPipeline();
      if (counted) for (const k of stageNames) stages[k].push((r.timingsMs as Record<string, number>)[k]);
      if (r.attention) recycleAttention(r.attention.data);
    },
    runs,
  );
  await bare.release();
  return { bareMs: median(bareTimes), stages: Object.fromEntries(stageNames.map((k) => [k, median(stages[k])])) };
}

/**
 * Median of `runs` bare session.run calls of the untapped model file on this pixel tensor, after one
 * warm-up; the session is released afterwards. For a measured side in another process (the workbench),
 * where blocks cannot alternate: an idle session's spinning threads would slow the other's runs.
 */
export async function bareRunMs(modelPath: string, input: PixelInput, runs: number, threads = inferenceThreads()): Promise<number> {
  const bare = await openBareSession(modelPath, input, threads);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await bare.run());
  await bare.release();
  return median(times);
}

/**
 * Peak memory of a process tree, Linux: the largest sum over the process and its children (the CLI and
 * its engine) of VmHWM (each process's own peak RSS) seen while polling /proc every 20 ms. Elsewhere 0.
 */
function treePeakBytes(pid: number): number {
  const hwm = (p: number): number => {
    try {
      return Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      return 0;
    }
  };
  let children: number[] = [];
  try {
    children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    /* gone */
  }
  return hwm(pid) + children.reduce((a, c) => a + hwm(c), 0);
}

export interface ColdRun {
  wallMs: number;
  peakBytes: number;
}

/** One whole process: wall time from spawn to exit, peak RSS of its tree. Throws when it fails. */
export function coldProcess(argv: string[], cwd = root): Promise<ColdRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let peak = 0;
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const poll = setInterval(() => {
      if (child.pid) peak = Math.max(peak, treePeakBytes(child.pid));
    }, 20);
    child.on('exit', (code) => {
      const wallMs = performance.now() - t0;
      clearInterval(poll);
      if (code !== 0) reject(new Error(`${argv.join(' ')} exited with ${code}: ${stderr.slice(0, 400)}`));
      else resolve({ wallMs, peakBytes: peak });
    });
  });
}

/** A bare onnxruntime-node process: create the session from the path, one run on a constant input, exit. */
export function bareColdArgv(modelPath: string, height: number, width: number, threads: number): string[] {
  const code = `const ort = require('onnxruntime-node');
(async () => {
  const [p, h, w, t] = process.argv.slice(1);
  const s = await ort.InferenceSession.create(p, { graphOptimizationLevel: 'all', intraOpNumThreads: Number(t) });
  const x = new ort.Tensor('float32', new Float32Array(3 * h * w).fill(0.1), [1, 3, Number(h), Number(w)]);
  await s.run({ [s.inputNames[0]]: x });
})().catch((e) => { console.error(e); process.exit(1); });`;
  return ['-e', code, modelPath, String(height), String(width), String(threads)];
}

export interface ColdFigures {
  runs: number;
  vitLens: { wallMs: number[]; peakBytes: number[] };
  bare: { wallMs: number[]; peakBytes: number[] };
  timeRatio: number;
  memoryRatio: number;
}

/** Cold figures: `runs` whole processes each side, alternated (bare, ViT Lens, bare, …); ratios of medians. `afterVitLens` runs after each ViT Lens process. */
export async function coldAgainstBare(
  vitLensArgv: string[],
  bareArgv: string[],
  runs: number,
  afterVitLens?: () => void,
): Promise<ColdFigures> {
  const v = { wallMs: [] as number[], peakBytes: [] as number[] };
  const b = { wallMs: [] as number[], peakBytes: [] as number[] };
  for (let i = 0; i < runs; i++) {
    for (const [argv, into] of (i % 2
      ? [
          [vitLensArgv, v],
          [bareArgv, b],
        ]
      : [
          [bareArgv, b],
          [vitLensArgv, v],
        ]) as [string[], typeof v][]) {
      const r = await coldProcess(argv);
      into.wallMs.push(r.wallMs);
      into.peakBytes.push(r.peakBytes);
      if (into === v) afterVitLens?.();
    }
  }
  return {
    runs,
    vitLens: v,
    bare: b,
    timeRatio: median(v.wallMs) / median(b.wallMs),
    memoryRatio: median(v.peakBytes) / median(b.peakBytes),
  };
}

/** "median (min–max)" of milliseconds or bytes. */
export const range = (xs: number[], unit: 'ms' | 'MB'): string => {
  const f = (x: number) => (unit === 'ms' ? `${x.toFixed(0)}` : `${(x / 2 ** 20).toFixed(0)}`);
  return `${f(median(xs))} ${unit} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
};
