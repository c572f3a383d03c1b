// The registry: every analysis ViT Lens has, in menu and help order. Adding an analysis is a folder
// under src/analyses/ (and webview/panels/), one line here, its entries in the three runtime tables
// (engine.ts, host.ts, cli.ts: the type checker asks for them) and its package.json contributes (a unit
// test checks they agree). Pure data: the engine, the extension host and the CLI all import it.
import { attention } from './attention/descriptor';
import { dense } from './dense/descriptor';
import { gates } from './gates/descriptor';
import { gallery } from './gallery/descriptor';
import { compare } from './compare/descriptor';
import { explain } from './explain/descriptor';
import { inside } from './inside/descriptor';
import type { AnalysisDescriptor, PanelDescriptor } from './registry';

export const analyses = [attention, explain, dense, gates, gallery, compare, inside] as const satisfies readonly AnalysisDescriptor[];

export type AnalysisId = (typeof analyses)[number]['id'];
/** The analyses that open panels of their own (explain's view lives in the attention panel). */
export type PanelAnalysisId = Extract<(typeof analyses)[number], { panels: readonly [unknown, ...unknown[]] }>['id'];

/** Every panel of every analysis, with the analysis it belongs to. */
export function allPanels(): { analysis: PanelAnalysisId; panel: PanelDescriptor }[] {
  return analyses.flatMap((a) => a.panels.map((panel) => ({ analysis: a.id as PanelAnalysisId, panel })));
}
