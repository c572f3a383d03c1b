// `vit-lens explain <image> --model <m> [--class c] [--method occlusion|rise|all] [--window w] [--samples n]
// [--seed s] [--score probability|log-odds] [--steps] [--json out] [--html out]`: class-specific maps and
// the perturbation test through the engine process. --html writes the attention report with the "Why
// this class" view filled in. Ctrl-C cancels (the engine stays up; nothing is written). Node side.
import path from 'node:path';
import type { CliCommand, CliContext } from '../../cli/context';
import { intFlag, parseFlags, usageError, withEngine, writeJson } from '../../cli/context';
import { modelFromFlags, writeAttentionReport } from '../attention/command';
import { writeDenseReport } from '../dense/command';
import { explainJson } from './json';
import { hardAttentionJson } from '../inside/json';
import { EXPLAIN_DEFAULTS } from './types';
import type { ExplainMethod, ExplainParams, ExplainResult } from './types';

const METHODS: Record<string, ExplainMethod[]> = { occlusion: ['occlusion'], rise: ['rise'], all: ['occlusion', 'rise'] };

export function explainParamsFromArgv(argv: string[]): {
  hardAttention?: number;
  params: Omit<ExplainParams, 'modelPath'> & { model: string | null };
  json?: string;
  html?: string;
} {
  const f = parseFlags(argv, [
    'model',
    'cache',
    'class',
    'region',
    'method',
    'window',
    'samples',
    'seed',
    'score',
    'steps',
    'json',
    'html',
    'top',
    'hard-attention',
    'removal',
  ]);
  if (f.positional.length !== 1) throw usageError('explain takes exactly one image path');
  const model = modelFromFlags(f);
  if (!model) throw usageError('explain needs --model: class-specific maps explain a classifier');
  const method = f.values.get('method') ?? 'all';
  const methods = METHODS[method];
  if (!methods) throw usageError('--method must be occlusion, rise or all');
  const score = f.values.get('score') ?? 'probability';
  if (score !== 'probability' && score !== 'log-odds') throw usageError('--score must be probability or log-odds');
  const steps = f.values.get('steps');
  if (steps !== undefined && steps !== 'true' && steps !== 'false') throw usageError('--steps takes true or false');
  const cls = f.values.get('class');
  const regionText = f.values.get('region');
  const region = regionText?.split(',').map(Number);
  if (region && (region.length !== 4 || !region.every(Number.isFinite)))
    throw usageError('--region takes x0,y0,x1,y1 in image pixels (a DPT depth model: the mean depth inside it is explained)');
  const tauText = f.values.get('hard-attention');
  const hardAttention = tauText === undefined ? undefined : Number(tauText);
  if (hardAttention !== undefined && !(hardAttention > 0 && hardAttention <= 1))
    throw usageError('--hard-attention must be a share of the map’s mass in (0, 1], e.g. 0.5');
  if (hardAttention !== undefined && region) throw usageError('--hard-attention crops for a classifier, not for a depth region');
  const removal = f.values.get('removal') ?? 'key-mask';
  if (removal !== 'key-mask' && removal !== 'pixel-fill') throw usageError('--removal must be key-mask (a ViT) or pixel-fill (a CNN)');
  if (removal === 'pixel-fill' && (region || hardAttention !== undefined || f.values.get('html')))
    throw usageError('--removal pixel-fill (a CNN classifier) takes no --region, --hard-attention or --html; --json has everything');
  return {
    hardAttention,
    params: {
      imagePath: path.resolve(f.positional[0]),
      model,
      ...(cls !== undefined ? { target: /^\d+$/.test(cls) ? Number(cls) : cls } : {}),
      ...(region ? { region: region as [number, number, number, number] } : {}),
      methods,
      window: intFlag(f, 'window', EXPLAIN_DEFAULTS.window, 1, 64),
      samples: intFlag(f, 'samples', EXPLAIN_DEFAULTS.samples, 1, 100_000),
      seed: intFlag(f, 'seed', EXPLAIN_DEFAULTS.seed, 0, 2 ** 31 - 1),
      score: score === 'log-odds' ? 'logOdds' : 'probability',
      stepCurves: steps === 'true',
      ...(removal === 'pixel-fill' ? { removal } : {}),
      topK: intFlag(f, 'top', 5, 1, 1000),
    },
    json: f.values.get('json'),
    html: f.values.get('html'),
  };
}

function summary(r: ExplainResult): string {
  const lines = [
    `${path.basename(r.image.path)} · ${r.model.name} · grid ${r.grid[0]}×${r.grid[1]} · target ${r.target.label} ` +
      (r.score === 'meanDepth' ? `(${r.target.probability.toPrecision(4)})` : `(${(r.target.probability * 100).toFixed(1)}%)`) +
      ` · removal ${r.removal}${r.removalExact ? '' : ` (not exact: ${r.removalNote})`}`,
    '  faithfulness  positive AUC (lower is better)  negative AUC (higher is better)',
  ];
  for (const [name, f] of Object.entries(r.faithfulness))
    lines.push(
      `  ${name.padEnd(12)}  ${f.positiveAuc.toFixed(2).padStart(8)}                        ${f.negativeAuc.toFixed(2).padStart(8)}`,
    );
  const t = r.timingsMs;
  lines.push(
    `  ${r.runs} masked runs (batch ${r.batch}); time: attention ${t.attention.toFixed(0)} ms, occlusion ${t.occlusion.toFixed(0)} ms, RISE ${t.rise.toFixed(0)} ms, faithfulness ${t.faithfulness.toFixed(0)} ms, total ${t.total.toFixed(0)} ms`,
  );
  return lines.join('\n');
}

export async function runExplainCommand(argv: string[], ctx: CliContext): Promise<ExplainResult> {
  const { params, json, html, hardAttention } = explainParamsFromArgv(argv);
  const { model, ...rest } = params;
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    return await withEngine(ctx, async (client) => {
      const tty = process.stderr.isTTY;
      const r = await client.request(
        'explain',
        { ...rest, modelPath: path.resolve(model!) },
        {
          signal: abort.signal,
          timeoutMs: 24 * 3600_000,
          onProgress: (stage) => tty && process.stderr.write(`\r${stage}…`.padEnd(60)),
        },
      );
      if (tty) process.stderr.write('\r'.padEnd(61) + '\r');
      // Hard attention from the class-specific map (src/analyses/inside): crop to the smallest box holding τ
      // of its positive mass (the patches whose removal lowers the class's score), classify the crop.
      const mapName = r.maps.occlusion ? 'occlusion' : 'rise';
      const hard =
        hardAttention !== undefined
          ? await client.request('insideHardAttention', {
              imagePath: params.imagePath,
              modelPath: path.resolve(model!),
              map: Array.from(r.maps[mapName]!, (v) => Math.max(0, v)),
              mapName,
              tau: hardAttention,
              topK: params.topK,
            })
          : undefined;
      if (json) writeJson(json, { ...explainJson(r), ...(hard ? { hardAttention: hardAttentionJson(hard) } : {}) });
      if (html && r.score === 'meanDepth') {
        const { view: _view, ...shown } = r;
        const dense = await client.request('dense', { imagePath: params.imagePath, modelPath: path.resolve(model!), task: 'depth' });
        writeDenseReport(html, dense, shown);
      } else if (html) {
        const att = await client.request('attention', { imagePath: params.imagePath, modelPath: path.resolve(model!), topK: params.topK });
        writeAttentionReport(html, att, { colormap: 'inferno', opacity: 0.6, fusion: 'mean', discardRatio: 0 }, r);
      }
      console.log(summary(r));
      if (hard)
        console.log(
          `  hard attention: the smallest box holding ${(hardAttention! * 100).toFixed(0)}% of the ${mapName} map, [${hard.box.join(', ')}] px; on the crop: ${hard.predictions
            .slice(0, 3)
            .map((p) => `${p.label} ${(p.probability * 100).toFixed(1)}%`)
            .join(', ')}`,
        );
      if (json) console.log(`JSON:   ${json}`);
      if (html) console.log(`Report: ${html}`);
      return r;
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export const explainCommands: CliCommand[] = [
  {
    name: 'explain',
    run: async (argv, ctx) => {
      await runExplainCommand(argv, ctx);
    },
  },
];
