// The `vit-lens` command line. Runs the same engine process as the extension (inference off this
// thread, one session per model), writes the JSON contract and the self-contained HTML report.
import fs from 'node:fs';
import path from 'node:path';
import { clsMaps, rolloutMap } from '../maths/attention';
import { EngineClient, EngineClientOptions, threadsLabel } from '../client/engineClient';
import { commandGates } from '../analyses/gates/command';
import { commandDepth, commandSegment } from '../analyses/dense/command';
import { MODELS_USAGE, runModelsCommand } from './modelsCommand';
import { VitLensError } from '../shared/errors';
import { defaultCacheDir, resolveModelArg } from '../models/modelStore';
import { loadWebviewBundle, renderReportHtml } from './htmlReport';
import type { AttentionResult, HeadFusion } from '../shared/attentionTypes';
import { isThreadCount } from '../shared/engineProtocol';
import type { PanelSettings } from '../analyses/attention/messages';

const USAGE = `vit-lens — look inside vision transformers

Usage:
  vit-lens attention <image> [--model <file.onnx|hf-folder|model-id>] [--cache <dir>] [--json <out.json>]
                     [--html <out.html>] [--top 5] [--fusion mean|max|min] [--discard <0..1>]
      Per-layer/per-head attention, rollout, raw-attention baseline and predictions.
      Without --model: raw attention (softmax(X·Xᵀ/√d) over pixel patches), no download needed.
      A model id (vit-lens models list) must be in the cache first: vit-lens models pull <id>.
  vit-lens gates <image> --model <file.onnx|hf-folder> [--json <out.json>] [--top 5] [--channels 6]
      Channel and spatial gates of a CNN (SE-Net, EfficientNet, MobileNetV3, CBAM): per gate its
      node, kind (channel | spatial), shape and values, and the predictions.
  vit-lens depth <image> --model <file.onnx|hf-folder|model-id> [--cache <dir>] [--png <out.png>]
                 [--png16 <out16.png>] [--npy <out.npy>] [--json <out.json>]
      DPT / Depth Anything depth: --png inferno colours and --png16 16-bit grayscale (min–max) at
      the image's size, --npy the raw predicted_depth (float32, C order) at the model's resolution.
  vit-lens segment <image> --model <file.onnx|hf-folder|model-id> [--cache <dir>] [--png <out.png>] [--json <out.json>]
      DPT semantic segmentation (e.g. ADE20K, 150 classes): --png the ADE20K-palette class map at
      the image's size; the classes with their area share on stdout and in --json.
  vit-lens demo [--out <dir>]
      Builds the tiny fixture ViT and a sample image, writes <dir>/demo.html and demo.json
      (default dir: ./reports).
${MODELS_USAGE}
  vit-lens --help | --version

Every command that runs a model also takes --threads <n>: onnxruntime's threads per run
(default: one per physical core this process may use on Linux, onnxruntime's default elsewhere).
`;

class UsageError extends Error {}

interface Flags { positional: string[]; values: Map<string, string> }

function parseFlags(argv: string[], known: string[]): Flags {
  const positional: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { positional.push(a); continue; }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    if (!known.includes(name)) throw new UsageError(`unknown option --${name} (known: ${known.map((k) => '--' + k).join(', ')})`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    values.set(name, value);
  }
  return { positional, values };
}

export interface AttentionJsonOptions { fusion: HeadFusion; discardRatio: number }

/** The JSON contract of `vit-lens attention --json` (numbers as plain arrays; maps not rescaled). */
export function attentionJson(r: AttentionResult, opts: AttentionJsonOptions): Record<string, unknown> {
  const round = (a: Float32Array) => Array.from(a, (v) => Number(v.toPrecision(7)));
  return {
    image: r.image,
    model: {
      path: r.model.path,
      inputSize: r.model.inputSize,
      patchSize: r.model.patchSize,
      numLayers: r.model.numLayers,
      numHeads: r.model.numHeads,
      specialTokens: r.model.specialTokens,
      attentionSource: r.model.attentionSource,
    },
    grid: r.grid,
    ...(r.predictions ? { predictions: r.predictions } : {}),
    clsAttention: clsMaps(r.attention, r.firstPatchToken).map((heads) => heads.map(round)),
    rollout: { fusion: opts.fusion, discardRatio: opts.discardRatio, map: round(rolloutMap(r.attention, r.firstPatchToken, { fusion: opts.fusion, discardRatio: opts.discardRatio })) },
    headStats: r.headStats,
    timingsMs: r.timingsMs,
  };
}

/**
 * How commands start the engine: dist/engine.js beside this file, with the global --threads flag
 * (taken out of argv here, so every command accepts it). Undefined threads: the engine's automatic count.
 */
function engineOptions(argv: string[]): { engine: EngineClientOptions; rest: string[] } {
  const rest: string[] = [];
  let threads: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a !== '--threads' && !a.startsWith('--threads=')) { rest.push(a); continue; }
    const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
    threads = Number(value);
    if (value === undefined || !isThreadCount(threads) || threads === 0) throw new UsageError('--threads must be a whole number from 1 to 256');
  }
  return { engine: { enginePath: path.join(__dirname, 'engine.js'), threads }, rest };
}

async function runAttention(client: EngineClient, image: string, model: string | null, top: number): Promise<AttentionResult> {
  const onProgress = (stage: string) => process.stderr.isTTY && process.stderr.write(`\r${stage}…`.padEnd(40));
  try {
    return await client.request('attention', { imagePath: path.resolve(image), modelPath: model && path.resolve(model), topK: top }, { onProgress });
  } catch (e) {
    // A CNN without self-attention may still have SE/CBAM gates: say which command shows them.
    if (model && e instanceof VitLensError && e.code === 'MODEL_NOT_VIT') {
      const kind = await client.request('modelKind', { modelPath: path.resolve(model) }).catch(() => undefined);
      if (kind?.kind === 'gates') throw new VitLensError(e.code, `${path.basename(model)} has no self-attention, but it has SE/CBAM gates.`, `Show them with: vit-lens gates ${image} --model ${model} --json gates.json`);
    }
    throw e;
  } finally {
    if (process.stderr.isTTY) process.stderr.write('\r'.padEnd(41) + '\r');
  }
}

function writeReport(file: string, result: AttentionResult, settings: PanelSettings): void {
  const html = renderReportHtml({ result, settings }, loadWebviewBundle(__dirname), `ViT Lens — ${path.basename(result.image.path)}`);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, html);
}

function summary(r: AttentionResult, threads: number): string {
  const lines = [
    `${path.basename(r.image.path)} (${r.image.width}×${r.image.height}) · ${r.model.name} · ${r.model.numLayers} layers × ${r.model.numHeads} heads · grid ${r.grid[0]}×${r.grid[1]} · attention: ${r.model.attentionSource}`,
  ];
  for (const p of r.predictions ?? []) lines.push(`  ${(p.probability * 100).toFixed(1).padStart(5)}%  ${p.label}`);
  const t = r.timingsMs;
  lines.push(`  time: decode ${t.decode.toFixed(0)} ms, preprocess ${t.preprocess.toFixed(0)} ms, inference ${t.inference.toFixed(0)} ms, analysis ${t.analysis.toFixed(0)} ms, total ${t.total.toFixed(0)} ms (onnxruntime threads: ${threadsLabel(threads)})`);
  return lines.join('\n');
}

/** --model: a file or folder, or a catalogue id / "owner/name" resolved in --cache (default cache); null without --model. */
function modelFromFlags(f: Flags): string | null {
  const model = f.values.get('model');
  return model ? resolveModelArg(model, f.values.get('cache') ?? defaultCacheDir()) : null;
}

async function commandAttention(argv: string[], engine: EngineClientOptions): Promise<void> {
  const f = parseFlags(argv, ['model', 'cache', 'json', 'html', 'top', 'fusion', 'discard']);
  if (f.positional.length !== 1) throw new UsageError('attention takes exactly one image path');
  const top = Number(f.values.get('top') ?? 5);
  if (!Number.isInteger(top) || top < 1 || top > 1000) throw new UsageError('--top must be a whole number from 1 to 1000');
  const fusion = (f.values.get('fusion') ?? 'mean') as HeadFusion;
  if (!['mean', 'max', 'min'].includes(fusion)) throw new UsageError('--fusion must be mean, max or min');
  const discardRatio = Number(f.values.get('discard') ?? 0);
  if (!(discardRatio >= 0 && discardRatio < 1)) throw new UsageError('--discard must be a number in [0, 1)');
  const model = modelFromFlags(f);
  const client = new EngineClient(engine);
  try {
    const result = await runAttention(client, f.positional[0], model, top);
    const json = f.values.get('json');
    if (json) {
      fs.mkdirSync(path.dirname(path.resolve(json)), { recursive: true });
      fs.writeFileSync(json, JSON.stringify(attentionJson(result, { fusion, discardRatio }), null, 1));
    }
    const html = f.values.get('html');
    if (html) writeReport(html, result, { colormap: 'inferno', opacity: 0.6, fusion, discardRatio });
    console.log(summary(result, client.threads ?? 0));
    if (json) console.log(`JSON:   ${json}`);
    if (html) console.log(`Report: ${html}`);
  } finally {
    client.dispose();
  }
}

async function commandDemo(argv: string[], engine: EngineClientOptions): Promise<void> {
  const f = parseFlags(argv, ['out']);
  const out = path.resolve(f.values.get('out') ?? 'reports');
  // Fixture builders pull in sharp and the model writer: load them only for the demo.
  const { ensureFixture, defaultFixtureDir } = await import('../../test/fixtures/builders/writeFixtures');
  const { sampleScenePng } = await import('../../test/fixtures/builders/sampleImages');
  fs.mkdirSync(out, { recursive: true });
  const image = path.join(out, 'sample-scene.png');
  fs.writeFileSync(image, await sampleScenePng());
  const model = ensureFixture('vit-tiny', defaultFixtureDir(path.resolve(__dirname, '..')));
  await commandAttention([image, '--model', model, '--json', path.join(out, 'demo.json'), '--html', path.join(out, 'demo.html')], engine);
  console.log(`Open ${path.join(out, 'demo.html')} in a browser: the same panel the VS Code extension shows.`);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    const { engine, rest } = engineOptions(args);
    const ctx = { parseFlags, usageError: (m: string) => new UsageError(m), engine };
    if (!command || command === '--help' || command === '-h' || command === 'help') { console.log(USAGE); return command ? 0 : 2; }
    if (command === '--version') { console.log(require('../../package.json').version); return 0; }
    if (command === 'attention') await commandAttention(rest, engine);
    else if (command === 'demo') await commandDemo(rest, engine);
    else if (command === 'models') return await runModelsCommand(rest);
    else if (command === 'gates') await commandGates(rest, ctx);
    else if (command === 'depth') await commandDepth(rest, ctx);
    else if (command === 'segment') await commandSegment(rest, ctx);
    else throw new UsageError(`unknown command "${command}"`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) { console.error(`vit-lens: ${e.message}\n\n${USAGE}`); return 2; }
    if (e instanceof VitLensError) { console.error(`vit-lens: ${e.message}${e.hint ? `\n  ${e.hint}` : ''}`); return 1; }
    if (e instanceof VitLensError) { console.error(`vit-lens: ${e.message}${e.hint ? `\n  ${e.hint}` : ''}`); return 1; }
    console.error(`vit-lens: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
