// The "Inside the ViT" panel: anatomy, tokens and features of the configured model on one image, and hard
// attention on request. One per image. Host side: imports vscode and the host's panel base only.
import path from 'node:path';
import * as vscode from 'vscode';
import { toErrorInfo } from '../../shared/errors';
import { parseInsideWebviewMessage, type InsideHostMessage, type InsideWebviewMessage, type Part } from './messages';
import { HostFacet, HostServices, VitLensPanel } from '../../host/panelBase';
import { maxPixels, topK } from '../../host/settings';
import type { PanelDescriptor } from '../registry';

/** A request's result, or its error as the view's part (one view failing leaves the others). */
async function part<T>(p: Promise<T>, signal: AbortSignal): Promise<Part<T>> {
  try {
    return await p;
  } catch (e) {
    if (signal.aborted) throw e;
    return { error: toErrorInfo(e) };
  }
}

/** Images a joint feature PCA may take (the Explorer menu's extensions). */
const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'avif'];
/** At most this many images in one joint PCA (each is a model run, and the panel shows them side by side). */
const MAX_FEATURE_IMAGES = 8;

export class InsidePanel extends VitLensPanel<InsideHostMessage, InsideWebviewMessage> {
  /** Other images the features view's joint PCA includes besides the panel's own. */
  private featureImages: string[] = [];
  /** Hard attention's class-specific map of the result shown (computed on the first request). */
  private occlusion: Promise<number[]> | undefined;

  constructor(services: HostServices, kind: PanelDescriptor, panel: vscode.WebviewPanel, imagePath: string) {
    super(services, kind, panel, imagePath);
  }

  protected modelPath(): string {
    return this.requiredModel(
      'No model is configured: Show ViT Inside looks inside a vision transformer (its weights, tokens and features).',
      'Choose a model (ViT Lens: Select Attention Model…).',
    );
  }

  protected parse(raw: unknown): InsideWebviewMessage | undefined {
    return parseInsideWebviewMessage(raw);
  }

  protected async execute(signal: AbortSignal, onProgress: (stage: string, fraction: number) => void): Promise<InsideHostMessage> {
    const modelPath = this.modelPath();
    this.occlusion = undefined; // of the previous result (the model or the image may have changed)
    const anatomy = await part(this.request('insideAnatomy', { modelPath }, signal, onProgress), signal);
    const tokens = await part(
      this.request('insideTokens', { imagePath: this.imagePath, modelPath, maxPixels: maxPixels(), topK: topK() }, signal, onProgress),
      signal,
    );
    const features = await part(
      this.request(
        'insideFeatures',
        { imagePaths: [this.imagePath, ...this.featureImages], modelPath, layer: -1, maxPixels: maxPixels() },
        signal,
        onProgress,
      ),
      signal,
    );
    if ('timingsMs' in tokens) this.noteTimings(tokens.timingsMs, `${tokens.tokens.count} tokens, ${tokens.outliers.length} outlier(s)`);
    return { type: 'result', data: { anatomy, tokens, features } };
  }

  protected async onMessage(m: InsideWebviewMessage): Promise<void> {
    if (m.type === 'rendered' && this.observation.renderedMs === undefined) {
      this.observation.renderedMs = performance.now() - this.runStarted;
      this.services.log(
        `Inside ${path.basename(this.imagePath)}: painted after ${this.observation.renderedMs.toFixed(0)} ms (${m.views.join(', ')})`,
      );
    } else if (m.type === 'needFeatures' || m.type === 'hardAttention' || m.type === 'featureImages') {
      const signal = new AbortController().signal;
      const noProgress = () => {};
      try {
        const modelPath = this.modelPath();
        if (m.type === 'featureImages') {
          if (m.clear) this.featureImages = [];
          else {
            const picked = await vscode.window.showOpenDialog({
              canSelectMany: true,
              openLabel: 'Joint PCA',
              title: `Images to compare with ${path.basename(this.imagePath)} (one PCA over all their patches)`,
              defaultUri: vscode.Uri.file(path.dirname(this.imagePath)),
              filters: { Images: IMAGE_EXTENSIONS },
            });
            if (!picked?.length) return;
            this.featureImages = picked
              .map((u) => u.fsPath)
              .filter((p) => p !== this.imagePath)
              .slice(0, MAX_FEATURE_IMAGES - 1);
          }
        }
        if (m.type === 'needFeatures' || m.type === 'featureImages') {
          const features = await part(
            this.request(
              'insideFeatures',
              { imagePaths: [this.imagePath, ...this.featureImages], modelPath, layer: m.layer, maxPixels: maxPixels() },
              signal,
              noProgress,
            ),
            signal,
          );
          this.reply({ type: 'features', features });
        } else {
          // The class-specific map: occlusion of the top-1 class (exact token removal, no perturbation test),
          // its positive part (patches whose removal lowers the class's score), kept while this result is shown.
          let map = m.map;
          if (m.classSpecific) {
            this.occlusion ??= this.request(
              'explain',
              { imagePath: this.imagePath, modelPath, methods: ['occlusion'], faithfulness: false, maxPixels: maxPixels() },
              signal,
              noProgress,
            ).then((x) => Array.from(x.maps.occlusion!, (v) => Math.max(0, v)));
            map = await this.occlusion.catch((e: unknown) => {
              this.occlusion = undefined;
              throw e;
            });
          }
          const result = await part(
            this.request(
              'insideHardAttention',
              { imagePath: this.imagePath, modelPath, map, mapName: m.mapName, tau: m.tau, topK: topK(), maxPixels: maxPixels() },
              signal,
              noProgress,
            ),
            signal,
          );
          this.reply({ type: 'hardAttention', result });
        }
      } catch (e) {
        this.reply(
          m.type === 'hardAttention'
            ? { type: 'hardAttention', result: { error: toErrorInfo(e) } }
            : { type: 'features', features: { error: toErrorInfo(e) } },
        );
      }
    }
  }
}

export const insideHost: HostFacet = {
  open: (services, kind, imagePath) =>
    VitLensPanel.open(services, kind, imagePath, (wp, image) => new InsidePanel(services, kind, wp, image)),
  revive: (services, kind, webviewPanel, state) =>
    VitLensPanel.revive(kind, webviewPanel, state, (wp, image) => new InsidePanel(services, kind, wp, image)),
};
