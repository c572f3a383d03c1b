// Images and the API for the development-tree suites. Apart from testUtil.ts because it loads sharp (the
// generated sample scene): the installed-VSIX suite checks that no native inference library is loaded in
// the extension host, so it must not import this file.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { VitLensApi } from '../../src/host/extension';
import { sampleScenePng } from '../fixtures/builders/sampleImages';
import { sharedImages } from './testUtil';

/**
 * Writes an image into the test workspace as `name` (folders made as needed): the CC0 photo `photo` when ../shared is there, else
 * the generated sample scene. Returns its path.
 */
export async function workspaceImage(name: string, photo: string): Promise<string> {
  const file = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const shared = path.join(sharedImages, photo);
  fs.writeFileSync(file, fs.existsSync(shared) ? fs.readFileSync(shared) : await sampleScenePng());
  return file;
}

/** The activated extension's test API. */
export const activateApi = (): Thenable<VitLensApi> => vscode.extensions.getExtension<VitLensApi>('vit-lens.vit-lens')!.activate();
