// Messages between the extension host and the gallery panel, and their validator. Shared by src/host and
// webview/panels/gallery; must not import vscode, Node or DOM code.
import type { GalleryEntry, GalleryStart, GallerySummary } from './types';
import type { ColormapName, BasicHostMessage, BasicWebviewMessage, ExportMessage } from '../../shared/panelProtocol';
import { isIndex, parseExport, parsePanelMessage } from '../../shared/panelProtocol';

export interface GallerySettings {
  colormap: ColormapName;
  opacity: number;
}

/** Everything a gallery shows; the HTML gallery embeds it as `{ gallery: GalleryData }`. */
export interface GalleryData {
  model: GalleryStart['model'];
  entries: GalleryEntry[];
  summary?: GallerySummary;
  /** The folder or glob. */
  source: string;
  settings?: GallerySettings;
}

/** Host → webview. */
export type GalleryHostMessage =
  /** A run began: every listed path (entries come later, each once). */
  | { type: 'galleryStart'; start: GalleryStart; source: string; settings: GallerySettings }
  /** One finished image (or its error). */
  | { type: 'galleryEntry'; entry: GalleryEntry }
  /** The run is over (also the snapshot a reloaded webview gets): everything at once. */
  | { type: 'result'; data: GalleryData; start?: GalleryStart }
  /** The messages every panel has (src/shared/panelProtocol.ts). */
  | BasicHostMessage;

/** Webview → host. */
export type GalleryWebviewMessage =
  /** After `ready`: send the entries of a run in flight from this count on (a reloaded webview lost them). */
  | { type: 'resync'; have: number }
  /** Open the full attention panel of the entry at this index. */
  | { type: 'openImage'; index: number }
  | ExportMessage<'json'>
  /** The messages every panel has (src/shared/panelProtocol.ts). */
  | BasicWebviewMessage;

export const parseGalleryWebviewMessage = (m: unknown): GalleryWebviewMessage | undefined =>
  parsePanelMessage<GalleryWebviewMessage>(m, {
    resync: (o) => (isIndex(o.have) ? { type: 'resync', have: o.have } : undefined),
    openImage: (o) => (isIndex(o.index) ? { type: 'openImage', index: o.index } : undefined),
    export: (o) => parseExport(o, ['json'] as const, (f) => f),
  });

/** The sort orders of the gallery. */
export const gallerySorts = ['name', 'confidence', 'entropy', 'class'] as const;
export type GallerySort = (typeof gallerySorts)[number];

/** data-testids of the gallery page. */
export const galleryTestIds = {
  item: 'gallery-item',
  sort: 'gallery-sort',
  filter: 'gallery-filter',
  progress: 'gallery-progress',
  summary: 'gallery-summary',
} as const;
