// `vit-lens attention <image> [--model …] [--json out.json] [--html out.html] [--top 5] [--fusion …] [--discard r]`:
// the attention analysis on the command line, through the engine process (inference off this thread).
// Writes the JSON contract (json.ts) and the self-contained HTML report. Node side: no onnxruntime.
import path from 'node:path';
import { attentionSlice } from '../../maths/attention';
import { threadsLabel, type EngineClient } from '../../client/engineClient';
import { defaultCacheDir, resolveModelArg } from '../../models/modelStore';
import type { CliCommand, CliContext, Flags } from '../../cli/context';
import { intFlag, parseFlags, requestWithProgress, usageError, withEngine, writeJson } from '../../cli/context';
import { writeReport } from '../../cli/htmlReport';
import type { AttentionResult, AttentionSlice, HeadFusion, RolloutSettings } from '../../shared/attentionTypes';
import type { SummaryResult } from './types';
import { VitLensError } from '../../shared/errors';
import type { PanelSettings } from './messages';
import { attentionJson } from './json';
import { isGallerySource, runGalleryCommand } from '../gallery/command';
import type { ExplainResult } from '../explain/types';
import { hardAttentionJson } from '../inside/json';

/** --model: a file or folder, or a catalogue id / "owner/name" resolved in --cache (default cache); null without --model. */
export function modelFromFlags(f: Flags): string | null {
  const model = f.values.get('model');
  return model ? resolveModelArg(model, f.values.get('cache') ?? defaultCacheDir()) : null;
}

/**
 * The run, asking the engine for what the command writes: with --html the full [L, H, N, N] tensor (the
 * report slices it itself); otherwise the result without its tensor, raw baseline or view, and the CLS
 * query's slice (maps and rollout): no tensor crosses the process boundary (22 MB on ViT-B, 192 MB on a
 * DPT-B at 384²) and no work is done for what the JSON does not hold.
 */
async function runAttention(
  client: EngineClient,
  image: string,
  model: string | null,
  top: number,
  cls: RolloutSettings | null,
): Promise<{ result: SummaryResult | AttentionResult; cls?: AttentionSlice }> {
  const params = { imagePath: path.resolve(image), modelPath: model && path.resolve(model), topK: top };
  try {
    if (!cls) return { result: await requestWithProgress(client, 'attention', params) };
    const r = await requestWithProgress(client, 'attentionSummary', { ...params, rollout: cls });
    return { result: r.result, cls: r.slice };
  } catch (e) {
    // A CNN without self-attention may still have SE/CBAM gates: say which command shows them.
    if (model && e instanceof VitLensError && e.code === 'MODEL_NOT_VIT') {
      const kind = await client.request('modelKind', { modelPath: path.resolve(model) }).catch(() => undefined);
      if (kind?.kind === 'gates')
        throw new VitLensError(
          e.code,
          `${path.basename(model)} has no self-attention, but it has SE/CBAM gates.`,
          `Show them with: vit-lens gates ${image} --model ${model} --json gates.json`,
        );
    }
    throw e;
  }
}

/**
 * The self-contained HTML report: the attention panel's page with the full result embedded, and with an
 * explain result its "Why this class" view.
 */
export function writeAttentionReport(file: string, result: AttentionResult, settings: PanelSettings, explain?: ExplainResult): string {
  return writeReport(
    file,
    'webview',
    { result, settings, ...(explain ? { explain } : {}) },
    `ViT Lens — ${path.basename(result.image.path)}`,
  );
}

function summary(r: SummaryResult, threads: number): string {
  const lines = [
    `${path.basename(r.image.path)} (${r.image.width}×${r.image.height}) · ${r.model.name} · ${r.model.numLayers} layers × ${r.model.numHeads} heads · grid ${r.grid[0]}×${r.grid[1]} · attention: ${r.model.attentionSource}`,
  ];
  for (const p of r.predictions ?? []) lines.push(`  ${(p.probability * 100).toFixed(1).padStart(5)}%  ${p.label}`);
  const t = r.timingsMs;
  lines.push(
    `  time: decode ${t.decode.toFixed(0)} ms, preprocess ${t.preprocess.toFixed(0)} ms, inference ${t.inference.toFixed(0)} ms, analysis ${t.analysis.toFixed(0)} ms, total ${t.total.toFixed(0)} ms (onnxruntime threads: ${threadsLabel(threads)})`,
  );
  return lines.join('\n');
}

/** What `vit-lens attention` ran, for callers that print more (the demo). */
export interface AttentionRun {
  result: SummaryResult | AttentionResult;
  json?: string;
  html?: string;
}

export async function runAttentionCommand(argv: string[], ctx: CliContext): Promise<AttentionRun | undefined> {
  const f = parseFlags(argv, ['model', 'cache', 'json', 'html', 'top', 'fusion', 'discard', 'jobs', 'hard-attention']);
  // A folder or a glob is a gallery run (src/analyses/gallery).
  if (f.positional.length === 1 && isGallerySource(f.positional[0])) {
    await runGalleryCommand(f, modelFromFlags(f), ctx);
    return undefined;
  }
  if (f.values.has('jobs')) throw usageError('--jobs is for folders and globs');
  if (f.positional.length !== 1) throw usageError('attention takes exactly one image path');
  const top = intFlag(f, 'top', 5, 1, 1000);
  const fusion = (f.values.get('fusion') ?? 'mean') as HeadFusion;
  if (!['mean', 'max', 'min'].includes(fusion)) throw usageError('--fusion must be mean, max or min');
  const discardRatio = Number(f.values.get('discard') ?? 0);
  if (!(discardRatio >= 0 && discardRatio < 1)) throw usageError('--discard must be a number in [0, 1)');
  const tauText = f.values.get('hard-attention');
  const tau = tauText === undefined ? undefined : Number(tauText);
  if (tau !== undefined && !(tau > 0 && tau <= 1))
    throw usageError('--hard-attention must be a share of the attention mass in (0, 1], e.g. 0.5');
  const model = modelFromFlags(f);
  if (tau !== undefined && !model) throw usageError('--hard-attention needs --model (a classifier to run on the crop)');
  return withEngine(ctx, async (client) => {
    const json = f.values.get('json');
    const html = f.values.get('html');
    const rollout: RolloutSettings = { fusion, discardRatio, startLayer: 0 };
    const { result, cls } = await runAttention(client, f.positional[0], model, top, html ? null : rollout);
    const slice =
      json || tau !== undefined
        ? (cls ?? attentionSlice((result as AttentionResult).attention, result.firstPatchToken, 0, rollout))
        : undefined;
    // Hard attention (src/analyses/inside): crop to the smallest box holding τ of the rollout's mass, classify the crop.
    const hard =
      tau !== undefined && slice && model
        ? await requestWithProgress(client, 'insideHardAttention', {
            imagePath: path.resolve(f.positional[0]),
            modelPath: path.resolve(model),
            map: Array.from(slice.rollout.map),
            mapName: 'rollout',
            tau,
            topK: top,
          })
        : undefined;
    if (json && slice)
      writeJson(json, {
        ...attentionJson(result, slice, { fusion, discardRatio }),
        ...(hard ? { hardAttention: hardAttentionJson(hard) } : {}),
      });
    if (html) writeAttentionReport(html, result as AttentionResult, { colormap: 'inferno', opacity: 0.6, fusion, discardRatio });
    console.log(summary(result, client.threads ?? 0));
    if (hard) {
      console.log(
        `  hard attention: the smallest box holding ${(tau! * 100).toFixed(0)}% of the rollout, [${hard.box.join(', ')}] px (${(hard.mass * 100).toFixed(1)}% of the mass); on the crop:`,
      );
      for (const p of hard.predictions) console.log(`  ${(p.probability * 100).toFixed(1).padStart(5)}%  ${p.label}`);
    }
    if (ctx.engine.provider) {
      const note = (await client.request('ping', {}).catch(() => undefined))?.provider?.note;
      if (note) console.error(`vit-lens: ${note}`);
    }
    if (json) console.log(`JSON:   ${json}`);
    if (html) console.log(`Report: ${html}`);
    return { result, json, html };
  });
}

export const attentionCommands: CliCommand[] = [
  {
    name: 'attention',
    run: async (argv, ctx) => {
      await runAttentionCommand(argv, ctx);
    },
  },
];
