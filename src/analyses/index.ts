// The registry: every analysis ViT Lens has, in menu and help order. Adding an analysis is a folder
// under src/analyses/ (and webview/panels/), one line here, its entries in the three runtime tables
// (engine.ts, host.ts, cli.ts: the type checker asks for them) and its package.json contributes (a unit
// test checks they agree). Pure data: the engine, the extension host and the CLI all import it.
import { attention } from './attention/descriptor';
import { dense } from './dense/descriptor';
import { gates } from './gates/descriptor';
import { gallery } from './gallery/descriptor';
import { compare } from './compare/descriptor';
import { inside } from './inside/descriptor';
import type { AnalysisDescriptor, PanelDescriptor } from './registry';

export const analyses = [attention, dense, gates, gallery, compare, inside] as const satisfies readonly AnalysisDescriptor[];

export type AnalysisId = (typeof analyses)[number]['id'];

/** Every panel of every analysis, with the analysis it belongs to. */
export function allPanels(): { analysis: AnalysisId; panel: PanelDescriptor }[] {
  return analyses.flatMap((a) => a.panels.map((panel) => ({ analysis: a.id as AnalysisId, panel })));
}
