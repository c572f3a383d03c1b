// The explain analysis's engine request and its result: class-specific maps (occlusion, RISE) made from
// masked forward passes, and the perturbation test of every map. Types only.
import type { HeadFusion, ImageRunHeader, Prediction, ViewImage } from '../../shared/attentionTypes';
import type { StageTimings } from '../../shared/timings';
import type { ScoreKind } from '../../maths/explain';

export type ExplainMethod = 'occlusion' | 'rise';
export type ExplainRemoval = 'key-mask' | 'pixel-fill';
/** A CNN's pixel-fill cells: 16 px, the patch of a ViT-B/16 (14 × 14 cells at 224²); the grid is ⌈H/16⌉ × ⌈W/16⌉. */
export const PIXEL_FILL_CELL = 16;
/** The maps the perturbation test scores, the seeded random map being the floor. */
export type FaithfulnessMapName = 'rollout' | 'attention' | 'raw' | 'occlusion' | 'rise' | 'random';
export const FAITHFULNESS_MAPS: readonly FaithfulnessMapName[] = ['rollout', 'attention', 'raw', 'occlusion', 'rise', 'random'];

/** What a request leaves out: occlusion windows of 2×2 patches, 500 RISE samples, seed 0, 16 masks per run, p_c. */
export const EXPLAIN_DEFAULTS = { window: 2, samples: 500, seed: 0, batch: 16, score: 'probability' } as const;

export interface ExplainParams {
  imagePath: string;
  modelPath: string;
  maxPixels?: number;
  /** The target class: an index, or a label of config.json's id2label; neither → the top-1. */
  target?: number | string;
  methods: ExplainMethod[];
  /** Occlusion window side in patches (default 2). */
  window?: number;
  /** RISE samples (default 500). */
  samples?: number;
  /** Seed of RISE's masks and of the random map (default 0). */
  seed?: number;
  /** What a masked run scores: p_c (default) or its log-odds. The perturbation curves always record p_c. */
  score?: ScoreKind;
  /** A DPT depth model's target: the mean predicted depth inside this box, [x0, y0, x1, y1] in image pixels (default: the whole image). */
  region?: [number, number, number, number];
  /** The 'rollout' map's settings (default mean fusion, no discarding). */
  rollout?: { fusion: HeadFusion; discardRatio: number };
  /** The 'attention' map: CLS attention of this layer (default the last) and head (default the mean). */
  attentionView?: { layer: number; head: number | 'mean' };
  /** Also RISE's deletion / insertion curves at one-patch steps (P + 1 runs per map and direction). */
  stepCurves?: boolean;
  /**
   * How patches are removed: 'key-mask' (default; a ViT's tokens, exact) or 'pixel-fill' (a CNN, which has
   * no tokens: cells of the input filled with the dataset's mean colour, an approximation).
   */
  removal?: ExplainRemoval;
  /** The perturbation test of every map (default true; false: the class-specific maps only, e.g. for a comparison). */
  faithfulness?: boolean;
  /** Masks per run when the batch axis is dynamic (default 16). */
  batch?: number;
  topK?: number;
}

/** One map's perturbation test (Chefer et al. 2021): p_c after removing ⌊i·P/10⌋ patches, i = 0…9. */
export interface FaithfulnessCurves {
  fractions: number[];
  /** Most relevant first: a faithful map drops p_c fast (lower AUC is better). */
  positive: number[];
  /** Least relevant first (higher AUC is better). */
  negative: number[];
  positiveAuc: number;
  negativeAuc: number;
  /** With stepCurves: RISE's deletion (most relevant removed first) and insertion curves, P + 1 points each. */
  deletion?: number[];
  insertion?: number[];
  deletionAuc?: number;
  insertionAuc?: number;
}

export type ExplainTimings = StageTimings<'decode' | 'modelLoad' | 'attention' | 'occlusion' | 'rise' | 'faithfulness'>;

export interface ExplainResult extends ImageRunHeader {
  firstPatchToken: number;
  tokens: number;
  target: Prediction;
  predictions: Prediction[];
  /** Every class's label (id2label or "class i"), for the class picker. */
  labels: string[];
  removal: ExplainRemoval;
  /** False when the head pools patch outputs: removed tokens still reach that pool. */
  removalExact: boolean;
  removalNote?: string;
  /** 'meanDepth' for a DPT depth model (the target's `probability` is then the mean depth in `region`). */
  score: ScoreKind | 'meanDepth';
  region?: [number, number, number, number];
  window: number;
  samples: number;
  seed: number;
  /** Row-major over the patch grid (a CNN's: its pixel-fill cells), not rescaled; a CNN has no attention maps. */
  maps: Partial<Record<FaithfulnessMapName, Float32Array>> & { random: Float32Array };
  faithfulness: Partial<Record<FaithfulnessMapName, FaithfulnessCurves>>;
  /** Masked forward passes (images, not batches) and masks per batch. */
  runs: number;
  batch: number;
  timingsMs: ExplainTimings;
  view: ViewImage;
}

/** A result as the attention panel receives it: without the view image (the panel has it). */
export type PanelExplainResult = Omit<ExplainResult, 'view'>;

/** What the pipeline streams while it works (ctl.emit). */
export type ExplainPartial =
  | { kind: 'occlusion'; pass: 'coarse' | 'fine'; done: number; total: number; map: Float32Array }
  | { kind: 'rise'; done: number; total: number; map: Float32Array };

export interface ExplainCalls {
  explain: { params: ExplainParams; result: ExplainResult };
}
