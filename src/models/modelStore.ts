// The on-disk cache of downloaded models and the "pull" that fills it. (Not to be confused with
// src/core/engine/modelCache.ts, the engine's cache of loaded onnxruntime sessions.)
//
// Layout of a cache folder (the CLI's default: defaultCacheDir(); the extension passes its global storage):
//   <cacheDir>/<key>/                  a complete model, HF layout (onnx/model.onnx, config.json, …),
//   <cacheDir>/<key>/.vit-lens-model.json   its completion marker, written last
//   <cacheDir>/.downloads/<key>/       a model being downloaded (staging; files appear only when verified)
//   <cacheDir>/.downloads/<key>.lock   the cross-process download lock (fileLock.ts)
// <key> is the catalogue id, or "owner--name@revision" for a repository pulled by name. A model folder
// moves from staging to <cacheDir>/<key> in one rename once every file is verified, so the cache never
// holds a half-written model. Two pulls of one model in a process share one download; across processes
// the lock serialises them and the second finds the model complete.
// Runs in the extension host too: node built-ins only, never onnxruntime-node, sharp or vscode.
import { resolveDemoModel } from './demoModels';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { VitLensError } from '../shared/errors';
import { Catalogue, CatalogueEntry, CatalogueFile, findCatalogueEntry, isSafeRepoPath, loadCatalogue, unknownModelError } from './catalogue';
import { acquireLock, processAlive } from './fileLock';
import { DEFAULT_ENDPOINT, DownloadError, HttpOptions, downloadFile, hubFileUrl, normalizeEndpoint } from './hubDownload';

export const COMPLETE_MARKER = '.vit-lens-model.json';
const PARTIAL_RECORD = '.vit-lens-partial.json';
const STAGING = '.downloads';
const DEFAULT_FILES: CatalogueFile[] = [{ path: 'onnx/model.onnx' }, { path: 'config.json' }, { path: 'preprocessor_config.json' }];
const REPO_ARG = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([\w.-]+))?$/;
const KEY_RE = /^[A-Za-z0-9][\w.@-]*$/;

/** What to download: a catalogue entry, or a repository given by name. */
export interface ModelSource {
  /** Folder name in the cache. */
  key: string;
  /** Catalogue id, when from the catalogue. */
  id?: string;
  repo: string;
  revision: string;
  files: CatalogueFile[];
  approxSizeBytes?: number;
  exportHint?: string;
}

/** Progress of a model download (all files together). */
export interface DownloadProgress {
  /** Bytes of the model on disk so far (resumed bytes included). */
  bytesDone: number;
  /** Expected bytes of the whole model: refined as each file's response tells its exact size. */
  bytesTotal: number;
  /** The file being transferred (repository path), "" before the first. */
  file: string;
  /** Bytes per second over the last few seconds (0 while waiting). */
  speed: number;
  /** True while another process holds the download lock and this one waits for it. */
  waiting?: boolean;
}

export interface PullOptions extends HttpOptions {
  cacheDir: string;
  /** Hub base URL (default https://huggingface.co; the CLI also reads HF_ENDPOINT). */
  endpoint?: string;
  /** Download again even when the model is complete in the cache. */
  force?: boolean;
  onProgress?: (p: DownloadProgress) => void;
  /** Cross-process lock tuning (tests). */
  lock?: { pollMs?: number; staleMs?: number };
  catalogue?: Catalogue;
}

/** One model folder in the cache. */
export interface CachedModelInfo {
  key: string;
  id?: string;
  repo?: string;
  revision?: string;
  /** The commit the hub resolved the revision to, when it said (X-Repo-Commit). */
  commit?: string;
  /** The model folder (complete) or its staging folder (partial). */
  dir: string;
  /** The .onnx file to open (complete models only). */
  onnxPath?: string;
  sizeOnDisk: number;
  complete: boolean;
  /** A download of it holds the lock right now (this or another live process). */
  downloading?: boolean;
}

interface MarkerFile { path: string; size: number; sha256: string; verified: boolean }
interface CompleteMarker {
  format: 1;
  key: string;
  id?: string;
  repo: string;
  revision: string;
  commit?: string;
  endpoint: string;
  files: MarkerFile[];
  completedAt: string;
}
interface PartialRecord { files: Record<string, MarkerFile & { commit?: string }> }

/** The CLI's cache folder: $VITLENS_CACHE, else the platform's user cache folder + "vit-lens". */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = os.homedir()): string {
  if (env.VITLENS_CACHE) return path.resolve(env.VITLENS_CACHE);
  if (platform === 'win32') return path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'vit-lens', 'Cache');
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'vit-lens');
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'vit-lens');
}

/** The cache key of a repository given as "owner/name[@revision]", or undefined when `arg` is not of that form. */
function repoArg(arg: string): { repo: string; revision: string; key: string } | undefined {
  const m = REPO_ARG.exec(arg);
  if (!m) return undefined;
  const revision = m[3] ?? 'main';
  return { repo: `${m[1]}/${m[2]}`, revision, key: `${m[1]}--${m[2]}@${revision}` };
}

/** A catalogue id, a catalogue entry, or "owner/name[@revision]" (default files) → what to download. */
export function modelSource(target: string | CatalogueEntry | ModelSource, catalogue: Catalogue = loadCatalogue()): ModelSource {
  if (typeof target !== 'string') {
    if ('key' in target) {
      if (!KEY_RE.test(target.key)) throw new VitLensError('BAD_REQUEST', `"${target.key}" cannot be a cache folder name.`);
      if (!target.files.length || !target.files.every((f) => isSafeRepoPath(f.path))) throw new VitLensError('BAD_REQUEST', `The file list of ${target.repo} is empty or has unsafe paths.`);
      return target;
    }
    return { key: target.id, id: target.id, repo: target.repo, revision: target.revision, files: target.files, approxSizeBytes: target.approxSizeBytes, exportHint: target.exportHint };
  }
  const entry = findCatalogueEntry(target, catalogue);
  if (entry) return modelSource(entry, catalogue);
  const repo = repoArg(target);
  if (repo) return { ...repo, files: DEFAULT_FILES };
  throw unknownModelError(target, catalogue);
}

function readJsonFile<T>(file: string): T | undefined {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')) as T; } catch { return undefined; }
}

const localPath = (dir: string, repoPath: string) => path.join(dir, ...repoPath.split('/'));

/** The complete model `key` in `cacheDir`, or undefined (absent, partial, or files missing). Cheap and synchronous. */
export function cachedModel(cacheDir: string, key: string): CachedModelInfo | undefined {
  if (!KEY_RE.test(key)) return undefined;
  const dir = path.join(path.resolve(cacheDir), key);
  const marker = readJsonFile<CompleteMarker>(path.join(dir, COMPLETE_MARKER));
  if (!marker || marker.format !== 1 || !Array.isArray(marker.files)) return undefined;
  if (!marker.files.every((f) => fs.existsSync(localPath(dir, f.path)))) return undefined;
  const onnx = marker.files.find((f) => f.path.endsWith('.onnx'));
  return {
    key, id: marker.id, repo: marker.repo, revision: marker.revision, commit: marker.commit, dir,
    onnxPath: onnx && localPath(dir, onnx.path),
    sizeOnDisk: marker.files.reduce((s, f) => s + f.size, 0),
    complete: true,
  };
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  let entries: fs.Dirent[];
  try { entries = await fsp.readdir(dir, { withFileTypes: true }); } catch { return 0; }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(p);
    else if (e.isFile()) total += (await fsp.stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

const lockFile = (cacheDir: string, key: string) => path.join(cacheDir, STAGING, `${key}.lock`);
const inflight = new Map<string, SharedPull>();

/** Someone (this process or another live one) is downloading `key` now. */
function lockHeld(cacheDir: string, key: string): boolean {
  if (inflight.has(path.join(cacheDir, key))) return true;
  const file = lockFile(cacheDir, key);
  const holder = readJsonFile<{ pid: number; hostname: string }>(file);
  if (!holder) return false;
  if (holder.hostname === os.hostname()) return processAlive(holder.pid);
  // Another host: only its heartbeat tells (fileLock.ts refreshes the mtime every 10 s by default).
  try { return Date.now() - fs.statSync(file).mtimeMs < 60_000; } catch { return false; }
}

/** Every model folder of the cache: complete ones, and partial downloads (staging). */
export async function listCachedModels(cacheDir: string, catalogue: Catalogue = loadCatalogue()): Promise<CachedModelInfo[]> {
  const root = path.resolve(cacheDir);
  const out = new Map<string, CachedModelInfo>();
  const folders = async (dir: string) => (await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory() && KEY_RE.test(e.name)).map((e) => e.name);
  for (const key of await folders(root)) {
    const dir = path.join(root, key);
    out.set(key, cachedModel(root, key) ?? { key, dir, sizeOnDisk: await dirSize(dir), complete: false });
  }
  for (const key of await folders(path.join(root, STAGING))) {
    if (out.get(key)?.complete) continue;
    const dir = path.join(root, STAGING, key);
    out.set(key, { key, dir, sizeOnDisk: await dirSize(dir), complete: false });
  }
  return [...out.values()].map((m) => {
    const entry = findCatalogueEntry(m.key, catalogue);
    const downloading = lockHeld(root, m.key);
    return { ...m, id: m.id ?? entry?.id, repo: m.repo ?? entry?.repo, revision: m.revision ?? entry?.revision, ...(downloading ? { downloading } : {}) };
  }).sort((a, b) => a.key.localeCompare(b.key));
}

/** The cache key for a catalogue id, "owner/name[@revision]", or a key as listed. */
function keyOf(idOrKey: string, catalogue: Catalogue): string {
  if (findCatalogueEntry(idOrKey, catalogue)) return idOrKey;
  const repo = repoArg(idOrKey);
  if (repo) return repo.key;
  if (KEY_RE.test(idOrKey)) return idOrKey;
  throw new VitLensError('MODEL_UNKNOWN', `"${idOrKey}" is not a model id.`, 'See vit-lens models list.');
}

/** Removes a model (complete or partial) from the cache. False when there was nothing to remove. */
export async function removeCachedModel(cacheDir: string, idOrKey: string, catalogue: Catalogue = loadCatalogue()): Promise<boolean> {
  const root = path.resolve(cacheDir);
  const key = keyOf(idOrKey, catalogue);
  if (lockHeld(root, key)) {
    throw new VitLensError('BAD_REQUEST', `"${idOrKey}" is being downloaded right now.`, 'Cancel the download first, then remove it.');
  }
  let removed = false;
  for (const dir of [path.join(root, key), path.join(root, STAGING, key)]) {
    if (!fs.existsSync(dir)) continue;
    // Renamed away first, so nobody sees a half-deleted model under its name.
    const aside = path.join(root, STAGING, `${key}.removing-${randomUUID()}`);
    await fsp.mkdir(path.dirname(aside), { recursive: true });
    await fsp.rename(dir, aside);
    await fsp.rm(aside, { recursive: true, force: true });
    removed = true;
  }
  await fsp.rm(lockFile(root, key), { force: true });
  return removed;
}

/**
 * A model argument (CLI --model, a setting) → the .onnx path to open: an existing file or folder is
 * returned as is; a catalogue id or "owner/name[@revision]" must be complete in the cache
 * (MODEL_NOT_DOWNLOADED otherwise, naming `vit-lens models pull`).
 */
export function resolveModelArg(arg: string, cacheDir: string, catalogue: Catalogue = loadCatalogue()): string {
  if (fs.existsSync(arg)) return path.resolve(arg);
  const demo = resolveDemoModel(arg);
  if (demo) return demo;
  const entry = findCatalogueEntry(arg, catalogue);
  const repo = entry ? undefined : repoArg(arg);
  const key = entry?.id ?? repo?.key;
  if (key) {
    const cached = cachedModel(cacheDir, key);
    if (cached?.onnxPath) return cached.onnxPath;
    const partial = fs.existsSync(path.join(path.resolve(cacheDir), STAGING, key));
    const what = entry ? `Model "${arg}" is not downloaded yet${partial ? ' (a download of it was interrupted)' : ''}.` : `"${arg}" is neither a file nor a downloaded model.`;
    throw new VitLensError('MODEL_NOT_DOWNLOADED', what,
      `Download it with \`vit-lens models pull ${arg}\`${cacheDir ? ` (cache: ${cacheDir})` : ''}, or with "ViT Lens: Download Model…" in VS Code.`);
  }
  if (/[\\/]|\.onnx$/i.test(arg)) throw new VitLensError('MODEL_NOT_FOUND', `Model not found: ${arg}.`, 'Check the path, or give a catalogue id (vit-lens models list).');
  throw unknownModelError(arg, catalogue);
}

// ---------------------------------------------------------------------------------------------------
// Progress of a whole model: bytes and speed over all its files.

class ProgressMeter {
  private readonly expected = new Map<string, number>();
  private readonly done = new Map<string, number>();
  private transferred = 0;
  private readonly lastTransferred = new Map<string, number>();
  private samples: Array<{ t: number; bytes: number }> = [];
  private lastEmit = 0;
  private file = '';

  constructor(files: CatalogueFile[], approxSizeBytes: number | undefined, private readonly emit: (p: DownloadProgress) => void) {
    // Before any response: exact sizes where pinned, the catalogue's estimate for the model file.
    files.forEach((f, i) => this.expected.set(f.path, f.size ?? (i === 0 ? approxSizeBytes ?? 0 : 0)));
  }

  alreadyHave(file: string, size: number): void {
    this.expected.set(file, size);
    this.done.set(file, size);
  }

  update(file: string, bytesDone: number, bytesTotal: number | undefined, transferredInAttempt: number): void {
    const first = this.file !== file;
    this.file = file;
    if (bytesTotal !== undefined) this.expected.set(file, bytesTotal);
    this.done.set(file, bytesDone);
    // Count transfer for the speed (a new attempt starts again at 0).
    const last = this.lastTransferred.get(file) ?? 0;
    this.transferred += transferredInAttempt >= last ? transferredInAttempt - last : transferredInAttempt;
    this.lastTransferred.set(file, transferredInAttempt);
    const finished = bytesTotal !== undefined && bytesDone >= bytesTotal;
    this.report(first || finished);
  }

  waiting(): void {
    this.emit({ ...this.snapshot(Date.now()), speed: 0, waiting: true });
  }

  report(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastEmit < 100) return;
    this.lastEmit = now;
    this.emit(this.snapshot(now));
  }

  private snapshot(now: number): DownloadProgress {
    this.samples.push({ t: now, bytes: this.transferred });
    while (this.samples.length > 2 && now - this.samples[1].t > 5000) this.samples.shift();
    const oldest = this.samples[0];
    const dt = (now - oldest.t) / 1000;
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    const bytesDone = sum(this.done);
    return { bytesDone, bytesTotal: Math.max(sum(this.expected), bytesDone), file: this.file, speed: dt > 0 ? (this.transferred - oldest.bytes) / dt : 0 };
  }
}

// ---------------------------------------------------------------------------------------------------
// Pull: one shared download per model folder in this process, a lock across processes.

interface SharedPull {
  promise: Promise<CachedModelInfo>;
  listeners: Set<(p: DownloadProgress) => void>;
  controller: AbortController;
  callers: number;
  last?: DownloadProgress;
}

const cancelledError = () => new VitLensError('CANCELLED', 'Download cancelled.');

/**
 * Downloads a model into the cache (or returns it when already complete): `target` is a catalogue id,
 * a catalogue entry, "owner/name[@revision]" or a ModelSource. Concurrent pulls of the same model in
 * this process share one download; each caller gets the progress and may cancel with its own signal —
 * the download stops (and its files are removed) when the last caller cancels.
 */
export function pullModel(target: string | CatalogueEntry | ModelSource, o: PullOptions): Promise<CachedModelInfo> {
  let source: ModelSource;
  try {
    source = modelSource(target, o.catalogue);
  } catch (e) {
    return Promise.reject(e);
  }
  const cacheDir = path.resolve(o.cacheDir);
  const finalDir = path.join(cacheDir, source.key);
  let shared = inflight.get(finalDir);
  if (!shared) {
    const controller = new AbortController();
    const s: SharedPull = { listeners: new Set(), controller, callers: 0, promise: Promise.resolve(undefined as never) };
    s.promise = runPull(source, cacheDir, { ...o, signal: controller.signal }, (p) => {
      s.last = p;
      for (const l of s.listeners) l(p);
    }).finally(() => inflight.delete(finalDir));
    s.promise.catch(() => undefined); // every caller handles the outcome through join()
    inflight.set(finalDir, s);
    shared = s;
  }
  return joinPull(shared, o.signal, o.onProgress);
}

function joinPull(s: SharedPull, signal: AbortSignal | undefined, onProgress: ((p: DownloadProgress) => void) | undefined): Promise<CachedModelInfo> {
  s.callers++;
  if (onProgress) {
    s.listeners.add(onProgress);
    if (s.last) onProgress(s.last);
  }
  return new Promise((resolve, reject) => {
    let left = false;
    const leave = () => {
      if (left) return false;
      left = true;
      s.callers--;
      if (onProgress) s.listeners.delete(onProgress);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      if (s.callers > 0) { reject(cancelledError()); return; }
      // The last caller left: stop the download and answer once its files are cleaned up.
      s.controller.abort();
      s.promise.then(() => reject(cancelledError()), () => reject(cancelledError()));
    };
    if (signal?.aborted) { onAbort(); return; }
    signal?.addEventListener('abort', onAbort, { once: true });
    s.promise.then((v) => { if (leave()) resolve(v); }, (e) => { if (leave()) reject(e); });
  });
}

async function writeJsonAtomic(file: string, data: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(data, null, 1));
  await fsp.rename(tmp, file);
}

async function runPull(source: ModelSource, cacheDir: string, o: PullOptions & { signal: AbortSignal }, emit: (p: DownloadProgress) => void): Promise<CachedModelInfo> {
  const endpoint = normalizeEndpoint(o.endpoint ?? DEFAULT_ENDPOINT);
  if (!o.force) {
    const done = cachedModel(cacheDir, source.key);
    if (done) return done;
  }
  const stagingRoot = path.join(cacheDir, STAGING);
  const staging = path.join(stagingRoot, source.key);
  const meter = new ProgressMeter(source.files, source.approxSizeBytes, emit);
  try {
    await fsp.mkdir(stagingRoot, { recursive: true });
  } catch (e) {
    throw new DownloadError((e as NodeJS.ErrnoException).code === 'ENOSPC' ? 'DISK_FULL' : 'DOWNLOAD_FAILED', `Cannot create the model cache ${cacheDir}: ${(e as Error).message}.`, 'Choose a cache folder you can write to (--cache).', false);
  }
  const lock = await acquireLock(lockFile(cacheDir, source.key), { signal: o.signal, pollMs: o.lock?.pollMs, staleMs: o.lock?.staleMs, onWait: () => meter.waiting() });
  let record: PartialRecord = { files: {} };
  try {
    // Another process may have completed it while we waited for the lock.
    if (!o.force) {
      const done = cachedModel(cacheDir, source.key);
      if (done) return done;
    }
    const recordFile = path.join(staging, PARTIAL_RECORD);
    await fsp.mkdir(staging, { recursive: true });
    record = readJsonFile<PartialRecord>(recordFile) ?? record;
    let commit: string | undefined;
    for (const file of source.files) {
      const dest = localPath(staging, file.path);
      const have = record.files[file.path];
      const size = fs.existsSync(dest) ? fs.statSync(dest).size : -1;
      if (have && size === have.size && (!file.sha256 || file.sha256 === have.sha256)) {
        meter.alreadyHave(file.path, have.size); // verified by an earlier, interrupted pull
        commit ??= have.commit;
        continue;
      }
      const url = hubFileUrl(endpoint, source.repo, source.revision, file.path);
      let got;
      try {
        got = await downloadFile({ ...o, url, dest, expectedSha256: file.sha256, expectedSize: file.size, onProgress: (d, t, tr) => meter.update(file.path, d, t, tr) });
      } catch (e) {
        if (e instanceof VitLensError && e.code === 'DOWNLOAD_NOT_FOUND' && source.exportHint) {
          throw new VitLensError(e.code, e.message, `This model may not be published as ONNX on this hub. Export it yourself: ${source.exportHint}`);
        }
        throw e;
      }
      commit ??= got.commit;
      record.files[file.path] = { path: file.path, size: got.size, sha256: got.sha256, verified: got.verified, commit: got.commit };
      await writeJsonAtomic(recordFile, record);
    }
    const marker: CompleteMarker = {
      format: 1, key: source.key, ...(source.id ? { id: source.id } : {}), repo: source.repo, revision: source.revision,
      ...(commit ? { commit } : {}), endpoint,
      files: source.files.map((f) => { const r = record.files[f.path]; return { path: f.path, size: r.size, sha256: r.sha256, verified: r.verified }; }),
      completedAt: new Date().toISOString(),
    };
    await fsp.rm(recordFile, { force: true });
    await writeJsonAtomic(path.join(staging, COMPLETE_MARKER), marker);
    // Into place in one rename; a forced re-download swaps the old folder out first.
    const finalDir = path.join(cacheDir, source.key);
    if (fs.existsSync(finalDir)) {
      const old = path.join(stagingRoot, `${source.key}.old-${randomUUID()}`);
      await fsp.rename(finalDir, old);
      await fsp.rename(staging, finalDir);
      await fsp.rm(old, { recursive: true, force: true });
    } else {
      await fsp.rename(staging, finalDir);
    }
    meter.report(true);
    const done = cachedModel(cacheDir, source.key);
    if (!done) throw new VitLensError('INTERNAL', `The model ${source.key} was moved into the cache but cannot be read back from ${finalDir}.`);
    return done;
  } catch (e) {
    // Cancelled, or refused with nothing usable kept: nothing of this model stays behind. After a
    // network failure (or with verified files already there) the staging folder stays, so the next
    // pull resumes it.
    const resumable = e instanceof DownloadError && e.retryable;
    if (o.signal.aborted || (!resumable && Object.keys(record.files).length === 0)) await fsp.rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw o.signal.aborted ? cancelledError() : e;
  } finally {
    await lock.release();
  }
}

/** "346.5 MB": decimal units, as the hub shows sizes. */
export function formatBytes(n: number): string {
  if (!(n >= 1000)) return `${Math.max(0, Math.round(n))} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
