// What every `vit-lens` subcommand shares: flag parsing, usage errors (exit code 2), starting the engine
// with the global --threads, a request with a progress line on a terminal, and writing output files.
// Node side: imports the engine client, never onnxruntime-node.
import fs from 'node:fs';
import path from 'node:path';
import { EngineClient, EngineClientOptions } from '../client/engineClient';
import type { EngineCalls, EngineKind } from '../shared/engineProtocol';
import { VitLensError } from '../shared/errors';

export interface Flags {
  positional: string[];
  values: Map<string, string>;
}

/** A wrong flag or argument: the CLI prints it with the usage and exits with 2. */
export const usageError = (message: string) => new VitLensError('USAGE', message);

/** `--name value` / `--name=value` flags (only `known` names), and the positional arguments. */
export function parseFlags(argv: string[], known: readonly string[]): Flags {
  const positional: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    if (!known.includes(name)) throw usageError(`unknown option --${name} (known: ${known.map((k) => '--' + k).join(', ')})`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw usageError(`--${name} needs a value`);
    values.set(name, value);
  }
  return { positional, values };
}

/** A whole-number flag in [lo, hi] (its default when absent). */
export function intFlag(f: Flags, name: string, dflt: number, lo: number, hi: number): number {
  const v = Number(f.values.get(name) ?? dflt);
  if (!Number.isInteger(v) || v < lo || v > hi) throw usageError(`--${name} must be a whole number from ${lo} to ${hi}`);
  return v;
}

/** What main.ts lends a subcommand. */
export interface CliContext {
  /** How to start the engine (dist/engine.js, the --threads count). */
  engine: EngineClientOptions;
}

/** A `vit-lens` subcommand of an analysis (its usage text is in the analysis's descriptor). */
export interface CliCommand {
  name: string;
  run(argv: string[], ctx: CliContext): Promise<void>;
}

/** One engine request with a progress line on a terminal's stderr (nothing when piped). */
export async function requestWithProgress<K extends EngineKind>(
  client: EngineClient,
  kind: K,
  params: EngineCalls[K]['params'],
): Promise<EngineCalls[K]['result']> {
  const onProgress = (stage: string) => process.stderr.isTTY && process.stderr.write(`\r${stage}…`.padEnd(40));
  try {
    return await client.request(kind, params, { onProgress });
  } finally {
    if (process.stderr.isTTY) process.stderr.write('\r'.padEnd(41) + '\r');
  }
}

/** Runs `fn` with a fresh engine client, disposed after. */
export async function withEngine<T>(ctx: CliContext, fn: (client: EngineClient) => Promise<T>): Promise<T> {
  const client = new EngineClient(ctx.engine);
  try {
    return await fn(client);
  } finally {
    client.dispose();
  }
}

/** Creates an output file's folder; returns the path. */
export function prepareOutput(file: string): string {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  return file;
}

/** Creates the file's folder and writes it. Returns the path, for the "written" lines. */
export function writeOutput(file: string, data: string | Uint8Array): string {
  fs.writeFileSync(prepareOutput(file), data);
  return file;
}

/** A JSON document as the CLI writes it (one-space indent). */
export function writeJson(file: string, doc: unknown): string {
  return writeOutput(file, JSON.stringify(doc, null, 1));
}
