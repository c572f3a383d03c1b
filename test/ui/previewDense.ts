// UI test of the DPT page (webview/panels/dense) without a model: a synthetic but realistic DenseResult — a
// procedurally drawn street scene whose depth is that of a real ground plane (inverse depth linear in the
// image row below the horizon) with objects standing on it, ADE20K labels and palette, four neck levels
// made by real PCA of multi-scale features, and a 4-layer × 3-head attention tensor whose rows sum to 1 —
// embedded in a standalone page (as the attention report is), opened in headless chromium with
// playwright-core, and screenshotted: depth side by side / overlay / swipe / 3D (WebGL and the canvas-2D
// fallback), segmentation with legend isolate/hide, the neck features and the backbone attention, dark and
// light, wide and narrow; then as VS Code hosts it (stubbed acquireVsCodeApi, strict CSP) to check the
// messages and every export's bytes (the 16-bit PNG decoded with sharp, the .npy header parsed).
// Last, real results: the engine (dist/engine.js, through EngineClient as the host uses it) runs the tiny
// DPT fixture models (`npm run models`) on the same image, and those pages are screenshotted too.
//
// Exits 1 on a page or console error or a missing data-testid.
//
//   npm run test:ui                                the three UI tests with every screenshot
//   node dist/test/ui/previewDense.js --quick      depth and segmentation pages once, and the VS Code messages (npm test's UI stage)
//   node dist/test/ui/previewDense.js --no-shots   only write the pages       (after npm run build, from the repository root)
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import type { AttentionSlice, AttentionTensor, RolloutSettings } from '../../src/shared/attentionTypes';
import { attentionSlice } from '../../src/maths/attention';
import type { DenseResult, DenseTask, FeatureLevel } from '../../src/analyses/dense/types';
import type { DensePanelSettings } from '../../src/analyses/dense/messages';
import { ade20kId2Label } from '../../src/maths/ade20k';
import { depthStats, segmentClasses } from '../../src/maths/dense';
import { renderReportHtml } from '../../src/cli/htmlReport';
import { denseReportData } from '../../src/analyses/dense/command';
import { EngineClient } from '../../src/client/engineClient';
import { sampleBilinear } from '../../webview/panels/dense/mesh';
import {
  WEBVIEW_ORIGIN,
  buildWebviewBundle,
  expectTestIds,
  horizontalOverflow,
  launchChromium,
  openReportPage,
  postToPage,
  quick,
  reportErrors,
  runUiTest,
  routeWebview,
  screenshotter,
  sentMessages,
  waitForSent,
} from './pageShell';
import { fakeBlob, fakeFaithfulness, postExplainResult } from './fakeExplain';

const root = process.cwd();
const outDir = path.join(root, 'test-results', 'preview-dense');
const W = 640; // view image
const H = 448;
const IN_W = 320; // model input (and predicted_depth) size
const IN_H = 224;
const PATCH = 16;
const GRID: [number, number] = [IN_H / PATCH, IN_W / PATCH]; // 14 × 20

// ---------------------------------------------------------------- the scene

// ADE20K ids used by the scene.
const SKY = 2,
  MOUNTAIN = 16,
  BUILDING = 1,
  ROAD = 6,
  GRASS = 9,
  TREE = 4,
  CAR = 20,
  PERSON = 12;
const HORIZON = 0.45;

interface Sample {
  label: number;
  /** Relative inverse depth: larger = nearer. */
  disparity: number;
  rgb: [number, number, number];
}

/** Inverse depth of the ground plane at image row v (0 = top, 1 = bottom): linear in the row below the horizon. */
const groundDisparity = (v: number) => 0.09 + 1.6 * (v - HORIZON);

/** A deterministic per-position noise in [-1, 1]. */
function hash(x: number, y: number): number {
  const s = Math.sin(x * 127.1 + y * 311.7) * 43758.5453;
  return (s - Math.floor(s)) * 2 - 1;
}

/** Smooth low-amplitude ripples, as a network's output has. */
const ripple = (u: number, v: number) => 0.01 * Math.sin(9 * u + 4 * v) + 0.006 * Math.sin(23 * v - 13 * u + 1);

function scene(u: number, v: number): Sample {
  const px = u * W;
  const py = v * H;
  const n = hash(Math.floor(px), Math.floor(py));
  const shade = (c: [number, number, number], k = 10): [number, number, number] => [c[0] + n * k, c[1] + n * k, c[2] + n * k];
  const disk = (cu: number, cv: number, r: number) => (px - cu * W) ** 2 + (py - cv * H) ** 2 < (r * H) ** 2;

  // Person (nearest), feet at v = 0.9.
  if (disk(0.33, 0.6, 0.035)) return { label: PERSON, disparity: groundDisparity(0.9) + 0.01, rgb: shade([228, 188, 158], 6) };
  if (u > 0.307 && u < 0.353 && v > 0.635 && v < 0.78)
    return { label: PERSON, disparity: groundDisparity(0.9) + 0.02 * Math.cos((u - 0.33) * 60), rgb: shade([44, 74, 168], 8) };
  if (((u > 0.31 && u < 0.327) || (u > 0.333 && u < 0.35)) && v >= 0.78 && v < 0.9)
    return { label: PERSON, disparity: groundDisparity(0.9), rgb: shade([52, 52, 62], 6) };
  // Car, wheels touching the road at v = 0.79.
  if (disk(0.62, 0.755, 0.035) || disk(0.76, 0.755, 0.035))
    return { label: CAR, disparity: groundDisparity(0.79), rgb: shade([22, 22, 24], 5) };
  if (u > 0.58 && u < 0.8 && v > 0.63 && v < 0.75)
    return {
      label: CAR,
      disparity: groundDisparity(0.79) + 0.03 * Math.sin(((u - 0.58) / 0.22) * Math.PI),
      rgb: shade(v < 0.66 ? [226, 70, 60] : [196, 38, 36], 6),
    };
  if (u > 0.62 && u < 0.75 && v > 0.56 && v <= 0.63) {
    const window = u > 0.635 && u < 0.735 && v > 0.575;
    return { label: CAR, disparity: groundDisparity(0.79) - 0.01, rgb: shade(window ? [70, 96, 122] : [196, 38, 36], 5) };
  }
  // Tree: crown and trunk, standing at v = 0.62.
  if (disk(0.135, 0.34, 0.12)) {
    const leaf = hash(Math.floor(px / 5), Math.floor(py / 5));
    return { label: TREE, disparity: groundDisparity(0.62) + 0.02, rgb: [46 + leaf * 14, 108 + leaf * 22, 42 + leaf * 10] };
  }
  if (u > 0.122 && u < 0.148 && v > 0.4 && v < 0.62) return { label: TREE, disparity: groundDisparity(0.62), rgb: shade([96, 64, 34], 8) };
  // Ground: road in perspective, grass around it.
  if (v >= HORIZON) {
    const halfRoad = 0.015 + 0.55 * (v - HORIZON);
    if (Math.abs(u - 0.5) < halfRoad) {
      const dash = Math.abs(u - 0.5) < 0.004 + 0.02 * (v - HORIZON) && Math.sin((1 / (v - HORIZON + 0.02)) * 2.2) > 0.2;
      return { label: ROAD, disparity: groundDisparity(v), rgb: shade(dash ? [232, 226, 200] : [118, 118, 124], 9) };
    }
    const g = 0.75 + 0.5 * (v - HORIZON);
    return { label: GRASS, disparity: groundDisparity(v), rgb: shade([78 * g, 148 * g, 62 * g], 14) };
  }
  // Building on the horizon.
  if (u > 0.82 && u < 0.96 && v > 0.19) {
    const win = Math.floor(((u - 0.82) * W) / 14) % 2 === 1 && Math.floor(((v - 0.19) * H) / 16) % 2 === 1;
    return { label: BUILDING, disparity: 0.1 - 0.04 * (u - 0.82), rgb: shade(win ? [70, 84, 104] : [184, 164, 140], 6) };
  }
  // Mountains, then sky.
  const skyline = HORIZON - 0.12 - 0.06 * Math.sin(6.5 * u + 1) - 0.03 * Math.sin(17 * u);
  if (v >= skyline) {
    const t = (v - skyline) / (HORIZON - skyline);
    return { label: MOUNTAIN, disparity: 0.045 + 0.035 * t, rgb: shade([112 - 20 * t, 124 - 10 * t, 152 - 30 * t], 6) };
  }
  const t = v / Math.max(1e-6, skyline);
  return { label: SKY, disparity: 0.012, rgb: [92 + 100 * t, 146 + 76 * t, 216 + 30 * t] };
}

// ---------------------------------------------------------------- the result

const clamp255 = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

/** A seeded LCG, so every run draws the same "weights". */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

/** Top-3 principal components of X [n, c] (rows = samples): projections and explained variance shares. */
function pca3(x: Float64Array, n: number, c: number): { proj: Float64Array; explained: [number, number, number] } {
  const mean = new Float64Array(c);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) mean[k] += x[i * c + k] / n;
  const cov = new Float64Array(c * c);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < c; a++) {
      const da = x[i * c + a] - mean[a];
      for (let b = a; b < c; b++) cov[a * c + b] += (da * (x[i * c + b] - mean[b])) / n;
    }
  }
  for (let a = 0; a < c; a++) for (let b = 0; b < a; b++) cov[a * c + b] = cov[b * c + a];
  let trace = 0;
  for (let a = 0; a < c; a++) trace += cov[a * c + a];
  const proj = new Float64Array(n * 3);
  const explained: [number, number, number] = [0, 0, 0];
  const rand = rng(7);
  for (let comp = 0; comp < 3; comp++) {
    // Power iteration on the deflated covariance.
    let vec = Float64Array.from({ length: c }, () => rand());
    let lambda = 0;
    for (let it = 0; it < 200; it++) {
      const next = new Float64Array(c);
      for (let a = 0; a < c; a++) for (let b = 0; b < c; b++) next[a] += cov[a * c + b] * vec[b];
      lambda = Math.hypot(...next);
      if (lambda === 0) break;
      vec = next.map((v) => v / lambda);
    }
    explained[comp] = trace > 0 ? lambda / trace : 0;
    for (let a = 0; a < c; a++) for (let b = 0; b < c; b++) cov[a * c + b] -= lambda * vec[a] * vec[b];
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += (x[i * c + k] - mean[k]) * vec[k];
      proj[i * 3 + comp] = s;
    }
  }
  return { proj, explained };
}

function featureLevel(stride: number, channels: number, layer: number, seed: number): FeatureLevel {
  const fh = IN_H / stride;
  const fw = IN_W / stride;
  const labels = [SKY, MOUNTAIN, BUILDING, ROAD, GRASS, TREE, CAR, PERSON];
  // Descriptor per cell: colour, depth, position, labels; deeper levels weigh the semantics more.
  const semantic = Math.log2(stride) - 1; // 1..4
  const dIn = 6 + labels.length;
  const rand = rng(seed);
  const proj = Float64Array.from({ length: dIn * channels }, () => rand());
  const x = new Float64Array(fh * fw * channels);
  for (let r = 0; r < fh; r++) {
    for (let c = 0; c < fw; c++) {
      const s = scene((c + 0.5) / fw, (r + 0.5) / fh);
      const d = [
        (s.rgb[0] / 255) * (4 - semantic),
        (s.rgb[1] / 255) * (4 - semantic),
        (s.rgb[2] / 255) * (4 - semantic),
        s.disparity * 2,
        c / fw,
        r / fh,
        ...labels.map((l) => (l === s.label ? semantic : 0)),
      ];
      for (let k = 0; k < channels; k++) {
        let a = 0;
        for (let j = 0; j < dIn; j++) a += d[j] * proj[j * channels + k];
        x[(r * fw + c) * channels + k] = Math.tanh(a * 0.6);
      }
    }
  }
  const { proj: p, explained } = pca3(x, fh * fw, channels);
  const rgb = new Uint8Array(fh * fw * 3);
  for (let comp = 0; comp < 3; comp++) {
    const vals = Float64Array.from({ length: fh * fw }, (_, i) => p[i * 3 + comp]);
    const st = depthStats(vals);
    const lo = st.p2;
    const span = st.p98 - st.p2 || 1;
    for (let i = 0; i < fh * fw; i++) rgb[i * 3 + comp] = clamp255(((vals[i] - lo) / span) * 255);
  }
  return { name: `reassemble 1/${stride} (layer ${layer})`, stride, channels, height: fh, width: fw, rgb, explained };
}

function attentionTensor(): AttentionTensor {
  const [gh, gw] = GRID;
  const P = gh * gw;
  const N = P + 1;
  const L = 4;
  const HEADS = 3;
  const patch = Array.from({ length: P }, (_, p) => scene(((p % gw) + 0.5) / gw, (Math.floor(p / gw) + 0.5) / gh));
  const salient = (s: Sample) => (s.label === PERSON || s.label === CAR ? 2.2 : s.label === TREE ? 1 : 0) + s.disparity;
  const data = new Float32Array(L * HEADS * N * N);
  const logits = new Float64Array(N);
  for (let l = 0; l < L; l++) {
    for (let hd = 0; hd < HEADS; hd++) {
      const base = (l * HEADS + hd) * N * N;
      const sigma = hd === 0 ? 0.8 + l * 0.9 : hd === 1 ? 2 + 2 * l : 6 + 4 * l;
      const sem = hd === 2 ? 1 + l : hd === 1 ? 0.8 * l : 0.2 * l;
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          if (j === 0) {
            logits[j] = i === 0 ? 1 : -1 + 0.7 * l;
            continue;
          } // CLS column: a growing sink
          const q = patch[j - 1];
          if (i === 0) {
            logits[j] = (1.2 + 0.8 * l) * salient(q) * (hd === 0 ? 0.5 : 1);
            continue;
          }
          const a = i - 1;
          const b = j - 1;
          const dy = Math.floor(a / gw) - Math.floor(b / gw);
          const dx = (a % gw) - (b % gw);
          logits[j] = -(dx * dx + dy * dy) / (2 * sigma * sigma) + (patch[a].label === q.label ? sem : 0);
        }
        let max = -Infinity;
        for (const v of logits) max = Math.max(max, v);
        let sum = 0;
        for (let j = 0; j < N; j++) sum += Math.exp(logits[j] - max);
        for (let j = 0; j < N; j++) data[base + i * N + j] = Math.exp(logits[j] - max) / sum;
      }
    }
  }
  return { layers: L, heads: HEADS, tokens: N, data };
}

async function buildResult(task: DenseTask, opts: { flat?: boolean } = {}): Promise<DenseResult> {
  const t0 = performance.now();
  // The image, 2 × 2 supersampled.
  const rgb = new Uint8Array(W * H * 3);
  const labels = new Uint16Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const acc = [0, 0, 0];
      for (const [ox, oy] of [
        [0.25, 0.25],
        [0.75, 0.25],
        [0.25, 0.75],
        [0.75, 0.75],
      ]) {
        const s = scene((x + ox) / W, (y + oy) / H);
        for (let k = 0; k < 3; k++) acc[k] += s.rgb[k] / 4;
      }
      for (let k = 0; k < 3; k++) rgb[(y * W + x) * 3 + k] = clamp255(acc[k]);
      labels[y * W + x] = scene((x + 0.5) / W, (y + 0.5) / H).label;
    }
  }
  const png = await sharp(Buffer.from(rgb), { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toBuffer();
  const t1 = performance.now();
  // predicted_depth at the model resolution (each value averaged over its cell: soft edges, as a network predicts).
  const raw = new Float32Array(IN_H * IN_W);
  for (let r = 0; r < IN_H; r++) {
    for (let c = 0; c < IN_W; c++) {
      let s = 0;
      for (const [ox, oy] of [
        [0.25, 0.25],
        [0.75, 0.25],
        [0.25, 0.75],
        [0.75, 0.75],
      ]) {
        const u = (c + ox) / IN_W;
        const v = (r + oy) / IN_H;
        s += (scene(u, v).disparity + ripple(u, v)) / 4;
      }
      raw[r * IN_W + c] = opts.flat ? 0.5 : s;
    }
  }
  const t2 = performance.now();
  // Upsampled to the view image (bilinear here; the engine uses bicubic as HF does).
  const view = new Float32Array(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      view[y * W + x] = sampleBilinear(raw, IN_W, IN_H, ((x + 0.5) * IN_W) / W - 0.5, ((y + 0.5) * IN_H) / H - 0.5);
  const st = depthStats(raw);
  const classes = segmentClasses(labels, 150, ade20kId2Label());
  const features = [featureLevel(4, 48, 2, 11), featureLevel(8, 64, 5, 12), featureLevel(16, 96, 8, 13), featureLevel(32, 96, 11, 14)];
  const attention = attentionTensor();
  const t3 = performance.now();
  return {
    task,
    image: { path: `samples/street-${task}.png`, width: W, height: H },
    model: {
      path: task === 'depth' ? 'models/dpt-hybrid-midas/onnx/model.onnx' : 'models/dpt-large-ade/onnx/model.onnx',
      name: task === 'depth' ? 'dpt-hybrid-midas (synthetic)' : 'dpt-large-ade (synthetic)',
      inputSize: [IN_H, IN_W],
      patchSize: PATCH,
      numLayers: attention.layers,
      numHeads: attention.heads,
      specialTokens: { cls: true, distillation: false, registers: 0 },
      attentionSource: 'tapped',
    },
    depth: task === 'depth' ? { raw, rawHeight: IN_H, rawWidth: IN_W, view, min: st.min, max: st.max, p2: st.p2, p98: st.p98 } : undefined,
    segmentation: task === 'segmentation' ? { labels, numClasses: 150, classes } : undefined,
    features,
    attention,
    grid: GRID,
    firstPatchToken: 1,
    notes:
      task === 'depth'
        ? ["Synthetic preview data: a procedural street scene, not a model's output."]
        : [
            "Synthetic preview data: a procedural street scene, not a model's output.",
            'The model has 150 classes; 8 are present in this image.',
          ],
    timingsMs: { decode: t1 - t0, modelLoad: 0, preprocess: 4.2, inference: t3 - t2, postprocess: t2 - t1, total: t3 - t0 },
    view: { png: new Uint8Array(png), width: W, height: H, sourceRect: [0, 0, W, H] },
  };
}

// ---------------------------------------------------------------- the page

const settings: DensePanelSettings = {
  depthColormap: 'inferno',
  normalization: 'percentile',
  opacity: 0.65,
  attentionColormap: 'inferno',
  fusion: 'mean',
  discardRatio: 0.9,
};

/** The typed JSON carries Uint8Array and Float32Array; the label map goes as its little-endian bytes (the webview reads those back). */
function pageHtml(r: DenseResult, bundle: { js: string; css: string }, bodyClass = ''): string {
  return renderReportHtml({ result: denseReportData(r).result, settings }, bundle, 'ViT Lens — DPT preview', bodyClass);
}

// ---------------------------------------------------------------- screenshots

const shot = screenshotter(outDir, { settleMs: 200 });

async function openPage(browser: Browser, file: string, look: 'dark' | 'light', width: number, errors: string[]): Promise<Page> {
  const page = await openReportPage(browser, path.join(outDir, file), { label: `${file} ${look}`, width, colorScheme: look }, errors);
  await page.waitForSelector('#app[data-rendered]');
  return page;
}

async function depthShots(browser: Browser, errors: string[]): Promise<void> {
  const page = await openPage(browser, 'depth.html', 'dark', 1400, errors);
  await shot(page, 'depth-dark-side.png');
  await shot(page, 'depth-dark-full.png', { fullPage: true });
  // Cost of a full repaint of the depth map (invert toggled: recolour 640×448 and the colour bar).
  const repaintMs = await page.evaluate(async () => {
    const t = performance.now();
    for (let i = 0; i < 6; i++) {
      document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'i', bubbles: true }));
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    }
    return (performance.now() - t) / 6;
  });
  console.log(`  depth repaint ≈ ${repaintMs.toFixed(1)} ms per change (two animation frames included)`);
  // Hover: the readout must show the value under the cursor.
  const box = (await page.locator('[data-testid="depth-map"]').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.33, box.y + box.height * 0.7);
  console.log('  hover:', await page.locator('[data-testid="readout"]').textContent());
  await page.keyboard.press('2');
  await shot(page, 'depth-dark-overlay.png');
  await page.keyboard.press('3');
  await page.mouse.move(box.x + 10, box.y + 10); // away, so the marker does not cover the divider
  const frame = (await page.locator('.vl-dstage-frame').nth(1).boundingBox())!;
  await page.mouse.move(frame.x + frame.width * 0.5, frame.y + frame.height * 0.5);
  await page.mouse.down();
  await page.mouse.move(frame.x + frame.width * 0.62, frame.y + frame.height * 0.5, { steps: 4 });
  await page.mouse.up();
  await page.keyboard.press('ArrowLeft'); // the divider has focus after the drag: −2 %
  console.log('  swipe divider at', await page.locator('[data-testid="swipe-divider"]').getAttribute('aria-valuenow'), '%');
  await page.locator('[data-testid="depth-colormap-select"]').selectOption('Spectral_r');
  await shot(page, 'depth-dark-swipe-spectral.png');
  await page.keyboard.press('4');
  await page.waitForTimeout(300);
  console.log('  relief renderer:', await page.locator('[data-testid="depth-3d"]').getAttribute('data-renderer'));
  await shot(page, 'depth-dark-3d.png');
  const canvas = (await page.locator('.vl-relief-canvas').boundingBox())!;
  await page.mouse.move(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2);
  await page.mouse.down();
  await page.mouse.move(canvas.x + canvas.width / 2 + 120, canvas.y + canvas.height / 2 + 40, { steps: 6 });
  await page.mouse.up();
  await page.keyboard.press('+');
  await shot(page, 'depth-dark-3d-orbit.png');
  await page.keyboard.press('1');
  await page.keyboard.press('n'); // min–max
  await page.keyboard.press('i'); // invert
  await page.locator('[data-testid="depth-colormap-select"]').selectOption('gray');
  await shot(page, 'depth-dark-gray-minmax-inverted.png');
  await shot(page, 'depth-dark-attention.png', { selector: '[data-testid="attention-map"]' });
  await page.locator('[data-testid="attention-map"] .vl-stage').click({ position: { x: 140, y: 200 } });
  await page.locator('[data-testid="attention-map"] .vl-seg[data-value="rollout"]').click();
  await shot(page, 'depth-dark-attention-rollout-query.png', { selector: '[data-testid="attention-map"]' });
  await shot(page, 'depth-dark-features.png', { selector: '.vl-features-card' });
  console.log(
    '  feature levels:',
    await page.locator('[data-testid="feature-level"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-stride')).join(',')),
  );
  // Standalone downloads.
  for (const label of ['16-bit PNG', '.npy', 'JSON']) {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('.vl-header-actions button', { hasText: label }).click(),
    ]);
    const saved = path.join(outDir, 'download-' + download.suggestedFilename());
    await download.saveAs(saved);
    console.log(`  download ${path.basename(saved)}: ${fs.statSync(saved).size} bytes`);
  }
  await checkPng16(path.join(outDir, 'download-street-depth-depth16.png'));
  await page.context().close();

  const light = await openPage(browser, 'depth.html', 'light', 1400, errors);
  await shot(light, 'depth-light-side.png');
  await light.keyboard.press('2');
  await shot(light, 'depth-light-overlay.png');
  await light.keyboard.press('4');
  await shot(light, 'depth-light-3d.png');
  await light.context().close();

  const narrow = await openPage(browser, 'depth.html', 'dark', 600, errors);
  await shot(narrow, 'depth-dark-600-full.png', { fullPage: true });
  console.log('  narrow: horizontal overflow', await horizontalOverflow(narrow), 'px');
  await narrow.context().close();

  const flat = await openPage(browser, 'depth-flat.html', 'dark', 1400, errors);
  console.log('  flat map note:', await flat.locator('[data-testid="display-note"]').textContent());
  await shot(flat, 'depth-dark-flat.png');
  await flat.context().close();
}

async function segmentationShots(browser: Browser, errors: string[]): Promise<void> {
  for (const look of ['dark', 'light'] as const) {
    const page = await openPage(browser, 'segmentation.html', look, 1400, errors);
    await page.keyboard.press('2');
    await shot(page, `segmentation-${look}-overlay.png`);
    if (look === 'dark') {
      await shot(page, 'segmentation-dark-full.png', { fullPage: true });
      const items = await page
        .locator('[data-testid="legend-item"]')
        .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-class-id')}:${e.querySelector('.vl-legend-name')?.textContent}`));
      console.log('  legend:', items.join(', '));
      const box = (await page.locator('[data-testid="segmentation-map"]').boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.69, box.y + box.height * 0.7);
      console.log('  hover:', await page.locator('[data-testid="readout"]').textContent());
      await page.locator('[data-testid="legend-item"][data-class-id="20"] .vl-legend-main').click();
      await page.mouse.move(box.x + box.width * 0.69, box.y + box.height * 0.7);
      await shot(page, 'segmentation-dark-isolate-car.png');
      await page.locator('[data-testid="legend-item"][data-class-id="20"] .vl-legend-main').click(); // show all again
      await page.locator('[data-testid="legend-item"][data-class-id="9"] .vl-legend-main').click({ modifiers: ['Alt'] }); // hide grass
      await page.locator('[data-testid="legend-item"][data-class-id="2"] .vl-legend-eye').click(); // hide sky
      await page.keyboard.press('1');
      console.log(
        '  legend states:',
        await page
          .locator('[data-testid="legend-item"]')
          .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-class-id')}=${(e as HTMLElement).dataset.state}`).join(' ')),
      );
      await shot(page, 'segmentation-dark-side-hidden.png');
      // Keyboard: focus the legend, move down, hide with H, Escape shows all.
      await page.locator('[data-testid="legend-item"] .vl-legend-main').first().focus();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('h');
      console.log(
        '  after ↓ H:',
        await page
          .locator('[data-testid="legend-item"][data-state="hidden"]')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-class-id')).join(',')),
      );
      await page.keyboard.press('Escape');
      console.log('  after Esc hidden:', await page.locator('[data-testid="legend-item"][data-state="hidden"]').count());
      await page.keyboard.press('3');
      await shot(page, 'segmentation-dark-swipe.png');
    }
    await page.context().close();
  }
}

async function checkPng16(file: string): Promise<void> {
  const meta = await sharp(file).metadata();
  const { data, info } = await sharp(file).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
  const px = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  let min = 65535;
  let max = 0;
  for (const v of px) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  console.log(`  png16: ${meta.width}×${meta.height} depth=${meta.depth} channels=${info.channels} values ${min}…${max}`);
}

/**
 * The webview as VS Code hosts it: strict CSP (no inline styles), a stubbed acquireVsCodeApi, messages.
 * The "host" keeps the attention tensor: the result carries its shape and the first slice, and needSlice
 * requests are answered from Node (attentionSlice), as the extension host would.
 */
async function vscodeMode(browser: Browser, r: DenseResult, bundle: { js: string; css: string }, errors: string[]): Promise<void> {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await routeWebview(ctx, 'denseWebview', bundle);
  await ctx.addInitScript(() => {
    type Slice = { query: number; rows: number[]; rollout: { map: number[] } };
    const w = window as unknown as {
      __sent: unknown[];
      __state: unknown;
      acquireVsCodeApi: () => unknown;
      __hostSlice: (q: number, r: unknown) => Promise<Slice>;
    };
    w.__sent = [];
    const post = (m: { type: string; resultId?: number; query?: number; rollout?: unknown }) => {
      w.__sent.push(m);
      if (m.type !== 'needSlice') return;
      void w.__hostSlice(m.query as number, m.rollout).then((s) =>
        window.postMessage(
          {
            type: 'slice',
            resultId: m.resultId,
            slice: { ...s, rows: new Float32Array(s.rows), rollout: { ...s.rollout, map: new Float32Array(s.rollout.map) } },
          },
          '*',
        ),
      );
    };
    w.acquireVsCodeApi = () => ({ postMessage: post, getState: () => w.__state, setState: (s: unknown) => (w.__state = s) });
  });
  const tensor = r.attention as AttentionTensor;
  const plain = (sl: AttentionSlice) => ({ ...sl, rows: Array.from(sl.rows), rollout: { ...sl.rollout, map: Array.from(sl.rollout.map) } });
  let slicesServed = 0;
  const page = await ctx.newPage();
  await page.exposeFunction('__hostSlice', (query: number, rollout: RolloutSettings) => {
    slicesServed++;
    return plain(attentionSlice(tensor, r.firstPatchToken, query, rollout));
  });
  page.on('pageerror', (e) => errors.push(`vscode: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`vscode: console: ${m.text()}`));
  await page.goto(`${WEBVIEW_ORIGIN}/index.html`);
  const sent = () => sentMessages(page);
  console.log('  vscode: first message', JSON.stringify((await sent())[0]));
  await postToPage(page, { type: 'running', message: 'Running dpt-hybrid-midas on street.png…', progress: 0.4 });
  await shot(page, 'vscode-busy.png');
  // Typed arrays travel as they are through postMessage (structured clone), as from the host; the
  // attention goes as its shape plus the first slice.
  const first = attentionSlice(tensor, r.firstPatchToken, 0, {
    fusion: settings.fusion,
    discardRatio: settings.discardRatio,
    startLayer: 0,
  });
  const whole = { ...r, attention: { layers: tensor.layers, heads: tensor.heads, tokens: tensor.tokens } };
  // The map first, as the host posts it (a partial result: no features, no attention), then the whole result.
  const mapOnly = { ...r, attention: undefined, features: [] };
  await postToPage(page, { type: 'result', resultId: 7, result: mapOnly, settings, partial: true });
  await waitForSent(page, 'painted');
  if ((await sent()).some((m) => m.type === 'rendered')) errors.push('vscode: `rendered` before the rest of a partial result');
  const pendingNote = await page.locator('.vl-features-card .vl-card-note').textContent();
  if (!/Computing/.test(pendingNote ?? '')) errors.push(`vscode: the features card does not say they follow: ${pendingNote}`);
  await shot(page, 'vscode-depth-map-first.png');
  await postToPage(page, { type: 'result', resultId: 7, result: whole, settings, slice: first, partial: false });
  await waitForSent(page, 'rendered');
  const order = (await sent()).map((m) => m.type).filter((t) => t === 'painted' || t === 'rendered');
  if (order.join() !== 'painted,rendered') errors.push(`vscode: painted/rendered sent as ${order.join()}`);
  if ((await page.locator('[data-testid="feature-level"]').count()) !== r.features.length)
    errors.push('vscode: the feature levels of the whole result are not shown');
  console.log('  vscode: rendered', JSON.stringify((await sent()).find((m) => m.type === 'rendered')));
  console.log(
    '  vscode: state',
    JSON.stringify(await page.evaluate(() => (window as unknown as { __state: unknown }).__state)).slice(0, 300),
  );
  await shot(page, 'vscode-depth.png');
  // A patch query and rollout: the panel asks the host for slices.
  await page.locator('[data-testid="attention-map"] .vl-stage').click({ position: { x: 200, y: 160 } });
  await page.locator('[data-testid="attention-map"] .vl-seg[data-value="rollout"]').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="attention-map"]')?.hasAttribute('aria-busy'));
  const asked = (await sent()).filter((m) => m.type === 'needSlice');
  console.log(
    `  vscode: ${asked.length} needSlice → ${slicesServed} slices served; query now ${await page.locator('[data-testid="attention-map"] .vl-query-out').textContent()}`,
  );
  await shot(page, 'vscode-attention-slice.png', { selector: '[data-testid="attention-map"]' });
  await depthExplainFlow(page, r, errors);
  for (const label of ['Save PNG', '16-bit PNG', '.npy', 'JSON'])
    await page.locator('.vl-header-actions button', { hasText: label }).click();
  await page.waitForFunction(
    () => (window as unknown as { __sent: { type: string }[] }).__sent.filter((m) => m.type === 'export').length === 4,
  );
  const exportsSent = await page.evaluate(() =>
    (window as unknown as { __sent: { type: string; format?: string; suggestedName?: string; bytes?: Uint8Array }[] }).__sent
      .filter((m) => m.type === 'export')
      .map((m) => ({ format: m.format, name: m.suggestedName, bytes: Array.from(m.bytes ?? []) })),
  );
  for (const e of exportsSent) {
    const file = path.join(outDir, `vscode-export-${e.name}`);
    fs.writeFileSync(file, Buffer.from(e.bytes));
    console.log(`  vscode: export ${e.format} ${e.name} ${e.bytes.length} bytes`);
  }
  await checkPng16(path.join(outDir, 'vscode-export-street-depth-depth16.png'));
  const npy = fs.readFileSync(path.join(outDir, 'vscode-export-street-depth-depth-raw.npy'));
  const headerLen = npy.readUInt16LE(8);
  console.log(
    `  npy header: ${JSON.stringify(npy.subarray(10, 10 + headerLen).toString('latin1'))}, data offset ${10 + headerLen}, first value ${npy.readFloatLE(10 + headerLen)} (expected ${r.depth!.raw[0]})`,
  );
  await postToPage(page, {
    type: 'error',
    message: 'This model has no depth output (predicted_depth): it looks like an image classifier.',
    actions: ['chooseModel', 'openSettings', 'showLog'],
  });
  await shot(page, 'vscode-error.png');
  await page.locator('[data-testid="error"] button', { hasText: 'Choose DPT model…' }).click();
  console.log('  vscode: messages', (await sent()).map((m) => m.type).join(', '));
  // A map whose run is then cancelled: its rest never comes, and the cards say so instead of "Computing…".
  const painted = async () => (await sent()).filter((m) => m.type === 'painted').length;
  const paintedBefore = await painted();
  await postToPage(page, { type: 'result', resultId: 7, result: mapOnly, settings, partial: true });
  await page.waitForFunction(
    (n) => (window as unknown as { __sent: { type: string }[] }).__sent.filter((m) => m.type === 'painted').length > n,
    paintedBefore,
  );
  await page.evaluate(() =>
    window.postMessage({ type: 'error', message: 'Run cancelled. Press Run again to start again.', actions: ['rerun'] }, '*'),
  );
  await page.waitForSelector('[data-testid="error"]:not([hidden])');
  if ((await page.locator('[data-pending]').count()) !== 0) errors.push('vscode: data-pending remains after a cancel');
  const notes = await page.locator('.vl-card-note:not([hidden])').allTextContents();
  for (const part of ['neck levels', 'backbone attention'])
    if (!notes.some((t) => t.startsWith('The run stopped before') && t.includes(part) && t.includes('Run again')))
      errors.push(`vscode: after a cancel no note says the run stopped before the ${part}: ${JSON.stringify(notes)}`);
  const json = page.locator('.vl-header-actions button', { hasText: 'JSON' });
  if (!(await json.isDisabled()) || !/stopped/.test((await json.getAttribute('title')) ?? ''))
    errors.push('vscode: the JSON export of a cancelled map is not disabled with a title that says why');
  if (await page.locator('.vl-header-actions button', { hasText: 'Save PNG' }).isDisabled())
    errors.push('vscode: Save PNG of a cancelled map is disabled');
  await shot(page, 'vscode-depth-map-cancelled.png', { fullPage: true });
  await ctx.close();
}

/**
 * "Why this depth": two clicks on the card's map choose a region (patch corners), Explain asks the host
 * with that region in image pixels; the host's partial map, then its result (inexact removal: the card
 * says so) are painted with the faithfulness chart. The maps and curves are made up here (the numerics
 * have their own tests); the request's region is checked against the grid.
 */
async function depthExplainFlow(page: Page, r: DenseResult, errors: string[]): Promise<void> {
  const card = page.locator('.vl-depth-explain');
  if (!(await card.isVisible())) {
    errors.push('vscode: no "Why this depth" card on a depth result');
    return;
  }
  await card.scrollIntoViewIfNeeded();
  const stage = card.locator('[data-testid="explain-map"]');
  const box = (await stage.boundingBox())!;
  const [gh, gw] = r.grid;
  // Patches (1, 1) and (3, 4): the region spans columns 1…4 and rows 1…3.
  const at = (row: number, col: number) => ({ x: ((col + 0.5) * box.width) / gw, y: ((row + 0.5) * box.height) / gh });
  await stage.click({ position: at(1, 1) });
  await stage.click({ position: at(3, 4) });
  await card.locator('[data-testid="explain-run"]').click();
  const asked = (await sentMessages<{ type: string; resultId: number; request: { region?: number[]; methods: string[] } }>(page)).filter(
    (m) => m.type === 'explain',
  );
  const want = [1, 1, 5, 4].map((v, i) => Math.round(v * (i % 2 ? r.image.height / gh : r.image.width / gw)));
  console.log('  vscode: depth explain request', JSON.stringify(asked[0]), 'want region', JSON.stringify(want));
  if (asked.length !== 1 || asked[0].resultId !== 7 || JSON.stringify(asked[0].request.region) !== JSON.stringify(want))
    errors.push(`vscode: the depth explain request is ${JSON.stringify(asked)}, not region ${JSON.stringify(want)}`);
  const blob = fakeBlob(r.grid, 2, 2.5, 3);
  const faithfulness = fakeFaithfulness(2.5, {
    rollout: [0.3, 0.02],
    attention: [0.2, 0.04],
    raw: [0.05, 0.2],
    occlusion: [0.6, 0.01],
    random: [0.08, 0.08],
  });
  const map = Float32Array.from(blob);
  await postToPage(page, { type: 'explainProgress', resultId: 7, message: 'Occlusion: 6 of 12 windows', fraction: 0.5 });
  await postToPage(page, { type: 'explainPartial', resultId: 7, partial: { kind: 'occlusion', pass: 'coarse', done: 6, total: 12, map } });
  await postExplainResult(page, 7, r, {
    grid: r.grid,
    target: { index: -1, label: 'mean depth', probability: 2.5 },
    removalExact: false,
    removalNote: 'The neck reads every token’s output: removed tokens still reach the depth head.',
    score: 'meanDepth',
    region: [want[0], want[1], want[2], want[3]],
    maps: { occlusion: map },
    faithfulness,
    runs: 48,
    batch: 1,
    timingsMs: { decode: 3, modelLoad: 0, attention: 40, occlusion: 900, faithfulness: 200, total: 1143 },
  });
  await card.locator('.vl-faith-legend li').first().waitFor();
  const legend = await card.locator('.vl-faith-legend li').count();
  if (legend !== 5) errors.push(`vscode: the depth faithfulness legend has ${legend} maps, not 5`);
  if (!(await card.locator('[data-testid="explain-inexact"]').isVisible()))
    errors.push('vscode: the depth explain card does not say that removal is inexact');
  console.log('  vscode: depth explain status', await card.locator('[data-testid="explain-status"]').textContent());
  await shot(page, 'vscode-depth-explain.png', { selector: '.vl-depth-explain' });
}

async function fallbackShots(errors: string[]): Promise<void> {
  const browser = await launchChromium('--disable-gpu', '--disable-3d-apis');
  try {
    const page = await openPage(browser, 'depth.html', 'dark', 1400, errors);
    await page.keyboard.press('4');
    await page.waitForTimeout(400);
    console.log(
      '  fallback renderer:',
      await page.locator('[data-testid="depth-3d"]').getAttribute('data-renderer'),
      '·',
      await page.locator('.vl-relief-note').textContent(),
    );
    await shot(page, 'depth-dark-3d-fallback.png');
    const t = Date.now();
    await page.locator('.vl-relief-canvas').focus();
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowLeft');
    await page.waitForTimeout(100);
    console.log(`  fallback: 5 orbit steps in ${Date.now() - t} ms`);
    await shot(page, 'depth-dark-3d-fallback-orbit.png');
  } finally {
    await browser.close();
  }
}

/** Real DenseResults from the engine on the tiny DPT fixtures (random weights: the maps are noise-like, the shapes are real). */
async function realShots(image: Uint8Array, bundle: { js: string; css: string }, errors: string[]): Promise<void> {
  const fixtures = [
    ['dpt-tiny-depth-dynamic', 'depth'],
    ['dpt-tiny-segmentation', 'segmentation'],
  ] as const;
  const enginePath = path.join(root, 'dist', 'engine.js');
  const missing = fixtures.filter(([name]) => !fs.existsSync(path.join(root, 'models', 'generated', name)));
  if (!fs.existsSync(enginePath) || missing.length) {
    console.log(`  real: skipped (${!fs.existsSync(enginePath) ? 'npm run build' : 'npm run models'} first)`);
    return;
  }
  const imagePath = path.join(outDir, 'street.png');
  fs.writeFileSync(imagePath, image);
  const client = new EngineClient({ enginePath });
  const browser = await launchChromium();
  try {
    for (const [name, task] of fixtures) {
      const t = Date.now();
      const r = await client.request('dense', { imagePath, modelPath: path.join(root, 'models', 'generated', name), task });
      console.log(
        `  real ${name}: ${Date.now() - t} ms, view ${r.view.width}×${r.view.height}, ${r.features.length} levels, attention ${r.attention ? `${r.attention.layers}×${r.attention.heads}×${r.attention.tokens}` : 'none'}, notes: ${JSON.stringify(r.notes)}`,
      );
      const file = `real-${task}.html`;
      fs.writeFileSync(path.join(outDir, file), pageHtml(r, bundle));
      const page = await openPage(browser, file, 'dark', 1400, errors);
      if (task === 'segmentation') console.log(`  real legend items: ${await page.locator('[data-testid="legend-item"]').count()}`);
      await shot(page, `real-${task}-full.png`, { fullPage: true });
      if (task === 'depth') {
        await page.keyboard.press('4');
        await shot(page, 'real-depth-3d.png');
      }
      await page.context().close();
    }
  } finally {
    client.dispose();
    await browser.close();
  }
}

/** Test ids of a result's page (both tasks), and those of each task. */
const commonTestIds = [
  'readout',
  'summary',
  'attention-map',
  'attention-layer-select',
  'attention-head-select',
  'feature-level',
  'error',
  'busy',
];
const depthTestIds = ['depth-map', 'depth-colorbar', 'depth-values', 'depth-colormap-select', 'invert-toggle', 'opacity-slider'];
const segmentationTestIds = ['segmentation-map', 'segmentation-legend', 'legend-item', 'legend-show-all'];

/** --quick: each task's page once (its test ids, one screenshot), then the VS Code webview's messages and exports. */
async function quickCheck(depth: DenseResult, bundle: { js: string; css: string }): Promise<void> {
  const errors: string[] = [];
  const browser = await launchChromium();
  try {
    for (const [file, ids] of [
      ['depth.html', depthTestIds],
      ['segmentation.html', segmentationTestIds],
    ] as const) {
      const page = await openPage(browser, file, 'dark', 1400, errors);
      await expectTestIds(page, file, [...commonTestIds, ...ids], errors);
      await shot(page, `quick-${file.replace('.html', '')}.png`);
      await page.context().close();
    }
    await vscodeMode(browser, depth, bundle, errors);
  } finally {
    await browser.close();
  }
  reportErrors(errors);
}

async function main(): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  const bundle = await buildWebviewBundle(path.join(root, 'webview/panels/dense/main.ts'), 'denseWebview');
  const depth = await buildResult('depth');
  const seg = await buildResult('segmentation');
  const flat = quick ? null : await buildResult('depth', { flat: true });
  for (const [file, r] of [
    ['depth.html', depth],
    ['segmentation.html', seg],
    ['depth-flat.html', flat],
  ] as const) {
    if (!r) continue;
    const html = pageHtml(r, bundle);
    fs.writeFileSync(path.join(outDir, file), html);
    console.log(`wrote ${path.relative(root, path.join(outDir, file))} (${(html.length / 1024).toFixed(0)} KiB)`);
  }
  if (process.argv.includes('--no-shots')) return;
  if (quick) return quickCheck(depth, bundle);
  const errors: string[] = [];
  const browser = await launchChromium();
  try {
    await depthShots(browser, errors);
    await segmentationShots(browser, errors);
    await vscodeMode(browser, depth, bundle, errors);
  } finally {
    await browser.close();
  }
  await fallbackShots(errors);
  await realShots(depth.view.png, bundle, errors);
  reportErrors(errors);
}

runUiTest(main);
