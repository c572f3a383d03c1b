// The numbers behind the current view: the `view` part of the JSON the "Save JSON" button writes (the rest is
// the CLI's document, src/analyses/attention/json.ts). Pure.
import type { HeadFusion, PanelResult, Prediction } from '../../../src/shared/attentionTypes';
import { patchOfToken, safeStem, type UiState, type ViewId } from '../../shell/state';
import { valueRange } from '../../shell/raster';

export interface ViewExport {
  tool: 'ViT Lens';
  image: string;
  model: string;
  attentionSource: string;
  view: ViewId;
  /** All indices are 0-based (layer, head, token, row, col). */
  layer: number | null;
  head: number | 'mean' | null;
  query: { token: number; row: number | null; col: number | null; kind: 'patch' | 'global' };
  grid: [number, number];
  firstPatchToken: number;
  rollout: { fusion: HeadFusion; discardRatio: number; startLayer: number } | null;
  threshold: { tau: number; kept: number[][] } | null;
  min: number;
  max: number;
  /** The map's raw values (not rescaled), gh rows × gw columns. */
  map: number[][];
  predictions: Prediction[] | null;
}

export function buildViewExport(r: PanelResult, st: UiState, map: Float32Array, mask: Uint8Array | null): ViewExport {
  const [gh, gw] = r.grid;
  const rows = (a: ArrayLike<number>) =>
    Array.from({ length: gh }, (_, i) => Array.from(Array.prototype.slice.call(a, i * gw, (i + 1) * gw) as number[]));
  const p = patchOfToken(r, st.query);
  const { min, max } = valueRange(map);
  return {
    tool: 'ViT Lens',
    image: r.image.path,
    model: r.model.name,
    attentionSource: r.model.attentionSource,
    view: st.view,
    layer: st.view === 'attention' ? st.layer : null,
    head: st.view === 'attention' ? st.head : null,
    query: { token: st.query, row: p ? p.row : null, col: p ? p.col : null, kind: p ? 'patch' : 'global' },
    grid: [gh, gw],
    firstPatchToken: st.view === 'raw' ? 1 : r.firstPatchToken,
    rollout: st.view === 'rollout' ? { fusion: st.fusion, discardRatio: st.discardRatio, startLayer: st.startLayer } : null,
    threshold: mask ? { tau: st.tau, kept: rows(mask) } : null,
    min,
    max,
    map: rows(map),
    predictions: r.predictions ?? null,
  };
}

export function exportFileName(r: PanelResult, st: UiState, ext: 'png' | 'json'): string {
  const stem = safeStem(r.image.path);
  const p = patchOfToken(r, st.query);
  const q = p ? `q${p.row}-${p.col}` : 'cls';
  const what =
    st.view === 'attention'
      ? `L${st.layer + 1}-${st.head === 'mean' ? 'mean' : `H${st.head + 1}`}`
      : st.view === 'rollout'
        ? `rollout-${st.fusion}-${st.discardRatio.toFixed(2)}`
        : st.view === 'explain'
          ? 'why-this-class'
          : 'raw';
  return `${stem}-${what}${st.view === 'explain' ? '' : `-${q}`}.${ext}`.slice(0, 120);
}
