// The registry (src/analyses/index.ts) agrees with package.json's contributes, the build's bundles and
// the three runtime tables: what a new analysis must add is what this test asks for.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { allPanels, analyses } from '../../../src/analyses/index';
import { analysisEngines } from '../../../src/analyses/engine';
import { analysisCommands } from '../../../src/analyses/cli';
import { distDir, repoRoot } from '../support';

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const contributed = new Set<string>(pkg.contributes.commands.map((c: { command: string }) => c.command));
const webviewEvents = (pkg.activationEvents as string[])
  .filter((e) => e.startsWith('onWebviewPanel:'))
  .map((e) => e.slice('onWebviewPanel:'.length));

test('every panel command is contributed, with an Explorer menu entry for images', () => {
  const explorer = new Set(pkg.contributes.menus['explorer/context'].map((m: { command: string }) => m.command));
  for (const { panel } of allPanels()) {
    assert.ok(contributed.has(panel.command), `package.json contributes.commands lacks ${panel.command}`);
    assert.ok(explorer.has(panel.command), `package.json menus.explorer/context lacks ${panel.command}`);
  }
});

test('every panel view type, and only those, activates the extension when a panel is restored', () => {
  assert.deepEqual(
    [...webviewEvents].sort(),
    allPanels()
      .map((p) => p.panel.viewType)
      .sort(),
  );
});

test("every analysis has its webview page and its panels' bundles are built", () => {
  // An analysis without panels of its own (explain) has its view there, for the panel that shows it.
  for (const a of analyses) {
    const page = path.join('webview', 'panels', a.id, a.panels.length ? 'main.ts' : '');
    assert.ok(fs.existsSync(path.join(repoRoot, page)), page);
  }
  for (const { panel } of allPanels())
    assert.ok(fs.existsSync(path.join(distDir, `${panel.bundle}.js`)), `dist/${panel.bundle}.js (scripts/build.mjs)`);
});

test('each analysis serves exactly the engine calls its descriptor names, and they are unique', () => {
  const seen = new Set<string>();
  for (const a of analyses) {
    const served = Object.keys(analysisEngines[a.id]).sort();
    assert.deepEqual(served, [...a.engineCalls].sort(), a.id);
    for (const k of served) {
      assert.ok(!seen.has(k), `${k} is served twice`);
      seen.add(k);
    }
  }
});

test('each analysis runs exactly the CLI subcommands its descriptor lists, and their names are unique', () => {
  const names = analyses.flatMap((a) => {
    assert.deepEqual(
      analysisCommands[a.id].map((c) => c.name),
      a.cli.map((c) => c.name),
      a.id,
    );
    return a.cli.map((c) => c.name);
  });
  assert.equal(new Set(names).size, names.length);
});

test('view types and ids are unique; every re-run setting exists in package.json', () => {
  const views = allPanels().map((p) => p.panel.viewType);
  assert.equal(new Set(views).size, views.length);
  assert.equal(new Set(analyses.map((a) => a.id)).size, analyses.length);
  const settings = Object.keys(pkg.contributes.configuration.properties);
  for (const { panel } of allPanels()) for (const k of panel.rerunOn) assert.ok(settings.includes(`vitLens.${k}`), `vitLens.${k}`);
});
