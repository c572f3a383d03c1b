// The house's boundaries, checked: no forbidden import anywhere in src/ and webview/ (importRules.ts),
// and both the rule checker and the two TypeScript projects catch a planted violation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { checkTree, importsOf, roomOf, violation } from './importRules';
import { repoRoot } from '../support';

test('no file in src/ or webview/ imports what its room may not', () => {
  assert.deepEqual(checkTree(repoRoot), []);
});

test('rooms follow the folders, and analysis files by their name', () => {
  assert.equal(roomOf('src/analyses/attention/pipeline'), 'engine-analysis');
  assert.equal(roomOf('src/analyses/attention/wasm/headStatsWasm'), 'engine-analysis');
  assert.equal(roomOf('src/analyses/attention/panel'), 'host');
  assert.equal(roomOf('src/analyses/attention/command'), 'cli');
  assert.equal(roomOf('src/analyses/attention/json'), 'neutral-analysis');
  assert.equal(roomOf('src/analyses/index'), 'registry');
  assert.equal(roomOf('src/analyses/host'), 'host');
  assert.equal(roomOf('webview/shell/stage'), 'webview');
  assert.equal(roomOf('test/unit/support'), undefined);
});

test('the checker catches planted violations', () => {
  const planted: [string, string, RegExp][] = [
    ['src/core/engine/x.ts', "import { h } from '../../../webview/shell/dom';", /core code may not import webview/],
    ['src/host/x.ts', "import * as ort from 'onnxruntime-node';", /host code may not use the package onnxruntime-node/],
    ['src/host/x.ts', "import sharp from 'sharp';", /may not use the package sharp/],
    ['src/host/x.ts', "import { runAttentionPipeline } from '../analyses/attention/pipeline';", /host code may not import engine-analysis/],
    ['src/analyses/dense/panel.ts', "import { runDensePipeline } from './pipeline';", /host code may not import engine-analysis/],
    ['src/shared/x.ts', "import { topK } from '../maths/attention';", /shared contracts import nothing at run time/],
    ['src/shared/x.ts', "import fs from 'node:fs';", /browser too/],
    ['webview/panels/attention/x.ts', "import fs from 'node:fs';", /browser too/],
    ['webview/shell/x.ts', "import * as vscode from 'vscode';", /may not use the package vscode/],
    ['webview/shell/x.ts', "import { EngineClient } from '../../src/client/engineClient';", /webview code may not import client/],
    ['src/maths/x.ts', "const m = require('../core/onnx/threads');", /maths code may not import core/],
    [
      'src/core/image/x.ts',
      "import { attentionEngine } from '../../analyses/attention/engine';",
      /core code does not reach into an analysis/,
    ],
    ['src/models/x.ts', "import * as vscode from 'vscode';", /models code may not use the package vscode/],
    ['src/core/x.ts', "import { fixture } from '../../test/fixtures/builders/tinyModels';", /product code does not import test code/],
  ];
  for (const [file, line, expected] of planted) {
    const found = importsOf(file, line).map(violation).filter(Boolean);
    assert.equal(found.length, 1, `${file}: ${line}`);
    assert.match(found[0]!, expected);
  }
  // and lets the allowed ones through
  for (const [file, line] of [
    ['src/shared/x.ts', "import type { DenseTask } from '../analyses/dense/types';"],
    ['webview/panels/dense/x.ts', "import { denseJson } from '../../../src/analyses/dense/json';"],
    ['src/host/x.ts', "import { EngineClient } from '../client/engineClient';"],
    ['src/core/engine/engine.ts', "import { analysisHandlers } from '../../analyses/engine';"],
    ['src/analyses/gates/engine.ts', "import * as ort from 'onnxruntime-node';"],
  ])
    assert.deepEqual(importsOf(file, line).map(violation).filter(Boolean), [], line);
});

const tsc = path.join(repoRoot, 'node_modules', '.bin', 'tsc');

/** Type-checks one planted file with a repository project's options; returns tsc's output (empty: it passed). */
function typecheckPlanted(project: string, code: string): string {
  fs.mkdirSync(path.join(repoRoot, 'test-results'), { recursive: true });
  // Inside the repository (test-results/ is ignored) so the project's type roots resolve from node_modules.
  const dir = fs.mkdtempSync(path.join(repoRoot, 'test-results', 'planted-'));
  fs.writeFileSync(path.join(dir, 'planted.ts'), code);
  const config = {
    extends: path.join(repoRoot, project),
    include: [path.join(dir, 'planted.ts')],
    compilerOptions: { noUnusedLocals: false },
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
  const r = spawnSync(tsc, ['-p', path.join(dir, 'tsconfig.json')], { encoding: 'utf8', cwd: repoRoot });
  fs.rmSync(dir, { recursive: true, force: true });
  return `${r.stdout}${r.stderr}`.trim();
}

test('the Node-side type check fails on a file that touches the DOM', { skip: !fs.existsSync(tsc) && 'no tsc in node_modules' }, () => {
  assert.match(typecheckPlanted('tsconfig.json', 'export const title = document.title;\n'), /Cannot find name 'document'/);
  assert.equal(typecheckPlanted('tsconfig.json', "import fs from 'node:fs';\nexport const ok = fs.existsSync('.');\n"), '');
});

test(
  'the browser-side type check fails on a file that imports Node',
  { skip: (!fs.existsSync(tsc) || !fs.existsSync(path.join(repoRoot, 'tsconfig.web.json'))) && 'no tsc or no tsconfig.web.json' },
  () => {
    assert.match(
      typecheckPlanted('tsconfig.web.json', "import fs from 'node:fs';\nexport const ok = fs.existsSync('.');\n"),
      /Cannot find (module|name) 'node:fs'|TS2307|TS2591/,
    );
    assert.equal(typecheckPlanted('tsconfig.web.json', 'export const title = document.title;\n'), '');
  },
);
