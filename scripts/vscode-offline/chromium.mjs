// The flags of every headless chromium the tests launch: the offline workbench runner (run-vscode-tests.mjs)
// and the UI tests of the pages (test/ui/pageShell.ts). Nothing on the network, no first-run or background work.
export const HEADLESS_CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
