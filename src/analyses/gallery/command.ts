// `vit-lens attention <dir|glob> [--model …] [--json out.json] [--html gallery.html] [--jobs n] [--top 5]`:
// the attention command hands folders and globs here (it has no subcommand of its own). Entries stream
// from the engine and are printed as they finish; Ctrl-C stops the run and still writes what is done.
import fs from 'node:fs';
import path from 'node:path';
import type { EngineClient } from '../../client/engineClient';
import type { CliCommand, CliContext, Flags } from '../../cli/context';
import { intFlag, usageError, withEngine, writeJson } from '../../cli/context';
import { writeReport } from '../../cli/htmlReport';
import { VitLensError } from '../../shared/errors';
import { GalleryCollector, galleryJson } from './json';
import type { GalleryPartial, GallerySummary } from './types';

/** A positional argument the gallery takes: an existing folder, or a glob (quoted, so the shell left it alone). */
export function isGallerySource(arg: string): boolean {
  try {
    if (fs.statSync(arg).isDirectory()) return true;
  } catch {
    /* not an existing path */
  }
  return /[*?[{]/.test(arg) && !fs.existsSync(arg);
}

export interface GalleryRun {
  collector: GalleryCollector;
  summary: GallerySummary;
  json?: string;
  html?: string;
}

/** The gallery run of `vit-lens attention <dir|glob>`; `f` holds the attention command's flags. */
export async function runGalleryCommand(f: Flags, model: string | null, ctx: CliContext): Promise<GalleryRun> {
  if (f.positional.length !== 1) throw usageError('attention takes exactly one image, folder or glob');
  const top = intFlag(f, 'top', 5, 1, 1000);
  const jobs = intFlag(f, 'jobs', 8, 1, 64);
  const source = f.positional[0];
  const collector = new GalleryCollector();
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  const tty = process.stderr.isTTY;
  try {
    return await withEngine(ctx, async (client: EngineClient) => {
      let summary: GallerySummary;
      try {
        summary = await client.request(
          'gallery',
          { source: path.resolve(source), modelPath: model && path.resolve(model), topK: top, batchSize: jobs },
          {
            signal: abort.signal,
            timeoutMs: 24 * 3600_000,
            onPartial: (p) => {
              const e = collector.add(p as GalleryPartial);
              if (!e) {
                const s = collector.start!;
                if (s.provider.note) console.error(`vit-lens: ${s.provider.note}`);
                return;
              }
              const name = path.basename(e.path);
              const line =
                'error' in e
                  ? `  ✗ ${name}: ${e.error.message}`
                  : `  ${name}: ${e.predictions[0] ? `${e.predictions[0].label} ${(e.predictions[0].probability * 100).toFixed(1)}%` : 'raw attention'}`;
              if (tty) process.stderr.write('\r'.padEnd(61) + '\r');
              console.log(line);
              if (tty) process.stderr.write(collector.progressLabel());
            },
          },
        );
      } catch (e) {
        if (!(e instanceof VitLensError && e.code === 'CANCELLED')) throw e;
        summary = collector.summary(true);
      }
      if (tty) process.stderr.write('\r'.padEnd(61) + '\r');
      const modelInfo = collector.start?.model ?? { path: model, name: model ? path.basename(model) : 'raw attention' };
      const json = f.values.get('json');
      if (json) writeJson(json, galleryJson(modelInfo, collector.entries, summary));
      const html = f.values.get('html');
      if (html)
        writeReport(
          html,
          'galleryWebview',
          { gallery: { model: modelInfo, entries: collector.entries, summary, source } },
          `ViT Lens — gallery of ${path.basename(source)}`,
        );
      console.log(
        `${summary.count} images, ${summary.failed} failed, ${summary.imagesPerSecond.toFixed(1)} images/s${collector.start ? ` (batch ${collector.start.batchSize}, ${collector.start.provider.name})` : ''}${summary.cancelled ? ' — cancelled, the entries done are kept' : ''}`,
      );
      if (json) console.log(`JSON:   ${json}`);
      if (html) console.log(`Gallery: ${html}`);
      return { collector, summary, json, html };
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/** The gallery has no subcommand of its own: `vit-lens attention` dispatches folders and globs to it. */
export const galleryCommands: CliCommand[] = [];
