// The `vit-lens` command line. Its analysis subcommands come from the registry (src/analyses/index.ts,
// their code from src/analyses/cli.ts); `models` and `demo` are its own. Runs the same engine process as
// the extension (inference off this thread, one session per model). Node side: no onnxruntime here.
import path from 'node:path';
import packageJson from '../../package.json';
import { analyses } from '../analyses/index';
import { analysisCommands } from '../analyses/cli';
import type { EngineClientOptions } from '../client/engineClient';
import { isThreadCount } from '../shared/engineProtocol';
import { VitLensError } from '../shared/errors';
import { CliCommand, usageError } from './context';
import { DEMO_USAGE, demoCommand } from './demo';
import { MODELS_USAGE, runModelsCommand } from './modelsCommand';

const USAGE = `vit-lens — look inside vision transformers

Usage:
${analyses.flatMap((a) => a.cli.map((c) => c.usage)).join('\n')}
${DEMO_USAGE}
${MODELS_USAGE}
  vit-lens --help | --version

Every command that runs a model also takes --threads <n>: onnxruntime's threads per run
(default: one per physical core this process may use on Linux, onnxruntime's default elsewhere),
and --provider <name>: the onnxruntime execution provider (cpu by default; cuda, tensorrt, dml, coreml
or webgpu where the installed onnxruntime-node offers it; otherwise the CPU, with a note).
`;

/** Every subcommand that runs through the engine, by name: the registry's, then the demo. */
const commands = new Map<string, CliCommand>([...analyses.flatMap((a) => analysisCommands[a.id]), demoCommand].map((c) => [c.name, c]));

/**
 * How commands start the engine: dist/engine.js beside this file, with the global --threads flag
 * (taken out of argv here, so every command accepts it). Undefined threads: the engine's automatic count.
 */
function engineOptions(argv: string[]): { engine: EngineClientOptions; rest: string[] } {
  const rest: string[] = [];
  let threads: number | undefined;
  let provider: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--provider' || a.startsWith('--provider=')) {
      provider = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!provider || !/^[a-z0-9_-]+$/i.test(provider))
        throw usageError('--provider needs an execution provider name, e.g. cpu, cuda, dml, coreml');
      continue;
    }
    if (a !== '--threads' && !a.startsWith('--threads=')) {
      rest.push(a);
      continue;
    }
    const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
    threads = Number(value);
    if (value === undefined || !isThreadCount(threads) || threads === 0) throw usageError('--threads must be a whole number from 1 to 256');
  }
  return { engine: { enginePath: path.join(__dirname, 'engine.js'), threads, provider }, rest };
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (!command || command === '--help' || command === '-h' || command === 'help') {
      console.log(USAGE);
      return command ? 0 : 2;
    }
    if (command === '--version') {
      console.log(packageJson.version);
      return 0;
    }
    const { engine, rest } = engineOptions(args);
    if (command === 'models') return await runModelsCommand(rest);
    const sub = commands.get(command);
    if (!sub) throw usageError(`unknown command "${command}"`);
    await sub.run(rest, { engine });
    return 0;
  } catch (e) {
    if (e instanceof VitLensError && e.code === 'USAGE') {
      console.error(`vit-lens: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof VitLensError) {
      console.error(`vit-lens: ${e.message}${e.hint ? `\n  ${e.hint}` : ''}`);
      return 1;
    }
    console.error(`vit-lens: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

if (require.main === module)
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
