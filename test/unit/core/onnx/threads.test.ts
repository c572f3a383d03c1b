// onnxruntime's thread count (core/onnx/threads.ts) and the engine process's environment
// (client/engineClient.ts engineProcessEnv): how cores are counted from a Linux sysfs tree and a cgroup
// quota, which setting wins, and how a running engine takes a new count.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { EngineClient, engineProcessEnv } from '../../../../src/client/engineClient';
import { VitLensError } from '../../../../src/shared/errors';
import { cgroupCpuLimit, inferenceThreads, parseCpuList, physicalCores, setInferenceThreads } from '../../../../src/core/onnx/threads';
import { writeSampleScene } from '../../../fixtures/builders/sampleImages';
import { distDir, fixtureModels, maxAbsDiff, tempDir } from '../../support';

/** A sysfs cpu folder: `online` and each CPU's topology, from [package, core] per CPU. */
function fakeSysfs(online: string, topology: Record<number, [number, number]>): string {
  const root = tempDir('vit-lens-sysfs-');
  fs.writeFileSync(path.join(root, 'online'), `${online}\n`);
  for (const [cpu, [pkg, core]] of Object.entries(topology)) {
    const dir = path.join(root, `cpu${cpu}`, 'topology');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'physical_package_id'), `${pkg}\n`);
    fs.writeFileSync(path.join(dir, 'core_id'), `${core}\n`);
  }
  return root;
}

test('parseCpuList reads sysfs CPU lists', () => {
  assert.deepEqual(parseCpuList('0-3,6,8-9\n'), [0, 1, 2, 3, 6, 8, 9]);
  assert.deepEqual(parseCpuList('0\n'), [0]);
  assert.deepEqual(parseCpuList(''), []);
});

test('physicalCores counts distinct (package, core) pairs of the online CPUs', () => {
  // Two sockets × two cores × two hyper-threads: 8 CPUs, 4 physical cores.
  const smt = fakeSysfs('0-7', { 0: [0, 0], 1: [0, 1], 2: [1, 0], 3: [1, 1], 4: [0, 0], 5: [0, 1], 6: [1, 0], 7: [1, 1] });
  assert.equal(physicalCores(smt), 4);
  // A VM with two cores and no SMT, as on this project's CI machine.
  assert.equal(physicalCores(fakeSysfs('0-1', { 0: [0, 0], 1: [0, 1] })), 2);
  // Offline CPUs are not counted.
  assert.equal(physicalCores(fakeSysfs('0,2', { 0: [0, 0], 1: [0, 1], 2: [0, 2] })), 2);
  assert.equal(physicalCores(path.join(os.tmpdir(), 'no-such-sysfs')), undefined);
});

test('cgroupCpuLimit reads a cgroup v2 quota, rounded up', () => {
  const dir = tempDir('vit-lens-cgroup-');
  const file = path.join(dir, 'cpu.max');
  fs.writeFileSync(file, '150000 100000\n');
  assert.equal(cgroupCpuLimit(file), 2);
  fs.writeFileSync(file, '50000 100000\n');
  assert.equal(cgroupCpuLimit(file), 1);
  fs.writeFileSync(file, 'max 100000\n');
  assert.equal(cgroupCpuLimit(file), undefined);
  assert.equal(cgroupCpuLimit(path.join(dir, 'missing')), undefined);
});

test('inferenceThreads: a configured count, else VITLENS_THREADS, else the cores this process may use', () => {
  const saved = process.env.VITLENS_THREADS;
  try {
    delete process.env.VITLENS_THREADS;
    setInferenceThreads(undefined);
    const auto = inferenceThreads();
    // Linux: the usable physical cores; elsewhere 0, onnxruntime's own default.
    if (physicalCores() === undefined) assert.equal(auto, 0);
    else assert.ok(auto >= 1 && auto <= os.availableParallelism(), `automatic count ${auto}`);
    process.env.VITLENS_THREADS = '3';
    assert.equal(inferenceThreads(), 3);
    process.env.VITLENS_THREADS = 'many';
    assert.equal(inferenceThreads(), auto, 'a bad value falls back to the automatic count');
    process.env.VITLENS_THREADS = '3';
    setInferenceThreads(5);
    assert.equal(inferenceThreads(), 5, 'configure wins over the environment');
    setInferenceThreads(0);
    assert.equal(inferenceThreads(), auto, 'configure 0 is automatic, whatever the environment says');
  } finally {
    if (saved === undefined) delete process.env.VITLENS_THREADS;
    else process.env.VITLENS_THREADS = saved;
    setInferenceThreads(undefined);
  }
});

test('engineProcessEnv sets both glibc malloc thresholds or neither, and the thread count', () => {
  const env = engineProcessEnv(4, { PATH: '/bin' });
  assert.equal(env.PATH, '/bin');
  assert.equal(env.MALLOC_MMAP_THRESHOLD_, String(32 * 1024 * 1024));
  assert.equal(env.MALLOC_TRIM_THRESHOLD_, String(256 * 1024 * 1024));
  assert.equal(env.VITLENS_THREADS, '4');
  assert.equal(engineProcessEnv(undefined, {}).VITLENS_THREADS, undefined);
  // The user's own settings are kept; one of them alone gets no partner (a trim threshold alone
  // fixes the mmap threshold at 128 KiB, the slowest setting for this engine).
  assert.deepEqual(engineProcessEnv(undefined, { MALLOC_TRIM_THRESHOLD_: '1' }), { MALLOC_TRIM_THRESHOLD_: '1' });
  assert.equal(engineProcessEnv(undefined, { MALLOC_MMAP_THRESHOLD_: '7' }).MALLOC_MMAP_THRESHOLD_, '7');
});

let client: EngineClient | undefined;
after(() => client?.dispose());

test('the engine starts with the requested thread count and takes a new one while running', async () => {
  const logs: string[] = [];
  client = new EngineClient({ enginePath: path.join(distDir, 'engine.js'), threads: 1, log: (l) => logs.push(l) });
  assert.equal((await client.request('ping', {})).threads, 1);
  assert.equal(client.threads, 1, 'the client keeps the count the engine reported when it started');
  assert.ok(
    logs.some((l) => /engine started \(pid \d+, onnxruntime threads per run: 1\)/.test(l)),
    logs.join('\n'),
  );
  const image = await writeSampleScene(tempDir());
  const model = fixtureModels()['vit-tiny'];
  const before = await client.request('attention', { imagePath: image, modelPath: model });
  assert.deepEqual(await client.setThreads(2), { threads: 2, retainedResultsMB: 512 });
  assert.equal((await client.request('ping', {})).threads, 2);
  assert.equal(client.threads, 2);
  // The model is loaded again with the new count (creating a session takes well over 1 ms; a cached
  // one is a map lookup); the attention is the same up to float rounding.
  const afterChange = await client.request('attention', { imagePath: image, modelPath: model });
  assert.ok(afterChange.timingsMs.modelLoad > 1, `model load ${afterChange.timingsMs.modelLoad} ms`);
  assert.ok(maxAbsDiff(afterChange.attention.data, before.attention.data) < 1e-6);
  // The retained-result budget through configure: a bad value is refused, a good one taken, threads untouched.
  await assert.rejects(
    client.request('configure', { retainedResultsMB: -1 }),
    (e: Error & { code?: string }) => e.code === 'BAD_REQUEST' && /retainedResultsMB/.test(e.message),
  );
  assert.deepEqual(await client.request('configure', { retainedResultsMB: 64 }), { threads: 2, retainedResultsMB: 64 });
  await assert.rejects(client.request('configure', { threads: -1 }), (e: unknown) => e instanceof VitLensError && e.code === 'BAD_REQUEST');
  // 0 is the automatic count, even though this engine's environment still says 1.
  const automatic = (await client.setThreads(0))!.threads;
  const cores = physicalCores();
  assert.equal(automatic, cores === undefined ? 0 : Math.max(1, Math.min(cores, os.availableParallelism(), cgroupCpuLimit() ?? Infinity)));
});
