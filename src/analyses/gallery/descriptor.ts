// The gallery analysis in the registry: attention summaries of every image in a folder or glob, as a
// gallery panel (Explorer, on a folder) and from `vit-lens attention <dir|glob>` (the attention command
// hands folders and globs to it, so it has no subcommand of its own). Pure data.
import type { AnalysisDescriptor } from '../registry';

export const gallery = {
  id: 'gallery',
  panels: [
    {
      viewType: 'vitLens.gallery',
      title: 'Gallery',
      bundle: 'galleryWebview',
      task: 'classification',
      command: 'vitLens.showGallery',
      rerunOn: ['model', 'topK', 'maxImageMegapixels'],
    },
  ],
  cli: [],
  engineCalls: ['gallery'],
} as const satisfies AnalysisDescriptor;
