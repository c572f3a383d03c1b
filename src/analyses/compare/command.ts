// `vit-lens compare <image> --model <a> --model-b <b> [--json out] [--html out] [--top 5] [--fusion …] [--discard r]`:
// two models' attention on one image and their difference, through the engine process. Node side.
import path from 'node:path';
import type { CliCommand, CliContext } from '../../cli/context';
import { intFlag, parseFlags, requestWithProgress, usageError, withEngine, writeJson } from '../../cli/context';
import { writeReport } from '../../cli/htmlReport';
import { resolveModelArg, defaultCacheDir } from '../../models/modelStore';
import { layersByChange } from '../../maths/compare';
import type { HeadFusion } from '../../shared/attentionTypes';
import { compareJson } from './json';
import type { CompareResult } from './types';

function summary(r: CompareResult): string {
  const line = (label: string, x: CompareResult['a']) =>
    `  ${label}: ${x.model.name} · ${x.model.numLayers}×${x.model.numHeads} · grid ${x.grid.join('×')} · top-1 ${x.predictions?.[0] ? `${x.predictions[0].label} ${(x.predictions[0].probability * 100).toFixed(1)}%` : '—'}`;
  const lines = [`${path.basename(r.a.image.path)}`, line('A', r.a), line('B', r.b)];
  const c = r.comparison;
  if (c.layerChange)
    lines.push(
      `  layers that changed most: ${layersByChange(c.layerChange)
        .slice(0, 3)
        .map((l) => `${l} (${c.layerChange![l].toFixed(3)})`)
        .join(', ')}`,
    );
  if (c.note) lines.push(`  note: ${c.note}`);
  return lines.join('\n');
}

export async function runCompareCommand(argv: string[], ctx: CliContext): Promise<CompareResult> {
  const f = parseFlags(argv, ['model', 'model-b', 'cache', 'json', 'html', 'top', 'fusion', 'discard']);
  if (f.positional.length !== 1) throw usageError('compare takes exactly one image path');
  const a = f.values.get('model');
  const b = f.values.get('model-b');
  if (!a || !b) throw usageError('compare needs --model <a> and --model-b <b>');
  const top = intFlag(f, 'top', 5, 1, 1000);
  const fusion = (f.values.get('fusion') ?? 'mean') as HeadFusion;
  if (!['mean', 'max', 'min'].includes(fusion)) throw usageError('--fusion must be mean, max or min');
  const discardRatio = Number(f.values.get('discard') ?? 0);
  if (!(discardRatio >= 0 && discardRatio < 1)) throw usageError('--discard must be a number in [0, 1)');
  const cache = f.values.get('cache') ?? defaultCacheDir();
  const [ma, mb] = [resolveModelArg(a, cache), resolveModelArg(b, cache)].map((m) => path.resolve(m));
  return withEngine(ctx, async (client) => {
    const r = await requestWithProgress(client, 'compare', {
      imagePath: path.resolve(f.positional[0]),
      modelPath: ma,
      modelPathB: mb,
      topK: top,
      rollout: { fusion, discardRatio, startLayer: 0 },
    });
    const json = f.values.get('json');
    if (json) writeJson(json, compareJson(r, { fusion, discardRatio }));
    const html = f.values.get('html');
    if (html)
      writeReport(
        html,
        'compareWebview',
        { compare: r, settings: { colormap: 'inferno', opacity: 0.6, fusion, discardRatio } },
        `ViT Lens — compare ${path.basename(r.a.image.path)}`,
      );
    console.log(summary(r));
    if (json) console.log(`JSON:   ${json}`);
    if (html) console.log(`Report: ${html}`);
    return r;
  });
}

export const compareCommands: CliCommand[] = [
  {
    name: 'compare',
    run: async (argv, ctx) => {
      await runCompareCommand(argv, ctx);
    },
  },
];
