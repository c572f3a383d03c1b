// Run control and stage timing for every pipeline (pipeline kit, src/core/pipeline). A pipeline is pure
// stages (decode → preprocess → run → post-process); between stages it reports progress and checks for a
// cancel (onnxruntime's run itself cannot be interrupted), and one StageTimer measures them all.
import { VitLensError } from '../../shared/errors';
import type { StageTimings } from '../../shared/timings';

/** Stage hooks: progress reports and cooperative cancellation (throw CANCELLED between stages). */
export interface RunControl {
  progress(stage: string, fraction: number): void;
  checkCancelled(): void;
  /**
   * Streams a piece of the result to the client now (a gallery entry, a DPT map); absent: nobody listens.
   * Resolves once the piece has left the process: a big one is written to the pipe while the event
   * loop runs, so a caller that computes on at once (sync JS) can await it to let it go first.
   */
  emit?(data: unknown): void | Promise<void>;
}

export const noControl: RunControl = { progress: () => {}, checkCancelled: () => {} };

/**
 * Times consecutive stages: `mark(s)` ends stage `s` at this moment (the time since the previous mark is
 * added to it). `timings()` gives every stage (0 when never marked) and the total since the timer started.
 */
export class StageTimer<S extends string> {
  private readonly t0 = performance.now();
  private last = this.t0;
  private readonly ms: Record<string, number> = {};

  constructor(stages: readonly S[]) {
    for (const s of stages) this.ms[s] = 0;
  }

  mark(stage: S): void {
    const now = performance.now();
    this.ms[stage] += now - this.last;
    this.last = now;
  }

  timings(): StageTimings<S> {
    return { ...this.ms, total: performance.now() - this.t0 } as StageTimings<S>;
  }
}

/**
 * The error of an onnxruntime run that threw: `subject` names the model file (and what ran on it),
 * `e` gives onnxruntime's first line, `hint` what to check.
 */
export function inferenceFailed(
  subject: string,
  e: unknown,
  hint = 'The input size may not match the model; check preprocessor_config.json.',
): VitLensError {
  return new VitLensError('INFERENCE_FAILED', `onnxruntime failed on ${subject}: ${(e as Error).message.split('\n')[0]}`, hint);
}
