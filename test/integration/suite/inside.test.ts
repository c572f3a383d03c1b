// Show ViT Inside in a real VS Code on the trained demo classifier: every view renders, and hard attention
// from the class-specific map: the host computes the top-1 class's occlusion (exact token removal), crops
// to τ of its positive mass and classifies the crop; the page draws the box and the crop's predictions.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { VitLensApi } from '../../../src/host/extension';
import { twoObjectScenePng } from '../../fixtures/builders/sampleImages';
import { repoRoot, waitFor } from '../testUtil';
import { activateApi } from '../workspaceImage';
import { driverAvailable, screenshot, screenshotPath, webviewClick, webviewEval, webviewQuery } from '../driver';
import { panelReceived, panelSuiteHooks, setSetting } from '../panelSuite';

let api: VitLensApi;

suite('Show ViT Inside', () => {
  suiteSetup(async () => {
    api = await activateApi();
  });
  panelSuiteHooks('model');

  test('every view renders; hard attention from the class-specific map crops and classifies', async function () {
    this.timeout(120_000);
    const image = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'inside-two-shapes.png');
    fs.writeFileSync(image, await twoObjectScenePng());
    await setSetting('model', path.join(repoRoot, 'models', 'demo', 'shapes-vit'));
    await vscode.commands.executeCommand('vitLens.showInside', vscode.Uri.file(image));
    const rendered = await panelReceived(api, image, 'inside');
    const views = (rendered as unknown as { views: string[] }).views;
    for (const id of ['anatomy-filters', 'anatomy-position', 'token-norms', 'feature-pca', 'hard-attention-box'])
      assert.ok(views.includes(id), `${id} in ${views.join(', ')}`);
    if (!driverAvailable()) return;
    const picked = await webviewEval<string>(
      '[data-testid="hard-attention-map"]',
      "(el.value = 'class', el.dispatchEvent(new Event('change')), el.value)",
    );
    assert.strictEqual(picked, 'class');
    await webviewClick('[data-testid="hard-attention-run"]');
    await waitFor(
      'the crop of the class-specific map',
      async () =>
        /of the occlusion of/.test(
          await webviewEval<string>('[data-testid="hard-attention"] > p.vl-card-note:last-child', 'el.textContent'),
        ),
      60_000,
    );
    assert.ok((await webviewQuery('[data-testid="crop-predictions"] li')).count >= 1, 'the crop has predictions');
    await webviewEval<number>('[data-testid="hard-attention"]', '(el.scrollIntoView(), 1)');
    await screenshot(screenshotPath('inside-hard-attention-class.png'));
  });
});
