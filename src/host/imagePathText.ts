// Finding an image path in a line of source text, and where it may be on disk: the pure half of the
// source-file hover (src/host/imageLinks.ts), with no vscode import so unit tests can run it.
import path from 'node:path';

const IMAGE = /\.(png|jpe?g|webp|gif|bmp|tiff?|avif)$/i;

/**
 * The string literal (or Markdown link target) around `character` in a line, with its start and end
 * (exclusive, without the quotes), if it looks like an image path. Quotes: '…', "…", `…` (no escapes
 * inside: paths rarely have them; Python's r'…' and f'…' prefixes are fine); Markdown: (…) of a link.
 */
export function imagePathAt(line: string, character: number): { text: string; start: number; end: number } | undefined {
  const re = /(["'`])((?:(?!\1).)+?)\1|\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
  for (const m of line.matchAll(re)) {
    const text = m[2] ?? m[3];
    const start = m.index + (m[2] !== undefined ? 1 : 2);
    const end = start + text.length;
    if (character >= start - 1 && character <= end && IMAGE.test(text.trim())) return { text: text.trim(), start, end };
  }
  return undefined;
}

/** Where a path can be: absolute as it is; relative against the file's folder, then each workspace root. */
export function candidatePaths(text: string, documentDir: string | undefined, roots: readonly string[]): string[] {
  const p = text.replace(/^file:\/\//, '');
  if (path.isAbsolute(p)) return [p];
  return [...new Set([...(documentDir ? [path.resolve(documentDir, p)] : []), ...roots.map((r) => path.resolve(r, p))])];
}
