// `vit-lens gates <image> --model <onnx> [--json out.json] [--top 5] [--channels 6]`: the SE-Net /
// CBAM gates of a CNN through the engine process, as a summary on stdout and the JSON contract.
// Node side: the engine client and types only (no onnxruntime, no sharp: inference runs in the engine).
import path from 'node:path';
import type { CliCommand } from '../../cli/context';
import { intFlag, parseFlags, requestWithProgress, usageError, withEngine, writeJson } from '../../cli/context';
import { gatesJson } from './json';
import type { Gate, GatesResult } from './types';

function describeGate(g: Gate): string {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of g.values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  const [, c, h, w] = g.featureShape;
  const what = g.kind === 'channel' ? `${c} channels of ${h}×${w}` : `${h}×${w} positions of ${c} channels`;
  const top = g.topChannels
    ? ` · top ${g.topChannels.channels
        .slice(0, 3)
        .map((ch, i) => `#${ch} ${g.topChannels!.weights[i].toFixed(2)}`)
        .join(', ')}`
    : '';
  return `  ${String(g.index + 1).padStart(2)}. ${g.kind.padEnd(7)} ${g.op.padEnd(11)} ${g.node} [${g.shape.join(', ')}] gates ${what} · min ${min.toFixed(3)} mean ${(sum / g.values.length).toFixed(3)} max ${max.toFixed(3)}${top}`;
}

function summary(r: GatesResult): string {
  const channel = r.gates.filter((g) => g.kind === 'channel').length;
  const lines = [
    `${path.basename(r.image.path)} (${r.image.width}×${r.image.height}) · ${r.model.name} · input ${r.model.inputSize[1]}×${r.model.inputSize[0]} · ${channel} channel gate(s), ${r.gates.length - channel} spatial gate(s)`,
  ];
  lines.push(...r.gates.map(describeGate));
  for (const p of r.predictions ?? []) lines.push(`  ${(p.probability * 100).toFixed(1).padStart(5)}%  ${p.label}`);
  const t = r.timingsMs;
  lines.push(
    `  time: decode ${t.decode.toFixed(0)} ms, preprocess ${t.preprocess.toFixed(0)} ms, inference ${t.inference.toFixed(0)} ms, analysis ${t.analysis.toFixed(0)} ms, total ${t.total.toFixed(0)} ms`,
  );
  return lines.join('\n');
}

async function commandGates(argv: string[], ctx: Parameters<CliCommand['run']>[1]): Promise<void> {
  const f = parseFlags(argv, ['model', 'json', 'top', 'channels']);
  if (f.positional.length !== 1) throw usageError('gates takes exactly one image path');
  const model = f.values.get('model');
  if (!model) throw usageError('gates needs --model <file.onnx|hf-folder> (a CNN with SE or CBAM gates)');
  const top = intFlag(f, 'top', 5, 1, 1000);
  const topChannels = intFlag(f, 'channels', 6, 0, 64);
  const result = await withEngine(ctx, (client) =>
    requestWithProgress(client, 'gates', {
      imagePath: path.resolve(f.positional[0]),
      modelPath: path.resolve(model),
      topK: top,
      topChannels,
    }),
  );
  const json = f.values.get('json');
  if (json) writeJson(json, gatesJson(result));
  console.log(summary(result));
  if (json) console.log(`JSON:   ${json}`);
}

export const gatesCommands: CliCommand[] = [{ name: 'gates', run: commandGates }];
