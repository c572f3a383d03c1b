// The decode stage of every pipeline (pipeline kit): read the image file and decode it to RGB.
import path from 'node:path';
import { DecodedImage, decodeImage, readImageFile } from '../image/image';
import type { RunControl, StageTimer } from './control';

/** Stage 1: read and decode. */
export async function decodeStage(req: { imagePath: string; maxPixels?: number }): Promise<DecodedImage> {
  return decodeImage(await readImageFile(req.imagePath), path.basename(req.imagePath), req.maxPixels);
}

/**
 * The first two stages of every pipeline: decode the image, then get the model (loaded, or from the
 * cache), each timed and followed by a cancellation check.
 */
export async function decodeAndLoad<M>(
  req: { imagePath: string; maxPixels?: number },
  load: () => Promise<M>,
  ctl: RunControl,
  timer: StageTimer<'decode' | 'modelLoad'>,
  loadLabel = 'Loading model',
): Promise<{ img: DecodedImage; model: M }> {
  ctl.progress('Loading image', 0.05);
  const img = await decodeStage(req);
  timer.mark('decode');
  ctl.checkCancelled();
  ctl.progress(loadLabel, 0.15);
  const model = await load();
  timer.mark('modelLoad');
  ctl.checkCancelled();
  return { img, model };
}
