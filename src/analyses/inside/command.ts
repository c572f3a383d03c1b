// `vit-lens anatomy | tokens | features`: "Inside the ViT" on the command line, through the engine
// process. Writes the JSON contracts (json.ts), the anatomy's HTML report (the panel's page with the
// result embedded) and the features' PCA picture. Node side: no onnxruntime (sharp only for the PNG).
import path from 'node:path';
import sharp from 'sharp';
import type { CliCommand, CliContext } from '../../cli/context';
import { parseFlags, prepareOutput, requestWithProgress, usageError, withEngine, writeJson } from '../../cli/context';
import { writeReport } from '../../cli/htmlReport';
import { componentsToRgb } from '../../maths/inside';
import { VitLensError } from '../../shared/errors';
import { modelFromFlags } from '../attention/command';
import { anatomyJson, featuresJson, tokensJson } from './json';
import type { AnatomyResult, FeaturesResult, TokensResult } from './types';
import type { InsidePageData } from './messages';

function requireModel(f: ReturnType<typeof parseFlags>, command: string): string {
  const model = modelFromFlags(f);
  if (!model) throw usageError(`${command} needs --model <file.onnx|hf-folder> (a vision transformer)`);
  return path.resolve(model);
}

/** A view's refusal as one line (the JSON keeps it too). */
const refusal = (what: string, part: object): string | undefined =>
  'unavailable' in part
    ? `  ${what}: not shown. ${(part as { unavailable: { message: string; hint?: string } }).unavailable.message} ${(part as { unavailable: { hint?: string } }).unavailable.hint ?? ''}`.trimEnd()
    : undefined;

function anatomySummary(r: AnatomyResult): string {
  const lines = [
    `${r.model.name} · input ${r.model.inputSize[1]}×${r.model.inputSize[0]} · patch ${r.model.patchSize} · weights read: ${(r.bytesRead / 1024).toFixed(0)} kB`,
  ];
  const pe = r.patchEmbedding;
  if ('unavailable' in pe) lines.push(refusal('patch-embedding filters', pe)!);
  else
    lines.push(
      `  patch embedding ${pe.weight} [${pe.shape.join(', ')}]: ${pe.count} components, explained variance ${pe.explainedVarianceRatio
        .slice(0, 5)
        .map((v) => (v * 100).toFixed(1) + '%')
        .join(', ')}${pe.count > 5 ? ', …' : ''}`,
    );
  const pos = r.positionEmbedding;
  if ('unavailable' in pos) lines.push(refusal('position-embedding similarity', pos)!);
  else {
    const interp = pos.grid[0] !== pos.runtimeGrid[0] || pos.grid[1] !== pos.runtimeGrid[1];
    lines.push(
      `  position embedding ${pos.table} [${pos.shape.join(', ')}]: ${pos.grid[0]}×${pos.grid[1]} stored grid${interp ? ` (interpolated to ${pos.runtimeGrid[0]}×${pos.runtimeGrid[1]} at run time)` : ''}, ${pos.leading} leading row(s)`,
    );
  }
  return lines.join('\n');
}

async function commandAnatomy(argv: string[], ctx: CliContext): Promise<void> {
  const f = parseFlags(argv, ['model', 'cache', 'json', 'html']);
  if (f.positional.length) throw usageError('anatomy takes no image: it reads the model only (--model)');
  const modelPath = requireModel(f, 'anatomy');
  const result = await withEngine(ctx, (client) => requestWithProgress(client, 'insideAnatomy', { modelPath }));
  console.log(anatomySummary(result));
  if ('unavailable' in result.patchEmbedding && 'unavailable' in result.positionEmbedding) {
    // Nothing to show at all: fail with the first reason (the summary printed both).
    const u = result.patchEmbedding.unavailable;
    throw new VitLensError(u.code, u.message, u.hint);
  }
  const json = f.values.get('json');
  const html = f.values.get('html');
  if (json) console.log(`JSON:   ${writeJson(json, anatomyJson(result))}`);
  if (html) {
    const data: InsidePageData = { anatomy: result };
    console.log(`Report: ${writeReport(html, 'insideWebview', data, `ViT Lens — inside ${result.model.name}`)}`);
  }
}

function tokensSummary(r: TokensResult): string {
  const t = r.tokens;
  const roles = [t.cls ? 'CLS' : '', t.distillation ? 'distillation' : '', t.registers ? `${t.registers} registers` : '']
    .filter(Boolean)
    .join(', ');
  const last = r.norms[r.norms.length - 1];
  const patchNorms = Array.from(last.subarray(t.firstPatch)).sort((a, b) => a - b);
  const lines = [
    `${path.basename(r.image.path)} · ${r.model.name} · ${t.count} tokens (${roles || 'patches only'}; patches from ${t.firstPatch}) · ${r.blocks} blocks · grid ${r.grid[0]}×${r.grid[1]}`,
    `  last block: patch norms median ${patchNorms[Math.floor(patchNorms.length / 2)].toFixed(2)}, max ${patchNorms[patchNorms.length - 1].toFixed(2)}`,
  ];
  if (r.outliers.length === 0) lines.push(`  high-norm tokens (blocks ≥ ${r.outliersFrom}): none`);
  else {
    const byToken = new Map<number, number[]>();
    for (const o of r.outliers) byToken.set(o.token, [...(byToken.get(o.token) ?? []), o.layer]);
    for (const [token, layers] of byToken) {
      const p = token - t.firstPatch;
      lines.push(
        `  high-norm token ${token} (patch row ${Math.floor(p / r.grid[1])}, col ${p % r.grid[1]}) in block(s) ${layers.join(', ')}`,
      );
    }
  }
  if ('unavailable' in r.attentionReceived) lines.push(refusal('attention received', r.attentionReceived)!);
  return lines.join('\n');
}

async function commandTokens(argv: string[], ctx: CliContext): Promise<void> {
  const f = parseFlags(argv, ['model', 'cache', 'json']);
  if (f.positional.length !== 1) throw usageError('tokens takes exactly one image path');
  const modelPath = requireModel(f, 'tokens');
  const result = await withEngine(ctx, (client) =>
    requestWithProgress(client, 'insideTokens', { imagePath: path.resolve(f.positional[0]), modelPath }),
  );
  console.log(tokensSummary(result));
  const json = f.values.get('json');
  if (json) console.log(`JSON:   ${writeJson(json, tokensJson(result))}`);
}

/** The PCA pictures side by side: each image's grid as RGB, every patch a `scale`×`scale` block, a gap between images. */
export function featuresPicture(r: FeaturesResult, scale: number): { rgb: Uint8Array; width: number; height: number } {
  const [gh, gw] = r.grid;
  const gap = scale;
  const width = r.images.length * gw * scale + (r.images.length - 1) * gap;
  const height = gh * scale;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  componentsToRgb(r.images.map((i) => i.components)).forEach((img, i) => {
    const x0 = i * (gw * scale + gap);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < gw * scale; x++) {
        const p = Math.floor(y / scale) * gw + Math.floor(x / scale);
        rgb.set(img.subarray(p * 3, p * 3 + 3), (y * width + x0 + x) * 3);
      }
  });
  return { rgb, width, height };
}

async function commandFeatures(argv: string[], ctx: CliContext): Promise<void> {
  const f = parseFlags(argv, ['model', 'cache', 'layer', 'json', 'png']);
  if (f.positional.length === 0) throw usageError('features takes one or more image paths');
  const modelPath = requireModel(f, 'features');
  const layerText = f.values.get('layer');
  if (layerText === undefined)
    throw usageError('features needs --layer <l> (0 = after the embeddings, L = after the last block, -1 = the last)');
  const layer = Number(layerText);
  if (!Number.isInteger(layer)) throw usageError('--layer must be a whole number (0 … L, or -1 for the last block)');
  const result = await withEngine(ctx, (client) =>
    requestWithProgress(client, 'insideFeatures', { imagePaths: f.positional.map((p) => path.resolve(p)), modelPath, layer }),
  );
  const evr = result.explainedVarianceRatio.map((v) => (v * 100).toFixed(1) + '%').join(', ');
  console.log(
    `${result.model.name} · layer ${result.layer} of ${result.blocks} · ${result.images.length} image(s) · grid ${result.grid[0]}×${result.grid[1]} · explained variance ${evr}`,
  );
  for (const i of result.images) {
    const fg = i.foreground.reduce((a, b) => a + b, 0);
    console.log(`  ${path.basename(i.path)}: foreground ${fg} of ${i.foreground.length} patches`);
  }
  const json = f.values.get('json');
  if (json) console.log(`JSON:   ${writeJson(json, featuresJson(result))}`);
  const png = f.values.get('png');
  if (png) {
    const pic = featuresPicture(result, result.model.patchSize);
    await sharp(pic.rgb, { raw: { width: pic.width, height: pic.height, channels: 3 } })
      .png()
      .toFile(prepareOutput(png));
    console.log(`PNG:    ${png}`);
  }
}

export const insideCommands: CliCommand[] = [
  { name: 'anatomy', run: commandAnatomy },
  { name: 'tokens', run: commandTokens },
  { name: 'features', run: commandFeatures },
];
