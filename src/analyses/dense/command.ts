// `vit-lens depth <image> --model <onnx|hf-folder|model-id> [--cache dir] [--png out.png] [--png16 out16.png] [--npy out.npy] [--json out.json]`
// `vit-lens segment <image> --model <onnx|hf-folder|model-id> [--cache dir] [--png out.png] [--json out.json]`
// DPT depth / segmentation through the engine process (inference off this thread), as a summary on stdout
// and files: --png colour (inferno depth, ADE20K-palette classes) at the original image size, --png16 the
// depth min–max scaled to 16-bit grayscale (original size), --npy the raw predicted_depth at the model's
// output resolution (float32, C order, .npy 1.0), --json the numbers. Imports the engine client, the pure
// analysis and encoders, and sharp for PNG encoding (loaded when a PNG is written); no onnxruntime.
import type { PanelExplainResult } from '../explain/types';
import path from 'node:path';
import { classColor, clampNonFinite, depthToUint16, resizeBicubic, unitRange } from '../../maths/dense';
import { defaultCacheDir, resolveModelArg } from '../../models/modelStore';
import type { DenseResult, DenseTask } from './types';
import type { DensePanelResult } from './messages';
import { colormapLut } from '../../maths/colormaps';
import { encodeNpyFloat32 } from '../../maths/npy';
import type { CliCommand, CliContext } from '../../cli/context';
import { parseFlags, requestWithProgress, prepareOutput, usageError, withEngine, writeJson, writeOutput } from '../../cli/context';
import { denseJson } from './json';
import type { DensePanelSettings } from './messages';
import { writeReport } from '../../cli/htmlReport';

/** Depth at the original image size: PyTorch-bicubic from the raw map (non-finite values clamped to the range). */
export function depthAtImageSize(r: DenseResult | DensePanelResult): Float32Array {
  const d = r.depth!;
  const finite = clampNonFinite(d.raw, d.min, d.max);
  return resizeBicubic(finite, d.rawHeight, d.rawWidth, r.image.height, r.image.width);
}

/** Inferno colours of a depth map, min–max normalised (larger = nearer = brighter): [h·w·3] bytes. */
export function depthColours(values: Float32Array, min: number, max: number): Uint8Array {
  const lut = colormapLut('inferno');
  const rgb = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) {
    const k = Math.round(unitRange(values[i], min, max) * 255) * 3;
    rgb[i * 3] = lut[k];
    rgb[i * 3 + 1] = lut[k + 1];
    rgb[i * 3 + 2] = lut[k + 2];
  }
  return rgb;
}

/** Class colours at the original image size: the view's labels (≤ 1024 px) scaled by nearest neighbour. */
export function segmentationColours(r: DenseResult | DensePanelResult): Uint8Array {
  const { labels } = r.segmentation!;
  const { width, height } = r.image;
  const vw = r.view.width;
  const vh = r.view.height;
  const palette = new Map<number, [number, number, number]>();
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = Math.min(vh - 1, Math.floor(((y + 0.5) * vh) / height)) * vw;
    for (let x = 0; x < width; x++) {
      const id = labels[row + Math.min(vw - 1, Math.floor(((x + 0.5) * vw) / width))];
      let c = palette.get(id);
      if (!c) palette.set(id, (c = classColor(id)));
      const o = (y * width + x) * 3;
      rgb[o] = c[0];
      rgb[o + 1] = c[1];
      rgb[o + 2] = c[2];
    }
  }
  return rgb;
}

function summary(r: DenseResult | DensePanelResult): string {
  const att = r.attention ? `${r.model.numLayers} layers × ${r.model.numHeads} heads (${r.model.attentionSource})` : 'no attention';
  const lines = [
    `${path.basename(r.image.path)} (${r.image.width}×${r.image.height}) · ${r.model.name} · input ${r.model.inputSize[1]}×${r.model.inputSize[0]} · grid ${r.grid[1]}×${r.grid[0]} · ${att}`,
  ];
  if (r.depth) {
    const d = r.depth;
    lines.push(
      `  depth ${d.rawWidth}×${d.rawHeight} (relative inverse depth): min ${d.min.toPrecision(5)} · p2 ${d.p2.toPrecision(5)} · p98 ${d.p98.toPrecision(5)} · max ${d.max.toPrecision(5)}`,
    );
  }
  if (r.segmentation) {
    const s = r.segmentation;
    lines.push(`  ${s.classes.length} of ${s.numClasses} classes present:`);
    for (const c of s.classes.slice(0, 10)) lines.push(`  ${(c.area * 100).toFixed(1).padStart(5)}%  ${c.name} (${c.id})`);
    if (s.classes.length > 10) lines.push(`         … ${s.classes.length - 10} more (see --json)`);
  }
  if (r.features.length) lines.push(`  neck: ${r.features.map((f) => `${f.name} ${f.channels}×${f.height}×${f.width}`).join(' · ')}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  const t = r.timingsMs;
  lines.push(
    `  time: decode ${t.decode.toFixed(0)} ms, model load ${t.modelLoad.toFixed(0)} ms, preprocess ${t.preprocess.toFixed(0)} ms, inference ${t.inference.toFixed(0)} ms, post-process ${t.postprocess.toFixed(0)} ms, total ${t.total.toFixed(0)} ms`,
  );
  return lines.join('\n');
}

async function runDense(
  ctx: CliContext,
  task: DenseTask,
  argv: string[],
  known: string[],
): Promise<{ result: DenseResult | DensePanelResult; values: Map<string, string> }> {
  const f = parseFlags(argv, known);
  const command = task === 'depth' ? 'depth' : 'segment';
  if (f.positional.length !== 1) throw usageError(`${command} takes exactly one image path`);
  const modelArg = f.values.get('model');
  if (!modelArg) throw usageError(`${command} needs --model <file.onnx|hf-folder|model-id> (a DPT ${task} model)`);
  // A file or folder, or a catalogue id / "owner/name" already downloaded into --cache (as `attention` does).
  const model = resolveModelArg(modelArg, f.values.get('cache') ?? defaultCacheDir());
  const params = { imagePath: path.resolve(f.positional[0]), modelPath: path.resolve(model), task };
  // The CLI asks for what it writes: only --html needs the backbone's [L, H, N, N] attention (192 MB on a
  // DPT-B at 384²); otherwise the engine fetches one layer to learn its shape (denseShapes).
  const html = !!f.values.get('html');
  const result = await withEngine(ctx, (client): Promise<DenseResult | DensePanelResult> =>
    requestWithProgress(client, html ? 'dense' : 'denseShapes', params),
  );
  return { result, values: f.values };
}

async function writePng(file: string, pixels: Uint8Array | Uint16Array, width: number, height: number, channels: 1 | 3): Promise<void> {
  // Loaded here, not with the CLI: 145 ms and 19 MB of a cold `vit-lens depth` that writes no PNG.
  const { default: sharp } = await import('sharp');
  let image = sharp(pixels, { raw: { width, height, channels } });
  if (pixels instanceof Uint16Array) image = image.toColourspace('grey16');
  await image.png().toFile(prepareOutput(file));
}

/** The DPT page's default display settings in a standalone report (the extension's setting defaults). */
const REPORT_SETTINGS: DensePanelSettings = {
  depthColormap: 'inferno',
  normalization: 'percentile',
  opacity: 0.6,
  attentionColormap: 'inferno',
  fusion: 'mean',
  discardRatio: 0,
};

/**
 * The data a standalone DPT report embeds: the result with the class map's Uint16Array as its bytes
 * (typed JSON carries byte arrays; the page reads them back as Uint16).
 */
export function denseReportData(r: DenseResult): { result: unknown; settings: DensePanelSettings } {
  const l = r.segmentation?.labels;
  const result = l ? { ...r, segmentation: { ...r.segmentation!, labels: new Uint8Array(l.buffer, l.byteOffset, l.byteLength) } } : r;
  return { result, settings: REPORT_SETTINGS };
}

/**
 * --html: the self-contained DPT page with the whole result (backbone attention included); `explain`
 * (vit-lens explain --region --html) fills its "Why this depth" card.
 */
export function writeDenseReport(file: string, r: DenseResult, explain?: PanelExplainResult): string {
  // The webview bundles are beside the CLI's own (dist/).
  return writeReport(
    file,
    'denseWebview',
    { ...denseReportData(r), ...(explain ? { explain } : {}) },
    `ViT Lens — ${r.task} · ${path.basename(r.image.path)}`,
  );
}

/** `vit-lens depth`; returns the result for callers that print more (the demo). */
export async function commandDepth(argv: string[], ctx: CliContext): Promise<DenseResult | DensePanelResult> {
  const { result: r, values } = await runDense(ctx, 'depth', argv, ['model', 'cache', 'png', 'png16', 'npy', 'json', 'html']);
  const d = r.depth!;
  const written: string[] = [];
  const png = values.get('png');
  const png16 = values.get('png16');
  if (png || png16) {
    const full = depthAtImageSize(r);
    if (png) {
      await writePng(png, depthColours(full, d.min, d.max), r.image.width, r.image.height, 3);
      written.push(`PNG:    ${png}`);
    }
    if (png16) {
      await writePng(png16, depthToUint16(full, d.min, d.max), r.image.width, r.image.height, 1);
      written.push(`PNG16:  ${png16}`);
    }
  }
  const npy = values.get('npy');
  if (npy) {
    writeOutput(npy, encodeNpyFloat32(d.raw, [d.rawHeight, d.rawWidth]));
    written.push(`NPY:    ${npy}`);
  }
  writeJsonAndReport(values, r, written);
  console.log([summary(r), ...written].join('\n'));
  return r;
}

/** --json and --html of both dense commands (the same documents for depth and segmentation). */
function writeJsonAndReport(values: Map<string, string>, r: DenseResult | DensePanelResult, written: string[]): void {
  const json = values.get('json');
  if (json) {
    writeJson(json, denseJson(r));
    written.push(`JSON:   ${json}`);
  }
  const html = values.get('html');
  if (html) {
    writeDenseReport(html, r as DenseResult);
    written.push(`Report: ${html}`);
  }
}

/** `vit-lens segment`. */
async function commandSegment(argv: string[], ctx: CliContext): Promise<void> {
  const { result: r, values } = await runDense(ctx, 'segmentation', argv, ['model', 'cache', 'png', 'json', 'html']);
  const written: string[] = [];
  const png = values.get('png');
  if (png) {
    await writePng(png, segmentationColours(r), r.image.width, r.image.height, 3);
    written.push(`PNG:    ${png}`);
  }
  writeJsonAndReport(values, r, written);
  console.log([summary(r), ...written].join('\n'));
}

export const denseCommands: CliCommand[] = [
  {
    name: 'depth',
    run: async (argv, ctx) => {
      await commandDepth(argv, ctx);
    },
  },
  { name: 'segment', run: commandSegment },
];
