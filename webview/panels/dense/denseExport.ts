// What the DPT panel's export buttons are named: the host accepts /^[\w.\- ]{1,120}$/ ending in the
// format's extension. The JSON itself is the analysis's one builder (src/analyses/dense/json.ts), the
// same document as `vit-lens depth|segment --json` plus what the panel shows. Pure: no DOM.
import { denseExportExtension, type DenseExportFormat, type DensePanelResult } from '../../../src/analyses/dense/messages';
import { safeStem } from '../../shell/state';
import type { DenseUiState } from './denseState';

export function denseExportName(r: DensePanelResult, st: Pick<DenseUiState, 'view'>, format: DenseExportFormat): string {
  const stem = safeStem(r.image.path);
  const what =
    format === 'png16'
      ? 'depth16'
      : format === 'npy'
        ? 'depth-raw'
        : format === 'json'
          ? r.task
          : `${r.task}-${st.view === 'side' ? 'map' : st.view}`;
  return `${stem.slice(0, 100)}-${what}.${denseExportExtension[format]}`;
}
