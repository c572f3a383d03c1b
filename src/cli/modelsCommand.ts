// `vit-lens models list|pull|rm`: the model catalogue and the download cache from the command line,
// on the same code as the extension (src/models). Imports no onnxruntime-node or sharp: listing
// and downloading never load a model.
import { VitLensError } from '../shared/errors';
import { usageError } from './context';
import { CatalogueEntry, loadCatalogue } from '../models/catalogue';
import { DEFAULT_ENDPOINT } from '../models/hubDownload';
import {
  CachedModelInfo,
  DownloadProgress,
  cachedModel,
  defaultCacheDir,
  formatBytes,
  listCachedModels,
  modelSource,
  pullModel,
  removeCachedModel,
} from '../models/modelStore';

export const MODELS_USAGE = `  vit-lens models list [--json] [--cache <dir>]
      The model catalogue: task, size, license, and whether each model is in the cache.
  vit-lens models pull <id|owner/name[@revision]> [--endpoint <url>] [--cache <dir>] [--token <hf-token>] [--force]
      Downloads a model into the cache (resumable, verified). Endpoint default: $HF_ENDPOINT or
      ${DEFAULT_ENDPOINT}; token default: $HF_TOKEN; proxies: HTTPS_PROXY / HTTP_PROXY / NO_PROXY.
  vit-lens models rm <id> [--cache <dir>]
      Removes a downloaded (or partly downloaded) model from the cache.
  Cache default: $VITLENS_CACHE, else the user cache folder (${defaultCacheDir()}).`;

interface ModelsFlags {
  positional: string[];
  values: Map<string, string>;
  switches: Set<string>;
}

/** --name value / --name=value for `valued`, bare --name for `switches`. */
function parseModelsFlags(argv: string[], valued: string[], switches: string[] = []): ModelsFlags {
  const f: ModelsFlags = { positional: [], values: new Map(), switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      f.positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    if (switches.includes(name)) {
      if (inline !== undefined) throw usageError(`--${name} takes no value`);
      f.switches.add(name);
      continue;
    }
    if (!valued.includes(name))
      throw usageError(`unknown option --${name} (known: ${[...valued, ...switches].map((k) => '--' + k).join(', ')})`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw usageError(`--${name} needs a value`);
    f.values.set(name, value);
  }
  return f;
}

const cacheDirOf = (f: ModelsFlags) => f.values.get('cache') ?? defaultCacheDir();

function cachedLabel(info: CachedModelInfo | undefined): string {
  if (!info) return '-';
  if (info.downloading) return 'downloading';
  return info.complete ? 'yes' : `partial (${formatBytes(info.sizeOnDisk)})`;
}

async function list(argv: string[]): Promise<number> {
  const f = parseModelsFlags(argv, ['cache'], ['json']);
  if (f.positional.length) throw usageError('models list takes no arguments');
  const cacheDir = cacheDirOf(f);
  const catalogue = loadCatalogue();
  const cached = new Map((await listCachedModels(cacheDir, catalogue)).map((m) => [m.key, m]));
  const others = [...cached.values()].filter((m) => !catalogue.models.some((e) => e.id === m.key));
  if (f.switches.has('json')) {
    const models = catalogue.models.map((e: CatalogueEntry) => {
      const c = cached.get(e.id);
      return {
        id: e.id,
        name: e.name,
        task: e.task,
        repo: e.repo,
        revision: e.revision,
        approxSizeBytes: e.approxSizeBytes,
        license: e.license,
        description: e.description,
        attention: e.attention,
        ...(e.unverified ? { unverified: e.unverified } : {}),
        cached: !!c?.complete,
        path: c?.complete ? (c.onnxPath ?? null) : null,
        sizeOnDisk: c?.sizeOnDisk ?? 0,
      };
    });
    console.log(
      JSON.stringify(
        {
          cacheDir,
          models,
          otherCached: others.map((m) => ({
            key: m.key,
            repo: m.repo ?? null,
            revision: m.revision ?? null,
            complete: m.complete,
            path: m.onnxPath ?? null,
            sizeOnDisk: m.sizeOnDisk,
          })),
        },
        null,
        1,
      ),
    );
    return 0;
  }
  const rows = catalogue.models.map((e) => [
    e.id,
    e.task,
    `~${formatBytes(e.approxSizeBytes)}`,
    e.license,
    /^[0-9a-f]{40}$/.test(e.revision) ? e.revision.slice(0, 8) : e.revision,
    cachedLabel(cached.get(e.id)),
  ]);
  const head = ['id', 'task', 'size', 'license', 'revision', 'cached'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  if (others.length) {
    console.log('\nother models in the cache:');
    for (const m of others) console.log(`  ${m.key}  ${formatBytes(m.sizeOnDisk)}  ${m.complete ? '' : cachedLabel(m)}`.trimEnd());
  }
  console.log(`\nWhat each model is good for, and what could not be confirmed against the hub: --json.\ncache: ${cacheDir}`);
  return 0;
}

/** The stderr progress line: bytes, percent and speed (rewritten in place on a terminal). */
function progressPrinter(id: string): { update(p: DownloadProgress): void; end(): void } {
  const tty = process.stderr.isTTY;
  let lastStep = -1;
  let lastFile = '';
  let printed = false;
  const text = (p: DownloadProgress) => {
    if (p.waiting) return `${id}: waiting for another process that is downloading it…`;
    const pct = p.bytesTotal > 0 ? (100 * p.bytesDone) / p.bytesTotal : 0;
    return `${id}: ${p.file || '…'}  ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}  ${pct.toFixed(1)}%  ${formatBytes(p.speed)}/s`;
  };
  return {
    update(p) {
      if (tty) {
        process.stderr.write(`\r${text(p).padEnd(78)}`);
        printed = true;
        return;
      }
      // Not a terminal (a log, CI): one line per file and per 10 %.
      const step = p.bytesTotal > 0 ? Math.floor((10 * p.bytesDone) / p.bytesTotal) : 0;
      if (p.waiting || step !== lastStep || p.file !== lastFile) {
        lastStep = step;
        lastFile = p.file;
        process.stderr.write(`${text(p)}\n`);
      }
    },
    end() {
      if (tty && printed) process.stderr.write('\n');
    },
  };
}

async function pull(argv: string[]): Promise<number> {
  const f = parseModelsFlags(argv, ['cache', 'endpoint', 'token'], ['force']);
  if (f.positional.length !== 1) throw usageError('models pull takes exactly one model id (see vit-lens models list)');
  const [id] = f.positional;
  const cacheDir = cacheDirOf(f);
  const endpoint = f.values.get('endpoint') ?? process.env.HF_ENDPOINT ?? DEFAULT_ENDPOINT;
  const token = f.values.get('token') ?? process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN ?? undefined;
  const source = modelSource(id); // MODEL_UNKNOWN for a typo, before anything is created
  const entry = loadCatalogue().models.find((m) => m.id === id);
  const already = !f.switches.has('force') && cachedModel(cacheDir, source.key);
  if (already) {
    console.log(`${id} is already in the cache: ${already.dir}`);
    return 0;
  }
  if (entry?.unverified) process.stderr.write(`note: ${entry.unverified}\n`);
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write('\ncancelling…\n');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  const progress = progressPrinter(id);
  try {
    const model = await pullModel(source, {
      cacheDir,
      endpoint,
      token: token || undefined,
      force: f.switches.has('force'),
      signal: controller.signal,
      onProgress: (p) => progress.update(p),
    });
    progress.end();
    console.log(
      `Downloaded ${id} (${formatBytes(model.sizeOnDisk)}${model.commit ? `, commit ${model.commit.slice(0, 10)}` : ''}) to ${model.dir}`,
    );
    console.log(`Use it: vit-lens attention <image> --model ${id}${f.values.has('cache') ? ` --cache ${f.values.get('cache')}` : ''}`);
    return 0;
  } catch (e) {
    progress.end();
    if (e instanceof VitLensError && e.code === 'CANCELLED') {
      console.error('vit-lens: download cancelled; nothing was kept.');
      return 130;
    }
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

async function remove(argv: string[]): Promise<number> {
  const f = parseModelsFlags(argv, ['cache']);
  if (f.positional.length !== 1) throw usageError('models rm takes exactly one model id');
  const cacheDir = cacheDirOf(f);
  if (await removeCachedModel(cacheDir, f.positional[0])) {
    console.log(`Removed ${f.positional[0]} from ${cacheDir}`);
    return 0;
  }
  console.error(`vit-lens: ${f.positional[0]} is not in the cache (${cacheDir}).`);
  return 1;
}

/**
 * Runs `vit-lens models …` and returns the exit code (2 for usage errors). Other errors (VitLensError:
 * download refused, offline, disk full, …) propagate to the caller, which prints them.
 */
export async function runModelsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'list') return await list(rest);
    if (sub === 'pull') return await pull(rest);
    if (sub === 'rm' || sub === 'remove') return await remove(rest);
    throw usageError(sub ? `unknown models command "${sub}"` : 'models needs a command: list, pull or rm');
  } catch (e) {
    if (e instanceof VitLensError && e.code === 'USAGE') {
      console.error(`vit-lens: ${e.message}\n\nUsage:\n${MODELS_USAGE}`);
      return 2;
    }
    throw e;
  }
}
