// What the benchmark scripts share (scripts/bench.ts, scripts/benchWorkbench.ts): flags, medians, the
// benchmark image, and the bare onnxruntime run every ratio is taken against.
import fs from 'node:fs';
import path from 'node:path';
import { fork } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { engineProcessEnv } from '../src/client/engineClient';
import { inferenceThreads } from '../src/core/onnx/threads';
import { recycleAttention } from '../src/core/placedOutputs';
import { sampleScenePng } from '../test/fixtures/builders/sampleImages';
import { defaultFixtureDir } from '../test/fixtures/builders/writeFixtures';

export const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
export const arg = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
export const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
export const fmt = (ms: number): string => `${ms.toFixed(1).padStart(7)} ms`;

/** --image, else the CC0 photo beside the repository, else the generated sample scene. */
export async function benchImage(): Promise<string> {
  const given = arg('--image');
  if (given) return path.resolve(given);
  const photo = path.resolve(root, '..', 'shared', 'images', 'chelsea.png');
  if (fs.existsSync(photo)) return photo;
  const generated = path.join(defaultFixtureDir(root), 'sample-scene.png');
  fs.writeFileSync(generated, await sampleScenePng());
  return generated;
}

/**
 * Runs this benchmark script again in a child process with the engine process's environment (its glibc
 * malloc settings, client/engineClient.ts engineProcessEnv), so the pipeline and its bare reference are
 * measured as the engine runs them. Returns the child's exit code in the parent, undefined in the child.
 */
export async function inEngineEnvironment(): Promise<number | undefined> {
  if (process.env.VITLENS_BENCH_CHILD) return undefined;
  const child = fork(process.argv[1], process.argv.slice(2), { env: { ...engineProcessEnv(), VITLENS_BENCH_CHILD: '1' }, stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

/**
 * A bare session.run of the untapped model file on this pixel tensor; `run` returns its milliseconds.
 * `threads`: onnxruntime's intra-op threads, by default the engine's (core/onnx/threads.ts) so that the
 * two sides differ only by ViT Lens's work; 0 is onnxruntime's own default.
 */
export async function openBareSession(modelPath: string, pixels: Float32Array, height: number, width: number, threads = inferenceThreads()): Promise<{ run(): Promise<number>; release(): Promise<void> }> {
  const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'all', intraOpNumThreads: threads });
  const feed = { [session.inputNames[0]]: new ort.Tensor('float32', pixels, [1, 3, height, width]) };
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
export async function alternateWithBare(bare: () => Promise<number>, measured: (counted: boolean) => Promise<void>, runs: number, perBlock = 4): Promise<number[]> {
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
 * Stage medians of a pipeline against the bare run of `modelPath` on the same pixels, in alternating
 * blocks (alternateWithBare). Each result's attention array is recycled, as the engine does once a
 * result is sent or superseded (core/placedOutputs.ts).
 */
export async function pipelineAgainstBare(
  modelPath: string, pixels: Float32Array, height: number, width: number,
  runPipeline: () => Promise<{ timingsMs: object; attention?: { data: Float32Array } }>, stageNames: string[], runs: number,
): Promise<{ bareMs: number; stages: Record<string, number> }> {
  const bare = await openBareSession(modelPath, pixels, height, width);
  const stages: Record<string, number[]> = Object.fromEntries(stageNames.map((k) => [k, []]));
  const bareTimes = await alternateWithBare(bare.run, async (counted) => {
    const r = await runPipeline();
    if (counted) for (const k of stageNames) stages[k].push((r.timingsMs as Record<string, number>)[k]);
    if (r.attention) recycleAttention(r.attention.data);
  }, runs);
  await bare.release();
  return { bareMs: median(bareTimes), stages: Object.fromEntries(stageNames.map((k) => [k, median(stages[k])])) };
}

/**
 * Median of `runs` bare session.run calls of the untapped model file on this pixel tensor, after one
 * warm-up; the session is released afterwards. For a measured side in another process (the workbench),
 * where blocks cannot alternate: an idle session's spinning threads would slow the other's runs.
 */
export async function bareRunMs(modelPath: string, pixels: Float32Array, height: number, width: number, runs: number, threads = inferenceThreads()): Promise<number> {
  const bare = await openBareSession(modelPath, pixels, height, width, threads);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await bare.run());
  await bare.release();
  return median(times);
}
