// The gallery analysis's engine request: `gallery` (a folder or glob through one model, streamed entry
// by entry through partial messages). Engine side.
import { requireFields, type EngineHandlers } from '../../core/engine/handlers';
import { runGallery } from './pipeline';

export const galleryEngine: EngineHandlers<'gallery'> = {
  gallery: (params, { models, ctl }) => {
    requireFields('gallery', params, ['source']);
    return runGallery(params, (p) => models.get(p), ctl);
  },
};
