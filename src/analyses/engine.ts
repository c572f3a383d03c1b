// The engine side of every registered analysis: its request handlers, merged into the engine's
// dispatch table. `satisfies` makes the type checker ask for an entry per analysis in the registry.
import { attentionEngine } from './attention/engine';
import { denseEngine } from './dense/engine';
import { gatesEngine } from './gates/engine';
import { galleryEngine } from './gallery/engine';
import { compareEngine } from './compare/engine';
import { explainEngine } from './explain/engine';
import { insideEngine } from './inside/engine';
import type { AnalysisId } from './index';

export const analysisEngines = {
  attention: attentionEngine,
  dense: denseEngine,
  gates: gatesEngine,
  gallery: galleryEngine,
  explain: explainEngine,
  compare: compareEngine,
  inside: insideEngine,
} satisfies Record<AnalysisId, object>;

type Intersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** Every analysis's handlers in one object (request kinds are unique across analyses). */
export const analysisHandlers = Object.assign({}, ...Object.values(analysisEngines)) as Intersection<(typeof analysisEngines)[AnalysisId]>;
