// UI test of the "Inside the ViT" page with real results: the fixture DINOv2-with-registers ViT that has a
// planted high-norm token runs (in process) on a photo (the CC0 images next to the repository when
// present, else the generated sample scene): anatomy, tokens, features and hard attention; then the page
// is loaded as VS Code hosts it (strict CSP, stubbed acquireVsCodeApi, messages posted to it) in headless
// chromium via playwright-core, driven with mouse and keyboard, and screenshotted in dark and light
// themes, wide and narrow, into test-results/preview-inside/. A CNN's page shows each view's refusal.
//
// Exits 1 on a page or console error, a missing data-testid, a view in the wrong state or horizontal overflow.
//
//   npm run test:ui                              every UI test with every screenshot
//   node dist/test/ui/previewInside.js --quick   the ViT's page and the CNN's once each (npm test's UI stage)
//                                                (after npm run build, from the repository root)
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { computeAnatomy } from '../../src/analyses/inside/anatomy';
import { loadInsideModel } from '../../src/analyses/inside/insideModel';
import { runFeaturesPipeline, runHardAttention, runTokensPipeline } from '../../src/analyses/inside/pipeline';
import type { InsidePageData, Part } from '../../src/analyses/inside/messages';
import { insideTestIds } from '../../src/analyses/inside/messages';
import { toErrorInfo } from '../../src/shared/errors';
import { photoOrSampleScene, sampleScenePng } from '../fixtures/builders/sampleImages';
import { defaultFixtureDir, ensureFixture } from '../fixtures/builders/writeFixtures';
import { loadWebviewBundle, renderReportHtml } from '../../src/cli/htmlReport';
import {
  expectTestIds,
  launchChromium,
  looksTour,
  openReportPage,
  openVscodePage,
  postAndWaitRendered,
  postToPage,
  quick,
  reportErrors,
  runUiTest,
  screenshotter,
  sentMessages as sent,
  type Theme,
} from './pageShell';

const root = process.cwd();
const outDir = path.join(root, 'test-results', 'preview-inside');
const shot = screenshotter(outDir, { fullPage: true });

async function part<T>(p: Promise<T> | (() => T)): Promise<Part<T>> {
  try {
    return await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return { error: toErrorInfo(e) };
  }
}

/** Every view of one model on one image, as the panel's host gathers them. */
async function runAll(name: string, image: string): Promise<{ data: InsidePageData; modelPath: string }> {
  const modelPath = ensureFixture(name, defaultFixtureDir(root));
  const model = await loadInsideModel(modelPath).catch(() => undefined);
  const get = async () => model ?? loadInsideModel(modelPath);
  try {
    return {
      modelPath,
      data: {
        anatomy: await part(() => computeAnatomy(modelPath)),
        tokens: await part(runTokensPipeline({ imagePath: image, modelPath }, get)),
        features: await part(runFeaturesPipeline({ imagePaths: [image], modelPath, layer: -1 }, get)),
      },
    };
  } finally {
    await model?.session.release();
  }
}

async function openPanel(browser: Browser, theme: Theme, width: number, errors: string[]): Promise<Page> {
  const bundle = loadWebviewBundle(path.join(root, 'dist'), 'insideWebview');
  return openVscodePage(browser, 'insideWebview', bundle, { theme, width, label: `${theme} ${width}` }, errors);
}

/** Posts a host message and waits for the next `rendered`; returns the views it names. */
const postMessage = async (page: Page, message: object) => ((await postAndWaitRendered(page, message)).views as string[]) ?? [];

const viewState = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`).first().getAttribute('data-state');

async function main(): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  const image = await photoOrSampleScene(root, path.join(outDir, 'sample-scene.png'));
  const vit = await runAll('vit-tiny-registers-planted', image);
  const cnn = await runAll('cnn-tiny', image);
  const t = vit.data.tokens;
  if (!t || 'error' in t) throw new Error(`tokens failed: ${JSON.stringify(t)}`);
  console.log(
    `image ${path.basename(image)}: ${t.tokens.count} tokens, outliers at ${[...new Set(t.outliers.map((o) => o.token))].join(', ')}`,
  );
  const browser = await launchChromium('--disable-gpu');
  const errors: string[] = [];
  const ids = [
    insideTestIds.anatomyFilters,
    insideTestIds.anatomyPosition,
    insideTestIds.tokenNorms,
    insideTestIds.featurePca,
    insideTestIds.hardAttentionBox,
  ];
  try {
    // The ViT: every view shown.
    let page = await openPanel(browser, 'vscode-dark', 1400, errors);
    await postToPage(page, { type: 'running', message: 'Running vit-tiny-registers-planted…', progress: 0.3 });
    await expectTestIds(page, 'busy', ['busy'], errors);
    const views = await postMessage(page, { type: 'result', data: vit.data });
    await expectTestIds(page, 'vit', ids, errors);
    if (views.join(',') !== ids.join(',')) errors.push(`vit: rendered views ${views.join(',')}`);
    for (const id of ids.slice(0, 4)) if ((await viewState(page, id)) !== 'shown') errors.push(`vit: ${id} is not shown`);
    const marks = await page.locator('.vi-mark').count();
    if (marks !== 1) errors.push(`vit: ${marks} outlier marks on the norm grid (expected the planted one)`);
    await shot(page, quick ? 'quick-vit-dark.png' : 'vit-dark.png');

    // Hard attention: the page asks, the host (here: this script) crops and classifies, the page shows it.
    await page.locator('[data-testid="hard-attention-run"]').click();
    const ask = (await sent(page)).filter((m) => m.type === 'hardAttention').pop();
    if (!ask) errors.push('hard attention: no request');
    else {
      const model = await loadInsideModel(vit.modelPath);
      const result = await part(
        runHardAttention(
          { imagePath: image, modelPath: vit.modelPath, map: ask.map as number[], mapName: ask.mapName as string, tau: ask.tau as number },
          async () => model,
        ),
      );
      await model.session.release();
      if ('error' in result) errors.push(`hard attention: ${result.error.message}`);
      await postMessage(page, { type: 'hardAttention', result });
      if ((await page.locator('[data-testid="crop-predictions"] li').count()) === 0) errors.push('hard attention: no crop predictions');
    }
    // The class-specific map: the page asks the host to compute it (no map of its own to send).
    await page.locator('[data-testid="hard-attention-map"]').selectOption('class');
    await page.locator('[data-testid="hard-attention-run"]').click();
    const askClass = (await sent(page)).filter((m) => m.type === 'hardAttention').pop();
    if (!askClass?.classSpecific || (askClass.map as number[]).length !== 0 || !/^occlusion of /.test(String(askClass.mapName)))
      errors.push(`hard attention, class-specific: the request is ${JSON.stringify(askClass)}`);
    if (await page.locator('[data-testid="hard-attention-box"]').isVisible())
      errors.push('hard attention, class-specific: a box is drawn before the host computed the map');
    // One block's CLS attention (mean of heads): the page sends that map, named by its block.
    await page.locator('[data-testid="hard-attention-map"]').selectOption('layer:0');
    await page.locator('[data-testid="hard-attention-run"]').click();
    const askLayer = (await sent(page)).filter((m) => m.type === 'hardAttention').pop();
    if (askLayer?.mapName !== 'CLS attention, block 1' || (askLayer.map as number[]).length === 0)
      errors.push(`hard attention, block 1: the request is ${JSON.stringify(askLayer?.mapName)}`);
    await page.locator('[data-testid="hard-attention-map"]').selectOption('soft');
    if (!quick) {
      await shot(page, 'vit-dark-hard-attention.png');
      // Layer down with the keyboard: the page asks for the features there; answer with that layer.
      await page.mouse.click(5, 5);
      await page.keyboard.press('[');
      const need = (await sent(page)).filter((m) => m.type === 'needFeatures').pop();
      if (!need || need.layer !== t.blocks - 1) errors.push(`[ : needFeatures ${JSON.stringify(need)}`);
      else {
        const model = await loadInsideModel(vit.modelPath);
        const features = await part(
          runFeaturesPipeline({ imagePaths: [image], modelPath: vit.modelPath, layer: need.layer as number }, async () => model),
        );
        await model.session.release();
        await postMessage(page, { type: 'features', features });
      }
      await page.keyboard.press('x');
      await page.keyboard.press('f');
      await shot(page, 'vit-dark-layer-exclude-foreground.png');
      // Joint PCA: the page asks the host for more images; answer with this image and a second one.
      await page.locator('[data-testid="feature-images"]').click();
      const pick = (await sent(page)).filter((m) => m.type === 'featureImages').pop();
      if (!pick || pick.clear !== false) errors.push(`joint PCA: featureImages ${JSON.stringify(pick)}`);
      else {
        const second = path.join(outDir, 'second-scene.png');
        fs.writeFileSync(second, await sampleScenePng(320, 240));
        const model = await loadInsideModel(vit.modelPath);
        const features = await part(
          runFeaturesPipeline({ imagePaths: [image, second], modelPath: vit.modelPath, layer: pick.layer as number }, async () => model),
        );
        await model.session.release();
        await postMessage(page, { type: 'features', features });
        const shown = await page.locator('[data-testid="feature-pca"] .vi-feature').count();
        if (shown !== 2) errors.push(`joint PCA: ${shown} images shown`);
        await shot(page, 'vit-dark-joint-pca.png');
      }
      // Click a position of the similarity grid: its map is enlarged.
      const grid = (await page.locator('.vi-posgrid').boundingBox())!;
      await page.mouse.click(grid.x + grid.width * 0.9, grid.y + grid.height * 0.1);
      console.log('  position:', await page.locator('[data-testid="anatomy-position"] .vi-zoom .vl-card-note').textContent());
      await page.keyboard.press('?');
      await shot(page, 'vit-dark-help.png', false);
    }
    await page.context().close();

    // The CNN: each view says what it cannot show.
    page = await openPanel(browser, 'vscode-dark', 1400, errors);
    await postMessage(page, { type: 'result', data: cnn.data });
    for (const id of ids.slice(0, 4))
      if ((await viewState(page, id)) !== 'unavailable') errors.push(`cnn: ${id} is not marked unavailable`);
    const text = (await page.locator('main').textContent()) ?? '';
    for (const phrase of ['no patch-embedding convolution', 'no learned position-embedding table', 'no transformer residual stream'])
      if (!text.includes(phrase)) errors.push(`cnn: the page does not say "${phrase}"`);
    await shot(page, quick ? 'quick-cnn-dark.png' : 'cnn-dark.png');
    await page.context().close();

    // The standalone report of `vit-lens anatomy --html`: the same page, the anatomy embedded, no host.
    const report = path.join(outDir, 'anatomy-report.html');
    fs.writeFileSync(
      report,
      renderReportHtml({ anatomy: vit.data.anatomy }, loadWebviewBundle(path.join(root, 'dist'), 'insideWebview'), 'anatomy'),
    );
    page = await openReportPage(browser, report, { label: 'report', width: 1200 }, errors);
    await page.locator('[data-testid="anatomy-position"]').waitFor();
    await expectTestIds(page, 'report', ids.slice(0, 2), errors);
    if ((await page.locator('[data-testid="token-norms"]').count()) !== 0) errors.push('report: a tokens view without a run');
    await shot(page, quick ? 'quick-anatomy-report.png' : 'anatomy-report.png');
    await page.context().close();
    if (quick) return;

    await looksTour(
      [
        ['vscode-light', 1400, 'vit-light'],
        ['vscode-dark', 600, 'vit-dark-600'],
        ['vscode-light', 600, 'vit-light-600'],
      ] as const,
      (theme, width) => openPanel(browser, theme, width, errors),
      async (page, [, , name]) => {
        await postMessage(page, { type: 'result', data: vit.data });
        await shot(page, `${name}.png`);
      },
      errors,
    );
  } finally {
    await browser.close();
    reportErrors(errors);
  }
}

runUiTest(main);
