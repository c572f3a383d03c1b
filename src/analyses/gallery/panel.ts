// The gallery panel of a folder: every image's thumbnail with its rollout and top-1, streamed as the
// engine finishes them; a click opens the image's attention panel. Host side.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { HostFacet, HostServices, VitLensPanel } from '../../host/panelBase';
import { maxPixels, panelSettings, topK } from '../../host/settings';
import type { PanelDescriptor } from '../registry';
import { GalleryCollector } from './json';
import { parseGalleryWebviewMessage, type GalleryHostMessage, type GalleryWebviewMessage } from './messages';
import type { GalleryPartial } from './types';

const isGlobLike = (s: string) => /[*?[{]/.test(s);

export class GalleryPanel extends VitLensPanel<GalleryHostMessage, GalleryWebviewMessage> {
  /** The run in flight or last run: the per-image summaries (small), for a reloaded webview and clicks. */
  private collector = new GalleryCollector();

  constructor(services: HostServices, kind: PanelDescriptor, panel: vscode.WebviewPanel, folder: string) {
    super(services, kind, panel, folder);
  }

  protected parse(raw: unknown): GalleryWebviewMessage | undefined {
    return parseGalleryWebviewMessage(raw);
  }

  private settings() {
    const { colormap, opacity } = panelSettings();
    return { colormap, opacity };
  }

  protected async execute(signal: AbortSignal, onProgress: (stage: string, fraction: number) => void): Promise<GalleryHostMessage> {
    const collector = (this.collector = new GalleryCollector());
    const source = this.imagePath;
    const summary = await this.services.engine().request(
      'gallery',
      { source, modelPath: this.modelPath(), topK: topK(), maxPixels: maxPixels() },
      {
        signal,
        onProgress,
        timeoutMs: 24 * 3600_000,
        onPartial: (p) => {
          if (this.collector !== collector) return;
          const e = collector.add(p as GalleryPartial);
          if (e) this.reply({ type: 'galleryEntry', entry: e });
          else {
            if (collector.start?.provider.note) this.services.log(`Gallery: ${collector.start.provider.note}`);
            this.reply({ type: 'galleryStart', start: collector.start!, source, settings: this.settings() });
          }
        },
      },
    );
    this.services.log(
      `Gallery ${path.basename(source)}: ${summary.count} images, ${summary.failed} failed, ${summary.imagesPerSecond.toFixed(1)} images/s`,
    );
    return {
      type: 'result',
      start: collector.start,
      data: {
        model: collector.start?.model ?? { path: null, name: '' },
        entries: collector.entries,
        summary,
        source,
        settings: this.settings(),
      },
    };
  }

  protected async onMessage(m: GalleryWebviewMessage): Promise<void> {
    const c = this.collector;
    if (m.type === 'resync' && c.start) {
      this.reply({ type: 'galleryStart', start: c.start, source: this.imagePath, settings: this.settings() });
      for (const e of c.entries.slice(m.have)) this.reply({ type: 'galleryEntry', entry: e });
    } else if (m.type === 'openImage') {
      const file = c.start?.paths[m.index];
      if (file) await vscode.commands.executeCommand('vitLens.showAttention', vscode.Uri.file(file));
    }
  }

  onSettingsChanged(rerun: boolean): void {
    if (rerun) void this.run('model setting changed');
  }
}

export const galleryHost: HostFacet = {
  // A folder (Explorer), or an image whose folder the gallery shows (the command without a folder).
  open: (services, kind, target) => {
    let folder = target;
    try {
      if (!fs.statSync(target).isDirectory() && !isGlobLike(target)) folder = path.dirname(target);
    } catch {
      /* a glob, or gone: the run says */
    }
    return VitLensPanel.open(services, kind, folder, (wp, f) => new GalleryPanel(services, kind, wp, f));
  },
  revive: (services, kind, webviewPanel, state) =>
    VitLensPanel.revive(kind, webviewPanel, state, (wp, f) => new GalleryPanel(services, kind, wp, f)),
};
