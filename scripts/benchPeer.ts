// A peer side by side (`node dist/bench.js --only peer --peer <transformers.js package folder>`):
// transformers.js's image-classification pipeline on the same ViT-B/16-sized single-file model (it shows
// no attention) against ViT Lens's engine, each in fresh processes, alternated. transformers.js is not a
// dependency of this project: install it anywhere (`npm install @huggingface/transformers`) and pass the
// folder of its package. Figures: its pipeline() load and warm call (same onnxruntime thread count as the
// engine), against the engine's cold first map (engine start, model load, run) and its warm request →
// first map. The targets: the first map no slower than its warm call, the cold load no slower
// than its load.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EngineClient } from '../src/client/engineClient';
import { inferenceThreads } from '../src/core/onnx/threads';
import { defaultFixtureDir, ensureFixture } from '../test/fixtures/builders/writeFixtures';
import { arg, fmt, median, root } from './benchUtil';

const WARM_CALLS = 10;

interface PeerFigures {
  /** transformers.js: pipeline() / ViT Lens: the engine's start (→ its first answer) plus its modelLoad stage. */
  loadMs: number;
  /** The first call after load / the first request → its first map, less its model load. */
  firstMs: number;
  /** Median of the warm calls / warm requests → first map. */
  warmMs: number;
}

/** In a child process: transformers.js on `dir` (an HF folder), one JSON line on stdout. */
async function transformersChild(pkg: string, dir: string, image: string): Promise<PeerFigures> {
  // The package's ESM entry, by path: it is not this project's dependency.
  const entry = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).exports?.['.']?.node?.import?.default;
  const tjs = await import(pathToFileURL(path.join(pkg, typeof entry === 'string' ? entry : 'dist/transformers.node.mjs')).href);
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = path.dirname(dir);
  const t0 = performance.now();
  const classify = await tjs.pipeline('image-classification', path.basename(dir), {
    device: 'cpu',
    dtype: 'fp32',
    session_options: { intraOpNumThreads: inferenceThreads() },
  });
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  await classify(image);
  const firstMs = performance.now() - t1;
  const warm: number[] = [];
  for (let i = 0; i < WARM_CALLS; i++) {
    const t = performance.now();
    await classify(image);
    warm.push(performance.now() - t);
  }
  return { loadMs, firstMs, warmMs: median(warm) };
}

/** In a child process: ViT Lens's engine, as a panel asks it (attentionPanel, first map first). */
async function vitLensChild(modelPath: string, image: string): Promise<PeerFigures> {
  const client = new EngineClient({ enginePath: path.join(__dirname, 'engine.js') });
  const rollout = { fusion: 'mean' as const, discardRatio: 0, startLayer: 0 };
  const firstMap = async () => {
    const t0 = performance.now();
    let mapMs = NaN;
    const r = await client.request(
      'attentionPanel',
      { imagePath: image, modelPath, rollout },
      { onPartial: () => void (Number.isNaN(mapMs) && (mapMs = performance.now() - t0)) },
    );
    await client.request('release', { attentionKey: r.attentionKey });
    return { mapMs, timings: r.result.timingsMs };
  };
  const t0 = performance.now();
  await client.request('ping', {});
  const startMs = performance.now() - t0; // the engine process up and answering
  const cold = await firstMap();
  const warm: number[] = [];
  for (let i = 0; i < WARM_CALLS; i++) warm.push((await firstMap()).mapMs);
  client.dispose();
  return { loadMs: startMs + cold.timings.modelLoad, firstMs: cold.mapMs - cold.timings.modelLoad, warmMs: median(warm) };
}

/** `node dist/bench.js --peer-child transformers|vit-lens …`: one side's figures as one JSON line. */
export async function peerChild(): Promise<void> {
  const side = arg('--peer-child');
  const image = arg('--image')!;
  const figures =
    side === 'transformers' ? await transformersChild(arg('--peer')!, arg('--dir')!, image) : await vitLensChild(arg('--model')!, image);
  console.log(JSON.stringify(figures));
}

function childFigures(args: string[]): Promise<PeerFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'bench.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as PeerFigures);
      else reject(new Error(`${args.join(' ')} exited with ${code}: ${out.slice(-300)}`));
    });
  });
}

/** The comparison: `rounds` fresh processes each side, alternated; medians. */
export async function benchPeer(image: string, peerPkg: string, rounds = 3): Promise<Record<string, unknown>> {
  if (!fs.existsSync(path.join(peerPkg, 'package.json')))
    throw new Error(`--peer ${peerPkg}: no package.json there; pass the folder of the @huggingface/transformers package`);
  console.log('\nbuilding/loading the ViT-B/16-sized single-file model (first time ≈ 350 MB)…');
  const modelPath = ensureFixture('vit-b16-plain', defaultFixtureDir(root));
  // transformers.js reads an HF folder whose preprocessor config names its processor class.
  const modelDir = path.dirname(path.dirname(modelPath));
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vit-lens-bench-peer-')), 'vit-b16-plain');
  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  fs.symlinkSync(modelPath, path.join(dir, 'onnx', 'model.onnx'));
  fs.copyFileSync(path.join(modelDir, 'config.json'), path.join(dir, 'config.json'));
  const pre = JSON.parse(fs.readFileSync(path.join(modelDir, 'preprocessor_config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify({ ...pre, image_processor_type: 'ViTImageProcessor' }));

  const sides = { transformers: [] as PeerFigures[], vitLens: [] as PeerFigures[] };
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? (['vitLens', 'transformers'] as const) : (['transformers', 'vitLens'] as const);
    for (const side of order)
      sides[side].push(
        await childFigures(
          side === 'transformers'
            ? ['--peer-child', 'transformers', '--peer', peerPkg, '--dir', dir, '--image', image]
            : ['--peer-child', 'vit-lens', '--model', modelPath, '--image', image],
        ),
      );
  }
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  const m = (side: keyof typeof sides, k: keyof PeerFigures) => median(sides[side].map((f) => f[k]));
  console.log(
    `peer: transformers.js image-classification vs ViT Lens's engine, ${rounds} fresh processes each, alternated, threads ${inferenceThreads()}`,
  );
  console.log(
    `  load: transformers.js pipeline() ${fmt(m('transformers', 'loadMs'))}; ViT Lens engine start + tapped model load ${fmt(m('vitLens', 'loadMs'))}   ratio ${(m('vitLens', 'loadMs') / m('transformers', 'loadMs')).toFixed(3)} (target ≤ 1)`,
  );
  console.log(
    `  warm: transformers.js call ${fmt(m('transformers', 'warmMs'))} (classes only); ViT Lens request → first map ${fmt(m('vitLens', 'warmMs'))}   ratio ${(m('vitLens', 'warmMs') / m('transformers', 'warmMs')).toFixed(3)} (target ≤ 1)`,
  );
  console.log(
    `  first call after load: transformers.js ${fmt(m('transformers', 'firstMs'))}; ViT Lens run ${fmt(m('vitLens', 'firstMs'))}`,
  );
  return { rounds, threads: inferenceThreads(), transformers: sides.transformers, vitLens: sides.vitLens };
}
