// Loaded by the VS Code extension host (extensionTestsPath) in the installed-VSIX run
// (scripts/vscode-offline/run-vscode-tests.mjs with VSIX=…): the same mocha runner as the development-tree suite,
// over the *.test.js files next to this one (the bundled runner reads its own __dirname).
export { run } from '../suite/index';
