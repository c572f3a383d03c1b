// Models in a real VS Code: Download Model… from a hub served on 127.0.0.1 (the project's tiny ViT in
// the catalogue's ViT-B/16 repository), consent through the modal, then Show Attention uses it.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { VitLensApi } from '../../../src/host/extension';
import { HubServer, hubModelFromDir, startHubServer } from '../../fixtures/builders/hubServer';
import { writeSampleScene } from '../../fixtures/builders/sampleImages';
import { defaultFixtureDir, ensureFixture } from '../../fixtures/builders/writeFixtures';
import { repoRoot } from '../testUtil';
import { driverAvailable, pressKey, screenshot, screenshotPath } from '../driver';
import { panelReceived } from '../panelSuite';

let api: VitLensApi;
let hub: HubServer;
let image: string;

const config = () => vscode.workspace.getConfiguration('vitLens');

suite('Models: download from the hub, then use', () => {
  suiteSetup(async () => {
    const vitTiny = path.dirname(path.dirname(ensureFixture('vit-tiny', defaultFixtureDir(repoRoot))));
    hub = await startHubServer({ models: [hubModelFromDir('Xenova/vit-base-patch16-224', vitTiny)] });
    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    image = await writeSampleScene(ws);
    api = await vscode.extensions.getExtension<VitLensApi>('vit-lens.vit-lens')!.activate();
    await config().update('hubEndpoint', hub.endpoint, vscode.ConfigurationTarget.Workspace);
  });
  suiteTeardown(async () => {
    await config().update('hubEndpoint', undefined, vscode.ConfigurationTarget.Workspace);
    await config().update('model', '', vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await hub?.close();
  });

  test('Download Model… asks first (a quick pick), downloads with verification into global storage, sets the model; Show Attention uses it', async function () {
    if (!driverAvailable()) this.skip(); // the consent needs a real keypress
    const done = vscode.commands.executeCommand<string | undefined>('vitLens.downloadModel', 'vit-base-patch16-224');
    await new Promise((r) => setTimeout(r, 1500));
    assert.strictEqual(hub.requests.length, 0, 'nothing is downloaded before the user agrees');
    await screenshot(screenshotPath('download-consent.png'));
    await pressKey('Enter'); // the consent quick pick's first item: Download
    const onnx = await done;
    assert.ok(onnx && onnx.startsWith(api.cacheDir), `downloaded into the cache: ${onnx}`);
    assert.ok(fs.existsSync(onnx!) && fs.existsSync(path.join(path.dirname(path.dirname(onnx!)), 'config.json')));
    assert.ok(
      hub.requests.some((r) => r.file === 'onnx/model.onnx' && r.status < 400),
      'the onnx file came from the local hub',
    );
    assert.strictEqual(config().get('model'), onnx, 'set as the attention model');
    await vscode.commands.executeCommand('vitLens.showAttention', vscode.Uri.file(image));
    const rendered = await panelReceived(api, image, undefined);
    assert.strictEqual(rendered.thumbnails, 12, 'the downloaded (tiny) model: 4 layers × 3 heads');
  });
});
