// Image decoding and model preprocessing with sharp (runs in the engine, never in the extension host).
// decode: any supported file → 8-bit RGB, EXIF orientation applied, alpha flattened, first frame only.
// preprocess: HF image-processor semantics (resize, center crop, rescale, normalise) → Float32 CHW.
import sharp from 'sharp';
import { VitLensError } from '../../shared/errors';
import { NotRegularFileError, readRegularFile } from '../regularFile';
import { decodeBmp, isBmp } from './bmp';
import { isSrgbProfile } from './iccProfile';
import type { ViewImage } from '../../shared/attentionTypes';

/** Decoded pixels: interleaved RGB, 8 bits, `width × height × 3` bytes. */
export interface DecodedImage {
  rgb: Buffer;
  width: number;
  height: number;
  format: string;
}

/** Decompression-bomb guard: 100 megapixels by default (sharp's own default is 268 MP). */
export const DEFAULT_MAX_PIXELS = 100_000_000;
const SUPPORTED = ['png', 'jpeg', 'webp', 'gif', 'tiff', 'heif', 'avif', 'bmp'];

/**
 * Reads an image file. Synchronously: this runs in the engine process, whose thread has nothing else to
 * do meanwhile, and fs.promises.readFile's four thread-pool round trips (open, stat, read, close) took
 * 1.6–2.3 ms for a 240 kB PNG here against 1.0–1.3 ms.
 */
export async function readImageFile(path: string): Promise<Buffer> {
  try {
    return readRegularFile(path);
  } catch (e) {
    // A FIFO, device or folder named like an image: refused before reading (a FIFO would block forever).
    if (e instanceof NotRegularFileError)
      throw new VitLensError(
        'IMAGE_NOT_A_FILE',
        `${path} is a ${e.kind}, not an image file.`,
        'Pass an image file (PNG, JPEG, WebP, GIF, TIFF, HEIF, AVIF or BMP).',
      );
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new VitLensError('IMAGE_NOT_FOUND', `Image not found: ${path}.`, 'Check the path.');
    if (code === 'EISDIR') throw new VitLensError('IMAGE_NOT_A_FILE', `${path} is a folder, not an image file.`, 'Pass an image file.');
    throw new VitLensError('IMAGE_NOT_FOUND', `Cannot read image ${path}: ${(e as Error).message}.`);
  }
}

/** Decodes image bytes. `name` is used in messages only. */
export async function decodeImage(bytes: Buffer, name: string, maxPixels = DEFAULT_MAX_PIXELS): Promise<DecodedImage> {
  if (bytes.length === 0)
    throw new VitLensError('IMAGE_EMPTY', `${name} is empty (0 bytes).`, 'Choose a PNG, JPEG, WebP, GIF, TIFF or AVIF image.');
  if (isBmp(bytes)) return { ...decodeBmp(bytes, name, maxPixels), format: 'bmp' };
  let format: string | undefined;
  let pixels = 0;
  let srgbTagged = false;
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    format = meta.format;
    pixels = (meta.width ?? 0) * (meta.height ?? 0);
    srgbTagged = isSrgbProfile(meta.icc);
  } catch {
    throw new VitLensError(
      'IMAGE_UNSUPPORTED',
      `${name} is not an image sharp can read (unknown or unsupported format).`,
      'Supported: PNG, JPEG, WebP, GIF, TIFF, AVIF. A file with an image extension but other content cannot be opened.',
    );
  }
  if (!format || !SUPPORTED.includes(format)) {
    throw new VitLensError(
      'IMAGE_UNSUPPORTED',
      `${name} is a ${format ?? 'unknown'} file, which ViT Lens does not read.`,
      'Convert it to PNG or JPEG.',
    );
  }
  if (pixels > maxPixels) {
    throw new VitLensError(
      'IMAGE_TOO_LARGE',
      `${name} has ${(pixels / 1e6).toFixed(1)} megapixels, over the limit of ${(maxPixels / 1e6).toFixed(0)} MP (a guard against decompression bombs).`,
      'Downscale the image, or raise the vitLens.maxImageMegapixels setting.',
    );
  }
  try {
    // failOn 'truncated': a cut-off file is an error, not a half-grey picture.
    // An sRGB profile is skipped: converting sRGB to sRGB is the identity, and slower than the decode.
    // Other profiles (Adobe RGB, Display P3) are converted to sRGB, as an image viewer shows them.
    const { data, info } = await sharp(bytes, { failOn: 'truncated', limitInputPixels: maxPixels, pages: 1, ignoreIcc: srgbTagged })
      .rotate() // EXIF orientation
      .flatten({ background: '#ffffff' }) // alpha → white, as an image viewer shows it
      .toColourspace('srgb') // grayscale, CMYK, 16-bit → 8-bit sRGB
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { rgb: data, width: info.width, height: info.height, format };
  } catch (e) {
    throw new VitLensError(
      'IMAGE_CORRUPT',
      `${name} could not be decoded: it looks corrupt or truncated (${(e as Error).message.split('\n')[0]}).`,
      'Re-save or re-download the image.',
    );
  }
}

/** Hugging Face image-processor settings (preprocessor_config.json), key names verbatim. */
export interface PreprocessorConfig {
  do_resize?: boolean;
  size?: number | { height?: number; width?: number; shortest_edge?: number; longest_edge?: number };
  resample?: number;
  do_center_crop?: boolean;
  crop_size?: number | { height: number; width: number };
  do_rescale?: boolean;
  rescale_factor?: number;
  do_normalize?: boolean;
  image_mean?: number | number[];
  image_std?: number | number[];
  /** DPT: keep the aspect ratio and round sides to a multiple of this. */
  keep_aspect_ratio?: boolean;
  ensure_multiple_of?: number;
}

export interface Preprocessed {
  /** [1, 3, height, width] float32, CHW. */
  pixels: Float32Array;
  height: number;
  width: number;
  /** The region of the decoded image the tensor covers, [left, top, width, height] (center crop). */
  sourceRect: [number, number, number, number];
}

/** PIL resample codes → sharp kernels (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming). */
function kernelFor(resample: number | undefined): 'nearest' | 'linear' | 'cubic' | 'lanczos3' {
  switch (resample ?? 2) {
    case 0:
      return 'nearest';
    case 1:
      return 'lanczos3';
    case 3:
      return 'cubic';
    case 4:
    case 5:
      return 'linear';
    default:
      return 'linear';
  }
}

const asTriple = (v: number | number[] | undefined, dflt: number): number[] =>
  v === undefined ? [dflt, dflt, dflt] : typeof v === 'number' ? [v, v, v] : v.length === 1 ? [v[0], v[0], v[0]] : v;

/**
 * The size the image is resized to before cropping, per HF semantics:
 * {height,width} exact; {shortest_edge} keeps the aspect ratio; a bare number is a square.
 */
function resizeTarget(cfg: PreprocessorConfig, w: number, h: number, fallback: [number, number]): [number, number] {
  const s = cfg.size;
  if (s === undefined) return [fallback[0], fallback[1]];
  if (typeof s === 'number') return [s, s];
  if (s.height && s.width) return [s.height, s.width];
  if (s.shortest_edge) {
    const scale = s.shortest_edge / Math.min(w, h);
    let rh = Math.round(h * scale);
    let rw = Math.round(w * scale);
    if (s.longest_edge && Math.max(rh, rw) > s.longest_edge) {
      const shrink = s.longest_edge / Math.max(rh, rw);
      rh = Math.round(rh * shrink);
      rw = Math.round(rw * shrink);
    }
    return [rh, rw];
  }
  return [fallback[0], fallback[1]];
}

/**
 * Preprocesses for a model. `modelSize` is the model's fixed input [H, W] (or the fallback for dynamic
 * models); when the config's resize/crop would not produce it, the image is resized to it directly.
 */
export async function preprocess(
  img: DecodedImage,
  cfg: PreprocessorConfig,
  modelSize: [number, number],
  fixed: boolean,
): Promise<Preprocessed> {
  const doResize = cfg.do_resize ?? true;
  let [rh, rw] = doResize ? resizeTarget(cfg, img.width, img.height, modelSize) : [img.height, img.width];
  let crop: [number, number] | undefined;
  if (cfg.do_center_crop && cfg.crop_size !== undefined) {
    crop = typeof cfg.crop_size === 'number' ? [cfg.crop_size, cfg.crop_size] : [cfg.crop_size.height, cfg.crop_size.width];
  }
  const finalSize = crop ?? [rh, rw];
  if (fixed && (finalSize[0] !== modelSize[0] || finalSize[1] !== modelSize[1])) {
    [rh, rw] = modelSize; // the config disagrees with the graph: the graph wins
    crop = undefined;
  }
  const pipeline = sharp(img.rgb, { raw: { width: img.width, height: img.height, channels: 3 } });
  if (rh !== img.height || rw !== img.width) {
    pipeline.resize(rw, rh, { fit: 'fill', kernel: kernelFor(cfg.resample), fastShrinkOnLoad: false });
  }
  let sourceRect: [number, number, number, number] = [0, 0, img.width, img.height];
  if (crop) {
    // HF center_crop: top = (h − ch) // 2 (pads when the crop is larger; we clamp instead).
    const [ch, cw] = [Math.min(crop[0], rh), Math.min(crop[1], rw)];
    const top = Math.floor((rh - ch) / 2);
    const left = Math.floor((rw - cw) / 2);
    // Resize and extract in one sharp pipeline: extract after resize.
    pipeline.extract({ left, top, width: cw, height: ch });
    const sx = img.width / rw;
    const sy = img.height / rh;
    sourceRect = [left * sx, top * sy, cw * sx, ch * sy];
    [rh, rw] = [ch, cw];
  }
  const raw = await pipeline.raw().toBuffer();
  return { pixels: toNormalisedChw(raw, rw, rh, cfg), height: rh, width: rw, sourceRect };
}

/** HWC uint8 → CHW float32 with rescale and normalise: ((x · rescale_factor) − mean) / std. */
export function toNormalisedChw(raw: Uint8Array, width: number, height: number, cfg: PreprocessorConfig): Float32Array {
  const rescale = (cfg.do_rescale ?? true) ? (cfg.rescale_factor ?? 1 / 255) : 1;
  const normalize = cfg.do_normalize ?? true;
  const mean = normalize ? asTriple(cfg.image_mean, 0.5) : [0, 0, 0];
  const std = normalize ? asTriple(cfg.image_std, 0.5) : [1, 1, 1];
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const scale = rescale / std[c];
    const shift = mean[c] / std[c];
    const o = c * plane;
    for (let i = 0; i < plane; i++) out[o + i] = raw[i * 3 + c] * scale - shift;
  }
  return out;
}

/** The part of the image the model saw, as a PNG at most `maxSide` px on its long side, for the panel. */
export async function viewImage(img: DecodedImage, rect: [number, number, number, number], maxSide = 1024): Promise<ViewImage> {
  const [l, t, w, h] = rect.map((v) => Math.round(v));
  let pipeline = sharp(img.rgb, { raw: { width: img.width, height: img.height, channels: 3 } });
  if (l !== 0 || t !== 0 || w !== img.width || h !== img.height) {
    pipeline = pipeline.extract({ left: l, top: t, width: Math.min(w, img.width - l), height: Math.min(h, img.height - t) });
  }
  if (Math.max(w, h) > maxSide) pipeline = pipeline.resize({ width: maxSide, height: maxSide, fit: 'inside', kernel: 'lanczos3' });
  const { data, info } = await pipeline.png({ compressionLevel: 0, adaptiveFiltering: false }).toBuffer({ resolveWithObject: true });
  return { png: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, sourceRect: rect };
}
