// A lock file shared between processes (two VS Code windows, a window and the CLI) so that only one
// of them downloads a given model at a time. Created with O_EXCL; the holder refreshes its mtime as a
// heartbeat. A lock is stale when its holder process is gone (same host) or its heartbeat stopped
// (another host on a shared disk, a frozen process); a stale lock is taken over.
// Node built-ins only (runs in the extension host): never onnxruntime-node, sharp or vscode.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import { sleep } from './hubDownload';

export interface LockHolder {
  pid: number;
  hostname: string;
  startedAt: string;
  token: string;
}

export interface LockOptions {
  signal?: AbortSignal;
  /** How often a waiting process looks again (default 500 ms). */
  pollMs?: number;
  /** A heartbeat older than this makes the lock stale (default 30 s; the holder refreshes every third of it). */
  staleMs?: number;
  /** Called once when the lock is held by someone else and we start waiting. */
  onWait?: (holder: LockHolder | undefined) => void;
}

export interface HeldLock {
  readonly file: string;
  release(): Promise<void>;
}

function readHolder(file: string): LockHolder | undefined {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder; } catch { return undefined; }
}

/** True when `pid` is a live process on this host (EPERM: alive, just not ours). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Whether an existing lock can be taken over; undefined when the file vanished meanwhile. */
function lockState(file: string, staleMs: number): { stale: boolean; holder?: LockHolder } | undefined {
  let mtimeMs: number;
  try { mtimeMs = fs.statSync(file).mtimeMs; } catch { return undefined; }
  const holder = readHolder(file);
  if (holder && holder.hostname === os.hostname() && !processAlive(holder.pid)) return { stale: true, holder };
  return { stale: Date.now() - mtimeMs > staleMs, holder };
}

/**
 * Acquires `file`, waiting (abortably: CANCELLED) while a live holder has it. The heartbeat timer is
 * unref'd, so a held lock never keeps a process alive.
 */
export async function acquireLock(file: string, o: LockOptions = {}): Promise<HeldLock> {
  const pollMs = o.pollMs ?? 500;
  const staleMs = o.staleMs ?? 30_000;
  const me: LockHolder = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString(), token: randomUUID() };
  let waiting = false;
  for (;;) {
    if (o.signal?.aborted) await sleep(0, o.signal); // throws CANCELLED
    try {
      const fd = fs.openSync(file, 'wx');
      try { fs.writeSync(fd, JSON.stringify(me)); } finally { fs.closeSync(fd); }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const state = lockState(file, staleMs);
    if (!state) continue; // released between our attempt and the look: try again now
    if (state.stale) {
      // Rename first: of several processes taking over the same stale lock, only one rename succeeds.
      const aside = `${file}.stale-${me.token}`;
      try { fs.renameSync(file, aside); fs.rmSync(aside, { force: true }); } catch { /* someone else took it over */ }
      continue;
    }
    if (!waiting) { waiting = true; o.onWait?.(state.holder); }
    await sleep(pollMs, o.signal);
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    fsp.utimes(file, now, now).catch(() => undefined);
  }, Math.max(50, Math.floor(staleMs / 3)));
  heartbeat.unref();
  let released = false;
  return {
    file,
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      // Only remove the file if it is still ours (a stale takeover may have replaced it).
      if (readHolder(file)?.token === me.token) await fsp.rm(file, { force: true });
    },
  };
}
