// The house's import rules (README, Architecture), as data and a checker the boundary test runs over the
// tree. Rooms by runtime: the engine (src/core, engine-side analysis files), the extension host (src/host,
// analyses' panel.ts), the CLI, the models room, the engine client, pure maths, shared contracts, and the
// browser side (webview/). Inside src/analyses/<name>/ the file name says its runtime:
//   descriptor.ts, types.ts, messages.ts, json.ts   neutral (any room, the webview included)
//   panel.ts                                        extension host
//   command.ts                                      CLI
//   anything else (pipeline.ts, engine.ts, …)       engine
import fs from 'node:fs';
import path from 'node:path';

export interface ImportRef {
  /** The importing file, repository-relative with forward slashes. */
  from: string;
  /** The specifier as written. */
  spec: string;
  /** The repository-relative target for relative specifiers (without extension), else undefined. */
  target?: string;
  /** `import type` / `export type`: erased at run time. */
  typeOnly: boolean;
}

export type Room =
  | 'scenes'
  | 'core'
  | 'engine-analysis'
  | 'host'
  | 'cli'
  | 'models'
  | 'client'
  | 'maths'
  | 'shared'
  | 'neutral-analysis'
  | 'registry'
  | 'webview';

const NEUTRAL_ANALYSIS_FILES = new Set(['descriptor', 'types', 'messages', 'json']);

/** The room of a repository-relative path (without extension), or undefined outside the product's sources. */
export function roomOf(p: string): Room | undefined {
  if (p.startsWith('webview/')) return 'webview';
  if (p.startsWith('src/core/')) return 'core';
  if (p.startsWith('src/host/')) return 'host';
  if (p.startsWith('src/cli/')) return 'cli';
  if (p.startsWith('src/models/')) return 'models';
  if (p.startsWith('src/client/')) return 'client';
  if (p.startsWith('src/maths/')) return 'maths';
  if (p.startsWith('src/scenes/')) return 'scenes';
  if (p.startsWith('src/shared/')) return 'shared';
  const m = /^src\/analyses\/(?:([^/]+)\/)?(.+)$/.exec(p);
  if (!m) return undefined;
  const [, analysis, rest] = m;
  if (!analysis) return rest === 'host' ? 'host' : rest === 'cli' ? 'cli' : rest === 'engine' ? 'engine-analysis' : 'registry'; // index, registry
  const file = rest.split('/').pop()!;
  if (!rest.includes('/') && NEUTRAL_ANALYSIS_FILES.has(file)) return 'neutral-analysis';
  if (rest === 'panel') return 'host';
  if (rest === 'command') return 'cli';
  return 'engine-analysis';
}

/** Which rooms each room may import at run time (type-only imports of shared contracts are always fine). */
const MAY_IMPORT: Record<Room, readonly Room[]> = {
  shared: [], // types only (checked separately: no runtime import at all)
  maths: ['maths', 'shared'],
  scenes: ['scenes', 'maths', 'shared'], // procedural scenes with ground truth: pure, shared by the demo, the tests and the trainers' export
  'neutral-analysis': ['neutral-analysis', 'maths', 'shared'],
  registry: ['neutral-analysis', 'registry', 'shared'],
  webview: ['webview', 'neutral-analysis', 'maths', 'shared'],
  client: ['client', 'shared'],
  models: ['models', 'shared'],
  core: ['core', 'maths', 'shared', 'neutral-analysis', 'registry', 'engine-analysis'],
  'engine-analysis': ['engine-analysis', 'core', 'maths', 'shared', 'neutral-analysis', 'registry'],
  host: ['host', 'client', 'models', 'maths', 'shared', 'neutral-analysis', 'registry'],
  cli: ['cli', 'client', 'models', 'maths', 'scenes', 'shared', 'neutral-analysis', 'registry'],
};

/** Packages each room may import (node:* built-ins aside). */
const MAY_USE_PACKAGE: Record<Room, readonly string[]> = {
  shared: [],
  maths: [],
  scenes: [],
  'neutral-analysis': [],
  registry: [],
  webview: [],
  client: [],
  models: [],
  core: ['onnxruntime-node', 'sharp'],
  'engine-analysis': ['onnxruntime-node', 'sharp'],
  host: ['vscode'],
  cli: ['sharp'],
};

/** Rooms that run in the browser too: no node:* built-ins. */
const BROWSER_ROOMS: readonly Room[] = ['webview', 'maths', 'scenes', 'shared', 'neutral-analysis', 'registry'];

/** The one core file that may import the analyses' engine table: the engine's dispatcher. */
const ENGINE_TABLE_USERS = new Set(['src/core/engine/engine']);

/** What is wrong with one import, or undefined when it keeps the rules. */
export function violation(ref: ImportRef): string | undefined {
  const fromRoom = roomOf(ref.from.replace(/\.(ts|mts)$/, ''));
  if (!fromRoom) return undefined;
  const where = `${ref.from} imports '${ref.spec}'`;
  if (!ref.target) {
    const pkg = ref.spec.startsWith('@') ? ref.spec.split('/').slice(0, 2).join('/') : ref.spec.split('/')[0];
    if (pkg.startsWith('node:') || (/^[a-z_]+$/.test(pkg) && NODE_BUILTINS.has(pkg))) {
      return BROWSER_ROOMS.includes(fromRoom) && !ref.typeOnly
        ? `${where}: ${fromRoom} code runs in the browser too, no Node built-ins`
        : undefined;
    }
    if (ref.typeOnly) return undefined;
    return MAY_USE_PACKAGE[fromRoom].includes(pkg) ? undefined : `${where}: ${fromRoom} code may not use the package ${pkg}`;
  }
  const toRoom = roomOf(ref.target);
  if (!toRoom) return ref.target.startsWith('test/') && !ref.typeOnly ? `${where}: product code does not import test code` : undefined;
  if (fromRoom === 'shared') return ref.typeOnly ? undefined : `${where}: shared contracts import nothing at run time (use import type)`;
  if (ref.typeOnly && (toRoom === 'shared' || toRoom === 'neutral-analysis' || toRoom === 'registry')) return undefined;
  if (toRoom === 'engine-analysis' && fromRoom === 'core' && !ENGINE_TABLE_USERS.has(ref.from.replace(/\.ts$/, '')))
    return `${where}: core code does not reach into an analysis (only the engine's dispatcher reads the analyses' table)`;
  if (
    ref.typeOnly &&
    fromRoom !== 'webview' &&
    toRoom !== 'webview' &&
    !(fromRoom === 'host' && (toRoom === 'core' || toRoom === 'engine-analysis'))
  )
    return undefined;
  return MAY_IMPORT[fromRoom].includes(toRoom) ? undefined : `${where}: ${fromRoom} code may not import ${toRoom} code (${ref.target})`;
}

const NODE_BUILTINS = new Set([
  'fs',
  'path',
  'os',
  'child_process',
  'crypto',
  'http',
  'https',
  'net',
  'tls',
  'url',
  'util',
  'stream',
  'zlib',
  'events',
  'worker_threads',
  'module',
  'buffer',
  'assert',
  'readline',
  'dns',
  'perf_hooks',
  'process',
  'timers',
]);

/** The imports of one source text (static, re-exports, dynamic import(), require()). */
export function importsOf(from: string, text: string): ImportRef[] {
  const refs: ImportRef[] = [];
  const re =
    /(?:^|[\s;])(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|(?:\bimport|\brequire)\s*\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of text.matchAll(re)) {
    const spec = m[3] ?? m[4];
    const typeOnly = !!m[2] || (!!m[3] && /import\s+\{\s*(?:type\s+[^,}]+,?\s*)+\}\s+from/.test(m[0]));
    refs.push({
      from,
      spec,
      typeOnly,
      target: spec.startsWith('.')
        ? path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(/\.(ts|js|json|css|wat)$/, '')
        : undefined,
    });
  }
  return refs;
}

/** Every .ts file under these folders, repository-relative. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  return dirs.flatMap((d) => {
    const abs = path.join(root, d);
    if (!fs.existsSync(abs)) return [];
    return (fs.readdirSync(abs, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => path.posix.join(d, f.split(path.sep).join('/')));
  });
}

/** Every violation in the tree under `root`. */
export function checkTree(root: string): string[] {
  return sourceFiles(root, ['src', 'webview']).flatMap((f) =>
    importsOf(f, fs.readFileSync(path.join(root, f), 'utf8'))
      .map(violation)
      .filter((v): v is string => !!v),
  );
}
