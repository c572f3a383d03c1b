// The command-line side of every registered analysis: its `vit-lens` subcommands. The CLI loops over the
// registry and looks each analysis up here; `satisfies` makes the type checker ask for an entry per analysis.
import { attentionCommands } from './attention/command';
import { denseCommands } from './dense/command';
import { gatesCommands } from './gates/command';
import { galleryCommands } from './gallery/command';
import { compareCommands } from './compare/command';
import { explainCommands } from './explain/command';
import { insideCommands } from './inside/command';
import type { CliCommand } from '../cli/context';
import type { AnalysisId } from './index';

export const analysisCommands = {
  attention: attentionCommands,
  dense: denseCommands,
  gates: gatesCommands,
  gallery: galleryCommands,
  explain: explainCommands,
  compare: compareCommands,
  inside: insideCommands,
} satisfies Record<AnalysisId, CliCommand[]>;
