// Show Attention with a CNN: SE/CBAM gates open the gates panel (same command, chosen by model kind);
// "Why this class" by pixel-fill occlusion; a CNN without gates gets a message listing what ViT Lens can show.
import * as assert from 'assert';
import * as vscode from 'vscode';
import type { VitLensApi } from '../../../src/host/extension';
import { fixture, waitFor } from '../testUtil';
import { activateApi, workspaceImage } from '../workspaceImage';
import { driverAvailable, screenshot, screenshotPath, webviewClick, webviewQuery } from '../driver';
import { panelReceived, panelSuiteHooks, setSetting } from '../panelSuite';

let api: VitLensApi;
let image: string;

const setModel = (value: string) => setSetting('model', value);

suite('Gates (SE / CBAM)', () => {
  suiteSetup(async () => {
    image = await workspaceImage('coffee.png', 'coffee.png');
    api = await activateApi();
  });
  panelSuiteHooks('model');

  for (const name of ['se-cnn-tiny', 'cbam-cnn-tiny']) {
    test(`Show Attention with ${name} opens the gates panel with every gate`, async function () {
      await setModel(fixture(name));
      await vscode.commands.executeCommand('vitLens.showAttention', vscode.Uri.file(image));
      const rendered = await panelReceived(api, image, 'gates');
      assert.ok(typeof rendered.gates === 'number' && rendered.gates >= 2, JSON.stringify(rendered));
      assert.strictEqual(api.panel(image, 'attention'), undefined, 'no attention panel for a CNN');
      if (!driverAvailable()) return;
      assert.strictEqual((await webviewQuery('[data-testid="gate-block"]')).count, rendered.gates);
      assert.strictEqual((await webviewQuery('[data-testid="predictions"]')).count, 1);
      if (name === 'cbam-cnn-tiny') await screenshot(screenshotPath('gates-cbam.png'));
    });
  }

  test('Why this class on a CNN: pixel-fill occlusion of the top-1 class, end to end', async function () {
    if (!driverAvailable()) this.skip();
    await setModel(fixture('se-cnn-tiny'));
    await vscode.commands.executeCommand('vitLens.showAttention', vscode.Uri.file(image));
    await panelReceived(api, image, 'gates');
    await webviewClick('.vl-class-explain [data-testid="explain-run"]');
    const done = await waitFor('explanation', () => api.panel(image, 'gates')?.observation.explained, 60_000);
    assert.ok(!done.removalExact && done.runs > 40, JSON.stringify(done));
    await webviewQuery('.vl-class-explain .vl-faith-legend li', { timeoutMs: 10_000 });
    assert.strictEqual((await webviewQuery('.vl-class-explain .vl-faith-legend li')).count, 2, 'occlusion and the random floor');
    console.log(`explained ${done.label} by pixel fill: ${done.runs} runs, ${done.totalMs.toFixed(0)} ms`);
    await screenshot(screenshotPath('gates-why-this-class.png'));
  });

  test('switching the model between a CNN and a ViT: Show Attention opens the panel the new model needs', async () => {
    await setModel(fixture('se-cnn-tiny'));
    await vscode.commands.executeCommand('vitLens.showAttention', vscode.Uri.file(image));
    await panelReceived(api, image, 'gates');
    await setModel(fixture('vit-tiny'));
    await vscode.commands.executeCommand('vitLens.showAttention', vscode.Uri.file(image));
    const rendered = await panelReceived(api, image, 'attention');
    assert.strictEqual(rendered.thumbnails, 12);
    await setModel(fixture('cbam-cnn-tiny'));
    const gatesRuns = api.panel(image, 'gates')!.observation.runs;
    await vscode.commands.executeCommand('vitLens.showAttention', vscode.Uri.file(image));
    await waitFor(
      'the gates panel runs again',
      () =>
        api.panel(image, 'gates')!.observation.runs > gatesRuns &&
        !api.panel(image, 'gates')!.observation.lastError?.startsWith('MODEL_NOT_CONFIGURED'),
    );
  });

  test('a CNN with neither attention nor gates: the message lists what ViT Lens can show', async () => {
    await setModel(fixture('cnn-tiny'));
    await vscode.commands.executeCommand('vitLens.showAttention', vscode.Uri.file(image));
    const err = await waitFor('error', () => api.panel(image)?.observation.lastError);
    assert.match(err, /MODEL_/);
    assert.match(err, /SE|gate/i, err);
  });
});
