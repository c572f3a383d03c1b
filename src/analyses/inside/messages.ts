// Messages between the extension host and the "Inside the ViT" panel, and the data the standalone report
// embeds. Shared by src/host and webview/panels/inside. Types plus one validator; its only runtime import
// is the shared field checks, so both the host and the webview bundle can include it.
import type { ErrorInfo } from '../../shared/errors';
import type { AnatomyResult, FeaturesResult, HardAttentionResult, TokensResult } from './types';
import type { PanelActionId, BasicHostMessage, BasicWebviewMessage, ExportMessage } from '../../shared/panelProtocol';
import { isIndex, parseExport, parsePanelMessage } from '../../shared/panelProtocol';

/** A view's data, or why the model cannot give it (shown in the view's place). */
export type Part<T> = T | { error: ErrorInfo };

/** What the page shows: each part present when it ran (the report of `vit-lens anatomy` has only the anatomy). */
export interface InsidePageData {
  anatomy?: Part<AnatomyResult>;
  tokens?: Part<TokensResult>;
  features?: Part<FeaturesResult>;
}

/** Host → webview. */
export type InsideHostMessage =
  /** A finished run: every view. */
  | { type: 'result'; data: InsidePageData; notice?: { message: string; actions: PanelActionId[] } }
  /** The features at another layer (answer to `needFeatures`). */
  | { type: 'features'; features: Part<FeaturesResult> }
  /** Hard attention's crop and predictions (answer to `hardAttention`). */
  | { type: 'hardAttention'; result: Part<HardAttentionResult> }
  /** The messages every panel has (src/shared/panelProtocol.ts). */
  | BasicHostMessage;

/** Webview → host. */
export type InsideWebviewMessage =
  /** The views are painted: which ones show data. */
  | { type: 'rendered'; views: string[] }
  /** Patch features at this stream row (0 = embeddings … L), over the images the features view has. */
  | { type: 'needFeatures'; layer: number }
  /** Pick more images (the host asks which) for a joint PCA with this one, at this row; `clear`: back to this image alone. */
  | { type: 'featureImages'; layer: number; clear: boolean }
  /**
   * Crop to the smallest box holding τ of this map ([gh·gw]) and classify the crop; `classSpecific`: of the
   * top-1 class's occlusion map instead (the host computes it; `map` is then empty).
   */
  | { type: 'hardAttention'; map: number[]; mapName: string; tau: number; classSpecific?: true }
  | ExportMessage<'png' | 'json'>
  /** The messages every panel has (src/shared/panelProtocol.ts). */
  | BasicWebviewMessage;

/** Returns the message if it is a well-formed InsideWebviewMessage, else undefined. Never trust a webview. */
export const parseInsideWebviewMessage = (m: unknown): InsideWebviewMessage | undefined =>
  parsePanelMessage<InsideWebviewMessage>(m, {
    rendered: (o) =>
      Array.isArray(o.views) && o.views.length <= 16 && o.views.every((v) => typeof v === 'string' && v.length < 40)
        ? { type: 'rendered', views: o.views as string[] }
        : undefined,
    needFeatures: (o) => (isIndex(o.layer) && o.layer < 10000 ? { type: 'needFeatures', layer: o.layer } : undefined),
    featureImages: (o) =>
      isIndex(o.layer) && o.layer < 10000 && typeof o.clear === 'boolean'
        ? { type: 'featureImages', layer: o.layer, clear: o.clear }
        : undefined,
    hardAttention: (o) =>
      Array.isArray(o.map) &&
      (o.map.length > 0 || o.classSpecific === true) &&
      (o.classSpecific === undefined || o.classSpecific === true) &&
      o.map.length <= 1 << 16 &&
      o.map.every((v) => typeof v === 'number' && Number.isFinite(v)) &&
      typeof o.mapName === 'string' &&
      o.mapName.length < 80 &&
      typeof o.tau === 'number' &&
      o.tau > 0 &&
      o.tau <= 1
        ? {
            type: 'hardAttention',
            map: o.map as number[],
            mapName: o.mapName,
            tau: o.tau,
            ...(o.classSpecific ? { classSpecific: true as const } : {}),
          }
        : undefined,
    export: (o) => parseExport(o, ['png', 'json'] as const, (f) => f),
  });

/** The data-testids of the inside panel (the contract, integration tests and the preview script use them). */
export const insideTestIds = {
  anatomyFilters: 'anatomy-filters',
  anatomyPosition: 'anatomy-position',
  tokenNorms: 'token-norms',
  featurePca: 'feature-pca',
  hardAttentionBox: 'hard-attention-box',
  error: 'error',
  busy: 'busy',
} as const;
