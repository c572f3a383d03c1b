// The engine: owns the onnxruntime sessions and runs requests one at a time from a queue (one ORT
// user per process: several concurrent ORT workers have crashed, onnxruntime#24486). Transport-free:
// engineWorker.ts connects it to process IPC; tests and benchmarks can drive it in-process.
import * as ortPackage from 'onnxruntime-node/package.json';
import { runAttentionPipeline } from '../../analyses/attention/pipeline';
import { runDensePipeline } from '../../analyses/dense/pipeline';
import { runGatesPipeline } from '../../analyses/gates/pipeline';
import { detectModelKind, loadGatesModel } from '../../analyses/gates/gatesModel';
import { VitLensError, toErrorInfo } from '../../shared/errors';
import { EngineCalls, EngineKind, FromEngine, ToEngine, isThreadCount } from '../../shared/engineProtocol';
import { AttentionStore } from './attentionStore';
import { recycleAttention } from '../placedOutputs';
import type { AttentionTensor } from '../../shared/attentionTypes';
import { ModelCache } from './modelCache';
import { inferenceThreads, setInferenceThreads } from '../onnx/threads';

interface Job { id: number; kind: EngineKind; params: unknown; cancelled: boolean }

export class Engine {
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  readonly models = new ModelCache();
  /** Attention tensors of panel runs, sliced on request (`slice`). */
  readonly attentions = new AttentionStore();
  /** CNNs with SE/CBAM gates: their sessions carry the gate taps, so they are cached apart from ViTs. */
  readonly gateModels = new ModelCache(2, loadGatesModel);

  /** `send` must copy a message before it returns (process IPC serialises it): sent attention arrays are recycled. */
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
        this.send({ type: 'result', id: job.id, result }); // serialised (copied) before send returns
        // The client has its copy: the run's attention array can serve the next run (see placedOutputs).
        const sent = (job.kind === 'attention' || job.kind === 'dense') ? (result as { attention?: AttentionTensor }).attention : undefined;
        if (sent) recycleAttention(sent.data);
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
      case 'dense': {
        // DPT depth / segmentation: same ViT model cache (the loader adds the neck outputs to DPT graphs).
        const params = job.params as EngineCalls['dense']['params'];
        if (typeof params?.imagePath !== 'string' || typeof params.modelPath !== 'string') throw new VitLensError('BAD_REQUEST', 'dense: imagePath and modelPath are required');
        return runDensePipeline(params, (p) => this.models.get(p), ctl);
      }
      case 'gates': {
        const params = job.params as EngineCalls['gates']['params'];
        if (typeof params?.imagePath !== 'string' || typeof params.modelPath !== 'string') throw new VitLensError('BAD_REQUEST', 'gates: imagePath and modelPath are required');
        return runGatesPipeline(params, (p) => this.gateModels.get(p), ctl);
      }
      case 'modelKind': {
        const params = job.params as EngineCalls['modelKind']['params'];
        if (typeof params?.modelPath !== 'string') throw new VitLensError('BAD_REQUEST', 'modelKind: modelPath missing');
        return detectModelKind(params.modelPath);
      }
      case 'attentionPanel': {
        const params = job.params as EngineCalls['attentionPanel']['params'];
        if (typeof params?.imagePath !== 'string' || typeof params.rollout !== 'object') throw new VitLensError('BAD_REQUEST', 'attentionPanel: imagePath and rollout are required');
        const { attention, ...rest } = await runAttentionPipeline(params, (p) => this.models.get(p), ctl);
        const kept = this.attentions.keep(attention, rest.firstPatchToken, 0, params.rollout);
        return { result: { ...rest, attention: kept.shape }, slice: kept.slice, attentionKey: kept.key } satisfies EngineCalls['attentionPanel']['result'];
      }
      case 'densePanel': {
        const params = job.params as EngineCalls['densePanel']['params'];
        if (typeof params?.imagePath !== 'string' || typeof params.modelPath !== 'string' || typeof params.rollout !== 'object') throw new VitLensError('BAD_REQUEST', 'densePanel: imagePath, modelPath and rollout are required');
        const { attention, ...rest } = await runDensePipeline(params, (p) => this.models.get(p), ctl);
        if (!attention) return { result: rest } satisfies EngineCalls['densePanel']['result'];
        const kept = this.attentions.keep(attention, rest.firstPatchToken, 0, params.rollout);
        return { result: { ...rest, attention: kept.shape }, slice: kept.slice, attentionKey: kept.key } satisfies EngineCalls['densePanel']['result'];
      }
      case 'slice': {
        const params = job.params as EngineCalls['slice']['params'];
        return this.attentions.slice(params.attentionKey, params.query, params.rollout);
      }
      case 'release': {
        const params = job.params as EngineCalls['release']['params'];
        return { released: this.attentions.release(String(params?.attentionKey)) } satisfies EngineCalls['release']['result'];
      }
      case 'evict': {
        const modelPath = (job.params as EngineCalls['evict']['params']).modelPath;
        const [vit, gates] = await Promise.all([this.models.evict(modelPath), this.gateModels.evict(modelPath)]);
        return { evicted: vit || gates };
      }
      case 'configure': {
        const threads = (job.params as EngineCalls['configure']['params'])?.threads;
        if (!isThreadCount(threads)) throw new VitLensError('BAD_REQUEST', `configure: threads must be a whole number from 0 to 256, not ${String(threads)}`);
        setInferenceThreads(threads);
        await Promise.all([this.models.clear(), this.gateModels.clear()]); // sessions are made with a thread count
        return { threads: inferenceThreads() } satisfies EngineCalls['configure']['result'];
      }
      case 'ping':
        return { pid: process.pid, node: process.versions.node, ort: ortPackage.version, threads: inferenceThreads() };
      default:
        throw new VitLensError('BAD_REQUEST', `unknown request kind ${String(job.kind)}`);
    }
  }
}
