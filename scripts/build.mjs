// Builds every bundle with esbuild. Native modules (onnxruntime-node, sharp) and `vscode` stay external:
// they are loaded from node_modules (or the VS Code runtime) at run time.
//   dist/extension.js   extension host (CommonJS, Node)         src/host/extension.ts
//   dist/engine.js      inference engine (forked child process) src/core/engine/worker.ts
//   dist/cli.js         the `vit-lens` command line             src/cli/main.ts
//   dist/webview.js     panel UI (browser IIFE) + webview.css   webview/panels/attention/main.ts
//   dist/denseWebview.js DPT panel UI + denseWebview.css      webview/panels/dense/main.ts
//   dist/gatesWebview.js SE/CBAM gates panel + gatesWebview.css webview/panels/gates/main.ts
//   dist/insideWebview.js "Inside the ViT" panel + insideWebview.css webview/panels/inside/main.ts
//   dist/galleryWebview.js folder gallery + galleryWebview.css   webview/panels/gallery/main.ts
//   dist/compareWebview.js A/B compare + compareWebview.css     webview/panels/compare/main.ts
//   dist/buildModels.js tiny ONNX fixture builder               scripts/buildModels.ts
//   dist/bench.js       benchmarks                              scripts/bench.ts
//   dist/exportDataset.js  generated scenes for the demo-model trainers  scripts/scenes/exportDataset.ts
//   dist/benchWorkbench.js  first-paint benchmark in the workbench  scripts/benchWorkbench.ts
//   dist/test/unit/*.test.js                                    test/unit/*.test.ts
//   dist/test/integration/**                                    test/integration/**/*.ts
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const external = ['vscode', 'onnxruntime-node', 'sharp', 'mocha'];
const exists = (p) => fs.existsSync(path.join(root, p));
const walk = (dir, re) =>
  !exists(dir)
    ? []
    : fs
        .readdirSync(path.join(root, dir), { recursive: true })
        .map((f) => path.join(dir, f))
        .filter((f) => re.test(f));

// `.wat` imports (WebAssembly text, src/analyses/attention/wasm) are compiled with wabt and bundled as their bytes.
const wat = {
  name: 'wat',
  setup(build) {
    build.onLoad({ filter: /\.wat$/ }, async (args) => {
      const wabt = await (await import('wabt')).default();
      const module = wabt.parseWat(args.path, fs.readFileSync(args.path, 'utf8'), { simd: true });
      try {
        return { contents: module.toBinary({}).buffer, loader: 'binary' };
      } finally {
        module.destroy();
      }
    });
  },
};
const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external,
  plugins: [wat],
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  absWorkingDir: root,
};
const builds = [];
const add = (entry, outfile, opts = node) => {
  if (exists(entry)) builds.push({ ...opts, entryPoints: [entry], outfile });
};

add('src/host/extension.ts', 'dist/extension.js');
add('src/core/engine/worker.ts', 'dist/engine.js');
add('src/cli/main.ts', 'dist/cli.js', { ...node, banner: { js: '#!/usr/bin/env node' } });
add('scripts/buildModels.ts', 'dist/buildModels.js');
add('scripts/bench.ts', 'dist/bench.js');
add('scripts/scenes/exportDataset.ts', 'dist/exportDataset.js');
add('scripts/benchWorkbench.ts', 'dist/benchWorkbench.js');
// Every page: webview/panels/<name>/main.ts → dist/<name>Webview.js (+ .css); the attention page keeps its
// first name, dist/webview.js. The registry's descriptors name these bundles (a unit test checks they are built).
const browser = {
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  absWorkingDir: root,
  loader: { '.css': 'css' },
};
for (const name of fs.readdirSync(path.join(root, 'webview', 'panels')).sort())
  add(`webview/panels/${name}/main.ts`, `dist/${name === 'attention' ? 'webview' : `${name}Webview`}.js`, browser);
const tests = [...walk('test/unit', /\.test\.ts$/), ...walk('test/integration', /\.ts$/)];
// UI tests: the panel pages in headless Chromium (test/ui/preview*.ts), run from the repository root.
const ui = walk('test/ui', /^test\/ui\/preview\w+\.ts$/);
if (ui.length)
  builds.push({
    ...node,
    external: [...external, 'esbuild', 'playwright-core'],
    entryPoints: ui,
    outdir: 'dist/test/ui',
    outbase: 'test/ui',
  });
if (tests.length) builds.push({ ...node, entryPoints: tests, outdir: 'dist/test', outbase: 'test' });

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log('watching…');
} else {
  // Every bundle is attempted, so one broken entry does not hide the state of the others.
  const results = await Promise.allSettled(builds.map((b) => esbuild.build(b)));
  const failed = results.filter((r) => r.status === 'rejected');
  if (failed.length) {
    console.error(`build: ${failed.length} bundle(s) failed`);
    process.exitCode = 1;
  }
  if (exists('dist/cli.js')) fs.chmodSync(path.join(root, 'dist/cli.js'), 0o755);
}
