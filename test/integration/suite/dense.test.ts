// Run DPT Depth / Segmentation in a real VS Code: the palette command opens the depth panel with its
// map, feature levels, backbone attention and "Why this depth"; the segmentation legend lists the classes; a classifier
// given as a depth model and a missing model give specific errors in the panel.
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { VitLensApi } from '../../../src/host/extension';
import { fixture, waitFor } from '../testUtil';
import { activateApi, workspaceImage } from '../workspaceImage';
import { driverAvailable, runCommandFromPalette, screenshot, screenshotPath, webviewClick, webviewQuery } from '../driver';
import { closeAllEditors, panelReceived, panelSuiteHooks, setSetting as setting } from '../panelSuite';

let api: VitLensApi;
let image: string;

suite('DPT depth and segmentation', () => {
  suiteSetup(async () => {
    image = await workspaceImage('room.png', 'astronaut.png');
    api = await activateApi();
  });
  panelSuiteHooks('depthModel', 'segmentationModel');

  test('Run DPT Depth from the command palette: depth map, 4 feature levels, backbone attention that answers a click', async function () {
    await setting('depthModel', fixture('dpt-tiny-depth'));
    // The active image preview is the palette command's target; focus stays outside its webview so F1 reaches the workbench.
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(image), { preserveFocus: true });
    await vscode.commands.executeCommand('workbench.action.focusSideBar');
    // The extension host learns about tabs asynchronously: wait until it sees the image as the active tab.
    await waitFor(
      'the image as the active tab',
      () => {
        const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
        return (input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText) && input.uri.fsPath === image;
      },
      20_000,
    );
    // The image preview is a webview too: let it finish starting before ours is created. In the headless
    // web workbench two webviews starting together can leave the second blank (a service-worker race).
    await new Promise((r) => setTimeout(r, 2000));
    if (driverAvailable()) await runCommandFromPalette('ViT Lens: Run DPT Depth');
    else await vscode.commands.executeCommand('vitLens.runDptDepth');
    const rendered = await panelReceived(api, image, 'depth').catch(async (e) => {
      if (driverAvailable()) await screenshot(screenshotPath('dpt-depth-timeout.png')); // what the workbench showed instead
      const o = api.panel(image, 'depth')?.observation;
      throw new Error(
        `${(e as Error).message}; the panel sent ${JSON.stringify(o?.sent)} and received ${JSON.stringify(o?.received.map((m) => m.type))}`,
      );
    });
    assert.strictEqual(rendered.task, 'depth');
    assert.strictEqual(rendered.features, 4, JSON.stringify(rendered));
    assert.strictEqual(api.panel(image, 'depth')!.observation.lastError, undefined);
    if (!driverAvailable()) return;
    for (const id of ['depth-map', 'attention-map']) assert.strictEqual((await webviewQuery(`[data-testid="${id}"]`)).count, 1, id);
    assert.strictEqual((await webviewQuery('[data-testid="feature-level"]')).count, 4);
    await screenshot(screenshotPath('dpt-depth.png'));
    // A click on the backbone attention queries a patch: the panel asks the host (and the engine) for its slice.
    const stage = '[data-testid="attention-map"] [data-testid="image-overlay"]';
    const box = (await webviewQuery(stage)).boundingBox!;
    await webviewClick(stage, { offsetX: box.width * 0.7, offsetY: box.height * 0.6 });
    await panelReceived(api, image, 'depth', 'needSlice', 20_000);
    // "Why this depth" on the whole image: the engine's masked runs on the DPT backbone, the card's map and chart.
    await webviewClick('[data-testid="explain-run"]');
    const asked = await panelReceived(api, image, 'depth', 'explain');
    const done = await waitFor('explanation', () => api.panel(image, 'depth')?.observation.explained, 60_000);
    assert.ok(asked && !done.removalExact && done.runs > 10 && /mean depth/.test(done.label), JSON.stringify(done));
    await webviewQuery('.vl-depth-explain .vl-faith-legend li', { timeoutMs: 10_000 });
    console.log(`explained ${done.label}: ${done.runs} masked runs, ${done.totalMs.toFixed(0)} ms`);
    await screenshot(screenshotPath('dpt-why-this-depth.png'));
  });

  test('Run DPT Segmentation: the legend lists the classes with their colours and area shares', async function () {
    await setting('segmentationModel', fixture('dpt-tiny-segmentation'));
    await vscode.commands.executeCommand('vitLens.runDptSegmentation', vscode.Uri.file(image));
    const rendered = await panelReceived(api, image, 'segmentation');
    assert.ok(typeof rendered.classes === 'number' && rendered.classes >= 2, `classes: ${JSON.stringify(rendered)}`);
    if (!driverAvailable()) return;
    assert.strictEqual((await webviewQuery('[data-testid="legend-item"]')).count, rendered.classes);
    const legend = await webviewQuery('[data-testid="segmentation-legend"]');
    assert.match(legend.text ?? '', /%/, 'area shares are shown');
    await screenshot(screenshotPath('dpt-segmentation.png'));
  });

  test('a ViT classifier as the depth model, and no depth model at all: specific errors in the panel', async function () {
    await setting('depthModel', fixture('vit-tiny'));
    await vscode.commands.executeCommand('vitLens.runDptDepth', vscode.Uri.file(image));
    const wrong = await waitFor('wrong-task error', () => api.panel(image, 'depth')?.observation.lastError);
    assert.match(wrong, /MODEL_WRONG_TASK/);
    await closeAllEditors();
    await setting('depthModel', '');
    await vscode.commands.executeCommand('vitLens.runDptDepth', vscode.Uri.file(image));
    const missing = await waitFor('not-configured error', () => api.panel(image, 'depth')?.observation.lastError);
    assert.match(missing, /MODEL_NOT_CONFIGURED/);
    if (driverAvailable()) assert.match((await webviewQuery('[data-testid="error"]')).text ?? '', /No DPT depth model/);
  });
});
