// The compare analysis (A/B): two models' attention on one image, side by side, with their difference.
// Its engine request and result types. Types only.
import type { AttentionSlice, HeadStat, PanelResult, RolloutSettings } from '../../shared/attentionTypes';

/** What tells the two runs apart, a − b. */
export interface Comparison {
  /** Both models have the same patch grid (the difference map needs it). */
  sameGrid: boolean;
  /** Both have the same heads and tokens per layer (layerChange needs it). */
  sameShape: boolean;
  /** Why a part is missing, for people. */
  note?: string;
  /** rollout(a) − rollout(b) over the patches (length gh·gw), or null when the grids differ. */
  rolloutDifference: Float32Array | null;
  /** Per (layer, head) both have: mean attention distance and entropy, a − b. */
  headDeltas: HeadStat[];
  /** Per layer: mean over heads and query rows of ½·Σ|A_a − A_b|; null when the shapes differ. */
  layerChange: number[] | null;
}

export interface CompareResult {
  a: PanelResult;
  b: PanelResult;
  /** Query 0 (CLS) of each, with the request's rollout settings. */
  sliceA: AttentionSlice;
  sliceB: AttentionSlice;
  comparison: Comparison;
  /** B is the previous result of model A (a checkpoint rewritten since), not another model. */
  bIsPrevious: boolean;
  /** The engine keeps this run of A: pass it as `againstKey` to compare a later checkpoint with it. */
  runKey: string;
}

export interface CompareCalls {
  /**
   * Model A against model B (`modelPathB`), or against an earlier run of A kept by the engine
   * (`againstKey`, from a CompareResult's runKey: the previous checkpoint).
   */
  compare: {
    params: {
      imagePath: string;
      modelPath: string | null;
      modelPathB?: string | null;
      againstKey?: string;
      topK?: number;
      maxPixels?: number;
      rollout: RolloutSettings;
    };
    result: CompareResult;
  };
}
