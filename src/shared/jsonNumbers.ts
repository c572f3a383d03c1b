// How ViT Lens writes numbers into its JSON documents: 7 significant digits (float32 carries about 7),
// so files stay small and diff cleanly. The one rounding helper of every JSON builder (src/analyses/*/json.ts).

/** One number to 7 significant digits. */
export const round7 = (v: number): number => Number(v.toPrecision(7));

/** An array of numbers (typed or not) to 7 significant digits, as a plain array. */
export const round7All = (a: ArrayLike<number>): number[] => Array.from(a, round7);
