// The gallery's order and filter, pure (no DOM): the unit tests check them directly.
import type { GalleryEntry } from '../../../src/analyses/gallery/types';
import { gallerySorts, type GallerySort } from '../../../src/analyses/gallery/messages';

export interface GalleryUiState {
  imagePath: string;
  sort: GallerySort;
  filter: string;
}

export function parseGalleryUiState(raw: unknown, base: GalleryUiState): GalleryUiState {
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  return {
    imagePath: typeof o.imagePath === 'string' ? o.imagePath : base.imagePath,
    sort: (gallerySorts as readonly unknown[]).includes(o.sort) ? (o.sort as GallerySort) : base.sort,
    filter: typeof o.filter === 'string' ? o.filter : base.filter,
  };
}

const top1 = (e: GalleryEntry) => ('error' in e ? undefined : e.predictions[0]);
const name = (p: string) => p.split(/[\\/]/).pop() ?? p;

/** The predicted classes (top-1 labels) with their counts, most frequent first. */
export function classCounts(entries: readonly GalleryEntry[]): [string, number][] {
  const m = new Map<string, number>();
  for (const e of entries) {
    const p = top1(e);
    if (p) m.set(p.label, (m.get(p.label) ?? 0) + 1);
  }
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/**
 * The entries to show: those whose top-1 is `filter` ('' = all; '!errors' = only the failed ones), in
 * this order: name (the listing's), confidence (top-1 probability, highest first), entropy (most
 * uncertain first), class (top-1 label, then confidence). Failed images go last except by name.
 */
export function visibleEntries(entries: readonly GalleryEntry[], sort: GallerySort, filter: string): GalleryEntry[] {
  const shown = entries.filter((e) => (filter === '' ? true : filter === '!errors' ? 'error' in e : top1(e)?.label === filter));
  const byIndex = (a: GalleryEntry, b: GalleryEntry) => a.index - b.index;
  const failedLast = (a: GalleryEntry, b: GalleryEntry) => Number('error' in a) - Number('error' in b);
  const conf = (e: GalleryEntry) => top1(e)?.probability ?? -1;
  const ent = (e: GalleryEntry) => ('error' in e ? -1 : (e.predictionEntropy ?? -1));
  const cmp: Record<GallerySort, (a: GalleryEntry, b: GalleryEntry) => number> = {
    name: (a, b) => (name(a.path) < name(b.path) ? -1 : name(a.path) > name(b.path) ? 1 : byIndex(a, b)),
    confidence: (a, b) => failedLast(a, b) || conf(b) - conf(a) || byIndex(a, b),
    entropy: (a, b) => failedLast(a, b) || ent(b) - ent(a) || byIndex(a, b),
    class: (a, b) => failedLast(a, b) || (top1(a)?.label ?? '').localeCompare(top1(b)?.label ?? '') || conf(b) - conf(a) || byIndex(a, b),
  };
  return shown.sort(cmp[sort]);
}
