// Metrics of the trained-model tests, independent of ViT Lens's code: Spearman's rank correlation
// (ties get their average rank), patch-level masks and their dilation, attention mass inside a mask.

/**
 * Ranks 1…n, tied values sharing the average of their ranks. Each distinct value is looked up in the
 * sorted values: its k copies fill places first+1 … first+k, so its rank is first + (k + 1)/2 (a
 * different route from src/maths/ranks.ts, which walks the sort order and hands the mean to each index).
 */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const sorted = Float64Array.from(values).sort();
  const rankOf = new Map<number, number>();
  for (let first = 0; first < sorted.length;) {
    let k = 1;
    while (first + k < sorted.length && sorted[first + k] === sorted[first]) k++;
    rankOf.set(sorted[first], first + (k + 1) / 2);
    first += k;
  }
  return Float64Array.from(values, (v) => rankOf.get(v)!);
}

/** Pearson's correlation: the covariance over the product of the standard deviations, means taken from the data. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (y.length !== n) throw new Error(`lengths ${n} and ${y.length}`);
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i];
    sy += y[i];
  }
  const mx = sx / n;
  const my = sy / n;
  let cov = 0;
  let vx = 0;
  let vy = 0;
  for (let i = 0; i < n; i++) {
    cov += (x[i] - mx) * (y[i] - my);
    vx += (x[i] - mx) ** 2;
    vy += (y[i] - my) ** 2;
  }
  return cov / Math.sqrt(vx * vy);
}

/** Spearman's ρ: the Pearson correlation of the average ranks. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(averageRanks(a), averageRanks(b));
}

/** Patches (row-major over the grid) holding at least one pixel of a width × height mask. */
export function patchMask(mask: Uint8Array, width: number, height: number, patch: number): Uint8Array {
  const gw = Math.floor(width / patch),
    gh = Math.floor(height / patch);
  const out = new Uint8Array(gw * gh);
  for (let y = 0; y < gh * patch; y++)
    for (let x = 0; x < gw * patch; x++) if (mask[y * width + x]) out[Math.floor(y / patch) * gw + Math.floor(x / patch)] = 1;
  return out;
}

/** Dilation by one patch (the 8 neighbours). */
export function dilate(m: Uint8Array, gh: number, gw: number): Uint8Array {
  const out = new Uint8Array(m.length);
  for (let r = 0; r < gh; r++) {
    for (let c = 0; c < gw; c++) {
      if (!m[r * gw + c]) continue;
      for (let dr = -1; dr <= 1; dr++)
        for (let dc = -1; dc <= 1; dc++) {
          const rr = r + dr,
            cc = c + dc;
          if (rr >= 0 && rr < gh && cc >= 0 && cc < gw) out[rr * gw + cc] = 1;
        }
    }
  }
  return out;
}

/** Share of a map's mass on the patches of a mask. */
export function massIn(map: ArrayLike<number>, m: Uint8Array): number {
  let inside = 0,
    total = 0;
  for (let i = 0; i < m.length; i++) {
    total += map[i];
    if (m[i]) inside += map[i];
  }
  return inside / total;
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
