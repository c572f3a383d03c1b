// Metrics of the trained-model tests, independent of ViT Lens's code: Spearman's rank correlation
// (ties get their average rank), patch-level masks and their dilation, attention mass inside a mask.

/** Ranks 1…n, tied values sharing the average of their ranks. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's ρ: the Pearson correlation of the average ranks. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths ${a.length} and ${b.length}`);
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const n = a.length;
  const mean = (n + 1) / 2;
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = ra[i] - mean,
      y = rb[i] - mean;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return sab / Math.sqrt(saa * sbb);
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
