// The extension-host side of every registered analysis: what opens and restores its panels. The host
// loops over the registry and looks each analysis up here; `satisfies` makes the type checker ask for
// an entry per analysis that has panels (explain's view is the attention panel's). Host side (imports vscode through the panels).
import { attentionHost } from './attention/panel';
import { denseHost } from './dense/panel';
import { gatesHost } from './gates/panel';
import { galleryHost } from './gallery/panel';
import { compareHost } from './compare/panel';
import { insideHost } from './inside/panel';
import type { HostFacet } from '../host/panelBase';
import type { PanelAnalysisId } from './index';

export const analysisHosts = {
  attention: attentionHost,
  dense: denseHost,
  gates: gatesHost,
  gallery: galleryHost,
  compare: compareHost,
  inside: insideHost,
} satisfies Record<PanelAnalysisId, HostFacet>;
