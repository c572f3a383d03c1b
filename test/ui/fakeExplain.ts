// Made-up explain results for the UI tests, and the step that posts one to a page: the pages' drawing and
// messages are under test here, not the numerics (those have their own tests against brute force). The
// AUCs use the product's own formulas.
import {
  EXPLAIN_DEFAULTS,
  type ExplainTimings,
  type FaithfulnessCurves,
  type FaithfulnessMapName,
  type PanelExplainResult,
} from '../../src/analyses/explain/types';
import type { Page } from 'playwright-core';
import type { ModelSummary } from '../../src/shared/attentionTypes';
import { PERTURBATION_FRACTIONS, perturbationAuc, stepCurveAuc } from '../../src/maths/explain';
import { postToPage } from './pageShell';

/** A Gaussian blob over a [gh, gw] patch grid, row-major, around (row, col) with squared width s2. */
export function fakeBlob([gh, gw]: readonly number[], row: number, col: number, s2: number): number[] {
  return Array.from({ length: gh * gw }, (_, j) => Math.exp(-((Math.floor(j / gw) - row) ** 2 + ((j % gw) - col) ** 2) / s2));
}

/**
 * Perturbation curves that fall from `start`: per map [k of the positive curve, k of the negative one]
 * (y_i = start·e^(−k·i)); with `patches` (P) also one-patch deletion / insertion curves of P + 1 points.
 */
export function fakeFaithfulness(
  start: number,
  speeds: Partial<Record<FaithfulnessMapName, [number, number]>>,
  patches?: number,
): Partial<Record<FaithfulnessMapName, FaithfulnessCurves>> {
  const curve = (k: number) => PERTURBATION_FRACTIONS.map((_, i) => start * Math.exp(-k * i));
  return Object.fromEntries(
    Object.entries(speeds).map(([name, [kp, kn]]) => {
      const positive = curve(kp);
      const negative = curve(kn);
      const f: FaithfulnessCurves = {
        fractions: [...PERTURBATION_FRACTIONS],
        positive,
        negative,
        positiveAuc: perturbationAuc(positive),
        negativeAuc: perturbationAuc(negative),
      };
      if (patches) {
        const P = patches;
        f.deletion = Array.from({ length: P + 1 }, (_, j) => start * Math.exp((-9 * kp * j) / P));
        f.insertion = Array.from({ length: P + 1 }, (_, j) => start * (1 - Math.exp((-9 * kp * j) / P)));
        f.deletionAuc = stepCurveAuc(f.deletion);
        f.insertionAuc = stepCurveAuc(f.insertion);
      }
      return [name, f];
    }),
  );
}

/**
 * A made-up explain result as a panel receives it, without the token counts; its model may be as little
 * as a gates result holds (path, name, input size).
 */
export type FakeExplainResult = Omit<PanelExplainResult, 'firstPatchToken' | 'tokens' | 'model' | 'maps' | 'timingsMs'> & {
  model: Pick<ModelSummary, 'name' | 'inputSize'> & Partial<ModelSummary>;
  maps: Partial<Record<FaithfulnessMapName, Float32Array>>;
  timingsMs: Partial<ExplainTimings> & { total: number };
};

/**
 * The result of a default request (EXPLAIN_DEFAULTS; exact key-mask removal, no class list, no other
 * predictions) on the shown result `of` (its image and model), with `r`'s grid, target and maps; `r`
 * also overrides any of the defaults.
 */
export function fakeExplainResult(
  of: Pick<FakeExplainResult, 'image' | 'model'>,
  r: Pick<FakeExplainResult, 'grid' | 'target' | 'maps' | 'faithfulness' | 'runs' | 'timingsMs'> & Partial<FakeExplainResult>,
): FakeExplainResult {
  const { window, samples, seed, batch, score } = EXPLAIN_DEFAULTS;
  return {
    image: of.image,
    model: of.model,
    labels: [],
    removal: 'key-mask',
    removalExact: true,
    score,
    window,
    samples,
    seed,
    batch,
    predictions: [],
    ...r,
  };
}

/** Posts the host's `explainResult` for result `resultId` to the page: fakeExplainResult(of, r). */
export const postExplainResult = (
  page: Page,
  resultId: number,
  of: Parameters<typeof fakeExplainResult>[0],
  r: Parameters<typeof fakeExplainResult>[1],
) => postToPage(page, { type: 'explainResult', resultId, result: fakeExplainResult(of, r) });
