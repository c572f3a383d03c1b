// The attention analysis's engine requests. Its result types are the shared attention contract
// (src/shared/attentionTypes.ts: DPT backbones and the webview's slices use them too). Types only.
import type { AttentionResult, AttentionSlice, PanelResult, RolloutSettings } from '../../shared/attentionTypes';

/** A PanelResult without the raw baseline and the view PNG: what `vit-lens attention --json` writes. */
export type SummaryResult = Omit<PanelResult, 'baseline' | 'view'>;

export interface AttentionCalls {
  /** Attention of a ViT (or raw attention when modelPath is null) on one image. */
  attention: {
    params: { imagePath: string; modelPath: string | null; topK?: number; maxPixels?: number };
    result: AttentionResult;
  };
  /**
   * `attention` for a panel: the engine keeps the full tensor (key `attentionKey`) and returns its shape
   * and the slice of query 0 with these rollout settings; later slices come from `slice`. Streams the
   * AttentionMapPartial messages (the first map, then its rollout, ahead of the rest) before the result.
   */
  attentionPanel: {
    params: AttentionCalls['attention']['params'] & { rollout: RolloutSettings };
    result: { result: PanelResult; slice: AttentionSlice; attentionKey: string };
  };
  /**
   * What the CLI writes: the result without its tensor, raw baseline and view, and query 0's slice with
   * these rollout settings; the engine keeps nothing and streams no partial messages.
   */
  attentionSummary: {
    params: AttentionCalls['attention']['params'] & { rollout: RolloutSettings };
    result: { result: SummaryResult; slice: AttentionSlice };
  };
}

/**
 * A result as the attention panel shows it: a PanelResult whose raw baseline may still be on its way
 * (absent in the first map, AttentionMapPartial).
 */
export type PanelMapResult = Omit<PanelResult, 'baseline'> & { baseline?: PanelResult['baseline'] };

/**
 * attentionPanel's partial messages, in this order. `map`: the first map, before the raw baseline and
 * the head statistics (`result.headStats` empty, no `baseline`), with query 0's rows of every layer and
 * head ([L, H, N]: the attention view and its thumbnails). `rollout`: query 0's whole slice, its rollout
 * row added (a pass over the whole tensor), as in the whole result that follows.
 */
export type AttentionMapPartial = { kind: 'map'; result: PanelMapResult; rows: Float32Array } | { kind: 'rollout'; slice: AttentionSlice };
