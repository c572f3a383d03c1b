// Checks for a state restored from vscode.getState() or a message's fields: what was saved by an older
// version (or altered) may hold anything, so every page's parser tests each field with these before it
// keeps it. Pure: no DOM, no vscode or Node imports.

export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** A number in [0, 1] (or [0, 1) with `maxExclusive`). */
export const inUnit = (v: unknown, maxExclusive = false): v is number => isNum(v) && v >= 0 && (maxExclusive ? v < 1 : v <= 1);
export const oneOf = <T>(list: readonly T[], v: unknown): v is T => (list as readonly unknown[]).includes(v);

/** The object behind a restored value, or null when it is not one (then every field keeps its default). */
export function asRecord(raw: unknown): Record<string, unknown> | null {
  return typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : null;
}
