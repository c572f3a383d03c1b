// How every page writes numbers, durations and file names in its labels, one way for all of them.
// Pure (strings in, strings out): no DOM, and no vscode or Node imports, so pages and unit tests share it.

/** Compact number for labels: 0.0123, 1.23e-5, 45.6. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(2);
  if (a >= 100) return v.toFixed(1);
  return v.toPrecision(3);
}

/** A share (0…1) as a whole percentage: "60%". */
export function percent(v: number): string {
  return `${Math.round(v * 100)}%`;
}

/** A duration: whole milliseconds below a second, seconds with two decimals above. */
export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** The timing breakdown of a run as the time chip's tooltip shows it: "decode 3 ms · inference 41 ms"; stages without a number are left out. */
export function timingsText(stages: [string, number | undefined][]): string {
  return stages
    .filter((s): s is [string, number] => typeof s[1] === 'number')
    .map(([k, v]) => `${k} ${fmtMs(v)}`)
    .join(' · ');
}

/** The last part of a path, for titles (either separator: the image may come from Windows). */
export function fileName(p: string): string {
  return p.split(/[\\/]/).pop() || p;
}
