// `vit-lens gates <image> --model <onnx> [--json out.json] [--top 5] [--channels 6]`: the SE-Net /
// CBAM gates of a CNN through the engine process, as a summary on stdout and the JSON contract.
// Imports the engine client and types only (no onnxruntime, no sharp: inference runs in the engine).
import fs from 'node:fs';
import path from 'node:path';
import { EngineClient, EngineClientOptions } from '../../client/engineClient';
import type { Gate, GatesResult } from './types';

/** What main.ts lends this command: its flag parser, its usage error (exit 2) and how to start the engine. */
export interface CliContext {
  parseFlags(argv: string[], known: string[]): { positional: string[]; values: Map<string, string> };
  usageError(message: string): Error;
  engine: EngineClientOptions;
}

const round = (a: ArrayLike<number>) => Array.from(a, (v) => Number(v.toPrecision(7)));

/**
 * The JSON contract of `vit-lens gates --json`. Per gate: node, kind, shape and values (all values of
 * the gate tensor, row-major: C weights for a channel gate, H·W for a spatial gate), plus where it sits.
 */
export function gatesJson(r: GatesResult): Record<string, unknown> {
  return {
    image: r.image,
    model: { path: r.model.path, inputSize: r.model.inputSize },
    ...(r.predictions ? { predictions: r.predictions } : {}),
    gates: r.gates.map((g) => ({
      index: g.index,
      node: g.node,
      op: g.op,
      kind: g.kind,
      shape: g.shape,
      featureShape: g.featureShape,
      mulNode: g.mulNode,
      values: round(g.values),
      ...(g.topChannels ? { topChannels: g.topChannels.channels } : {}),
    })),
    timingsMs: r.timingsMs,
  };
}

function describeGate(g: Gate): string {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of g.values) { min = Math.min(min, v); max = Math.max(max, v); sum += v; }
  const [, c, h, w] = g.featureShape;
  const what = g.kind === 'channel' ? `${c} channels of ${h}×${w}` : `${h}×${w} positions of ${c} channels`;
  const top = g.topChannels ? ` · top ${g.topChannels.channels.slice(0, 3).map((ch, i) => `#${ch} ${g.topChannels!.weights[i].toFixed(2)}`).join(', ')}` : '';
  return `  ${String(g.index + 1).padStart(2)}. ${g.kind.padEnd(7)} ${g.op.padEnd(11)} ${g.node} [${g.shape.join(', ')}] gates ${what} · min ${min.toFixed(3)} mean ${(sum / g.values.length).toFixed(3)} max ${max.toFixed(3)}${top}`;
}

function summary(r: GatesResult): string {
  const channel = r.gates.filter((g) => g.kind === 'channel').length;
  const lines = [`${path.basename(r.image.path)} (${r.image.width}×${r.image.height}) · ${r.model.name} · input ${r.model.inputSize[1]}×${r.model.inputSize[0]} · ${channel} channel gate(s), ${r.gates.length - channel} spatial gate(s)`];
  lines.push(...r.gates.map(describeGate));
  for (const p of r.predictions ?? []) lines.push(`  ${(p.probability * 100).toFixed(1).padStart(5)}%  ${p.label}`);
  const t = r.timingsMs;
  lines.push(`  time: decode ${t.decode.toFixed(0)} ms, preprocess ${t.preprocess.toFixed(0)} ms, inference ${t.inference.toFixed(0)} ms, analysis ${t.analysis.toFixed(0)} ms, total ${t.total.toFixed(0)} ms`);
  return lines.join('\n');
}

export async function commandGates(argv: string[], cli: CliContext): Promise<void> {
  const f = cli.parseFlags(argv, ['model', 'json', 'top', 'channels']);
  if (f.positional.length !== 1) throw cli.usageError('gates takes exactly one image path');
  const model = f.values.get('model');
  if (!model) throw cli.usageError('gates needs --model <file.onnx|hf-folder> (a CNN with SE or CBAM gates)');
  const top = Number(f.values.get('top') ?? 5);
  if (!Number.isInteger(top) || top < 1 || top > 1000) throw cli.usageError('--top must be a whole number from 1 to 1000');
  const topChannels = Number(f.values.get('channels') ?? 6);
  if (!Number.isInteger(topChannels) || topChannels < 0 || topChannels > 64) throw cli.usageError('--channels must be a whole number from 0 to 64');
  const client = new EngineClient(cli.engine);
  try {
    const onProgress = (stage: string) => process.stderr.isTTY && process.stderr.write(`\r${stage}…`.padEnd(40));
    const result = await client.request('gates', { imagePath: path.resolve(f.positional[0]), modelPath: path.resolve(model), topK: top, topChannels }, { onProgress });
    if (process.stderr.isTTY) process.stderr.write('\r'.padEnd(41) + '\r');
    const json = f.values.get('json');
    if (json) {
      fs.mkdirSync(path.dirname(path.resolve(json)), { recursive: true });
      fs.writeFileSync(json, JSON.stringify(gatesJson(result), null, 1));
    }
    console.log(summary(result));
    if (json) console.log(`JSON:   ${json}`);
  } finally {
    client.dispose();
  }
}
