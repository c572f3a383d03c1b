// UI test of the attention page without a model: a synthetic but realistic AttentionResult (a generated
// image, its real raw-attention baseline, a fabricated 4-layer × 3-head attention tensor whose rows sum
// to 1), written as test-results/preview/report.html with renderReportHtml, then driven and screenshotted
// with playwright-core + Debian chromium in dark/light looks, wide and narrow, after clicking a patch and
// a thumbnail, and in a simulated VS Code webview (stubbed acquireVsCodeApi, strict CSP). Exits 1 on a
// page or console error, a missing data-testid or a bad export.
//
//   npm run test:ui                                   all three UI tests with every screenshot
//   node dist/test/ui/previewAttention.js --quick     the report once and the VS Code messages (npm test's UI stage)
//   node dist/test/ui/previewAttention.js --no-shots  only write the reports        (after npm run build, from the repository root)
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import type { AttentionResult, AttentionTensor } from '../../src/shared/attentionTypes';
import type { PanelSettings } from '../../src/analyses/attention/messages';
import { attentionSlice, headStatistics, rawAttention, topK } from '../../src/maths/attention';
import { renderReportHtml } from '../../src/cli/htmlReport';
import {
  buildWebviewBundle,
  expectTestIds,
  horizontalOverflow,
  launchChromium,
  openReportPage,
  openVscodePage,
  postToPage,
  quick,
  reportErrors,
  runUiTest,
  screenshotter,
  sentMessages,
  waitForSent,
} from './pageShell';
import { fakeBlob, fakeFaithfulness, postExplainResult } from './fakeExplain';

const root = process.cwd();
const outDir = path.join(root, 'test-results', 'preview');
const W = 448;
const H = 336;
const INPUT = 224;
const PATCH = 16;
const G = INPUT / PATCH; // 14

const sceneSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#7fb3e6"/><stop offset="0.62" stop-color="#cfe3f2"/>
      <stop offset="0.62" stop-color="#6f9f4f"/><stop offset="1" stop-color="#3e6b2c"/>
    </linearGradient>
    <radialGradient id="ball" cx="0.38" cy="0.35" r="0.7">
      <stop offset="0" stop-color="#ff8a7a"/><stop offset="0.6" stop-color="#d7261e"/><stop offset="1" stop-color="#7a0d0a"/>
    </radialGradient>
  </defs>
  <rect width="${W}" height="${H}" fill="url(#sky)"/>
  <circle cx="372" cy="58" r="30" fill="#ffe27a"/>
  <polygon points="20,208 96,92 172,208" fill="#5b6f8a"/>
  <polygon points="110,208 180,120 250,208" fill="#6e829c"/>
  <rect x="300" y="150" width="90" height="70" rx="6" fill="#e0b040"/>
  <rect x="318" y="168" width="22" height="22" fill="#8a5a14"/>
  <ellipse cx="190" cy="262" rx="70" ry="10" fill="#2d4f20" opacity="0.6"/>
  <circle cx="190" cy="222" r="48" fill="url(#ball)"/>
  <path d="M150 205 Q190 235 230 205" stroke="#fff" stroke-width="5" fill="none" opacity="0.85"/>
</svg>`;

function softmaxInto(logits: Float64Array, out: Float32Array, offset: number): void {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  const e = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    e[i] = Math.exp(logits[i] - max);
    sum += e[i];
  }
  for (let i = 0; i < logits.length; i++) out[offset + i] = e[i] / sum;
}

type Scenario = 'demo' | 'vitb' | 'raw';

/** demo: 4 layers × 3 heads; vitb: the shape of ViT-B/16 (12 × 12, 197 tokens); raw: no model, the baseline only. */
async function buildResult(kind: Scenario): Promise<{ result: AttentionResult; settings: PanelSettings }> {
  const t0 = performance.now();
  const png = await sharp(Buffer.from(sceneSvg)).png().toBuffer();
  const t1 = performance.now();
  const { data: rgb } = await sharp(png).resize(INPUT, INPUT, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const pixels = new Float32Array(3 * INPUT * INPUT);
  for (let i = 0; i < INPUT * INPUT; i++)
    for (let c = 0; c < 3; c++) pixels[c * INPUT * INPUT + i] = (rgb[i * 3 + c] / 255 - mean[c]) / std[c];
  const t2 = performance.now();
  const baseline = rawAttention(pixels, 3, INPUT, INPUT, PATCH);

  // Patch features: mean colour and position; saliency = distance from the image's median colour, plus "red".
  const P = G * G;
  const colour = new Float32Array(P * 3);
  for (let r = 0; r < G; r++)
    for (let c = 0; c < G; c++) {
      const p = r * G + c;
      for (let y = 0; y < PATCH; y++)
        for (let x = 0; x < PATCH; x++) {
          const i = ((r * PATCH + y) * INPUT + c * PATCH + x) * 3;
          for (let k = 0; k < 3; k++) colour[p * 3 + k] += rgb[i + k] / 255 / (PATCH * PATCH);
        }
    }
  const med = [0, 1, 2].map((k) => Array.from({ length: P }, (_, p) => colour[p * 3 + k]).sort((a, b) => a - b)[P >> 1]);
  const saliency = new Float32Array(P);
  for (let p = 0; p < P; p++) {
    const d = Math.hypot(colour[p * 3] - med[0], colour[p * 3 + 1] - med[1], colour[p * 3 + 2] - med[2]);
    const red = Math.max(0, colour[p * 3] - 0.5 * (colour[p * 3 + 1] + colour[p * 3 + 2]));
    saliency[p] = d + 1.6 * red;
  }
  // Smooth over the 3×3 neighbourhood and compress, so whole objects (not single patches) stand out.
  const smooth = new Float32Array(P);
  for (let r = 0; r < G; r++)
    for (let c = 0; c < G; c++) {
      let s = 0;
      let n = 0;
      for (let dr = -1; dr <= 1; dr++)
        for (let dc = -1; dc <= 1; dc++) {
          const rr = r + dr;
          const cc = c + dc;
          if (rr < 0 || cc < 0 || rr >= G || cc >= G) continue;
          const w = dr === 0 && dc === 0 ? 2 : 1;
          s += w * saliency[rr * G + cc];
          n += w;
        }
      smooth[r * G + c] = Math.sqrt(s / n);
    }
  const sMax = Math.max(...smooth);
  for (let p = 0; p < P; p++) saliency[p] = smooth[p] / sMax;

  const L = kind === 'vitb' ? 12 : 4;
  const Hh = kind === 'vitb' ? 12 : 3;
  const N = P + 1;
  const data = new Float32Array(L * Hh * N * N);
  const logits = new Float64Array(N);
  for (let l = 0; l < L; l++) {
    const depth = (3 * l) / (L - 1); // 0..3 whatever the number of layers
    for (let hd = 0; hd < Hh; hd++) {
      const base = (l * Hh + hd) * N * N;
      const kindOf = hd % 3; // 0 local, 1 colour, 2 global/object
      const vary = 1 + 0.35 * Math.sin(hd * 1.7 + l);
      const sigma = (kindOf === 0 ? 0.7 + 1.1 * depth : kindOf === 1 ? 1.5 + 2.5 * depth : 4 + 6 * depth) * vary; // patches
      const colourTemp = kindOf === 1 ? 0.05 + 0.04 * depth : 0.25;
      const salGain = (2 + 1.5 * depth) * (kindOf === 2 ? 1.2 : kindOf === 1 ? 0.8 : 0.45) * vary;
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          if (j === 0) {
            logits[j] = i === 0 ? 1 : -1 + depth * 0.8;
            continue;
          } // CLS column: a growing sink
          const pj = j - 1;
          if (i === 0) {
            logits[j] = salGain * saliency[pj] * (1 + 0.15 * kindOf);
            continue;
          }
          const pi = i - 1;
          const dy = Math.floor(pi / G) - Math.floor(pj / G);
          const dx = (pi % G) - (pj % G);
          const pos = -(dx * dx + dy * dy) / (2 * sigma * sigma);
          const dc = Math.hypot(
            colour[pi * 3] - colour[pj * 3],
            colour[pi * 3 + 1] - colour[pj * 3 + 1],
            colour[pi * 3 + 2] - colour[pj * 3 + 2],
          );
          const col = -(dc * dc) / (2 * colourTemp * colourTemp);
          logits[j] =
            kindOf === 0 ? pos + 0.3 * col : kindOf === 1 ? 0.35 * pos + col : 0.15 * pos + 0.2 * col + salGain * 0.5 * saliency[pj];
        }
        softmaxInto(logits, data, base + i * N);
      }
    }
  }
  const raw = kind === 'raw';
  const attention: AttentionTensor = raw ? baseline : { layers: L, heads: Hh, tokens: N, data };
  const t3 = performance.now();
  const headStats = headStatistics(attention, [G, G], PATCH, 1);
  const id2label: Record<string, string> = {
    0: 'tennis ball',
    1: 'balloon',
    2: 'croquet ball',
    3: 'volleyball',
    4: 'rugby ball',
    5: 'pinwheel',
    6: 'lawn mower',
  };
  const predictions = topK([3.1, 2.2, 1.9, 1.2, 0.7, 0.1, -0.4], 5, id2label);
  const t4 = performance.now();

  const result: AttentionResult = {
    image: { path: 'samples/red-ball-in-the-park.png', width: W, height: H },
    model: {
      path: raw ? null : kind === 'vitb' ? 'models/vit-base-patch16-224/model.onnx' : 'models/vit-tiny-demo/model.onnx',
      name: raw ? 'raw attention' : kind === 'vitb' ? 'vit-base-patch16-224 (synthetic)' : 'vit-tiny-demo (synthetic)',
      inputSize: [INPUT, INPUT],
      patchSize: PATCH,
      numLayers: attention.layers,
      numHeads: attention.heads,
      specialTokens: { cls: true, distillation: false, registers: 0 },
      attentionSource: raw ? 'raw' : kind === 'vitb' ? 'tapped' : 'outputs',
    },
    grid: [G, G],
    firstPatchToken: 1,
    attention,
    baseline,
    predictions: raw ? undefined : predictions,
    headStats,
    timingsMs: { decode: t1 - t0, modelLoad: 0, preprocess: t2 - t1, inference: t3 - t2, analysis: t4 - t3, total: t4 - t0 },
    view: { png: new Uint8Array(png), width: W, height: H, sourceRect: [0, 0, W, H] },
  };
  return { result, settings: { colormap: 'viridis', opacity: 0.6, fusion: 'mean', discardRatio: 0.9 } };
}

function checkRows(t: AttentionTensor): void {
  for (let r = 0; r < t.layers * t.heads * t.tokens; r++) {
    let s = 0;
    for (let j = 0; j < t.tokens; j++) s += t.data[r * t.tokens + j];
    if (Math.abs(s - 1) > 1e-4) throw new Error(`row ${r} sums to ${s}`);
  }
}

const shot = screenshotter(outDir);
const launchBrowser = () => launchChromium('--disable-gpu');

/** The test ids the integration tests and the tour rely on, present once a result is shown. */
const pageTestIds = [
  'attention-map',
  'raw-attention-map',
  'image-overlay',
  'query-patch',
  'layer-select',
  'head-select',
  'query-label',
  'cls-button',
  'follow-mouse',
  'colormap-select',
  'threshold-toggle',
  'threshold-slider',
  'fusion-select',
  'discard-slider',
  'start-layer-select',
  'predictions',
  'head-thumb',
  'busy',
  'error',
];

/** --quick: the report once (its test ids, a view switch, one screenshot), then the VS Code webview's messages. */
async function quickCheck(data: { result: AttentionResult; settings: PanelSettings }, bundle: { js: string; css: string }): Promise<void> {
  const browser = await launchBrowser();
  const errors: string[] = [];
  try {
    const page = await openReportPage(browser, path.join(outDir, 'report.html'), { label: 'report', colorScheme: 'dark' }, errors);
    await page.waitForSelector('[data-testid="head-thumb"]', { timeout: 15000 });
    await expectTestIds(page, 'report', pageTestIds, errors);
    await page.keyboard.press('2');
    await expectTestIds(page, 'report, key 2', ['rollout-map'], errors);
    await shot(page, 'quick-dark-1400.png');
    await page.context().close();
    await vscodeMode(browser, data, bundle, errors);
  } finally {
    await browser.close();
  }
  reportErrors(errors);
}

async function screenshots(
  reportHtml: string,
  data: { result: AttentionResult; settings: PanelSettings },
  bundle: { js: string; css: string },
): Promise<void> {
  const browser = await launchBrowser();
  const errors: string[] = [];
  try {
    const lightHtml = reportHtml.replace('<body>', '<body class="vscode-light">');
    fs.writeFileSync(path.join(outDir, 'report-light.html'), lightHtml);
    for (const [look, file] of [
      ['dark', 'report.html'],
      ['light', 'report-light.html'],
    ] as const) {
      const page = await openReportPage(browser, path.join(outDir, file), { label: look, colorScheme: look }, errors);
      await page.waitForSelector('[data-testid="head-thumb"]');
      await shot(page, `${look}-1400.png`);
      await shot(page, `${look}-1400-full.png`, true);
      if (look === 'dark') {
        // A slow re-run over the shown result, as the busy line shows it once the run has lasted QUIET_RUN_MS.
        await page.locator('[data-testid="busy"]').evaluate((e: HTMLElement) => {
          e.hidden = false;
          e.querySelector('.vl-busy-text')!.textContent = 'inference…';
          (e.querySelector('.vl-progress-fill') as HTMLElement).style.width = '30%';
        });
        await shot(page, 'dark-busy-over-result.png');
        await page.locator('[data-testid="busy"]').evaluate((e: HTMLElement) => (e.hidden = true));
        // Click a patch of the ball (row 9, col 5 of 14), then a thumbnail, then rollout and raw views.
        const box = (await page.locator('[data-testid="image-overlay"]').boundingBox())!;
        await page.mouse.click(box.x + box.width * (5.5 / 14), box.y + box.height * (9.5 / 14));
        const q = await page.locator('[data-testid="query-patch"]').evaluate((e) => ({ ...(e as HTMLElement).dataset }));
        console.log('  query after click:', JSON.stringify(q));
        await shot(page, 'dark-click-patch.png');
        await page.locator('[data-testid="head-thumb"][data-layer="1"][data-head="2"]').click();
        console.log(
          '  after thumb: layer',
          await page.locator('[data-testid="layer-select"]').inputValue(),
          'head',
          await page.locator('[data-testid="head-select"]').inputValue(),
        );
        await shot(page, 'dark-click-thumb.png');
        await page.keyboard.press('2');
        await page.locator('[data-testid="threshold-toggle"]').check();
        await shot(page, 'dark-rollout-threshold.png');
        await page.keyboard.press('3');
        await page.locator('[data-testid="colormap-select"]').selectOption('turbo');
        await page.locator('.vl-seg[data-value="smooth"]').click();
        await shot(page, 'dark-raw-turbo-smooth.png');
        await page.keyboard.press('?');
        await shot(page, 'dark-help.png');
        await page.keyboard.press('Escape');
        const [download] = await Promise.all([page.waitForEvent('download'), page.locator('button', { hasText: 'Save PNG' }).click()]);
        const saved = path.join(outDir, 'export-' + download.suggestedFilename());
        await download.saveAs(saved);
        console.log(`  standalone download: ${path.basename(saved)} ${fs.statSync(saved).size} bytes`);
      }
      await page.context().close();
    }
    // Narrow panel.
    for (const look of ['dark', 'light'] as const) {
      const file = path.join(outDir, look === 'dark' ? 'report.html' : 'report-light.html');
      const page = await openReportPage(browser, file, { label: 'narrow', width: 600, colorScheme: look }, errors);
      await page.waitForSelector('[data-testid="head-thumb"]');
      await shot(page, `${look}-600-full.png`, true);
      console.log(`  narrow ${look}: horizontal overflow ${await horizontalOverflow(page)}px`);
      await page.context().close();
    }
    for (const [file, name] of [
      ['report-vitb.html', 'vitb'],
      ['report-raw.html', 'raw'],
    ] as const) {
      const t0 = Date.now();
      const page = await openReportPage(browser, path.join(outDir, file), { label: name, colorScheme: 'dark' }, errors);
      await page.waitForSelector('[data-testid="head-thumb"]');
      console.log(`  ${name}: ${await page.locator('[data-testid="head-thumb"]').count()} thumbs, first paint ${Date.now() - t0} ms`);
      await shot(page, `${name}-1400-full.png`, true);
      if (name === 'vitb') {
        // Rollout recomputation cost on ViT-B: move the discard slider through a few values.
        await page.keyboard.press('2');
        const ms = await page.evaluate(async () => {
          const input = document.querySelector('[data-testid="discard-slider"]') as HTMLInputElement;
          const t = performance.now();
          for (const v of ['0.5', '0.7', '0.9', '0.95']) {
            input.value = v;
            input.dispatchEvent(new Event('input'));
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
          }
          return (performance.now() - t) / 4;
        });
        console.log(`  vitb: rollout update ≈ ${ms.toFixed(0)} ms per slider step`);
        await page.mouse.click(300, 300);
        const t1 = Date.now();
        await page.keyboard.press('1');
        const box = (await page.locator('[data-testid="image-overlay"]').boundingBox())!;
        await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.7);
        console.log(`  vitb: click-to-query ${Date.now() - t1} ms`);
        await shot(page, 'vitb-query.png', true);
      }
      await page.context().close();
    }
    await vscodeMode(browser, data, bundle, errors);
  } finally {
    await browser.close();
  }
  reportErrors(errors);
}

/**
 * "Why this class" in the VS Code webview: a click on a prediction asks the host to explain that class;
 * the host's partial (coarse) map, then its result are painted, with the faithfulness chart; Save JSON
 * writes the explain document. The maps and curves here are made up (the numerics have their own tests).
 */
async function explainFlow(page: Page, r: AttentionResult, errors: string[]): Promise<void> {
  const sentOf = async <T>(type: string) => (await sentMessages(page)).filter((m) => m.type === type) as T[];
  const target = r.predictions![1];
  await page.locator('[data-testid="predictions"] li').nth(1).click();
  const asked = (await sentOf<{ resultId: number; request: { target?: number; methods: string[]; window: number } }>('explain'))[0];
  console.log('  vscode: explain request', JSON.stringify(asked));
  if (asked?.request.target !== target.index || asked.resultId !== 1)
    errors.push(`vscode: a prediction click asked ${JSON.stringify(asked)}`);
  await expectTestIds(page, 'vscode, explain view', ['explain-map', 'explain-class-select', 'faithfulness-chart'], errors);
  const [gh, gw] = r.grid;
  const P = gh * gw;
  // An occlusion-like blob around patch (2, 5), a RISE-like smoother one; curves that fall at different
  // speeds, with one-patch steps (the "One-patch steps" option).
  const blob = (row: number, col: number, s2: number) => Float32Array.from(fakeBlob(r.grid, row, col, s2));
  const faithfulness = fakeFaithfulness(
    target.probability,
    {
      rollout: [0.5, 0.02],
      attention: [0.3, 0.03],
      raw: [0.05, 0.2],
      occlusion: [0.9, 0.01],
      rise: [0.6, 0.02],
      random: [0.08, 0.08],
    },
    P,
  );
  const occ = blob(2, 5, 1.5);
  const rise = blob(2, 5, 6);
  await postToPage(page, {
    type: 'explainPartial',
    resultId: 1,
    partial: { kind: 'occlusion', pass: 'coarse', done: 12, total: 40, map: occ },
  });
  await postExplainResult(page, 1, r, {
    grid: r.grid,
    target,
    labels: r.labels ?? [],
    maps: { occlusion: occ, rise, rollout: rise, attention: rise, raw: rise, random: rise },
    faithfulness,
    predictions: [target],
    runs: 412,
    timingsMs: { decode: 3, modelLoad: 0, attention: 40, occlusion: 300, rise: 900, faithfulness: 200, total: 1443 },
  });
  await page.waitForSelector('.vl-faith-legend li');
  const legend = await page.locator('.vl-faith-legend li').count();
  if (legend !== 6) errors.push(`vscode: the faithfulness legend has ${legend} maps, not 6`);
  const title = await page.locator('.vl-viewer .vl-card-title').first().textContent();
  if (!title?.includes(target.label)) errors.push(`vscode: the explain view's title "${title}" does not name ${target.label}`);
  await shot(page, 'vscode-explain.png', true);
  // The result has one-patch curves: the protocol switch shows deletion / insertion instead.
  await page.locator('[data-testid="faithfulness-protocol"] .vl-seg[data-value="onePatch"]').click();
  const stepTitle = await page.locator('.vl-faith-panel .vl-faith-title').first().textContent();
  if (!stepTitle?.startsWith('Deletion')) errors.push(`vscode: the one-patch protocol shows "${stepTitle}"`);
  await shot(page, 'vscode-explain-steps.png');
  await page.locator('[data-testid="faithfulness-protocol"] .vl-seg[data-value="tenSteps"]').click();
  await page.locator('button', { hasText: 'Save JSON' }).click();
  const exp = (await sentOf<{ format: string; suggestedName: string; bytes: Uint8Array }>('export')).find((m) => m.format === 'json');
  const doc = exp ? JSON.parse(new TextDecoder().decode(Uint8Array.from(Object.values(exp.bytes)))) : undefined;
  console.log('  vscode: explain JSON', exp?.suggestedName, doc ? Object.keys(doc).join(',') : 'none');
  if (!doc || doc.removal !== 'key-mask' || doc.target?.index !== target.index || doc.maps?.occlusion?.length !== P)
    errors.push('vscode: Save JSON in the explain view did not write the explain document');
  await page.keyboard.press('1');
}

/** The webview as VS Code hosts it: strict CSP (no inline styles), a stubbed acquireVsCodeApi, messages. */
async function vscodeMode(
  browser: Browser,
  data: { result: AttentionResult; settings: PanelSettings },
  bundle: { js: string; css: string },
  errors: string[],
): Promise<void> {
  const page = await openVscodePage(browser, 'webview', bundle, { label: 'vscode' }, errors);
  const ctx = page.context();
  const sent = () => sentMessages(page);
  const postTyped = (message: object) => postToPage(page, message);
  console.log('  vscode: first message', JSON.stringify((await sent())[0]));
  await postTyped({ type: 'running', message: 'Running vit-tiny-demo on red-ball-in-the-park.png…', progress: 0.4 });
  await shot(page, 'vscode-busy.png');
  // As the host sends it: the tensor's shape and query 0's slice (the engine keeps the tensor).
  const { attention, ...rest } = data.result;
  const slice = attentionSlice(attention, rest.firstPatchToken, 0, {
    fusion: data.settings.fusion,
    discardRatio: data.settings.discardRatio,
    startLayer: 0,
  });
  const shape = { layers: attention.layers, heads: attention.heads, tokens: attention.tokens };
  const notice = {
    message: 'Attention was tapped from Softmax nodes: this model exports no attentions output.',
    actions: ['openSettings', 'showLog'],
  };
  // The first map first, as the host posts it (a partial result: query 0's rows, no raw baseline, no head
  // statistics), then query 0's rollout as a slice, then the whole result.
  const { baseline: _baseline, ...mapOnly } = rest;
  const postFirstMap = (resultId: number) =>
    postTyped({
      type: 'result',
      resultId,
      result: { ...mapOnly, attention: shape, headStats: [] },
      rows: slice.rows,
      settings: data.settings,
      notice,
      partial: true,
    });
  await postFirstMap(1);
  await waitForSent(page, 'painted');
  if ((await sent()).some((m) => m.type === 'rendered')) errors.push('vscode: `rendered` before the rest of a first map');
  const pending = await page.evaluate(() =>
    [...document.querySelectorAll('[data-pending]')].filter((e) => !(e as HTMLElement).hidden).map((e) => e.textContent ?? ''),
  );
  for (const what of ['raw attention baseline', 'head statistics', 'thumbnails'])
    if (!pending.some((t) => t.includes(what))) errors.push(`vscode: no card says the ${what} follow: ${JSON.stringify(pending)}`);
  if ((await page.locator('[data-testid="head-thumb"]').count()) !== 0) errors.push('vscode: thumbnails painted from a first map');
  const mapPixels = () =>
    page
      .locator('[data-testid="image-overlay"] canvas')
      .first()
      .evaluate((c) => (c as HTMLCanvasElement).toDataURL());
  const firstMap = await mapPixels();
  await shot(page, 'vscode-first-map.png', true);
  await postTyped({ type: 'slice', resultId: 1, slice });
  await page.keyboard.press('2'); // the rollout view, from the rollout that followed the first map
  await page.waitForFunction(() => document.querySelector('[data-testid="rollout-map"]') !== null);
  await shot(page, 'vscode-first-map-rollout.png');
  await page.keyboard.press('1');
  await postTyped({ type: 'result', resultId: 1, result: { ...rest, attention: shape }, slice, settings: data.settings, notice });
  await waitForSent(page, 'rendered');
  const order = (await sent()).map((m) => m.type).filter((t) => t === 'painted' || t === 'rendered');
  if (order.join() !== 'painted,rendered') errors.push(`vscode: painted/rendered sent as ${order.join()}`);
  if ((await page.locator('[data-testid="head-thumb"]').count()) !== attention.layers * attention.heads)
    errors.push('vscode: the thumbnails of the whole result are not shown');
  if ((await page.locator('[data-pending]:not([hidden])').count()) !== 0) errors.push('vscode: a card still says it follows');
  if ((await mapPixels()) !== firstMap) errors.push('vscode: the whole result recoloured the first map');
  console.log('  vscode: rendered', JSON.stringify((await sent()).find((m) => m.type === 'rendered')));
  await page.locator('[data-testid="image-overlay"]').focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  console.log('  vscode: after arrows', JSON.stringify((await sent()).filter((m) => m.type === 'queryChanged')));
  await explainFlow(page, data.result, errors);
  await postTyped({
    type: 'error',
    message: 'Model file not found: models/vit-base/model.onnx',
    actions: ['chooseModel', 'downloadModel', 'openSettings'],
  });
  await shot(page, 'vscode-error.png');
  await page.locator('[data-testid="error"] button', { hasText: 'Choose model…' }).click();
  await page.locator('button', { hasText: 'Save JSON' }).click();
  await page.locator('button', { hasText: 'Save PNG' }).click();
  await page.waitForFunction(() =>
    (window as unknown as { __sent: { type: string; format?: string }[] }).__sent.some((m) => m.format === 'png'),
  );
  const pngHead = await page.evaluate(() => {
    const m = (window as unknown as { __sent: { format?: string; bytes?: Uint8Array }[] }).__sent.find((x) => x.format === 'png');
    return m?.bytes ? Array.from(m.bytes.slice(0, 8)) : [];
  });
  console.log('  vscode: PNG export signature', pngHead.join(',') === '137,80,78,71,13,10,26,10' ? 'ok' : `BAD ${pngHead}`);
  if (pngHead.join(',') !== '137,80,78,71,13,10,26,10') errors.push(`vscode: the PNG export is not a PNG (${pngHead})`);
  await postTyped({ type: 'exported', requestId: 2, savedTo: 'exports/red-ball-in-the-park-L4-mean.png' });
  await shot(page, 'vscode-exported.png');
  const msgs = await sent();
  console.log('  vscode: messages', msgs.map((m) => m.type).join(', '));
  const exp = msgs.find((m) => m.type === 'export') as { suggestedName?: string; bytes?: Uint8Array } | undefined;
  console.log(
    '  vscode: export',
    exp?.suggestedName,
    exp?.bytes instanceof Uint8Array || (exp?.bytes && typeof exp.bytes === 'object') ? 'bytes ok' : 'NO BYTES',
  );
  if (!(exp?.bytes && typeof exp.bytes === 'object')) errors.push('vscode: an export message without bytes');
  // A first map whose run is then cancelled: its rest never comes, and the cards say so instead of "Computing…".
  await postFirstMap(2);
  await page.waitForSelector('[data-pending]'); // the query stays the patch: no map until its slice, which never comes
  await page.evaluate(() =>
    window.postMessage({ type: 'error', message: 'Run cancelled. Press Run again to start again.', actions: ['rerun'] }, '*'),
  );
  await page.waitForSelector('[data-testid="error"]:not([hidden])');
  if ((await page.locator('[data-pending]').count()) !== 0) errors.push('vscode: data-pending remains after a cancel');
  const notes = await page.locator('.vl-card-note:not([hidden])').allTextContents();
  for (const part of ['head statistics', 'thumbnails', 'raw attention baseline'])
    if (!notes.some((t) => t.startsWith('The run stopped before') && t.includes(part) && t.includes('Run again')))
      errors.push(`vscode: after a cancel no note says the run stopped before the ${part}: ${JSON.stringify(notes)}`);
  const json = page.locator('button', { hasText: 'Save JSON' });
  if (!(await json.isDisabled()) || !/stopped/.test((await json.getAttribute('title')) ?? ''))
    errors.push('vscode: Save JSON of a cancelled first map is not disabled with a title that says why');
  if (await page.locator('button', { hasText: 'Save PNG' }).isDisabled())
    errors.push('vscode: Save PNG of a cancelled first map is disabled');
  const readout = () => page.locator('.vl-viewer .vl-readout').textContent();
  if (!(await readout())?.startsWith('The run stopped before this query'))
    errors.push(`vscode: after a cancel the patch query's readout: ${await readout()}`);
  await page.keyboard.press('c'); // query 0's attention came with the first map: it still shows
  await page.waitForFunction(() => document.querySelector('.vl-viewer .vl-readout')?.textContent?.startsWith('Range'));
  await shot(page, 'vscode-first-map-cancelled.png', true);
  await ctx.close();
}

async function main(): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  const bundle = await buildWebviewBundle(path.join(root, 'webview/panels/attention/main.ts'), 'webview');
  const write = async (kind: Scenario, file: string) => {
    const data = await buildResult(kind);
    checkRows(data.result.attention);
    checkRows(data.result.baseline);
    const html = renderReportHtml(data, bundle, `ViT Lens — ${path.basename(data.result.image.path)}`);
    fs.writeFileSync(path.join(outDir, file), html);
    console.log(`wrote ${path.relative(root, path.join(outDir, file))} (${(html.length / 1024).toFixed(0)} KiB)`);
    return { data, html };
  };
  const demo = await write('demo', 'report.html');
  if (quick) return quickCheck(demo.data, bundle);
  await write('vitb', 'report-vitb.html');
  await write('raw', 'report-raw.html');
  if (!process.argv.includes('--no-shots')) await screenshots(demo.html, demo.data, bundle);
}

runUiTest(main);
