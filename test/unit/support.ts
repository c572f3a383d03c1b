// Shared helpers of the unit tests (bundled into each test file by esbuild).
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AttentionTensor, ModelSummary } from '../../src/shared/attentionTypes';
import { defaultFixtureDir, ensureAllFixtures } from '../fixtures/builders/writeFixtures';

/** The repository root: the nearest folder above this bundle (dist/test/unit/<room>/…) with a package.json. */
export const repoRoot = (() => {
  for (let d = __dirname; path.dirname(d) !== d; d = path.dirname(d)) if (fs.existsSync(path.join(d, 'package.json'))) return d;
  return process.cwd();
})();
export const distDir = path.join(repoRoot, 'dist');
/** CC0 photos next to the repository, when present (CI and developers' machines; not a user's clone). */
export const sharedImages = path.resolve(repoRoot, '..', 'shared', 'images');
export const hasSharedImages = fs.existsSync(path.join(sharedImages, 'chelsea.png'));

let fixtures: Record<string, string> | undefined;
/** name → .onnx path of every fixture model (built on first use). */
export function fixtureModels(): Record<string, string> {
  return (fixtures ??= ensureAllFixtures(defaultFixtureDir(repoRoot)));
}

export function tempDir(prefix = 'vit-lens-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs the built `vit-lens` (dist/cli.js) in a real process to its end; a run that hangs is killed after `timeoutMs`. */
export function runCli(args: readonly string[], timeoutMs = 120_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [path.join(distDir, 'cli.js'), ...args], { encoding: 'utf8', timeout: timeoutMs });
}

/** `vit-lens …args` (runCli with its timeout). */
export const cli = (...args: string[]): SpawnSyncReturns<string> => runCli(args);

/** runCli of `args` with `--json <file>` among them: asserts exit 0 (stderr as the message), returns stdout and the parsed file. */
export function cliJson(args: readonly string[], timeoutMs?: number): { stdout: string; json: ReturnType<typeof JSON.parse> } {
  const r = runCli(args, timeoutMs);
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, json: JSON.parse(fs.readFileSync(args[args.indexOf('--json') + 1], 'utf8')) };
}

/** Deterministic random attention: each row a softmax of random logits, so every row sums to 1. */
export function randomAttention(layers: number, heads: number, tokens: number, seed = 1, temperature = 2): AttentionTensor {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const data = new Float32Array(layers * heads * tokens * tokens);
  for (let r = 0; r < layers * heads * tokens; r++) {
    let sum = 0;
    for (let j = 0; j < tokens; j++) {
      const v = Math.exp(temperature * 3 * rand());
      data[r * tokens + j] = v;
      sum += v;
    }
    for (let j = 0; j < tokens; j++) data[r * tokens + j] /= sum;
  }
  return { layers, heads, tokens, data };
}

/** Asserts every attention row sums to 1 (within tol) and has no negative entries. */
export function assertRowsSumToOne(t: AttentionTensor, tol = 1e-4): void {
  const n = t.tokens;
  for (let r = 0; r < t.layers * t.heads * n; r++) {
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const v = t.data[r * n + j];
      if (!(v >= 0)) throw new Error(`row ${r}: entry ${j} is ${v}`);
      sum += v;
    }
    if (Math.abs(sum - 1) > tol) throw new Error(`row ${r} (layer ${Math.floor(r / (t.heads * n))}) sums to ${sum}`);
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A result's model block for made-up results (1 layer, 1 head, CLS only, 32×32 input, 16 px patches), with `over` set. */
export function modelSummary(over: Partial<ModelSummary> = {}): ModelSummary {
  return {
    path: null,
    name: 'm',
    inputSize: [32, 32],
    patchSize: 16,
    numLayers: 1,
    numHeads: 1,
    specialTokens: { cls: true, distillation: false, registers: 0 },
    attentionSource: 'tapped',
    ...over,
  };
}
