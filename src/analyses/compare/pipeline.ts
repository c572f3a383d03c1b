// The compare pipeline: model A and model B (or A's previous checkpoint, kept here) through the attention
// pipeline on one image, then the comparison (src/maths/compare.ts). Engine side.
import { attentionSlice, shapeOf } from '../../maths/attention';
import { headDeltas, layerChange, rolloutDifference } from '../../maths/compare';
import { rolloutRowWasm } from '../../core/pipeline/rolloutWasm';
import type { AttentionResult, RolloutSettings } from '../../shared/attentionTypes';
import { VitLensError } from '../../shared/errors';
import type { LoadedModel } from '../../core/model/vitModel';
import { RunControl, noControl } from '../../core/pipeline/control';
import { runAttentionPipeline } from '../attention/pipeline';
import type { CompareCalls, CompareResult, Comparison } from './types';

/** Recent runs of A, full tensors included, for a later checkpoint to be compared with (LRU). */
const runs = new Map<string, AttentionResult>();
const MAX_RUNS = 4;
let seq = 0;

function keepRun(r: AttentionResult): string {
  const key = `c${++seq}`;
  runs.set(key, r);
  while (runs.size > MAX_RUNS) runs.delete(runs.keys().next().value as string);
  return key;
}

/** The comparison of two full results with these rollout settings. */
export function compareResults(
  a: AttentionResult,
  b: AttentionResult,
  rollout: RolloutSettings,
): { comparison: Comparison; sliceA: CompareResult['sliceA']; sliceB: CompareResult['sliceB'] } {
  const sliceA = attentionSlice(a.attention, a.firstPatchToken, 0, rollout, rolloutRowWasm);
  const sliceB = attentionSlice(
    b.attention,
    b.firstPatchToken,
    0,
    {
      ...rollout,
      startLayer: Math.min(rollout.startLayer, b.attention.layers - 1),
    },
    rolloutRowWasm,
  );
  const sameGrid = a.grid[0] === b.grid[0] && a.grid[1] === b.grid[1];
  const sameShape = a.attention.heads === b.attention.heads && a.attention.tokens === b.attention.tokens;
  const notes: string[] = [];
  if (!sameGrid)
    notes.push(
      `The models' token grids differ (${a.grid.join('×')} and ${b.grid.join('×')}): no difference map, the maps are shown side by side.`,
    );
  else if (!sameShape)
    notes.push(
      `The models' attention shapes differ (${a.attention.heads} heads × ${a.attention.tokens} tokens and ${b.attention.heads} × ${b.attention.tokens}): no per-layer change.`,
    );
  if (a.attention.layers !== b.attention.layers)
    notes.push(`A has ${a.attention.layers} layers and B ${b.attention.layers}: layers are paired by index.`);
  const comparison: Comparison = {
    sameGrid,
    sameShape,
    ...(notes.length ? { note: notes.join(' ') } : {}),
    rolloutDifference: sameGrid ? rolloutDifference(sliceA.rollout.map, sliceB.rollout.map) : null,
    headDeltas: headDeltas(a.headStats, b.headStats),
    layerChange: sameShape ? Array.from(layerChange(a.attention, b.attention)) : null,
  };
  return { comparison, sliceA, sliceB };
}

const strip = ({ attention, ...rest }: AttentionResult) => ({ ...rest, attention: shapeOf(attention) });

/** A's progress in [0, 0.5), B's in [0.5, 1). */
const scaled = (ctl: RunControl, from: number, label: string): RunControl => ({
  progress: (stage, f) => ctl.progress(`${label}: ${stage}`, from + f / 2),
  checkCancelled: () => ctl.checkCancelled(),
});

export async function runComparePipeline(
  req: CompareCalls['compare']['params'],
  getModel: (p: string) => Promise<LoadedModel>,
  ctl: RunControl = noControl,
): Promise<CompareResult> {
  const base = { imagePath: req.imagePath, topK: req.topK, maxPixels: req.maxPixels };
  let b: AttentionResult | undefined;
  if (req.againstKey) {
    b = runs.get(req.againstKey);
    if (!b)
      throw new VitLensError(
        'RESULT_EXPIRED',
        "The previous checkpoint's result is no longer held by the engine.",
        'Compare with a model file instead.',
      );
  } else if (req.modelPathB === undefined) {
    throw new VitLensError('BAD_REQUEST', 'compare: modelPathB or againstKey is required');
  }
  const a = await runAttentionPipeline({ ...base, modelPath: req.modelPath }, getModel, scaled(ctl, 0, 'A'));
  ctl.checkCancelled();
  b ??= await runAttentionPipeline({ ...base, modelPath: req.modelPathB ?? null }, getModel, scaled(ctl, 0.5, 'B'));
  const { comparison, sliceA, sliceB } = compareResults(a, b, req.rollout);
  const runKey = keepRun(a);
  return { a: strip(a), b: strip(b), sliceA, sliceB, comparison, bIsPrevious: !!req.againstKey, runKey };
}
