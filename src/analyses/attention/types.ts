// The attention analysis's engine requests. Its result types are the shared attention contract
// (src/shared/attentionTypes.ts: DPT backbones and the webview's slices use them too). Types only.
import type { AttentionResult, AttentionSlice, PanelResult, RolloutSettings } from '../../shared/attentionTypes';

export interface AttentionCalls {
  /** Attention of a ViT (or raw attention when modelPath is null) on one image. */
  attention: {
    params: { imagePath: string; modelPath: string | null; topK?: number; maxPixels?: number };
    result: AttentionResult;
  };
  /**
   * `attention` for a panel: the engine keeps the full tensor (key `attentionKey`) and returns its shape
   * and the slice of query 0 with these rollout settings; later slices come from `slice`.
   */
  attentionPanel: {
    params: AttentionCalls['attention']['params'] & { rollout: RolloutSettings };
    result: { result: PanelResult; slice: AttentionSlice; attentionKey: string };
  };
}
