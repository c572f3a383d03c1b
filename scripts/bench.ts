// `npm run bench`: the attention pipeline on a ViT-B/16-sized model (random weights, built on demand),
// reported as stage medians and as ratios against the bare onnxruntime session.run of the same,
// untapped model in the same process, with the same onnxruntime thread count (so the ratio is ViT
// Lens's own cost); onnxruntime's default thread count is shown beside it. Runs in a child process with
// the engine's environment. Command → first map (the hand-over of the map with query 0's rows, before
// its rollout, the head statistics and the raw baseline). Also the full path through the engine process (IPC
// included), and the panel's request: → its first map, → the whole result.
// Then DPT depth (the dense pipeline) on a DPT-sized model: ViT-B/16 backbone at 384×384 with HF DPTConfig's
// default neck (96/192/384/768, fusion 256), random weights, built on demand (≈ 480 MB, not committed).
// First, cold figures: whole `vit-lens attention` (single-file ViT-B/16) and `vit-lens depth` (DPT) processes
// alternated with bare onnxruntime-node processes (session from the path, one run), wall time and peak RSS.
// Then the gallery's images per second on a folder of 64 images against bare session.run on the same batches.
// Last, class-specific maps: key-masked runs against bare runs of the same batch, and the occlusion map's time.
// With --peer <folder of an installed @huggingface/transformers package>: first, transformers.js side by side.
//   node dist/bench.js [--runs N] [--cold-runs N] [--image PATH] [--json out.json] [--only attention|dense|cold|gallery|explain|peer] [--peer DIR]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EngineClient, threadsLabel } from '../src/client/engineClient';
import { runAttentionPipeline } from '../src/analyses/attention/pipeline';
import { queryRows } from '../src/maths/attention';
import { densePostStages, runDensePipeline } from '../src/analyses/dense/pipeline';
import { recycleAttention } from '../src/core/placedOutputs';
import { planDenseInput, preprocessDense } from '../src/core/image/dptPreprocess';
import { decodeImage, preprocess } from '../src/core/image/image';
import { loadVitModel } from '../src/core/model/vitModel';
import { defaultFixtureDir, ensureFixture } from '../test/fixtures/builders/writeFixtures';
import { inferenceThreads } from '../src/core/onnx/threads';
import { benchGallery } from './benchGallery';
import { benchExplain } from './benchExplain';
import { benchPeer, peerChild } from './benchPeer';
import {
  alternateWithBare,
  arg,
  bareColdArgv,
  bareRunMs,
  benchImage,
  coldAgainstBare,
  fmt,
  inEngineEnvironment,
  median,
  openBareSession,
  panelAgainstBare,
  panelLine,
  pipelineAgainstBare,
  range,
  root,
} from './benchUtil';

const runs = Number(arg('--runs') ?? 20);

/** Post-processing parts as stage names (`post.view`, `post.map`, `post.attention`, `post.features`). */
const postStages = densePostStages.map((k) => `post.${k}`);

/**
 * DPT depth: pipeline stages (decode, preprocess, inference, map = command → depth map ready, post-process
 * and its parts, total) against the bare session.run; then the same through the engine process, as the
 * panel gets it: request → the map's partial message, and → the whole result.
 */
async function benchDense(image: string): Promise<Record<string, unknown>> {
  console.log('\nbuilding/loading the DPT-sized model (ViT-B/16 at 384×384; first time ≈ 480 MB)…');
  const modelPath = ensureFixture('dpt-b16-384', defaultFixtureDir(root));
  const model = await loadVitModel(modelPath);
  const img = await decodeImage(fs.readFileSync(image), path.basename(image));
  const pre = await preprocessDense(
    img,
    model.files.preprocessor,
    planDenseInput(img.height, img.width, model.files.preprocessor, model).size,
  );
  const req = { imagePath: image, modelPath, task: 'depth' as const };
  const runOnce = async () => {
    let mapMs = NaN; // the pipeline's clock when the map was handed over
    const r = await runDensePipeline(req, async () => model, undefined, {
      onMap: (m) => {
        mapMs = m.timingsMs.total;
      },
    });
    const post = Object.fromEntries(densePostStages.map((k) => [`post.${k}`, r.postprocessMs?.[k] ?? NaN]));
    return { ...r, timingsMs: { ...r.timingsMs, map: mapMs, ...post } };
  };
  // The pipeline's first run in this process (JIT, onnxruntime's arena and our buffers fresh: "cold" post-processing).
  const first = await runOnce();
  recycleAttention(first.attention!.data);
  const firstPost = ['postprocess', ...postStages].map((k) => `${k} ${(first.timingsMs as Record<string, number>)[k].toFixed(1)}`);
  const denseRuns = Math.max(4, Math.round(runs / 2)); // a DPT run takes ~6× a ViT-B one
  const { bareMs, stages } = await pipelineAgainstBare(
    modelPath,
    pre,
    runOnce,
    ['decode', 'preprocess', 'inference', 'map', 'postprocess', ...postStages, 'total'],
    denseRuns,
  );
  await model.session.release();
  console.log(
    `DPT depth ${pre.width}×${pre.height}, attention [12,12,577,577] tapped, 4 neck levels; ${denseRuns} runs each side, alternating blocks (medians)`,
  );
  console.log(`bare session.run (untapped)   ${fmt(bareMs)}`);
  for (const [k, v] of Object.entries(stages)) console.log(`dense ${k.padEnd(23)} ${fmt(v)}`);
  const ratio = stages.total / bareMs;
  const mapRatio = stages.map / bareMs;
  console.log(`ratio command → depth map / bare ${mapRatio.toFixed(3)}   (target ≤ 1.10; the PCA and attention follow)`);
  console.log(`ratio total / bare            ${ratio.toFixed(3)}`);
  console.log(`post-process, first run in this process: ${firstPost.join(', ')} ms`);

  // Through the engine (IPC included), as the panel: densePanel's map partial, then the result.
  const client = new EngineClient({ enginePath: path.join(__dirname, 'engine.js') });
  const rollout = { fusion: 'mean' as const, discardRatio: 0, startLayer: 0 };
  const engine = await panelAgainstBare(
    client,
    (onPartial) => client.request('densePanel', { ...req, rollout }, { onPartial }),
    modelPath,
    pre,
    denseRuns,
  );
  client.dispose();
  console.log(panelLine('engine densePanel', engine));
  return {
    model: 'dpt-b16-384',
    inputSize: [pre.height, pre.width],
    bareMs,
    stages,
    ratio,
    mapRatio,
    firstRun: first.timingsMs,
    engine,
  };
}

/**
 * Cold: whole processes as a new user runs them, alternated with bare onnxruntime-node processes on the
 * same model (created from its path, one run on a constant input, the same thread count).
 */
async function benchCold(image: string): Promise<Record<string, unknown>> {
  const coldRuns = Number(arg('--cold-runs') ?? 3);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'vit-lens-bench-'));
  const cli = path.join(__dirname, 'cli.js');
  const cases = [
    {
      name: 'attention, ViT-B/16 single file (tapped)',
      fixture: 'vit-b16-plain',
      size: [224, 224],
      argv: (m: string) => [cli, 'attention', image, '--model', m, '--json', path.join(out, 'a.json')],
      targets: [1.2, 1.3],
    },
    {
      name: 'depth, DPT ViT-B/16 384² (external data)',
      fixture: 'dpt-b16-384',
      size: [384, 384],
      argv: (m: string) => [cli, 'depth', image, '--model', m, '--json', path.join(out, 'd.json')],
      targets: [1.3, 1.3],
    },
  ];
  const results: Record<string, unknown> = {};
  console.log(
    `\ncold: whole processes, ${coldRuns} each side, alternated with bare onnxruntime-node (session from the path + one run), onnxruntime threads ${threadsLabel(inferenceThreads())}; peak RSS = the process tree's (CLI + engine) VmHWM sum`,
  );
  for (const c of cases) {
    const modelPath = ensureFixture(c.fixture, defaultFixtureDir(root));
    // Each CLI run's own stage timings (its --json): the cold post-processing.
    const post: number[] = [];
    const json = path.join(out, c.fixture === 'dpt-b16-384' ? 'd.json' : 'a.json');
    const r = await coldAgainstBare(
      c.argv(path.dirname(path.dirname(modelPath))),
      bareColdArgv(modelPath, c.size[0], c.size[1], inferenceThreads()),
      coldRuns,
      () => {
        const t = (JSON.parse(fs.readFileSync(json, 'utf8')) as { timingsMs?: Record<string, number> }).timingsMs;
        post.push(t?.postprocess ?? t?.analysis ?? NaN);
      },
    );
    console.log(`${c.name}`);
    console.log(`  vit-lens  ${range(r.vitLens.wallMs, 'ms')}, peak ${range(r.vitLens.peakBytes, 'MB')}`);
    console.log(`  bare      ${range(r.bare.wallMs, 'ms')}, peak ${range(r.bare.peakBytes, 'MB')}`);
    console.log(
      `  ratio     time ${r.timeRatio.toFixed(2)} (target ≤ ${c.targets[0]}), memory ${r.memoryRatio.toFixed(2)} (target ≤ ${c.targets[1]})`,
    );
    console.log(`  its own ${c.fixture === 'dpt-b16-384' ? 'post-process' : 'analysis'} stage (cold, from --json) ${range(post, 'ms')}`);
    results[c.fixture] = { ...r, ownPostMs: post };
  }
  fs.rmSync(out, { recursive: true, force: true });
  return results;
}

/** Writes the figures to the file named by --json, if any. */
function writeJson(figures: Record<string, unknown>): void {
  const out = arg('--json');
  if (out) fs.writeFileSync(out, JSON.stringify(figures, null, 2));
}

/** The pieces `--only` runs on their own, each written to --json under its name. */
const alone: Record<string, (image: string) => Promise<Record<string, unknown>>> = {
  explain: benchExplain,
  gallery: benchGallery,
  cold: benchCold,
  dense: benchDense,
};

async function main(): Promise<void> {
  const exitCode = await inEngineEnvironment();
  if (exitCode !== undefined) {
    process.exitCode = exitCode;
    return;
  }
  if (arg('--peer-child')) return peerChild();
  const only = arg('--only');
  const peer = arg('--peer');
  let peerFigures: Record<string, unknown> | undefined;
  if (only === 'peer' || (only === undefined && peer)) {
    if (!peer) throw new Error('--only peer needs --peer <folder of the @huggingface/transformers package>');
    peerFigures = await benchPeer(await benchImage(), path.resolve(peer));
    if (only === 'peer') return writeJson({ peer: peerFigures });
  }
  if (only !== undefined && Object.hasOwn(alone, only)) {
    writeJson({ [only]: await alone[only](await benchImage()) });
    return;
  }
  const cold = only === undefined ? await benchCold(await benchImage()) : undefined;
  console.log('building/loading the ViT-B/16-sized model (first time ≈ 350 MB)…');
  const modelPath = ensureFixture('vit-b16', defaultFixtureDir(root));
  const image = await benchImage();
  console.log(
    `model ${path.relative(root, modelPath)}, image ${path.basename(image)}, ${runs} runs each side in alternating blocks of bare and pipeline (medians), onnxruntime threads per run: ${threadsLabel(inferenceThreads())}`,
  );

  // Bare: the untapped model, the same pixel tensor, nothing else; in blocks alternating with the pipeline's.
  const img = await decodeImage(fs.readFileSync(image), path.basename(image));
  const model = await loadVitModel(modelPath);
  const pre = await preprocess(img, model.files.preprocessor, model.inputSize, true);
  const rollout = { fusion: 'mean' as const, discardRatio: 0, startLayer: 0 };
  const runOnce = async () => {
    // Command → first map: the pipeline's hand-over with query 0's rows cut, as attentionPanel sends it.
    const t0 = performance.now();
    let firstMap = NaN;
    const r = await runAttentionPipeline({ imagePath: image, modelPath }, async () => model, undefined, {
      onFirstMap: (m) => {
        queryRows(m.attention, 0);
        firstMap = performance.now() - t0;
      },
    });
    return { ...r, timingsMs: { ...r.timingsMs, firstMap } };
  };
  const { bareMs, stages } = await pipelineAgainstBare(
    modelPath,
    pre,
    runOnce,
    ['decode', 'preprocess', 'inference', 'firstMap', 'analysis', 'total'],
    runs,
  );
  console.log(`\nbare session.run (untapped)   ${fmt(bareMs)}`);
  for (const [k, v] of Object.entries(stages)) console.log(`pipeline ${k.padEnd(20)} ${fmt(v)}`);
  const ratio = stages.total / bareMs;
  const firstMapRatio = stages.firstMap / bareMs;
  console.log(
    `ratio command → first map / bare ${firstMapRatio.toFixed(3)}   (target ≤ 1.10; its rollout, the statistics and the baseline follow)`,
  );
  console.log(`ratio total / bare            ${ratio.toFixed(3)}   (target ≤ 1.10; analysis target ≤ 20 ms)`);
  // ViT Lens's own milliseconds. Medians do not add up: the stages are listed beside the total's. The
  // tap's share is the inference over the bare run (Softmax outputs written out, and onnxruntime-node's
  // copy of every output).
  const stageMs = (['decode', 'preprocess', 'analysis'] as const).map((k) => `${k} ${stages[k].toFixed(1)}`).join(', ');
  console.log(
    `own cost: total − bare ${(stages.total - bareMs).toFixed(1)} ms; by stage ${stageMs}, inference − bare ${(stages.inference - bareMs).toFixed(1)}`,
  );
  // For reference: the same bare run with onnxruntime's own thread count (intraOpNumThreads 0).
  const bareDefaultMs = await bareRunMs(modelPath, pre, Math.max(6, Math.round(runs / 2)), 0);
  console.log(
    `bare, onnxruntime's default threads ${fmt(bareDefaultMs)}   pipeline total / this ${(stages.total / bareDefaultMs).toFixed(3)}`,
  );

  await model.session.release();
  // Through the engine process, as the CLI uses it (IPC included): `vit-lens attention --json` asks for
  // the summary (no tensor, baseline or view); `--html` for the whole result with the [12,12,197,197] tensor.
  const client = new EngineClient({ enginePath: path.join(__dirname, 'engine.js') });
  const bare = await openBareSession(modelPath, pre);
  // Each kind in blocks alternating with bare runs in this process (alternateWithBare).
  const roundTrip = async (kind: 'attentionSummary' | 'attention') => {
    await client.request(kind, { imagePath: image, modelPath, rollout });
    const times: number[] = [];
    const bareTimes = await alternateWithBare(
      bare.run,
      async (counted) => {
        const t0 = performance.now();
        await client.request(kind, { imagePath: image, modelPath, rollout });
        if (counted) times.push(performance.now() - t0);
      },
      runs,
    );
    return { ms: median(times), ratio: median(times) / median(bareTimes), bareMs: median(bareTimes) };
  };
  const cli = await roundTrip('attentionSummary');
  const e2e = await roundTrip('attention');
  await bare.release();
  const [cliMs, cliRatio, e2eMs, e2eRatio] = [cli.ms, cli.ratio, e2e.ms, e2e.ratio];
  console.log(`bare session.run, alternated  ${fmt(cli.bareMs)} / ${fmt(e2e.bareMs)}`);
  console.log(`CLI round trip, --json (IPC incl.) ${fmt(cliMs)}   ratio ${cliRatio.toFixed(3)}   (target ≤ 1.10)`);
  console.log(`CLI round trip, --html: whole result with the tensor ${fmt(e2eMs)}   ratio ${e2eRatio.toFixed(3)}`);
  // As the panel gets it: attentionPanel's first map (partial), then the whole result (the tensor stays in the engine).
  const enginePanel = await panelAgainstBare(
    client,
    (onPartial) => client.request('attentionPanel', { imagePath: image, modelPath, rollout }, { onPartial }),
    modelPath,
    pre,
    runs,
  );
  client.dispose();
  console.log(panelLine('engine attentionPanel', enginePanel));
  const dense = only === 'attention' ? undefined : await benchDense(image);
  const gallery = only === 'attention' ? undefined : await benchGallery(image);
  const explain = only === 'attention' ? undefined : await benchExplain(image);

  writeJson({
    threads: inferenceThreads(),
    bareMs,
    stages,
    ratio,
    firstMapRatio,
    enginePanel,
    bareDefaultThreadsMs: bareDefaultMs,
    cliRoundTripMs: cliMs,
    cliRatio,
    engineRoundTripMs: e2eMs,
    engineRatio: e2eRatio,
    dense,
    cold,
    gallery,
    explain,
    peer: peerFigures,
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
