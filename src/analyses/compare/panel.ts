// The compare panel of an image: the configured model (A) against another model file (B), chosen with
// "Compare With Model…", side by side with their difference. When A's file is rewritten (a training loop
// exporting a checkpoint), the panel runs A again and compares it with A's previous result, kept by the
// engine, as B: what the last epoch changed. Host side.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { HostFacet, HostServices, VitLensPanel } from '../../host/panelBase';
import { maxPixels, panelSettings, topK } from '../../host/settings';
import type { PanelDescriptor } from '../registry';
import { parseCompareWebviewMessage, type CompareHostMessage, type CompareWebviewMessage } from './messages';
import { VitLensError, describeError } from '../../shared/errors';

/** Model B per image, so a restored panel keeps it (the webview's state also carries it). */
const modelsB = new Map<string, string>();

export class ComparePanel extends VitLensPanel<CompareHostMessage, CompareWebviewMessage> {
  /** The engine's key of the last run of A, and whether the next run is a new checkpoint of A. */
  private lastRunKey: string | undefined;
  private checkpoint = false;
  /** The comparison on screen: what its class-specific view explains (B's file is null for a previous checkpoint). */
  private shown: { modelA: string; modelB: string | null; label: string | undefined } | undefined;
  private explainAbort: AbortController | undefined;

  constructor(services: HostServices, kind: PanelDescriptor, panel: vscode.WebviewPanel, imagePath: string) {
    super(services, kind, panel, imagePath);
  }

  protected parse(raw: unknown): CompareWebviewMessage | undefined {
    return parseCompareWebviewMessage(raw);
  }

  protected scheduleRerun(why: string): void {
    this.checkpoint = why === 'model changed on disk' && this.lastRunKey !== undefined;
    super.scheduleRerun(why);
  }

  protected async execute(signal: AbortSignal, onProgress: (stage: string, fraction: number) => void): Promise<CompareHostMessage> {
    const settings = panelSettings();
    const rollout = { fusion: settings.fusion, discardRatio: settings.discardRatio, startLayer: 0 };
    const modelB = modelsB.get(this.imagePath) ?? null;
    const againstKey = this.checkpoint ? this.lastRunKey : undefined;
    this.checkpoint = false;
    const compare = await this.request(
      'compare',
      {
        imagePath: this.imagePath,
        modelPath: this.modelPath(),
        ...(againstKey ? { againstKey } : { modelPathB: modelB }),
        topK: topK(),
        maxPixels: maxPixels(),
        rollout,
      },
      signal,
      onProgress,
    );
    this.lastRunKey = compare.runKey;
    this.explainAbort?.abort(); // a class-specific view of the previous comparison is of no use now
    this.shown = {
      modelA: this.modelPath() ?? '',
      modelB: compare.bIsPrevious ? null : modelB,
      label: compare.a.predictions?.[0]?.label,
    };
    this.noteTimings(
      compare.a.timingsMs,
      `A ${compare.a.model.name} vs B ${compare.bIsPrevious ? 'previous checkpoint' : compare.b.model.name}`,
    );
    return { type: 'result', compare, settings, modelB: compare.bIsPrevious ? null : modelB };
  }

  protected async onMessage(m: CompareWebviewMessage): Promise<void> {
    if (m.type === 'explainBoth') await this.explainBoth();
  }

  /**
   * The class-specific view: occlusion maps (exact token removal, no perturbation test) of A's top-1
   * class in A, then in B (the same label; B's own top-1 when B has no such label).
   */
  private async explainBoth(): Promise<void> {
    const shown = this.shown;
    if (!shown?.modelA || shown.label === undefined)
      return this.reply({ type: 'explainFailed', message: 'The class-specific view needs a classifier as model A.' });
    this.explainAbort?.abort();
    const abort = (this.explainAbort = new AbortController());
    const explain = (modelPath: string, target: string | undefined, side: string) =>
      this.services.engine().request(
        'explain',
        {
          imagePath: this.imagePath,
          modelPath,
          maxPixels: maxPixels(),
          topK: topK(),
          ...(target !== undefined ? { target } : {}),
          methods: ['occlusion'],
          faithfulness: false,
        },
        {
          signal: abort.signal,
          timeoutMs: 3600_000,
          onProgress: (message) => this.reply({ type: 'explainStatus', message: `${side}: ${message}` }),
        },
      );
    try {
      const a = await explain(shown.modelA, shown.label, 'A');
      let note: string | undefined;
      let b = null;
      if (shown.modelB) {
        try {
          b = await explain(shown.modelB, shown.label, 'B');
        } catch (e) {
          if (!(e instanceof VitLensError) || (e.code !== 'CLASS_UNKNOWN' && e.code !== 'CLASS_OUT_OF_RANGE')) throw e;
          b = await explain(shown.modelB, undefined, 'B'); // B has no such label: its own top-1
          note = `B has no class “${shown.label}”: B's map is of its own top-1, ${b.target.label}.`;
        }
      } else note = 'B is the previous checkpoint, whose file has been rewritten: only A can be explained.';
      if (abort.signal.aborted) return;
      this.reply({
        type: 'explained',
        label: a.target.label,
        a: a.maps.occlusion!,
        b: b?.maps.occlusion ?? null,
        gridA: a.grid,
        gridB: b?.grid ?? a.grid,
        ...(note ? { note } : {}),
      });
      this.services.log(`Compare ${path.basename(this.imagePath)}: occlusion of ${a.target.label}, ${a.runs + (b?.runs ?? 0)} masked runs`);
    } catch (e) {
      if (abort.signal.aborted) return;
      this.reply({ type: 'explainFailed', message: describeError(e) });
    }
  }
}

async function chooseModelB(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: 'ViT Lens: compare with which model? (an .onnx file, or a Hugging Face folder)',
    canSelectFiles: true,
    canSelectFolders: true,
    filters: { 'ONNX model': ['onnx'] },
  });
  return picked?.[0]?.fsPath;
}

export const compareHost: HostFacet = {
  // `modelB`: the command's second argument (a model path), else the user picks a file.
  open: async (services, kind, imagePath, modelB?: unknown) => {
    const b = typeof modelB === 'string' && fs.existsSync(modelB) ? modelB : await chooseModelB();
    if (!b) return undefined;
    modelsB.set(path.resolve(imagePath), b);
    return VitLensPanel.open(services, kind, imagePath, (wp, image) => new ComparePanel(services, kind, wp, image));
  },
  revive: (services, kind, webviewPanel, state) => {
    const s = state as { imagePath?: unknown; modelB?: unknown } | undefined;
    if (typeof s?.imagePath === 'string' && typeof s.modelB === 'string') modelsB.set(path.resolve(s.imagePath), s.modelB);
    return VitLensPanel.revive(kind, webviewPanel, state, (wp, image) => new ComparePanel(services, kind, wp, image));
  },
};
