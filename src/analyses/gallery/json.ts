// The gallery's JSON contract (`vit-lens attention <dir|glob> --json`, the panel's Save JSON) and the
// collector both the CLI and the panel feed with the engine's stream. Pure: runs in Node and the webview.
import { round7, round7All } from '../../shared/jsonNumbers';
import type { GalleryEntry, GalleryPartial, GalleryStart, GallerySummary } from './types';

/** One entry of `images`: the image's summary, or its error. */
export function galleryEntryJson(e: GalleryEntry): Record<string, unknown> {
  if ('error' in e) return { path: e.path, error: { code: e.error.code, message: e.error.message } };
  return {
    path: e.path,
    image: { width: e.image.width, height: e.image.height },
    predictions: e.predictions.map((p) => ({ index: p.index, label: p.label, probability: round7(p.probability) })),
    rollout: round7All(e.rollout),
    predictionEntropy: e.predictionEntropy === null ? null : round7(e.predictionEntropy),
    timingsMs: Object.fromEntries(Object.entries(e.timingsMs).map(([k, v]) => [k, round7(v)])),
  };
}

/** `{"model", "images": [...], "summary": {...}}`, images in the listing's sorted order. */
export function galleryJson(
  model: GalleryStart['model'],
  entries: readonly GalleryEntry[],
  summary: GallerySummary,
): Record<string, unknown> {
  return {
    model,
    images: [...entries].sort((a, b) => a.index - b.index).map(galleryEntryJson),
    summary: {
      count: summary.count,
      failed: summary.failed,
      imagesPerSecond: round7(summary.imagesPerSecond),
      ...(summary.cancelled ? { cancelled: true } : {}),
    },
  };
}

/**
 * Collects a gallery stream: the start, then entries (kept in index order). Knows the progress and an
 * ETA from the rate so far, and makes the summary of what is done when the run was cancelled.
 */
export class GalleryCollector {
  start: GalleryStart | undefined;
  readonly entries: GalleryEntry[] = [];
  private readonly t0: number;
  private lastAt: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.t0 = this.lastAt = now();
  }

  /** Feeds one partial message; returns the entry it carried, if any. */
  add(p: GalleryPartial): GalleryEntry | undefined {
    if (p.kind === 'start') {
      this.start = p;
      return undefined;
    }
    const e = p.entry;
    // Insert in index order (entries arrive in order, so this is an append).
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1].index > e.index) i--;
    this.entries.splice(i, 0, e);
    this.lastAt = this.now();
    return e;
  }

  get total(): number {
    return this.start?.paths.length ?? 0;
  }
  get done(): number {
    return this.entries.length;
  }
  get failed(): number {
    return this.entries.filter((e) => 'error' in e).length;
  }

  /** Seconds left at the rate so far (undefined before the first entry). */
  etaSeconds(): number | undefined {
    if (this.done === 0) return undefined;
    return ((this.lastAt - this.t0) / 1000 / this.done) * (this.total - this.done);
  }

  /** "12 of 64 images, about 9 s left". */
  progressLabel(): string {
    const eta = this.etaSeconds();
    return `${this.done} of ${this.total} images${eta !== undefined && this.done < this.total ? `, about ${Math.ceil(eta)} s left` : ''}`;
  }

  /** The summary of what was collected (after a cancel; a finished run's summary comes from the engine). */
  summary(cancelled: boolean): GallerySummary {
    const ok = this.done - this.failed;
    return {
      count: this.done,
      failed: this.failed,
      imagesPerSecond: ok / Math.max(1e-9, (this.lastAt - this.t0) / 1000),
      ...(cancelled ? { cancelled: true } : {}),
    };
  }
}
