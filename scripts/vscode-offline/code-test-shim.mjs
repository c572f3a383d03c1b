#!/usr/bin/env node
// Drop-in `vscodeExecutablePath` for @vscode/test-electron's runTests(): accepts the Electron-style command line that
// runTests spawns (--extensionDevelopmentPath=… --extensionTestsPath=… [folder] plus flags that do not apply here)
// and runs the tests in code-server + headless Debian chromium through run-vscode-tests.mjs. Exit code = test result.
// Online developers can use the normal Electron download instead (scripts/test.mjs: VITLENS_VSCODE=download).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dev = [],
  ignored = [];
let tests, folder;
for (const a of process.argv.slice(2)) {
  let m;
  if ((m = a.match(/^--extensionDevelopmentPath=(.*)$/))) dev.push(m[1]);
  else if ((m = a.match(/^--extensionTestsPath=(.*)$/))) tests = m[1];
  else if (!a.startsWith('-')) folder = a;
  else ignored.push(a); // --no-sandbox, --disable-updates, --user-data-dir=…, --extensions-dir=…, --disable-extensions, …
}
if (!tests || !dev.length) {
  console.error('code-test-shim: need --extensionDevelopmentPath and --extensionTestsPath');
  process.exit(2);
}
if (process.env.VERBOSE) console.log('code-test-shim: ignoring', ignored.join(' '));
const runner = path.join(path.dirname(fileURLToPath(import.meta.url)), 'run-vscode-tests.mjs');
const env = { ...process.env, EXT_DEV_PATH: dev.join(path.delimiter), EXT_TESTS: tests, ...(folder ? { WORKSPACE: folder } : {}) };
const child = spawn(process.execPath, [runner], { stdio: 'inherit', env });
// forward Ctrl+C / termination from runTests() so code-server and chromium are shut down by the runner
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
