// UI test of the gates page with real results: the fixture SE-CNN and CBAM-CNN run (in process) on a
// photo (the CC0 images next to the repository when present, else the generated sample scene), then the
// panel is loaded as VS Code hosts it (strict CSP, stubbed acquireVsCodeApi, messages posted to it) in
// headless chromium via playwright-core, driven with mouse and keyboard, and screenshotted in dark and
// light themes, wide and narrow, into test-results/preview-gates/. Exports (PNG, JSON) are saved there too.
//
// Exits 1 on a page or console error, a missing data-testid or horizontal overflow.
//
//   npm run test:ui                              the three UI tests with every screenshot
//   node dist/test/ui/previewGates.js --quick    SE and CBAM results once each, busy and error lines (npm test's UI stage)
//                                                (after npm run build, from the repository root)
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { runGatesPipeline } from '../../src/analyses/gates/pipeline';
import { describeError } from '../../src/shared/errors';
import { loadGatesModel } from '../../src/analyses/gates/gatesModel';
import { photoOrSampleScene } from '../fixtures/builders/sampleImages';
import { defaultFixtureDir, ensureFixture } from '../fixtures/builders/writeFixtures';
import type { GatesResult } from '../../src/analyses/gates/types';
import type { GatesPanelSettings } from '../../src/analyses/gates/messages';
import { loadWebviewBundle } from '../../src/cli/htmlReport';
import {
  expectTestIds,
  launchChromium,
  looksTour,
  openVscodePage,
  postAndWaitRendered,
  postToPage,
  quick,
  reportErrors,
  runUiTest,
  screenshotter,
  sentMessages as sent,
  type Sent,
  type Theme,
} from './pageShell';
import { fakeBlob, fakeFaithfulness, postExplainResult } from './fakeExplain';
import { PIXEL_FILL_CELL } from '../../src/analyses/explain/types';

const root = process.cwd();
const outDir = path.join(root, 'test-results', 'preview-gates');
const settings: GatesPanelSettings = { colormap: 'inferno', opacity: 0.6 };
const shot = screenshotter(outDir);

async function runFixture(name: string, image: string): Promise<GatesResult> {
  const modelPath = ensureFixture(name, defaultFixtureDir(root));
  const model = await loadGatesModel(modelPath);
  try {
    return await runGatesPipeline({ imagePath: image, modelPath }, async () => model);
  } finally {
    await model.session.release();
  }
}

/** The no-gates message exactly as the engine words it, for the error screenshot. */
async function noGatesMessage(): Promise<string> {
  try {
    await loadGatesModel(ensureFixture('cnn-tiny', defaultFixtureDir(root)));
    return 'unexpected: cnn-tiny has gates';
  } catch (e) {
    return describeError(e);
  }
}

async function openPanel(browser: Browser, theme: Theme, width: number, errors: string[]): Promise<Page> {
  const bundle = loadWebviewBundle(path.join(root, 'dist'), 'gatesWebview');
  return openVscodePage(browser, 'gatesWebview', bundle, { theme, width, label: `${theme} ${width}` }, errors);
}

const postResult = (page: Page, result: GatesResult) => postAndWaitRendered(page, { type: 'result', resultId: 1, result, settings });

/**
 * "Why this class" on a CNN: the card offers the predictions, Explain asks the host for the picked class
 * (pixel-fill removal is the host's choice for this panel), and the host's result (made up here: the
 * numerics have their own tests) is painted with its inexact-removal note and the faithfulness chart.
 */
async function whyThisClass(page: Page, r: GatesResult, errors: string[]): Promise<void> {
  const card = page.locator('.vl-class-explain');
  if (!(await card.isVisible())) {
    errors.push('why this class: no card on a classifier’s gates result');
    return;
  }
  const second = r.predictions![1];
  await card.locator('[data-testid="explain-class-select"]').selectOption(String(second.index));
  await card.locator('[data-testid="explain-run"]').click();
  const asked = (await sent(page)).filter((m) => m.type === 'explain') as unknown as { resultId: number; request: { target?: number } }[];
  if (asked.length !== 1 || asked[0].resultId !== 1 || asked[0].request.target !== second.index)
    errors.push(`why this class: the request is ${JSON.stringify(asked)}, not class ${second.index} of result 1`);
  const [ih, iw] = r.model.inputSize;
  const grid: [number, number] = [Math.ceil(ih / PIXEL_FILL_CELL), Math.ceil(iw / PIXEL_FILL_CELL)];
  const blob = fakeBlob(grid, 3, 4, 4);
  const faithfulness = fakeFaithfulness(second.probability, { occlusion: [0.6, 0.02], random: [0.1, 0.1] });
  const map = Float32Array.from(blob);
  await postExplainResult(page, 1, r, {
    grid,
    target: second,
    removal: 'pixel-fill',
    removalExact: false,
    removalNote: 'A CNN has no tokens: each removed cell is filled with the mean colour.',
    samples: 0,
    maps: { occlusion: map, random: map },
    faithfulness,
    runs: 50,
    batch: 1,
    timingsMs: { decode: 2, modelLoad: 0, attention: 5, occlusion: 90, faithfulness: 40, total: 137 },
  });
  await card.locator('.vl-faith-legend li').first().waitFor();
  if (!(await card.locator('[data-testid="explain-inexact"]').isVisible())) errors.push('why this class: no inexact-removal note');
  const status = await card.locator('[data-testid="explain-status"]').textContent();
  if (!status?.startsWith(second.label)) errors.push(`why this class: the status "${status}" does not name ${second.label}`);
  await card.scrollIntoViewIfNeeded();
  await shot(page, 'quick-se-why-this-class.png');
}

/** Waits until the page has rendered gate block `block` (0-based). */
const renderedBlock = (page: Page, block: number) =>
  page.waitForFunction((b) => (window as unknown as { __sent: Sent[] }).__sent.some((m) => m.type === 'rendered' && m.block === b), block);

const exportCount = async (page: Page) => (await sent(page)).filter((m) => m.type === 'export').length;

/** Clicks an export button and writes the `export` message's bytes to a file; returns its name and sanity. */
async function saveExport(page: Page, button: 'Save PNG' | 'Save JSON', file: string): Promise<string> {
  const before = await exportCount(page);
  await page.locator('button', { hasText: button }).click();
  await page.waitForFunction((n) => (window as unknown as { __sent: Sent[] }).__sent.filter((m) => m.type === 'export').length > n, before);
  const last = await page.evaluate(() => {
    const m = (window as unknown as { __sent: { type: string; suggestedName?: string; bytes?: Uint8Array }[] }).__sent
      .filter((x) => x.type === 'export')
      .pop()!;
    return { name: m.suggestedName, bytes: Array.from(m.bytes ?? []) };
  });
  fs.writeFileSync(path.join(outDir, file), Buffer.from(last.bytes));
  const png = last.bytes.slice(0, 8).join(',') === '137,80,78,71,13,10,26,10';
  return `${last.name} (${last.bytes.length} bytes${file.endsWith('.png') ? (png ? ', PNG ok' : ', NOT A PNG') : ''})`;
}

async function main(): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  const image = await photoOrSampleScene(root, path.join(outDir, 'sample-scene.png'));
  const se = await runFixture('se-cnn-tiny', image);
  const cbam = await runFixture('cbam-cnn-tiny', image);
  const noGates = await noGatesMessage();
  console.log(`image ${path.basename(image)}: SE ${se.gates.length} gates, CBAM ${cbam.gates.length} gates`);
  const browser = await launchChromium('--disable-gpu');
  const errors: string[] = [];
  try {
    if (quick) {
      // One page: busy line, the SE result (channel gates), the CBAM one (a spatial gate), an error.
      const page = await openPanel(browser, 'vscode-dark', 1400, errors);
      await postToPage(page, { type: 'running', message: 'Running se-cnn-tiny…', progress: 0.3 });
      await expectTestIds(page, 'busy', ['busy'], errors);
      await postResult(page, se);
      await expectTestIds(
        page,
        'se',
        ['block-select', 'gate-block', 'channel-chart', 'spatial-map', 'predictions', 'error', 'busy'],
        errors,
      );
      await shot(page, 'quick-se-dark.png');
      await whyThisClass(page, se, errors);
      await postResult(page, cbam);
      await page.locator('[data-testid="gate-block"][data-index="1"]').click();
      await renderedBlock(page, 1);
      if (!(await page.locator('[data-testid="spatial-map"]').isVisible())) errors.push('cbam: block 2 shows no spatial map');
      await postToPage(page, { type: 'error', message: noGates, actions: ['chooseModel'] });
      if (!(await page.locator('[data-testid="error"]').isVisible())) errors.push('error message: no error banner');
      await shot(page, 'quick-cbam-error-dark.png');
      await page.context().close();
      return;
    }
    // Dark, wide: the SE-CNN, every block.
    let page = await openPanel(browser, 'vscode-dark', 1400, errors);
    console.log('  first message:', JSON.stringify((await sent(page))[0]));
    await postToPage(page, { type: 'running', message: 'Running se-cnn-tiny on chelsea.png…', progress: 0.3 });
    await shot(page, 'dark-busy.png');
    await postResult(page, se);
    console.log(
      '  gate-block kinds:',
      await page.locator('[data-testid="gate-block"]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.kind).join(',')),
    );
    await shot(page, 'se-dark-block1.png');
    // Keyboard: focus the chart, move the cursor.
    await page.locator('[data-testid="channel-chart"] svg').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    console.log('  chart readout:', await page.locator('[data-testid="channel-chart"] .vl-readout').textContent());
    await shot(page, 'se-dark-chart-cursor.png');
    await page.keyboard.press('o');
    await shot(page, 'se-dark-by-index.png');
    await page.mouse.click(5, 5);
    await page.keyboard.press(']');
    await page.keyboard.press(']');
    console.log('  after ] ]:', await page.locator('[data-testid="block-select"]').inputValue());
    await shot(page, 'se-dark-block3-hardsigmoid.png');
    console.log('  export:', await saveExport(page, 'Save PNG', 'export-se-block3.png'));
    await postToPage(page, { type: 'error', message: noGates, actions: ['chooseModel', 'openSettings', 'showLog'] });
    await shot(page, 'dark-error-no-gates.png');
    await page.context().close();

    // Dark, wide: CBAM, spatial gate, hover.
    page = await openPanel(browser, 'vscode-dark', 1400, errors);
    await postResult(page, cbam);
    await page.locator('[data-testid="gate-block"][data-index="1"]').click();
    await renderedBlock(page, 1);
    const box = (await page.locator('[data-testid="spatial-map"]').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.4);
    console.log('  spatial readout:', await page.locator('.vl-gspatial .vl-readout').textContent());
    await shot(page, 'cbam-dark-spatial1.png');
    console.log('  export:', await saveExport(page, 'Save PNG', 'export-cbam-spatial1.png'));
    // Block list by keyboard: ArrowDown to block 3 (channel), then 4 (spatial, smooth).
    await page.locator('[data-testid="gate-block"][data-index="1"]').focus();
    await page.keyboard.press('ArrowDown');
    await shot(page, 'cbam-dark-channel2.png');
    console.log('  export:', await saveExport(page, 'Save PNG', 'export-cbam-channel2.png'));
    await page.locator('[data-testid="gate-block"][data-index="2"]').focus();
    await page.keyboard.press('End');
    await page.keyboard.press('s');
    await shot(page, 'cbam-dark-spatial2-smooth.png');
    console.log('  export:', await saveExport(page, 'Save JSON', 'export-cbam-spatial2.json'));
    await page.keyboard.press('?');
    await shot(page, 'cbam-dark-help.png');
    console.log('  messages:', (await sent(page)).map((m) => (m.type === 'rendered' ? `rendered(${m.block})` : m.type)).join(', '));
    await page.context().close();

    // Light theme, and a narrow panel in both themes.
    await looksTour(
      [
        ['vscode-light', 1400, 'cbam-light', cbam],
        ['vscode-light', 1400, 'se-light', se],
        ['vscode-dark', 600, 'cbam-dark-600', cbam],
        ['vscode-light', 600, 'se-light-600', se],
      ] as const,
      (theme, width) => openPanel(browser, theme, width, errors),
      async (page, [, width, name, result]) => {
        await postResult(page, result);
        if (name === 'cbam-light') {
          await page.locator('[data-testid="block-select"]').selectOption('1');
          await renderedBlock(page, 1);
        }
        await shot(page, `${name}.png`, width < 1000);
      },
      errors,
    );
  } finally {
    await browser.close();
    reportErrors(errors);
  }
}

runUiTest(main);
