// The gallery analysis: one attention summary per image of a folder or glob, streamed as each is done.
// Its engine request and result types. Types only.
import type { Prediction } from '../../shared/attentionTypes';
import type { ErrorCode } from '../../shared/errors';

/** Per-image stage times (ms). In a batched run `inference` is the batch's run divided by its images. */
export interface GalleryTimings {
  decode: number;
  preprocess: number;
  inference: number;
  analysis: number;
  total: number;
}

/** A small picture of the region the model saw (JPEG), for the gallery's thumbnails. */
export interface GalleryThumbnail {
  jpeg: Uint8Array;
  width: number;
  height: number;
}

/** One image the model ran on: what the gallery shows and the JSON keeps (not the attention tensor). */
export interface GalleryImageEntry {
  /** Position in the sorted listing. */
  index: number;
  path: string;
  image: { width: number; height: number };
  /** Top-k of the softmax; empty without logits (raw attention). */
  predictions: Prediction[];
  /** Patch grid [rows, cols] of `rollout`. */
  grid: [number, number];
  /** Rollout R[CLS, patches] (mean fusion, nothing discarded), length gh·gw, not rescaled. */
  rollout: Float32Array;
  /** Entropy of the whole softmax (nats); null without logits. */
  predictionEntropy: number | null;
  timingsMs: GalleryTimings;
  thumbnail: GalleryThumbnail;
}

/** An image that failed (corrupt, unsupported, not a regular file, …): listed, and the run goes on. */
export interface GalleryErrorEntry {
  index: number;
  path: string;
  error: { code: ErrorCode; message: string };
}

export type GalleryEntry = GalleryImageEntry | GalleryErrorEntry;

export const isGalleryError = (e: GalleryEntry): e is GalleryErrorEntry => 'error' in e;

/** What the run is on, sent before the first entry. */
export interface GalleryStart {
  kind: 'start';
  /** Every listed file, in sorted order (entries refer to them by index). */
  paths: string[];
  model: { path: string | null; name: string };
  /** Images per session.run: > 1 when the export's batch axis is dynamic. */
  batchSize: number;
  /** The execution provider the session runs on, and why when it is not the one asked for. */
  provider: { name: string; note?: string };
}

/** The stream of a gallery run (FromEngine 'partial' data): the start, then entries in sorted order. */
export type GalleryPartial = GalleryStart | { kind: 'entry'; entry: GalleryEntry };

export interface GallerySummary {
  count: number;
  failed: number;
  /** Images that ran (not failed) per second of the run's wall time. */
  imagesPerSecond: number;
  /** The run was cancelled: the entries are those done by then. */
  cancelled?: boolean;
}

export interface GalleryCalls {
  /**
   * Attention summaries of every image in a folder (its files with image extensions, sorted by name) or
   * matching a glob (`*`, `?`, `**`, `{a,b}`, `[…]`). Streams a GalleryStart and one entry per image
   * through partial messages; resolves with the summary. Only the summary of each image is kept.
   */
  gallery: {
    params: { source: string; modelPath: string | null; topK?: number; maxPixels?: number; batchSize?: number };
    result: GallerySummary;
  };
}
