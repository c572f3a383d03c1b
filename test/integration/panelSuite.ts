// What the panel suites share: the vitLens settings they set in the workspace (reset after the suite), no
// editor open when a test starts, and waiting for a panel to receive a message from its page. Loads no
// native library (the installed-VSIX suite may import it).
import * as vscode from 'vscode';
import type { VitLensApi } from '../../src/host/extension';
import { waitFor } from './testUtil';

/** Sets vitLens.<key> in the workspace settings ('' puts the default back). */
export const setSetting = (key: string, value: string): Thenable<void> =>
  vscode.workspace.getConfiguration('vitLens').update(key, value, vscode.ConfigurationTarget.Workspace);

export const closeAllEditors = (): Thenable<unknown> => vscode.commands.executeCommand('workbench.action.closeAllEditors');

/** A panel suite's hooks: each test starts with no editor open; after the suite, `settings` are reset and every editor closed. */
export function panelSuiteHooks(...settings: string[]): void {
  setup(() => closeAllEditors());
  suiteTeardown(async () => {
    for (const key of settings) await setSetting(key, '');
    await closeAllEditors();
  });
}

/**
 * Waits for the first message of `type` (default `rendered`) that the `kind` panel of `target` (any kind
 * when undefined) received from its page.
 */
export function panelReceived(api: VitLensApi, target: string, kind: string | undefined, type = 'rendered', timeoutMs?: number) {
  return waitFor(`${kind ?? 'panel'} ${type}`, () => api.panel(target, kind)?.observation.received.find((m) => m.type === type), timeoutMs);
}
