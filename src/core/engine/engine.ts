// The engine: owns the onnxruntime sessions and runs requests one at a time from a queue (one ORT
// user per process: several concurrent ORT workers have crashed, onnxruntime#24486). Transport-free:
// engineWorker.ts connects it to process IPC; tests and benchmarks can drive it in-process.
import * as ortPackage from 'onnxruntime-node/package.json';
import { runAttentionPipeline } from '../attentionPipeline';
import { VitLensError, toErrorInfo } from '../errors';
import type { EngineCalls, EngineKind, FromEngine, ToEngine } from '../../shared/engineProtocol';
import { ModelCache } from './modelCache';

interface Job { id: number; kind: EngineKind; params: unknown; cancelled: boolean }

export class Engine {
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  readonly models = new ModelCache();

  constructor(private readonly send: (m: FromEngine) => void) {}

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
      try {
        const result = await this.execute(job);
        if (job.cancelled) throw new VitLensError('CANCELLED', 'Cancelled.');
        this.send({ type: 'result', id: job.id, result });
      } catch (e) {
        this.send({ type: 'error', id: job.id, error: toErrorInfo(e) });
      }
      this.running = undefined;
    }
  }

  private async execute(job: Job): Promise<unknown> {
    const ctl = {
      progress: (stage: string, fraction: number) => this.send({ type: 'progress', id: job.id, stage, fraction }),
      checkCancelled: () => { if (job.cancelled) throw new VitLensError('CANCELLED', 'Cancelled.'); },
    };
    switch (job.kind) {
      case 'attention': {
        const params = job.params as EngineCalls['attention']['params'];
        if (typeof params?.imagePath !== 'string') throw new VitLensError('BAD_REQUEST', 'attention: imagePath missing');
        return runAttentionPipeline(params, (p) => this.models.get(p), ctl);
      }
      case 'evict':
        return { evicted: await this.models.evict((job.params as EngineCalls['evict']['params']).modelPath) };
      case 'ping':
        return { pid: process.pid, node: process.versions.node, ort: ortPackage.version };
      default:
        throw new VitLensError('BAD_REQUEST', `unknown request kind ${String(job.kind)}`);
    }
  }
}
