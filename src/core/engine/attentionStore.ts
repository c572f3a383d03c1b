// The attention tensors of recent panel runs, kept in the engine so a panel can ask for one query's
// slice at a time instead of receiving the whole [L, H, N, N] tensor (22 MB on ViT-B, 511 MB on
// DPT-Large at 384²). Least recently used first out, under a byte budget (the vitLens.retainedResultsMB
// setting, via `configure`); the newest always stays. A dropped result's slice answers RESULT_EXPIRED and
// its panel re-runs (host/panelBase.ts).
import { attentionSlice, shapeOf } from '../../maths/attention';
import { rolloutRowWasm } from '../pipeline/rolloutWasm';
import type { AttentionShape, AttentionSlice, AttentionTensor, RolloutSettings } from '../../shared/attentionTypes';
import { VitLensError } from '../../shared/errors';
import { recycleAttention } from '../placedOutputs';

interface Kept {
  tensor: AttentionTensor;
  firstPatch: number;
}

/** Default retained-result budget: 512 MiB, sized for a laptop (two or three DPT-B panels, or twenty ViT-B ones). */
export const DEFAULT_RETAINED_MB = 512;

export class AttentionStore {
  private readonly kept = new Map<string, Kept>();
  private seq = 0;

  /** `log` hears of every result dropped to stay within the budget (the engine writes it to stderr: the extension's log). */
  constructor(
    private maxBytes = DEFAULT_RETAINED_MB * 2 ** 20,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** A new budget in bytes; results over it are dropped at once (least recently used first, the newest kept). */
  setBudget(bytes: number): void {
    this.maxBytes = bytes;
    this.enforce(undefined);
  }

  get budgetBytes(): number {
    return this.maxBytes;
  }

  /** Bytes held now. */
  get bytes(): number {
    let bytes = 0;
    for (const k of this.kept.values()) bytes += k.tensor.data.byteLength;
    return bytes;
  }

  /** Drops least recently used results until the budget holds; `newest` always stays. */
  private enforce(newest: string | undefined): void {
    let bytes = this.bytes;
    const newestKey = newest ?? [...this.kept.keys()].pop();
    for (const [k, v] of this.kept) {
      if (bytes <= this.maxBytes || k === newestKey) break;
      this.kept.delete(k);
      bytes -= v.tensor.data.byteLength;
      recycleAttention(v.tensor.data);
      const mb = (n: number) => (n / 2 ** 20).toFixed(1);
      this.log(
        `retained results: dropped ${k} (${mb(v.tensor.data.byteLength)} MB, least recently used) to stay within ${mb(this.maxBytes)} MB; now ${this.kept.size} held, ${mb(bytes)} MB; its panel re-runs when it asks for a slice`,
      );
    }
  }

  /** Keeps a tensor (the caller must not reuse its buffer) and returns its key and the first slice. */
  keep(
    tensor: AttentionTensor,
    firstPatch: number,
    query: number,
    rollout: RolloutSettings,
  ): { key: string; shape: AttentionShape; slice: AttentionSlice } {
    const key = `a${++this.seq}`;
    this.kept.set(key, { tensor, firstPatch });
    this.enforce(key);
    return {
      key,
      shape: shapeOf(tensor),
      slice: attentionSlice(tensor, firstPatch, query, rollout, rolloutRowWasm),
    };
  }

  has(key: string): boolean {
    return this.kept.has(key);
  }

  slice(key: string, query: number, rollout: RolloutSettings): AttentionSlice {
    const k = this.kept.get(key);
    if (!k) throw new VitLensError('RESULT_EXPIRED', 'This attention result is no longer held by the engine.', 'Run the panel again.');
    if (!(query >= 0 && query < k.tensor.tokens) || !(rollout.startLayer >= 0 && rollout.startLayer < k.tensor.layers)) {
      throw new VitLensError('BAD_REQUEST', `slice: query ${query} or start layer ${rollout.startLayer} is out of range`);
    }
    this.kept.delete(key); // most recently used last
    this.kept.set(key, k);
    return attentionSlice(k.tensor, k.firstPatch, query, rollout, rolloutRowWasm);
  }

  /** Drops a kept result (no longer shown); its array is recycled for the next run. */
  release(key: string): boolean {
    const k = this.kept.get(key);
    if (!k) return false;
    this.kept.delete(key);
    recycleAttention(k.tensor.data);
    return true;
  }

  get size(): number {
    return this.kept.size;
  }
}
