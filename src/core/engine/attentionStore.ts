// The attention tensors of recent panel runs, kept in the engine so a panel can ask for one query's
// slice at a time instead of receiving the whole [L, H, N, N] tensor (22 MB on ViT-B, 511 MB on
// DPT-Large at 384²). Least recently used first out, under a byte budget; the newest always stays.
import { attentionSlice } from '../../maths/attention';
import type { AttentionShape, AttentionSlice, AttentionTensor, RolloutSettings } from '../../shared/attentionTypes';
import { VitLensError } from '../../shared/errors';
import { recycleAttention } from '../placedOutputs';

interface Kept { tensor: AttentionTensor; firstPatch: number }

export class AttentionStore {
  private readonly kept = new Map<string, Kept>();
  private seq = 0;

  constructor(private readonly maxBytes = 1.5 * 2 ** 30) {}

  /** Keeps a tensor (the caller must not reuse its buffer) and returns its key and the first slice. */
  keep(tensor: AttentionTensor, firstPatch: number, query: number, rollout: RolloutSettings): { key: string; shape: AttentionShape; slice: AttentionSlice } {
    const key = `a${++this.seq}`;
    this.kept.set(key, { tensor, firstPatch });
    let bytes = 0;
    for (const k of this.kept.values()) bytes += k.tensor.data.byteLength;
    for (const [k, v] of this.kept) {
      if (bytes <= this.maxBytes || k === key) break;
      this.kept.delete(k);
      bytes -= v.tensor.data.byteLength;
      recycleAttention(v.tensor.data);
    }
    return { key, shape: { layers: tensor.layers, heads: tensor.heads, tokens: tensor.tokens }, slice: attentionSlice(tensor, firstPatch, query, rollout) };
  }

  slice(key: string, query: number, rollout: RolloutSettings): AttentionSlice {
    const k = this.kept.get(key);
    if (!k) throw new VitLensError('RESULT_EXPIRED', 'This attention result is no longer held by the engine.', 'Run the panel again.');
    if (!(query >= 0 && query < k.tensor.tokens) || !(rollout.startLayer >= 0 && rollout.startLayer < k.tensor.layers)) {
      throw new VitLensError('BAD_REQUEST', `slice: query ${query} or start layer ${rollout.startLayer} is out of range`);
    }
    this.kept.delete(key); // most recently used last
    this.kept.set(key, k);
    return attentionSlice(k.tensor, k.firstPatch, query, rollout);
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
