// The shape of an analysis as the registry (src/analyses/index.ts) lists it: pure data that every runtime
// reads. The engine, the extension host and the CLI each loop over the registry and find the analysis's
// code for their runtime in their own table (src/analyses/engine.ts, host.ts, cli.ts), which the type
// checker holds to one entry per registered analysis. Imports types only.
import type { ModelKindInfo } from './gates/types';
import type { ModelTask } from '../shared/modelTasks';

/** A webview panel an analysis opens: one per (view type, image). */
export interface PanelDescriptor {
  /** WebviewPanel view type and serializer id; package.json has `onWebviewPanel:<viewType>`. */
  viewType: string;
  /** Tab title prefix, e.g. "Attention". */
  title: string;
  /** The webview bundle in dist/ (`<bundle>.js`, `<bundle>.css`), built from webview/panels/<folder>/main.ts. */
  bundle: string;
  /** Which model the panel runs: the `vitLens.*` model setting of this task. */
  task: ModelTask;
  /** The command that opens the panel (package.json contributes.commands). */
  command: string;
  /**
   * Only for models of these kinds (the engine's `modelKind` probe). When several panels share a command,
   * the one whose kinds include the configured model's kind opens; the panel without kinds is the default.
   */
  modelKinds?: ModelKindInfo['kind'][];
  /** `vitLens.*` settings (without the prefix) whose change re-runs an open panel; other changes only redisplay. */
  rerunOn: string[];
}

/** A `vit-lens` subcommand of an analysis. */
export interface CliCommandDescriptor {
  name: string;
  /** Its lines in `vit-lens --help`: the synopsis, then indented lines that say what it does. */
  usage: string;
}

export interface AnalysisDescriptor {
  /** The analysis's folder name under src/analyses/ and webview/panels/. */
  id: string;
  panels: readonly PanelDescriptor[];
  cli: readonly CliCommandDescriptor[];
  /** The engine request kinds it serves (src/shared/engineProtocol.ts EngineCalls). */
  engineCalls: readonly string[];
}
