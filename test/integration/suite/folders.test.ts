// Folders, two models and links in source files, in the real workbench: the gallery of a folder with good
// and broken images (click a card: its attention panel opens), the compare panel and a checkpoint
// rewrite, and a hover over an image path in a .py file whose "Show Attention" link opens the panel.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { VitLensApi } from '../../../src/host/extension';
import { fixture, waitFor } from '../testUtil';
import { activateApi, workspaceImage } from '../workspaceImage';
import {
  driverAvailable,
  screenshot,
  screenshotPath,
  webviewClick,
  webviewEval,
  webviewQuery,
  workbenchClick,
  workbenchCount,
} from '../driver';
import { panelReceived, panelSuiteHooks, setSetting } from '../panelSuite';

let api: VitLensApi;
let root: string;
const setModel = (value: string) => setSetting('model', value);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

suite('Folders, compare and image links', () => {
  suiteSetup(async () => {
    api = await activateApi();
    root = vscode.workspace.workspaceFolders![0].uri.fsPath;
  });
  panelSuiteHooks('model');

  test('Show Attention Gallery on a folder: one card per image, broken ones with their error; a click opens the attention panel', async function () {
    this.timeout(180_000);
    await setModel(fixture('vit-tiny-batch'));
    const folder = path.join(root, 'gallery-folder');
    fs.mkdirSync(folder, { recursive: true });
    const first = await workspaceImage(path.join('gallery-folder', 'a-coffee.png'), 'coffee.png');
    await workspaceImage(path.join('gallery-folder', 'b-chelsea.png'), 'chelsea.png');
    await workspaceImage(path.join('gallery-folder', 'c-astronaut.png'), 'astronaut.png');
    fs.writeFileSync(path.join(folder, 'd-broken.jpg'), 'not a jpeg');
    await vscode.commands.executeCommand('vitLens.showGallery', vscode.Uri.file(folder));
    await waitFor('gallery result', () => api.panel(folder, 'gallery')?.observation.sent.includes('result'), 120_000);
    const obs = api.panel(folder, 'gallery')!.observation;
    assert.ok(obs.sent.filter((t) => t === 'result').length >= 1);
    if (!driverAvailable()) return;
    await waitFor('4 cards', async () => (await webviewQuery('[data-testid="gallery-item"]')).count === 4, 30_000);
    assert.strictEqual((await webviewQuery('[data-testid="gallery-item"][data-failed="true"]')).count, 1);
    await waitFor(
      'thumbnails painted',
      async () => (await webviewQuery('[data-testid="gallery-item"] canvas[data-painted="1"]')).count === 3,
      30_000,
    );
    assert.match(await webviewEval<string>('[data-testid="gallery-progress"]', 'el.textContent'), /4 of 4 images · 1 failed/);
    await screenshot(screenshotPath('gallery.png'));
    await webviewClick('[data-testid="gallery-item"][data-index="0"]');
    await panelReceived(api, first, 'attention', 'rendered', 60_000);
  });

  test('Compare With Model…: both models side by side with the difference; a rewritten model is compared with its previous checkpoint', async function () {
    this.timeout(180_000);
    const image = await workspaceImage('compare.png', 'chelsea.png');
    const ckptDir = path.join(root, 'ckpt', 'onnx');
    fs.mkdirSync(ckptDir, { recursive: true });
    const modelA = path.join(ckptDir, 'model.onnx');
    fs.copyFileSync(fixture('vit-tiny-batch'), modelA);
    for (const f of ['config.json', 'preprocessor_config.json'])
      fs.copyFileSync(path.join(path.dirname(path.dirname(fixture('vit-tiny-batch'))), f), path.join(root, 'ckpt', f));
    await setModel(modelA);
    await vscode.commands.executeCommand('vitLens.compareWithModel', vscode.Uri.file(image), fixture('vit-tiny-batch-b'));
    await waitFor('compare result', () => api.panel(image, 'compare')?.observation.sent.includes('result'), 120_000);
    if (driverAvailable()) {
      for (const id of ['compare-a', 'compare-b', 'compare-diff', 'layer-change', 'head-deltas'])
        assert.strictEqual((await webviewQuery(`[data-testid="${id}"]`)).count, 1, id);
      await waitFor('maps painted', async () => (await webviewQuery('canvas[data-painted="1"]')).count === 3, 30_000);
      assert.match(await webviewEval<string>('[data-testid="compare-b"]', 'el.textContent'), /vit-tiny-batch-b/);
      await screenshot(screenshotPath('compare.png'));
      // The class-specific view: the host explains A's top-1 class in both models (occlusion by token removal).
      const pick = (v: string) =>
        webviewEval<string>('#vl-compare-view', `(el.value = '${v}', el.dispatchEvent(new Event('change')), el.value)`);
      assert.strictEqual(await pick('occlusion'), 'occlusion');
      await waitFor(
        'both occlusion maps',
        async () => /^Occlusion of/.test(await webviewEval<string>('[data-testid="compare-explain"]', 'el.textContent')),
        60_000,
      );
      assert.strictEqual((await webviewQuery('[data-testid="compare-diff"]:not([hidden])')).count, 1, 'the difference of the two maps');
      await screenshot(screenshotPath('compare-why.png'));
      await pick('rollout');
    }
    // A training loop exports the next epoch over A's file: the panel runs again, B is A's previous result.
    const runs = api.panel(image, 'compare')!.observation.runs;
    await sleep(1100); // a new mtime
    fs.writeFileSync(modelA + '.tmp', fs.readFileSync(fixture('vit-tiny-batch-b')));
    fs.renameSync(modelA + '.tmp', modelA);
    await waitFor(
      'the checkpoint run',
      () =>
        api.panel(image, 'compare')!.observation.runs > runs &&
        api.panel(image, 'compare')!.observation.sent.filter((t) => t === 'result').length >= 2,
      60_000,
    );
    if (driverAvailable()) {
      await waitFor(
        'B is the previous checkpoint',
        async () => /previous checkpoint/.test(await webviewEval<string>('[data-testid="compare-b"]', 'el.textContent')),
        30_000,
      );
      await screenshot(screenshotPath('compare-checkpoint.png'));
    }
  });

  test('a hover over an image path in a .py file links to Show Attention, and the link opens the panel', async function () {
    this.timeout(120_000);
    await setModel(fixture('vit-tiny'));
    const image = await workspaceImage(path.join('data', 'hover-cat.png'), 'chelsea.png');
    const script = path.join(root, 'train.py');
    fs.writeFileSync(script, 'from PIL import Image\n\nimg = Image.open("data/hover-cat.png")\nprint("not an image.txt")\n');
    const doc = await vscode.workspace.openTextDocument(script);
    const editor = await vscode.window.showTextDocument(doc);
    const pos = new vscode.Position(2, 24);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, pos);
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
    assert.match(text, /command:vitLens\.showAttention\?/);
    assert.match(text, /command:vitLens\.runDptDepth\?/);
    assert.match(text, /Run DPT Segmentation/);
    const none = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(3, 12));
    assert.ok(
      !none.some((h) => h.contents.some((c) => typeof c !== 'string' && 'value' in c && c.value.includes('vitLens'))),
      'no link on a non-image string',
    );
    if (!driverAvailable()) {
      await vscode.commands.executeCommand('vitLens.showAttention', image); // what the link runs
    } else {
      editor.selection = new vscode.Selection(pos, pos);
      await vscode.commands.executeCommand('editor.action.showHover');
      await waitFor('the hover', async () => (await workbenchCount('.monaco-hover a', 'Show Attention')) > 0, 20_000);
      await sleep(300); // the thumbnail loads
      await screenshot(screenshotPath('hover.png'));
      await workbenchClick('.monaco-hover a', 'Show Attention', { timeoutMs: 20_000 });
    }
    await panelReceived(api, image, 'attention', 'rendered', 60_000);
    if (driverAvailable()) await screenshot(screenshotPath('hover-show-attention.png'));
  });
});
