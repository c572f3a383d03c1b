// The decode stage of every pipeline (pipeline kit): read the image file and decode it to RGB.
import path from 'node:path';
import { DecodedImage, decodeImage, readImageFile } from '../image/image';

/** Stage 1: read and decode. */
export async function decodeStage(req: { imagePath: string; maxPixels?: number }): Promise<DecodedImage> {
  return decodeImage(await readImageFile(req.imagePath), path.basename(req.imagePath), req.maxPixels);
}

