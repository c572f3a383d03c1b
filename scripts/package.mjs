#!/usr/bin/env node
// `npm run package`: platform-specific VSIX files in dist-vsix/, one per VS Code target that both native packages
// ship binaries for. Each VSIX carries only its own platform's onnxruntime and sharp binaries.
//
//   1. `npm run build -- --production` (minified bundles, no source maps), copied into the stages, then the normal
//      dev build is restored so dist/ keeps its source maps for debugging.
//   2. Per target, a stage dist-vsix/.stage/<target>/: the manifest, documents, media, the dist/ bundles and a
//      node_modules holding the runtime closure of package.json's dependencies, with
//        - onnxruntime-node's bin/napi-v*/ reduced to <os>/<arch> of the target (it ships every platform), and
//        - sharp's per-platform packages @img/sharp-<target> (+ the @img/sharp-libvips-<target> it depends on):
//          taken from node_modules when installed (the host platform), else fetched with `npm pack` at the exact
//          version sharp pins, checked against package-lock.json's integrity, and cached in dist-vsix/.cache/.
//   3. @vscode/vsce (its API: no marketplace calls, no version check) packages the stage with npm dependency
//      detection, filtered by .vscodeignore (a whitelist of runtime files). README links stay relative: the
//      screenshots are in the VSIX, and VS Code shows the installed extension's README from its own folder.
//   4. Every VSIX is read back and checked: the target's native binaries are all there, no other platform's, no
//      sources/tests/maps, every shipped bundle present; linux-x64 must stay under 60 MB. On a matching host the
//      extracted VSIX's onnxruntime-node and sharp are loaded in a child process.
//   5. A summary (size, files, bytes per part) is printed and written to dist-vsix/summary.json.
//
// Usage: node scripts/package.mjs [--target <t>]... [--no-build] [--keep-stage]
// Targets: linux-x64 linux-arm64 darwin-arm64 win32-x64 win32-arm64 (onnxruntime-node 1.30 has no darwin-x64 and
// only glibc Linux builds, so no alpine-*); the default is every supported target.
// Also imported by scripts/test.mjs for vsixPath() and vsixIsStale().
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist-vsix');
const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
const manifest = () => readJson(path.join(root, 'package.json'));
const MB = 1024 * 1024;
/** linux-x64 must stay well under this (the budget). */
const LINUX_X64_BUDGET_BYTES = 60 * MB;
/** dist/ bundles that are development tools, not part of the extension (every other bundle of the build ships). */
const DEV_ONLY_BUNDLES = new Set(['bench.js', 'benchWorkbench.js', 'buildModels.js', 'exportDataset.js']);

/** Where `npm run package` writes the VSIX for `target` (vsce's default file name). */
export function vsixPath(target) {
  const { name, version } = manifest();
  return path.join(outDir, `${name}-${target}-${version}.vsix`);
}

/** Files whose change makes a packaged VSIX out of date. */
function packagingInputs() {
  const walk = (rel) => {
    const abs = path.join(root, rel);
    if (!fs.existsSync(abs)) return [];
    if (!fs.statSync(abs).isDirectory()) return [abs];
    return fs
      .readdirSync(abs, { recursive: true })
      .map((f) => path.join(abs, f))
      .filter((f) => fs.statSync(f).isFile());
  };
  return [
    'package.json',
    'package-lock.json',
    '.vscodeignore',
    'README.md',
    'CHANGELOG.md',
    'LICENSE',
    'tsconfig.json',
    'media',
    'models/demo',
    'src',
    'webview',
    'scripts/build.mjs',
    'scripts/package.mjs',
  ].flatMap(walk);
}

/** True when the target's VSIX is missing or older than any source, manifest or packaging input. */
export function vsixIsStale(target) {
  const vsix = vsixPath(target);
  if (!fs.existsSync(vsix)) return true;
  const built = fs.statSync(vsix).mtimeMs;
  return packagingInputs().some((f) => fs.statSync(f).mtimeMs > built);
}

// ---------------------------------------------------------------------------------------------------------------
// Targets

/** VS Code targets with an onnxruntime-node binary directory and a sharp platform package. */
function supportedTargets() {
  const ortBin = path.join(root, 'node_modules/onnxruntime-node/bin');
  const sharpOptional = readJson(path.join(root, 'node_modules/sharp/package.json')).optionalDependencies ?? {};
  const targets = [];
  for (const napi of fs.readdirSync(ortBin)) {
    for (const platform of fs.readdirSync(path.join(ortBin, napi))) {
      for (const arch of fs.readdirSync(path.join(ortBin, napi, platform))) {
        const target = `${platform}-${arch}`;
        if (sharpOptional[`@img/sharp-${target}`]) targets.push(target);
        else console.warn(`skipping ${target}: onnxruntime-node has it, sharp has no @img/sharp-${target}`);
      }
    }
  }
  return [...new Set(targets)].sort();
}

// ---------------------------------------------------------------------------------------------------------------
// Staging

/** Runtime dependency closure of the extension: package dirs relative to the repository root (no optional deps). */
function runtimeClosure() {
  const found = new Map(); // relative dir -> package.json
  const resolveFrom = (fromDir, name) => {
    for (let d = fromDir; ; d = path.dirname(d)) {
      const candidate = path.join(d, 'node_modules', name);
      if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
      if (d === root || path.dirname(d) === d) return undefined;
    }
  };
  const visit = (fromDir, deps) => {
    for (const name of Object.keys(deps ?? {})) {
      const dir = resolveFrom(fromDir, name);
      if (!dir)
        throw new Error(
          `runtime dependency ${name} (needed by ${path.relative(root, fromDir) || 'the extension'}) is not installed: run npm ci`,
        );
      const rel = path.relative(root, dir);
      if (found.has(rel)) continue;
      const pkg = readJson(path.join(dir, 'package.json'));
      found.set(rel, pkg);
      visit(dir, pkg.dependencies);
    }
  };
  visit(root, manifest().dependencies);
  return found;
}

const lockEntry = (name) => readJson(path.join(root, 'package-lock.json')).packages?.[`node_modules/${name}`];

/** Directory holding the unpacked npm package name@version: node_modules when installed, else fetched + cached. */
function platformPackageDir(name, version) {
  const installed = path.join(root, 'node_modules', name);
  if (fs.existsSync(path.join(installed, 'package.json')) && readJson(path.join(installed, 'package.json')).version === version)
    return installed;
  const cached = path.join(outDir, '.cache', `${name.replace('/', '+')}@${version}`);
  if (fs.existsSync(path.join(cached, 'package.json'))) return cached;
  const lock = lockEntry(name);
  if (!lock || lock.version !== version || !lock.integrity) {
    throw new Error(
      `${name}@${version} is not in package-lock.json (found ${lock?.version ?? 'nothing'}): run npm install to refresh the lock file`,
    );
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vit-lens-pack-'));
  try {
    console.log(`  fetching ${name}@${version} (npm pack)`);
    const r = spawnSync('npm', ['pack', `${name}@${version}`, '--json', '--loglevel=error', '--pack-destination', tmp], {
      cwd: tmp,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`npm pack ${name}@${version} failed:\n${r.stderr}`);
    const [info] = JSON.parse(r.stdout);
    if (info.integrity !== lock.integrity)
      throw new Error(`${name}@${version}: registry integrity ${info.integrity} differs from package-lock.json's ${lock.integrity}`);
    const unpacked = path.join(tmp, 'package');
    fs.mkdirSync(unpacked);
    const t = spawnSync('tar', ['-xzf', path.join(tmp, info.filename), '-C', unpacked, '--strip-components=1'], { encoding: 'utf8' });
    if (t.status !== 0) throw new Error(`unpacking ${info.filename} failed: ${t.stderr}`);
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.renameSync(unpacked, cached);
    return cached;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** sharp's packages for a target: @img/sharp-<target> and the libvips package it depends on (none on Windows). */
function sharpPlatformPackages(target) {
  const sharpOptional = readJson(path.join(root, 'node_modules/sharp/package.json')).optionalDependencies ?? {};
  const binding = `@img/sharp-${target}`;
  const packages = [{ name: binding, dir: platformPackageDir(binding, sharpOptional[binding]) }];
  for (const [name, version] of Object.entries(readJson(path.join(packages[0].dir, 'package.json')).optionalDependencies ?? {})) {
    packages.push({ name, dir: platformPackageDir(name, version) });
  }
  return packages;
}

/**
 * npm packages cannot hold symlinks, so onnxruntime-node's macOS folder has libonnxruntime.1.30.0.dylib and
 * libonnxruntime.1.dylib as two identical 44 MB files. Of a group of byte-identical files in a binary folder, keep
 * those whose names the binaries there reference (the binding links @rpath/libonnxruntime.1.dylib) and drop the
 * copies nothing names. Groups where nothing is referenced stay untouched.
 */
function dropUnreferencedCopies(binDir) {
  if (!fs.existsSync(binDir)) return;
  const files = fs.readdirSync(binDir).map((f) => ({ name: f, bytes: fs.readFileSync(path.join(binDir, f)) }));
  const groups = new Map();
  for (const f of files) {
    const key = `${f.bytes.length}:${createHash('sha256').update(f.bytes).digest('hex')}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const referenced = (f) => files.some((other) => other.name !== f.name && other.bytes.includes(f.name));
    const keep = group.filter(referenced);
    if (keep.length === 0) continue;
    for (const f of group.filter((g) => !keep.includes(g))) {
      console.log(`  dropping ${path.basename(binDir)}/${f.name}: identical to ${keep[0].name}, and no binary names it`);
      fs.rmSync(path.join(binDir, f.name));
    }
  }
}

function stage(target, closure, bundles) {
  const [platform, arch] = target.split('-');
  const dir = path.join(outDir, '.stage', target);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
  // models/demo: the demo models ship with the extension (`demo:<id>`, no download)
  for (const f of ['package.json', '.vscodeignore', 'README.md', 'CHANGELOG.md', 'LICENSE', 'media', 'models/demo']) {
    if (fs.existsSync(path.join(root, f))) fs.cpSync(path.join(root, f), path.join(dir, f), { recursive: true });
  }
  for (const f of bundles) if (!DEV_ONLY_BUNDLES.has(f)) fs.copyFileSync(path.join(root, 'dist', f), path.join(dir, 'dist', f));
  const ortBin = /^node_modules\/onnxruntime-node\/bin\/napi-v[^/]+\/([^/]+)(?:\/([^/]+))?/;
  for (const rel of closure.keys()) {
    const src = path.join(root, rel);
    fs.cpSync(src, path.join(dir, rel), {
      recursive: true,
      filter: (p) => {
        const r = path.relative(root, p).split(path.sep).join('/');
        if (r.startsWith(`${rel.split(path.sep).join('/')}/node_modules`)) return false; // nested deps are closure entries of their own
        const m = r.match(ortBin); // another platform's onnxruntime binaries
        return !m || (m[1] === platform && (m[2] === undefined || m[2] === arch));
      },
    });
  }
  for (const napi of fs.readdirSync(path.join(dir, 'node_modules/onnxruntime-node/bin'))) {
    dropUnreferencedCopies(path.join(dir, 'node_modules/onnxruntime-node/bin', napi, platform, arch));
  }
  const sharpPackages = sharpPlatformPackages(target);
  for (const p of sharpPackages) fs.cpSync(p.dir, path.join(dir, 'node_modules', p.name), { recursive: true });
  return { dir, sharpPackages, bundles };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading a VSIX back (a zip): central directory entries, and extraction for the load check

/** Zip entries {name, compressedSize, size, method, localOffset} from the central directory. */
export function zipEntries(buf) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file (no end of central directory)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`corrupt central directory at ${p}`);
    const nameLen = buf.readUInt16LE(p + 28),
      extraLen = buf.readUInt16LE(p + 30),
      commentLen = buf.readUInt16LE(p + 32);
    entries.push({
      method: buf.readUInt16LE(p + 10),
      compressedSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      localOffset: buf.readUInt32LE(p + 42),
      name: buf.toString('utf8', p + 46, p + 46 + nameLen),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function extractZip(buf, entries, dest) {
  for (const e of entries) {
    if (e.name.endsWith('/')) continue;
    const out = path.join(dest, e.name);
    if (!out.startsWith(dest + path.sep)) throw new Error(`zip entry escapes the destination: ${e.name}`);
    const start = e.localOffset + 30 + buf.readUInt16LE(e.localOffset + 26) + buf.readUInt16LE(e.localOffset + 28);
    const raw = buf.subarray(start, start + e.compressedSize);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, e.method === 0 ? raw : zlib.inflateRawSync(raw));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Checks

const isNative = (p) => /\.(node|dll|dylib)$|\.so(\.\d+)*$/.test(p);

/** Problems with the VSIX of `target` (empty: good). */
function checkVsix(target, entries, stageInfo) {
  const [platform, arch] = target.split('-');
  const problems = [];
  const names = new Set(entries.map((e) => e.name));
  const filesUnder = (base) =>
    fs
      .readdirSync(base, { recursive: true })
      .map((f) => path.join(base, f))
      .filter((f) => fs.statSync(f).isFile());
  const inVsix = (stageFile) => `extension/${path.relative(stageInfo.dir, stageFile).split(path.sep).join('/')}`;

  // the target's native binaries, all of them
  const ortDir = fs
    .readdirSync(path.join(stageInfo.dir, 'node_modules/onnxruntime-node/bin'))
    .map((napi) => path.join(stageInfo.dir, 'node_modules/onnxruntime-node/bin', napi, platform, arch))
    .filter((d) => fs.existsSync(d));
  if (ortDir.length === 0) problems.push(`onnxruntime-node has no bin/napi-v*/${platform}/${arch}`);
  const expectedNative = [
    ...ortDir.flatMap(filesUnder),
    ...stageInfo.sharpPackages.flatMap((p) => filesUnder(path.join(stageInfo.dir, 'node_modules', p.name))).filter(isNative),
  ].map(inVsix);
  for (const f of expectedNative) if (!names.has(f)) problems.push(`missing native file ${f}`);
  if (!expectedNative.some((f) => f.endsWith('/onnxruntime_binding.node'))) problems.push('no onnxruntime_binding.node');
  if (!expectedNative.some((f) => /\/sharp-[^/]+\.node$/.test(f))) problems.push('no sharp binding (.node)');
  // nothing native beyond them: no other platform
  const expected = new Set(expectedNative);
  for (const n of names) if (isNative(n) && !expected.has(n)) problems.push(`unexpected native file ${n}`);
  // no sources, tests, maps, declarations
  for (const n of names) {
    // models/: only the demo models ship (not the fixture models of models/generated, nor the catalogue source)
    if (
      /\.(ts|cts|mts|map)$/.test(n) ||
      /^extension\/(src|test|webview|scripts|dist\/test)\//.test(n) ||
      (/^extension\/models\//.test(n) && !/^extension\/models\/demo\//.test(n))
    )
      problems.push(`development file shipped: ${n}`);
  }
  // the manifest, the engine and every extension bundle
  for (const f of [
    'package.json',
    'readme.md',
    'changelog.md',
    'LICENSE.txt',
    'media/icon.png',
    'node_modules/onnxruntime-node/dist/index.js',
    'node_modules/sharp/dist/index.cjs',
  ]) {
    if (!names.has(`extension/${f}`)) problems.push(`missing extension/${f}`);
  }
  for (const f of stageInfo.bundles) {
    const shipped = names.has(`extension/dist/${f}`);
    if (DEV_ONLY_BUNDLES.has(f) ? shipped : !shipped)
      problems.push(`bundle dist/${f} is ${shipped ? 'a development tool but shipped' : 'not in the VSIX (.vscodeignore)'}`);
  }
  return problems;
}

/** On a host of the target's platform: load the VSIX's own onnxruntime-node and sharp in a clean child process. */
function loadCheck(target, buf, entries) {
  if (target !== `${process.platform}-${process.arch}`) return 'skipped (other platform)';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vit-lens-vsix-'));
  try {
    extractZip(buf, entries, dir);
    const ext = path.join(dir, 'extension');
    const probe = `
      const ort = require(${JSON.stringify(path.join(ext, 'node_modules/onnxruntime-node'))});
      const sharp = require(${JSON.stringify(path.join(ext, 'node_modules/sharp'))});
      const ortFile = require.resolve(${JSON.stringify(path.join(ext, 'node_modules/onnxruntime-node'))});
      if (!ortFile.startsWith(${JSON.stringify(ext)})) throw new Error('onnxruntime-node resolved outside the VSIX: ' + ortFile);
      console.log('onnxruntime ' + ort.env.versions.node + ', backends ' + ort.listSupportedBackends().map((b) => b.name).join('/') + '; libvips ' + sharp.versions.vips);`;
    const r = spawnSync(process.execPath, ['-e', probe], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });
    if (r.status !== 0) throw new Error(`the VSIX's native modules do not load:\n${r.stderr}`);
    return r.stdout.trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function summarise(entries) {
  const groups = { extension: 0, onnxruntime: 0, sharp: 0, 'other node_modules': 0 };
  for (const e of entries) {
    const n = e.name.replace(/^extension\//, '');
    const g = !n.startsWith('node_modules/')
      ? 'extension'
      : /^node_modules\/onnxruntime-/.test(n)
        ? 'onnxruntime'
        : /^node_modules\/(sharp|@img)\//.test(n)
          ? 'sharp'
          : 'other node_modules';
    groups[g] += e.size;
  }
  return groups;
}

// ---------------------------------------------------------------------------------------------------------------

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

async function main() {
  const argv = process.argv.slice(2);
  const supported = supportedTargets();
  const requested = argv.flatMap((a, i) => (a === '--target' || a === '-t' ? [argv[i + 1]] : []));
  for (const t of requested) if (!supported.includes(t)) throw new Error(`unsupported target ${t}; supported: ${supported.join(', ')}`);
  const targets = requested.length ? requested : supported;
  const t0 = Date.now();

  const build = !argv.includes('--no-build');
  const buildStart = Date.now() - 1000; // file-system timestamps may be coarser than the clock
  if (build) run('npm', ['run', 'build', '--', '--production']);
  const buildEnd = Date.now() + 1000;
  // The bundles: what this build wrote at the top of dist/ (stale leftovers there are not the extension's)
  const bundles = fs.readdirSync(path.join(root, 'dist')).filter((f) => {
    const st = fs.statSync(path.join(root, 'dist', f));
    return st.isFile() && /\.(js|css)$/.test(f) && (!build || (st.mtimeMs >= buildStart && st.mtimeMs <= buildEnd));
  });
  fs.mkdirSync(outDir, { recursive: true });
  const closure = runtimeClosure();
  const stages = [];
  try {
    for (const target of targets) stages.push([target, stage(target, closure, bundles)]);
  } finally {
    // The stages hold copies of the production bundles: give dist/ its dev build (source maps) back.
    if (build) run('npm', ['run', 'build']);
  }

  const { createVSIX } = createRequire(import.meta.url)('@vscode/vsce');
  const summary = [];
  let failed = false;
  for (const [target, stageInfo] of stages) {
    const out = vsixPath(target);
    console.log(`\n=== ${target} ===`);
    await createVSIX({ cwd: stageInfo.dir, target, packagePath: out, useYarn: false, dependencies: true, rewriteRelativeLinks: false });
    const buf = fs.readFileSync(out);
    const entries = zipEntries(buf);
    const problems = checkVsix(target, entries, stageInfo);
    if (target === 'linux-x64' && buf.length >= LINUX_X64_BUDGET_BYTES)
      problems.push(`${(buf.length / MB).toFixed(1)} MB: over the ${LINUX_X64_BUDGET_BYTES / MB} MB budget`);
    let load = 'not run';
    if (problems.length === 0) {
      try {
        load = loadCheck(target, buf, entries);
      } catch (e) {
        problems.push(e.message);
      }
    }
    const groups = summarise(entries);
    summary.push({
      target,
      file: path.relative(root, out),
      bytes: buf.length,
      files: entries.length,
      uncompressedBytes: entries.reduce((s, e) => s + e.size, 0),
      uncompressedBytesByPart: groups,
      nativeFiles: entries.filter((e) => isNative(e.name)).map((e) => ({ path: e.name, bytes: e.size })),
      loadCheck: load,
      problems,
    });
    console.log(`${path.relative(root, out)}: ${(buf.length / MB).toFixed(1)} MB, ${entries.length} files`);
    console.log(
      '  unpacked: ' +
        Object.entries(groups)
          .map(([k, v]) => `${k} ${(v / MB).toFixed(1)} MB`)
          .join(', '),
    );
    for (const e of entries.filter((x) => isNative(x.name)))
      console.log(`  native: ${e.name.replace(/^extension\//, '')} (${(e.size / MB).toFixed(1)} MB)`);
    console.log(`  load check: ${load}`);
    for (const p of problems) console.error(`  ✗ ${p}`);
    if (problems.length) {
      failed = true;
      fs.rmSync(out, { force: true });
    } // a bad VSIX must not look current to vsixIsStale()
  }
  fs.writeFileSync(path.join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  if (!argv.includes('--keep-stage')) fs.rmSync(path.join(outDir, '.stage'), { recursive: true, force: true });

  console.log(`\n=== summary (${((Date.now() - t0) / 1000).toFixed(0)} s) ===`);
  for (const s of summary)
    console.log(
      `${s.problems.length ? '✗' : '✓'} ${s.target.padEnd(13)} ${(s.bytes / MB).toFixed(1).padStart(5)} MB  ${String(s.files).padStart(4)} files  ${s.file}`,
    );
  if (failed) process.exit(1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    console.error(`package: ${e?.message ?? e}`);
    process.exit(1);
  });
}
