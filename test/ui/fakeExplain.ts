// Made-up explain results for the UI tests: the pages' drawing and messages are under test here, not the
// numerics (those have their own tests against brute force). The AUCs use the product's own formulas.
import type { FaithfulnessCurves, FaithfulnessMapName } from '../../src/analyses/explain/types';
import { PERTURBATION_FRACTIONS, perturbationAuc, stepCurveAuc } from '../../src/maths/explain';

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
