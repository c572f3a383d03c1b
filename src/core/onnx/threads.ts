// How many threads onnxruntime uses inside one model run (intra-op threads). Engine-side only.
// onnxruntime's own default (0) is meant to be one thread per physical core, but on a 2-core Linux VM
// it ran ViT-B on one thread: 212 ms against 123 ms with two. So on Linux the engine asks for the cores
// it may use, counted here: physical cores (hyper-threads share a core's FMA units, and a GEMM gains
// nothing from them), within the process's CPU affinity and its cgroup's CPU quota. Elsewhere (no
// sysfs) it keeps onnxruntime's default, 0. A count set by the user (the vitLens.inferenceThreads
// setting, the CLI's --threads, or VITLENS_THREADS) wins.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { THREADS_ENV, isThreadCount } from '../../shared/engineProtocol';

/** Set by the engine's `configure` call; wins over the environment (0: automatic). */
let configured: number | undefined;

/** Sets the thread count for sessions created from now on: 0 automatic, undefined back to VITLENS_THREADS. */
export function setInferenceThreads(threads: number | undefined): void {
  configured = threads === undefined ? undefined : isThreadCount(threads) ? threads : 0;
}

/**
 * Threads for a model session: the configured count, else VITLENS_THREADS, else the usable physical
 * cores on Linux; 0 (onnxruntime's default) where they cannot be counted.
 */
export function inferenceThreads(): number {
  const fromEnv = Number(process.env[THREADS_ENV] ?? '');
  const chosen = configured ?? (isThreadCount(fromEnv) ? fromEnv : 0);
  return chosen > 0 ? chosen : automaticThreads();
}

let automatic: number | undefined;
function automaticThreads(): number {
  if (automatic === undefined) {
    const cores = physicalCores();
    automatic =
      cores === undefined
        ? 0
        : Math.max(
            1,
            Math.min(
              cores,
              os.availableParallelism(), // the affinity mask's CPU count
              cgroupCpuLimit() ?? Infinity,
            ),
          );
  }
  return automatic;
}

/**
 * Physical cores from Linux's sysfs: distinct (package, core) pairs among the online CPUs; undefined
 * elsewhere or when sysfs is unreadable. `root` is for tests.
 */
export function physicalCores(root = '/sys/devices/system/cpu'): number | undefined {
  try {
    const online = parseCpuList(fs.readFileSync(path.join(root, 'online'), 'utf8'));
    const cores = new Set<string>();
    for (const cpu of online) {
      const topology = path.join(root, `cpu${cpu}`, 'topology');
      const pkg = fs.readFileSync(path.join(topology, 'physical_package_id'), 'utf8').trim();
      const core = fs.readFileSync(path.join(topology, 'core_id'), 'utf8').trim();
      cores.add(`${pkg}:${core}`);
    }
    return cores.size > 0 ? cores.size : undefined;
  } catch {
    return undefined;
  }
}

/** "0-3,6,8-9" → [0, 1, 2, 3, 6, 8, 9]. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.trim().split(',').filter(Boolean)) {
    const [lo, hi] = part.split('-').map(Number);
    if (!Number.isInteger(lo)) continue;
    for (let c = lo; c <= (Number.isInteger(hi) ? hi : lo); c++) cpus.push(c);
  }
  return cpus;
}

/** CPUs allowed by a cgroup v2 quota (`cpu.max`: "quota period", or "max period"), rounded up; undefined without one. */
export function cgroupCpuLimit(cpuMax = '/sys/fs/cgroup/cpu.max'): number | undefined {
  try {
    const [quota, period] = fs.readFileSync(cpuMax, 'utf8').trim().split(/\s+/);
    const q = Number(quota);
    const p = Number(period);
    return quota !== 'max' && q > 0 && p > 0 ? Math.max(1, Math.ceil(q / p)) : undefined;
  } catch {
    return undefined;
  }
}
