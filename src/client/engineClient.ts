// Client of the engine process: used by the extension host and the CLI. Imports only node:child_process
// (no onnxruntime, no sharp), so the extension host stays light and responsive. Every request has an
// id, a timeout, progress events, cancellation and an error reply; an engine that dies rejects what
// it had and is restarted on the next request.
import { ChildProcess, fork } from 'node:child_process';
import { EngineCalls, EngineKind, FromEngine, PROVIDER_ENV, THREADS_ENV, ToEngine } from '../shared/engineProtocol';
import { VitLensError, fromErrorInfo } from '../shared/errors';

export interface RequestOptions {
  onProgress?: (stage: string, fraction: number) => void;
  /** Pieces of a streaming result (FromEngine 'partial'), in the order the engine sent them. */
  onPartial?: (data: unknown) => void;
  signal?: AbortSignal;
  /** Default 5 minutes: a first load of a large model can take a while. */
  timeoutMs?: number;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: RequestOptions['onProgress'];
  onPartial?: RequestOptions['onPartial'];
  cleanup: () => void;
}

export interface EngineClientOptions {
  /** Path of dist/engine.js. */
  enginePath: string;
  /** Lines the engine writes to stdout/stderr, and lifecycle events. */
  log?: (line: string) => void;
  /** After a cancel, how long a busy engine may take to stop before it is killed (native runs cannot be interrupted). */
  killAfterCancelMs?: number;
  /** onnxruntime's intra-op threads per model run; 0 or absent: one per usable physical core (core/onnx/threads.ts). */
  threads?: number;
  /** onnxruntime execution provider (cpu when absent; one the engine cannot use falls back to cpu with a note). */
  provider?: string;
}

/**
 * The engine process's environment: the caller's, plus the thread count and two glibc malloc settings.
 * onnxruntime-node copies every output of a run into a new ArrayBuffer (22 MB of attention per ViT-B
 * run) that is garbage soon after. With glibc's adaptive defaults the freed memory is often returned to
 * the system and the next run's copies page-fault it back in: 400–5500 faults a run, 10–100 ms on a VM
 * here. A fixed mmap threshold (32 MiB, glibc's ceiling on 64-bit) and a 256 MiB trim threshold keep
 * it in the heap. Settings already in the environment are kept; other C libraries ignore these names.
 */
export function engineProcessEnv(threads?: number, base: NodeJS.ProcessEnv = process.env, provider?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // Both or neither: a trim threshold alone turns glibc's adaptive mmap threshold off at 128 KiB, and
  // every 1.8 MB output copy is then mmapped and faulted in anew (measured: 5470 faults, +100 ms a run).
  if (base.MALLOC_MMAP_THRESHOLD_ === undefined && base.MALLOC_TRIM_THRESHOLD_ === undefined) {
    env.MALLOC_MMAP_THRESHOLD_ = String(32 << 20);
    env.MALLOC_TRIM_THRESHOLD_ = String(256 << 20);
  }
  if (threads !== undefined) env[THREADS_ENV] = String(threads);
  if (provider) env[PROVIDER_ENV] = provider;
  return env;
}

/** An engine's thread count for people: 0 is onnxruntime's own default. */
export const threadsLabel = (threads: number): string => (threads > 0 ? String(threads) : "onnxruntime's default");

export class EngineClient {
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private disposed = false;
  private reportedThreads: number | undefined;

  constructor(private readonly opts: EngineClientOptions) {}

  /** The engine's process id while it runs (tests check it is not the caller's). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** onnxruntime's threads per run, as the running engine last reported them (0: its default). */
  get threads(): number | undefined {
    return this.child ? this.reportedThreads : undefined;
  }

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    const log = this.opts.log ?? (() => {});
    const child = fork(this.opts.enginePath, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
      // In VS Code's Electron extension host, process.execPath is Electron: run it as plain Node.
      env: { ...engineProcessEnv(this.opts.threads, process.env, this.opts.provider), ELECTRON_RUN_AS_NODE: '1' },
    });
    this.child = child;
    child.stdout?.on('data', (b: Buffer) => log(`[engine] ${b.toString().trimEnd()}`));
    child.stderr?.on('data', (b: Buffer) => log(`[engine] ${b.toString().trimEnd()}`));
    this.ready = new Promise<void>((resolve, reject) => {
      child.once('error', (e) => reject(new VitLensError('ENGINE_CRASHED', `The inference engine could not start: ${e.message}`)));
      child.on('message', (m: FromEngine) => {
        if (m.type === 'ready') {
          this.reportedThreads = m.threads;
          log(`engine started (pid ${m.pid}, onnxruntime threads per run: ${threadsLabel(m.threads)})`);
          resolve();
          return;
        }
        this.onMessage(m);
      });
      child.once('exit', (code, signal) => {
        if (this.child === child) {
          this.child = undefined;
          this.ready = undefined;
        }
        const why = signal ? `signal ${signal}` : `exit code ${code}`;
        if (!this.disposed) log(`engine stopped (${why})`);
        reject(new VitLensError('ENGINE_CRASHED', `The inference engine stopped before it was ready (${why}).`));
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          p.cleanup();
          p.reject(
            new VitLensError(
              'ENGINE_CRASHED',
              `The inference engine stopped (${why}) during the request.`,
              'It restarts on the next run; see the ViT Lens output for details.',
            ),
          );
        }
      });
    });
    this.ready.catch(() => {});
    return this.ready;
  }

  private onMessage(m: FromEngine): void {
    if (m.type === 'ready') return;
    const p = this.pending.get(m.id);
    if (!p) return; // a reply to a cancelled or timed-out request
    if (m.type === 'progress') {
      p.onProgress?.(m.stage, m.fraction);
      return;
    }
    if (m.type === 'partial') {
      p.onPartial?.(m.data);
      return;
    }
    this.pending.delete(m.id);
    p.cleanup();
    if (m.type === 'result') p.resolve(m.result);
    else p.reject(fromErrorInfo(m.error));
  }

  async request<K extends EngineKind>(
    kind: K,
    params: EngineCalls[K]['params'],
    opts: RequestOptions = {},
  ): Promise<EngineCalls[K]['result']> {
    if (this.disposed) throw new VitLensError('CANCELLED', 'The engine was shut down.');
    if (opts.signal?.aborted) throw new VitLensError('CANCELLED', 'Cancelled.');
    await this.start();
    if (opts.signal?.aborted) throw new VitLensError('CANCELLED', 'Cancelled.'); // aborted while the engine started
    const child = this.child;
    if (!child) throw new VitLensError('ENGINE_CRASHED', 'The inference engine is not running.');
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
      const stop = (code: 'CANCELLED' | 'TIMEOUT', message: string) => {
        if (!this.pending.delete(id)) return;
        cleanup();
        this.send({ type: 'cancel', id });
        this.killIfStuck(child, id);
        reject(new VitLensError(code, message));
      };
      const onAbort = () => stop('CANCELLED', 'Cancelled.');
      const timer = setTimeout(() => stop('TIMEOUT', `The engine did not answer within ${Math.round(timeoutMs / 1000)} s.`), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      opts.signal?.addEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: opts.onProgress,
        onPartial: opts.onPartial,
        cleanup,
      });
      this.send({ type: 'request', id, kind, params });
    });
  }

  private send(m: ToEngine): void {
    try {
      this.child?.send(m);
    } catch (e) {
      this.opts.log?.(`engine send failed: ${(e as Error).message}`);
    }
  }

  /**
   * A cancelled request may be inside a native onnxruntime run, which cannot be interrupted. If the
   * engine has not replied to it within the grace period, kill it; the next request starts a new one.
   */
  private killIfStuck(child: ChildProcess, id: number): void {
    let replied = false;
    const onReply = (m: FromEngine) => {
      if (m.type !== 'progress' && m.type !== 'ready' && m.id === id) replied = true;
    };
    child.on('message', onReply);
    setTimeout(() => {
      child.off('message', onReply);
      if (!replied && child.exitCode === null && this.child === child) {
        this.opts.log?.(`engine still busy ${this.opts.killAfterCancelMs ?? 10_000} ms after a cancel: restarting it`);
        child.kill('SIGKILL');
      }
    }, this.opts.killAfterCancelMs ?? 10_000).unref();
  }

  /**
   * Changes onnxruntime's thread count (0: automatic). A running engine reloads its models with it at
   * their next run, after the requests already queued; a restarted engine gets it from its environment.
   */
  /** The execution provider of sessions made from now on (a running engine remakes its sessions). */
  async setProvider(provider: string, threads: number): Promise<void> {
    this.opts.provider = provider;
    if (this.child) await this.request('configure', { threads, provider });
  }

  async setThreads(threads: number): Promise<EngineCalls['configure']['result'] | undefined> {
    this.opts.threads = threads;
    if (!this.child) return undefined;
    const result = await this.request('configure', { threads });
    this.reportedThreads = result.threads;
    return result;
  }

  /** Stops the engine; pending requests are rejected. */
  dispose(): void {
    this.disposed = true;
    this.child?.kill();
    this.child = undefined;
    this.ready = undefined;
  }
}
