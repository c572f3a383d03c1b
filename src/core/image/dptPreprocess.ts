// Input size and preprocessing for dense-prediction models (DPT, MiDaS, Depth Anything), following
// Hugging Face's DPTImageProcessor: keep the aspect ratio, scale as little as possible, round each side
// to a multiple of `ensure_multiple_of` (Python's round, half to even), bicubic, rescale, normalise.
// Fixed-size graphs run at their own input size; dynamic graphs get the image's aspect ratio. The resize
// and normalisation themselves are image.ts's `preprocess` (sharp), so ViT and DPT share one code path.
// Engine-side: imports sharp through image.ts, never vscode.
import { DecodedImage, Preprocessed, PreprocessorConfig, preprocess } from './image';

/** Python 3's round(): to the nearest integer, halves to the even neighbour (round(2.5) = 2, round(3.5) = 4). */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** HF `constrain_to_multiple_of`: the multiple nearest to `val`, then floor/ceil to respect max/min. */
export function constrainToMultipleOf(val: number, multiple: number, minVal = 0, maxVal?: number): number {
  let x = pyRound(val / multiple) * multiple;
  if (maxVal !== undefined && x > maxVal) x = Math.floor(val / multiple) * multiple;
  if (x < minVal) x = Math.ceil(val / multiple) * multiple;
  return x;
}

/**
 * HF DPTImageProcessor `get_resize_output_image_size`: the [height, width] an image of [inH, inW] is
 * resized to for a target [outH, outW]. With keepAspectRatio the axis whose scale is nearer to 1 decides
 * ("scale as little as possible") and the other follows; each side is then rounded to `multiple`.
 */
export function dptResizeOutputSize(
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  keepAspectRatio: boolean,
  multiple: number,
): [number, number] {
  let scaleH = outH / inH;
  let scaleW = outW / inW;
  if (keepAspectRatio) {
    if (Math.abs(1 - scaleW) < Math.abs(1 - scaleH))
      scaleH = scaleW; // fit width
    else scaleW = scaleH; // fit height
  }
  return [constrainToMultipleOf(scaleH * inH, multiple), constrainToMultipleOf(scaleW * inW, multiple)];
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

export interface DenseInputPlan {
  /** [H, W] the model runs on. */
  size: [number, number];
  /** What the user should know about the size (squeezed aspect ratio, capped size). */
  notes: string[];
}

/** The most pixels a dynamic model is fed, as a multiple of its configured size's area (guards memory and time). */
export const MAX_AREA_FACTOR = 4;

/**
 * The input size for a dense model.
 * - Fixed graph: its own [H, W] (a note when the image's aspect ratio differs a lot: it is stretched).
 * - Dynamic graph: DPTImageProcessor's size for `size` (default: the model's nominal size), always keeping
 *   the aspect ratio, rounded to a multiple of `ensure_multiple_of` that is also a multiple of the patch
 *   size (default 2 × patch: DPT's stride-2 level needs an even grid); at least one multiple per side
 *   and at most MAX_AREA_FACTOR × the configured area (very long images are scaled down further).
 */
export function planDenseInput(
  imageH: number,
  imageW: number,
  cfg: PreprocessorConfig,
  model: { fixedSize?: [number, number]; inputSize: [number, number]; patchSize: number },
): DenseInputPlan {
  const notes: string[] = [];
  if (model.fixedSize) {
    const [h, w] = model.fixedSize;
    const stretch = imageW / imageH / (w / h);
    if (stretch > 1.5 || stretch < 1 / 1.5) {
      notes.push(
        `The model takes a fixed ${w}×${h} input, so the ${imageW}×${imageH} image was stretched to it (aspect ratio ${(imageW / imageH).toFixed(2)} → ${(w / h).toFixed(2)}); the maps are shown at the image's own proportions.`,
      );
    }
    return { size: [h, w], notes };
  }
  const s = cfg.size;
  const target: [number, number] =
    typeof s === 'number'
      ? [s, s]
      : s?.height && s.width
        ? [s.height, s.width]
        : s?.shortest_edge
          ? [s.shortest_edge, s.shortest_edge]
          : model.inputSize;
  const requested = cfg.ensure_multiple_of && cfg.ensure_multiple_of > 1 ? Math.round(cfg.ensure_multiple_of) : 2 * model.patchSize;
  const multiple = requested % model.patchSize === 0 ? requested : (requested * model.patchSize) / gcd(requested, model.patchSize);
  let [h, w] =
    (cfg.do_resize ?? true)
      ? dptResizeOutputSize(imageH, imageW, target[0], target[1], true, multiple)
      : [constrainToMultipleOf(imageH, multiple), constrainToMultipleOf(imageW, multiple)];
  const maxArea = MAX_AREA_FACTOR * target[0] * target[1];
  if (h * w > maxArea) {
    const shrink = Math.sqrt(maxArea / (h * w));
    notes.push(
      `The ${imageW}×${imageH} image would need a ${w}×${h} input; it runs at a smaller size with the same aspect ratio (at most ${MAX_AREA_FACTOR}× the model's ${target[1]}×${target[0]} pixels).`,
    );
    h = Math.floor((h * shrink) / multiple) * multiple;
    w = Math.floor((w * shrink) / multiple) * multiple;
  }
  return { size: [Math.max(multiple, h), Math.max(multiple, w)], notes };
}

/** Resizes to exactly `size` (bicubic unless the config says otherwise), rescales and normalises: Float32 CHW. */
export function preprocessDense(img: DecodedImage, cfg: PreprocessorConfig, size: [number, number]): Promise<Preprocessed> {
  // DPTImageProcessor's default resample is bicubic (3); no center crop.
  const exact: PreprocessorConfig = {
    ...cfg,
    do_resize: true,
    size: { height: size[0], width: size[1] },
    resample: cfg.resample ?? 3,
    do_center_crop: false,
  };
  return preprocess(img, exact, size, true);
}
