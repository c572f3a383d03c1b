// Helpers shared by the integration suites (they run inside the extension host, from dist/test/integration/<suite>/).
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { VitLensApi } from '../../src/host/extension';
import { sampleScenePng } from '../fixtures/builders/sampleImages';
import { defaultFixtureDir, ensureFixture } from '../fixtures/builders/writeFixtures';

/** The repository root, from dist/test/integration/<suite>/. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');
/** CC0 photos next to the repository, when present. */
export const sharedImages = path.resolve(repoRoot, '..', 'shared', 'images');

/**
 * Writes an image into the test workspace as `name`: the CC0 photo `photo` when ../shared is there, else
 * the generated sample scene. Returns its path.
 */
export async function workspaceImage(name: string, photo: string): Promise<string> {
  const file = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, name);
  const shared = path.join(sharedImages, photo);
  fs.writeFileSync(file, fs.existsSync(shared) ? fs.readFileSync(shared) : await sampleScenePng());
  return file;
}

/** The activated extension's test API. */
export const activateApi = (): Thenable<VitLensApi> => vscode.extensions.getExtension<VitLensApi>('vit-lens.vit-lens')!.activate();

/** A fixture model's .onnx path (built on first use). */
export const fixture = (name: string): string => ensureFixture(name, defaultFixtureDir(repoRoot));

/** Polls `probe` until it returns something truthy. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 50): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
