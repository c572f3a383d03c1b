// The engine: owns the onnxruntime sessions and runs requests one at a time from a queue (one ORT
// user per process: several concurrent ORT workers have crashed, onnxruntime#24486). Transport-free:
// worker.ts connects it to process IPC; tests and benchmarks can drive it in-process. Every request
// kind is dispatched through one table: the engine's own calls below, and each analysis's handlers
// (src/analyses/engine.ts).
import * as ortPackage from 'onnxruntime-node/package.json';
import { analysisHandlers } from '../../analyses/engine';
import { VitLensError, toErrorInfo } from '../../shared/errors';
import { EngineKind, FromEngine, ToEngine, isThreadCount } from '../../shared/engineProtocol';
import { AttentionStore } from './attentionStore';
import { recycleAttention } from '../placedOutputs';
import { ModelCache } from './modelCache';
import { inferenceThreads, setInferenceThreads } from '../onnx/threads';
import { providerStatus, setExecutionProvider } from '../onnx/providers';
import type { EngineContext, EngineHandlers, Handler } from './handlers';

interface Job {
  id: number;
  kind: EngineKind;
  params: unknown;
  cancelled: boolean;
}

type SessionCache = ModelCache<{ mtimeMs: number; session: { release(): Promise<void> } }>;

export class Engine {
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  readonly models = new ModelCache();
  /** Attention tensors of panel runs, sliced on request (`slice`). */
  readonly attentions = new AttentionStore(undefined, (line) => console.error(line));
  /** Analyses' own session caches (e.g. gates models), by id. */
  private readonly caches = new Map<string, SessionCache>();
  /** Every request kind's handler: the engine's own calls and every analysis's. */
  private readonly handlers: { [K in EngineKind]: Handler<K> };

  /** `send` must copy a message before it returns (process IPC serialises it): sent attention arrays are recycled. */
  /** `send` calls `sent` (when given) once the message is written to the channel. */
  constructor(private readonly send: (m: FromEngine, sent?: () => void) => void) {
    this.handlers = { ...this.ownHandlers(), ...analysisHandlers };
  }

  handle(msg: ToEngine): void {
    if (msg.type === 'cancel') {
      const queued = this.queue.findIndex((j) => j.id === msg.id);
      if (queued >= 0) {
        this.queue.splice(queued, 1);
        this.send({ type: 'error', id: msg.id, error: toErrorInfo(new VitLensError('CANCELLED', 'Cancelled.')) });
      } else if (this.running?.id === msg.id) {
        this.running.cancelled = true;
      }
      return;
    }
    if (msg.type === 'request') {
      this.queue.push({ id: msg.id, kind: msg.kind, params: msg.params, cancelled: false });
      void this.pump();
    }
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    while (this.queue.length > 0) {
      const job = (this.running = this.queue.shift()!);
      const recycle: Float32Array[] = [];
      try {
        const result = await this.execute(job, recycle);
        if (job.cancelled) throw new VitLensError('CANCELLED', 'Cancelled.');
        this.send({ type: 'result', id: job.id, result }); // serialised (copied) before send returns
        // The client has its copy: the run's attention array can serve the next run (see placedOutputs).
        for (const data of recycle) recycleAttention(data);
      } catch (e) {
        this.send({ type: 'error', id: job.id, error: toErrorInfo(e) });
      }
      this.running = undefined;
    }
  }

  private execute(job: Job, recycle: Float32Array[]): Promise<unknown> | unknown {
    const handler = Object.hasOwn(this.handlers, job.kind) ? (this.handlers[job.kind] as Handler<EngineKind>) : undefined;
    if (!handler) throw new VitLensError('BAD_REQUEST', `unknown request kind ${String(job.kind)}`);
    const ctx: EngineContext = {
      ctl: {
        progress: (stage: string, fraction: number) => this.send({ type: 'progress', id: job.id, stage, fraction }),
        checkCancelled: () => {
          if (job.cancelled) throw new VitLensError('CANCELLED', 'Cancelled.');
        },
        emit: (data: unknown) =>
          new Promise<void>((resolve) => {
            if (job.cancelled) return resolve();
            this.send({ type: 'partial', id: job.id, data }, resolve);
          }),
      },
      models: this.models,
      cache: <M extends { mtimeMs: number; session: { release(): Promise<void> } }>(id: string, create: () => ModelCache<M>) => {
        if (!this.caches.has(id)) this.caches.set(id, create() as unknown as SessionCache);
        return this.caches.get(id) as unknown as ModelCache<M>;
      },
      attentions: this.attentions,
      recycleAfterSend: (data) => recycle.push(data),
    };
    return handler(job.params as never, ctx);
  }

  /** Every session cache: the ViT/DPT one and the analyses' own. */
  private allCaches(): SessionCache[] {
    return [this.models as unknown as SessionCache, ...this.caches.values()];
  }

  /** The engine's own calls: slices of kept attention, cache control, threads, liveness. */
  private ownHandlers(): EngineHandlers<'slice' | 'release' | 'evict' | 'configure' | 'ping'> {
    return {
      slice: (params) => this.attentions.slice(params.attentionKey, params.query, params.rollout),
      release: (params) => ({ released: this.attentions.release(String(params?.attentionKey)) }),
      evict: async (params) => ({ evicted: (await Promise.all(this.allCaches().map((c) => c.evict(params.modelPath)))).some(Boolean) }),
      configure: async (params) => {
        const threads = params?.threads;
        const retained = params?.retainedResultsMB;
        if (threads !== undefined && !isThreadCount(threads))
          throw new VitLensError('BAD_REQUEST', `configure: threads must be a whole number from 0 to 256, not ${String(threads)}`);
        if (retained !== undefined && !(typeof retained === 'number' && retained >= 0 && retained <= 1 << 20)) {
          throw new VitLensError(
            'BAD_REQUEST',
            `configure: retainedResultsMB must be a number of MB from 0 to ${1 << 20}, not ${String(retained)}`,
          );
        }
        if (retained !== undefined) this.attentions.setBudget(retained * 2 ** 20);
        if (params?.provider !== undefined) setExecutionProvider(params.provider);
        if (threads !== undefined || params?.provider !== undefined) {
          if (threads !== undefined) setInferenceThreads(threads);
          await Promise.all(this.allCaches().map((c) => c.clear())); // sessions are made with a thread count and a provider
        }
        return { threads: inferenceThreads(), retainedResultsMB: this.attentions.budgetBytes / 2 ** 20 };
      },
      ping: () => ({
        pid: process.pid,
        node: process.versions.node,
        ort: ortPackage.version,
        threads: inferenceThreads(),
        provider: providerStatus(),
      }),
    };
  }
}
