// What the benchmark scripts share (scripts/bench.ts, scripts/benchWorkbench.ts): flags, medians, the
// benchmark image, and the bare onnxruntime run every ratio is taken against.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { sampleScenePng } from '../src/fixtures/sampleImages';
import { defaultFixtureDir } from '../src/fixtures/writeFixtures';

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
 * Median of `runs` bare session.run calls of the untapped model file on this pixel tensor, after one
 * warm-up; the session is released afterwards. Measure it in its own phase, not interleaved with
 * another session: an idle session's spinning threads slow the other's runs on a 2-core machine.
 */
export async function bareRunMs(modelPath: string, pixels: Float32Array, height: number, width: number, runs: number): Promise<number> {
  const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'all' });
  const feed = { [session.inputNames[0]]: new ort.Tensor('float32', pixels, [1, 3, height, width]) };
  await session.run(feed);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feed);
    times.push(performance.now() - t0);
  }
  await session.release();
  return median(times);
}
