// Downloading one file from a Hugging Face-style hub ({endpoint}/{repo}/resolve/{revision}/{path}):
// redirects (the hub sends LFS files to a CDN), proxies (httpProxy.ts), a temporary `.part` file that
// an interrupted transfer resumes with an HTTP Range request, size and sha256 verification, retries
// with exponential backoff, and specific errors. The file appears under its final name only when
// complete and verified. Runs in the extension host too: node built-ins only (streams and native
// hashing, no blocking work on the thread); never onnxruntime-node, sharp or vscode.
import { createHash, Hash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { VitLensError, type ErrorCode } from '../shared/errors';
import { openRequest, proxyFor } from './httpProxy';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** Connection settings shared by every request of a download. */
export interface HttpOptions {
  /** Hugging Face token for gated/private models: `Authorization: Bearer`, sent to the endpoint's origin only (not to CDN redirects). */
  token?: string;
  /** Proxy URL; null = always direct; undefined = from HTTPS_PROXY/HTTP_PROXY/NO_PROXY (see httpProxy.ts). */
  proxy?: string | null;
  /** Environment for the proxy variables (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Extra trusted CA certificates. */
  ca?: string | Buffer | Array<string | Buffer>;
  signal?: AbortSignal;
  /** Retries after the first attempt for network errors, 5xx and 429 (default 4). */
  retries?: number;
  /** First backoff delay; doubles per retry, with jitter (default 500 ms). */
  retryBaseMs?: number;
  /** Longest backoff delay, also caps Retry-After (default 30 s). */
  retryMaxMs?: number;
  /** A connection idle this long fails (and is retried) (default 30 s). */
  idleTimeoutMs?: number;
  userAgent?: string;
}

export interface FileDownloadOptions extends HttpOptions {
  url: string;
  /** Final path; the transfer goes to `${dest}.part` (+ `${dest}.part.json`, what the part belongs to). */
  dest: string;
  /** Exact sha256 the file must have (e.g. pinned in the catalogue); the server's own is checked too. */
  expectedSha256?: string;
  expectedSize?: number;
  /** Called when a response tells the file's size (bytesTotal) and on every chunk (bytesDone includes resumed bytes). */
  onProgress?: (bytesDone: number, bytesTotal: number | undefined, transferred: number) => void;
}

export interface DownloadedFile {
  path: string;
  size: number;
  /** sha256 of the bytes written (always computed). */
  sha256: string;
  /** True when that sha256 was compared with one the server or the caller gave. */
  verified: boolean;
  /** The commit the hub resolved the revision to (X-Repo-Commit), when it says. */
  commit?: string;
  /** Bytes that were already on disk from an interrupted transfer. */
  resumedFrom: number;
  attempts: number;
}

/** A VitLensError that knows whether trying again can help. */
export class DownloadError extends VitLensError {
  constructor(code: ErrorCode, message: string, hint: string | undefined, readonly retryable: boolean, readonly retryAfterMs?: number) {
    super(code, message, hint);
  }
}

const MAX_REDIRECTS = 10;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** `{endpoint}/{repo}/resolve/{revision}/{path}`, every segment URL-encoded; an endpoint path prefix (mirrors) is kept. */
export function hubFileUrl(endpoint: string, repo: string, revision: string, filePath: string): string {
  const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');
  return `${normalizeEndpoint(endpoint)}/${enc(repo)}/resolve/${encodeURIComponent(revision)}/${enc(filePath)}`;
}

/** The endpoint without trailing slashes; BAD_REQUEST unless it is an http(s) URL. */
export function normalizeEndpoint(endpoint: string): string {
  let url: URL | undefined;
  try { url = new URL(endpoint); } catch { /* reported below */ }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
    throw new VitLensError('BAD_REQUEST', `The hub endpoint "${endpoint}" is not an http(s) URL.`, `Use e.g. ${DEFAULT_ENDPOINT} or your mirror's base URL.`);
  }
  return url.href.replace(/\/+$/, '');
}

/** A sha256 from an ETag-like header value: quotes and W/ stripped; only 64-hex values (a git-blob sha1 etag is not one). */
export function sha256FromEtag(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  const v = raw?.trim().replace(/^W\//i, '').replace(/^"(.*)"$/, '$1').toLowerCase();
  return v && SHA256_HEX.test(v) ? v : undefined;
}

/** "bytes 100-199/1000" → {start, end, total}; total undefined for "/*". */
export function parseContentRange(value: string | undefined): { start: number; end: number; total?: number } | undefined {
  const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(value?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

const header = (res: http.IncomingMessage, name: string): string | undefined => {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

const cancelled = () => new VitLensError('CANCELLED', 'Download cancelled.');

/** Maps an HTTP status to an error; the hub's X-Error-Code tells a missing repo from a gated one. */
export function httpStatusError(status: number, url: string, res: { headers: http.IncomingHttpHeaders } | undefined, hasToken: boolean): DownloadError {
  const hubCode = (res && (Array.isArray(res.headers['x-error-code']) ? res.headers['x-error-code'][0] : res.headers['x-error-code'])) ?? '';
  const retryAfter = res ? Number(Array.isArray(res.headers['retry-after']) ? res.headers['retry-after'][0] : res.headers['retry-after']) : NaN;
  if (hubCode === 'RepoNotFound' || hubCode === 'RevisionNotFound' || hubCode === 'EntryNotFound' || status === 404) {
    const what = hubCode === 'RepoNotFound' ? 'Repository not found' : hubCode === 'RevisionNotFound' ? 'Revision not found' : 'Not found';
    const hint = hubCode === 'RepoNotFound' && !hasToken ? 'Check the repository name; a private repository also answers like this without a token (--token or HF_TOKEN).' : 'Check the model id, revision and endpoint (--endpoint); the repository may not publish this file.';
    return new DownloadError('DOWNLOAD_NOT_FOUND', `${what}: ${url} (HTTP ${status}).`, hint, false);
  }
  if (status === 401 || status === 403) {
    const gated = hubCode === 'GatedRepo' ? ' The model is gated.' : '';
    const hint = hasToken
      ? 'The token was refused: check that it is valid, has read access, and that you accepted the model\'s terms on its page.'
      : 'The model may be gated or private: accept its terms on its Hugging Face page and pass a token (--token, or the HF_TOKEN environment variable).';
    return new DownloadError('DOWNLOAD_UNAUTHORIZED', `Access denied to ${url} (HTTP ${status}).${gated}`, hint, false);
  }
  if (status === 407) return new DownloadError('DOWNLOAD_PROXY', `The proxy wants credentials for ${url} (HTTP 407).`, 'Put them in the proxy URL: http://user:password@host:port.', false);
  if (status === 429 || status >= 500) {
    return new DownloadError('DOWNLOAD_FAILED', `The server answered HTTP ${status} for ${url}.`, 'The hub is busy or down; try again later.', true, Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined);
  }
  return new DownloadError('DOWNLOAD_FAILED', `Unexpected HTTP ${status} for ${url}.`, 'Check the endpoint (--endpoint).', false);
}

/** Maps a Node network or file-system error to a DownloadError (CANCELLED when the signal fired). */
export function classifyError(e: unknown, url: string, dest: string, signal?: AbortSignal): VitLensError {
  if (signal?.aborted) return cancelled();
  if (e instanceof VitLensError) return e;
  const err = e as NodeJS.ErrnoException;
  const code = err?.code ?? '';
  const host = (() => { try { return new URL(url).host; } catch { return url; } })();
  const msg = err?.message ?? String(e);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new DownloadError('DISK_FULL', `The disk is full: cannot write ${dest}.`, 'Free some space (or choose another cache folder) and download again.', false);
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new DownloadError('DOWNLOAD_FAILED', `Cannot write ${dest} (${code}).`, 'Choose a cache folder you can write to (--cache).', false);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL') {
    return new DownloadError('DOWNLOAD_OFFLINE', `Cannot resolve ${host}: offline, or DNS is failing.`, 'Check the internet connection, the endpoint (--endpoint) and the proxy settings (HTTPS_PROXY).', true);
  }
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENETDOWN' || code === 'EADDRNOTAVAIL') {
    return new DownloadError('DOWNLOAD_OFFLINE', `Cannot connect to ${host} (${code}).`, 'Check the internet connection, the endpoint (--endpoint) and the proxy settings (HTTPS_PROXY).', true);
  }
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/i.test(code)) {
    return new DownloadError('DOWNLOAD_FAILED', `The TLS certificate of ${host} was not accepted (${code || msg}).`, 'Behind a TLS-inspecting proxy, add its CA certificate (NODE_EXTRA_CA_CERTS).', false);
  }
  // Everything else on a socket (reset, timeout, premature close, a server that hung up) is worth another try.
  return new DownloadError('DOWNLOAD_FAILED', `The connection to ${host} failed: ${msg}${code && !msg.includes(code) ? ` (${code})` : ''}.`, 'Try again; an interrupted download resumes where it stopped.', true);
}

/** Waits `ms`, rejecting with CANCELLED when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(cancelled()); return; }
    const onAbort = () => { clearTimeout(timer); reject(cancelled()); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Opened {
  res: http.IncomingMessage;
  url: string;
  /** From X-Linked-Etag on any hop, else a 64-hex ETag of the hub's own (first) response. */
  sha256?: string;
  /** X-Linked-Size of an LFS file. */
  linkedSize?: number;
  commit?: string;
}

/** GET with Range from `offset`, following redirects (relative or absolute Location). */
async function openFollowingRedirects(url: string, offset: number, o: FileDownloadOptions): Promise<Opened> {
  let current = new URL(url);
  const origin = current.origin;
  let linkedSha: string | undefined;
  let firstEtagSha: string | undefined;
  let linkedSize: number | undefined;
  let commit: string | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'User-Agent': o.userAgent ?? 'vit-lens', 'Accept-Encoding': 'identity' };
    if (offset > 0) headers.Range = `bytes=${offset}-`;
    // The token goes to the hub only: CDN redirects carry signed URLs, and a token must not leak to other hosts.
    if (o.token && current.origin === origin) headers.Authorization = `Bearer ${o.token}`;
    const res = await openRequest(current, { headers, proxy: proxyFor(current, o.proxy, o.env), ca: o.ca, idleTimeoutMs: o.idleTimeoutMs ?? 30_000, signal: o.signal });
    linkedSha ??= sha256FromEtag(res.headers['x-linked-etag']);
    if (hop === 0) firstEtagSha = sha256FromEtag(res.headers.etag);
    const size = Number(header(res, 'x-linked-size'));
    if (linkedSize === undefined && Number.isSafeInteger(size) && size >= 0 && header(res, 'x-linked-size') !== undefined) linkedSize = size;
    commit ??= header(res, 'x-repo-commit');
    const status = res.statusCode ?? 0;
    const location = header(res, 'location');
    if ([301, 302, 303, 307, 308].includes(status) && location) {
      res.resume(); // drain: the body of a redirect is not needed
      current = new URL(location, current);
      continue;
    }
    return { res, url: current.href, sha256: linkedSha ?? firstEtagSha, linkedSize, commit };
  }
  throw new DownloadError('DOWNLOAD_FAILED', `Too many redirects for ${url}.`, 'Check the endpoint (--endpoint).', false);
}

interface PartMeta { url: string; sha256?: string; size?: number }

async function readPartMeta(file: string): Promise<PartMeta | undefined> {
  try { return JSON.parse(await fsp.readFile(file, 'utf8')) as PartMeta; } catch { return undefined; }
}

async function fileSize(file: string): Promise<number> {
  try { return (await fsp.stat(file)).size; } catch { return 0; }
}

async function removeQuietly(...files: string[]): Promise<void> {
  await Promise.all(files.map((f) => fsp.rm(f, { force: true }).catch(() => undefined)));
}

/** Feeds the first `length` bytes of `file` into `hash` (resuming: the digest covers the whole file). */
async function hashPrefix(file: string, length: number, hash: Hash, signal?: AbortSignal): Promise<void> {
  await pipeline(fs.createReadStream(file, { start: 0, end: length - 1 }), async (chunks: AsyncIterable<Buffer>) => {
    for await (const c of chunks) hash.update(c);
  }, { signal });
}

/** Thrown inside an attempt when the part file must be dropped and the transfer restarted at once. */
class RestartFromZero extends Error {
  constructor() { super('the server answered with a byte range that does not continue the partial file'); }
}

/**
 * Downloads `o.url` to `o.dest`: resumes a `.part` left by an interrupted transfer (Range; a server
 * that ignores Range restarts cleanly), verifies the size and the sha256 (the caller's and/or the
 * server's X-Linked-Etag/ETag), then renames. Network errors, 5xx and 429 are retried with backoff.
 * On cancellation, a checksum mismatch or a refusal (401/403/404) the part file is removed; after
 * network failures it is kept, so the next call resumes it.
 */
export async function downloadFile(o: FileDownloadOptions): Promise<DownloadedFile> {
  const part = `${o.dest}.part`;
  const metaFile = `${o.dest}.part.json`;
  const retries = o.retries ?? 4;
  const base = o.retryBaseMs ?? 500;
  const maxDelay = o.retryMaxMs ?? 30_000;
  let attempt = 0;
  let restarts = 0;
  let cleanRestartDone = false;
  try {
    await fsp.mkdir(path.dirname(o.dest), { recursive: true });
    for (;;) {
      if (o.signal?.aborted) throw cancelled();
      // A part written for another URL (or without a record) cannot be trusted to continue.
      const meta = await readPartMeta(metaFile);
      const offset = meta?.url === o.url ? await fileSize(part) : 0;
      if (offset === 0) await removeQuietly(part, metaFile);
      try {
        return await attemptOnce(o, part, metaFile, offset, attempt + 1);
      } catch (e) {
        // (bounded: a server that keeps answering odd ranges is an error, not a loop)
        if (e instanceof RestartFromZero && restarts++ < 3) { await removeQuietly(part, metaFile); continue; }
        const err = classifyError(e, o.url, o.dest, o.signal);
        // A mismatch after resuming may come from a stale part: one clean retry before giving up.
        if (err.code === 'DOWNLOAD_CHECKSUM' && offset > 0 && !cleanRestartDone) {
          cleanRestartDone = true;
          await removeQuietly(part, metaFile);
          continue;
        }
        const retryable = err instanceof DownloadError && err.retryable;
        if (!retryable || attempt >= retries) {
          if (retryable && attempt > 0) throw new DownloadError(err.code, `${err.message} (gave up after ${attempt + 1} attempts)`, err.hint, true);
          throw err;
        }
        const backoff = Math.min(maxDelay, base * 2 ** attempt) * (0.75 + Math.random() * 0.5);
        await sleep(Math.min(maxDelay, Math.max(backoff, (err as DownloadError).retryAfterMs ?? 0)), o.signal);
        attempt++;
      }
    }
  } catch (e) {
    const err = classifyError(e, o.url, o.dest, o.signal);
    // Keep a part only where resuming makes sense: the transfer was cut, not refused or wrong.
    if (!(err instanceof DownloadError && err.retryable)) await removeQuietly(part, metaFile);
    throw err;
  }
}

/**
 * Streams a response body into `file` (appending or truncating), with backpressure. When the
 * connection breaks, what was received is still flushed to disk before the error is raised, so the
 * next attempt resumes from there; cancellation and write errors stop at once.
 */
function receiveBody(res: http.IncomingMessage, file: string, append: boolean, onChunk: (chunk: Buffer) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(file, { flags: append ? 'a' : 'w' });
    let broken: Error | undefined;
    let settled = false;
    let ended = false;
    const endOut = () => { if (!ended) { ended = true; out.end(); } };
    const settle = (e?: Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (e) reject(e); else resolve();
    };
    // Settled once the file is closed, so the caller can delete it (Windows refuses to delete open files).
    const onAbort = () => {
      const reason = signal?.reason instanceof Error ? signal.reason : new Error('aborted');
      res.destroy();
      if (out.closed) settle(reason); else { out.once('close', () => settle(reason)); out.destroy(); }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    res.on('data', (chunk: Buffer) => {
      onChunk(chunk);
      if (!out.write(chunk)) res.pause();
    });
    out.on('drain', () => res.resume());
    res.once('end', endOut);
    // 'aborted'/'error': the server or the network cut the body short: keep what arrived.
    const cut = (e?: Error) => { broken ??= e ?? Object.assign(new Error('the connection closed mid-file'), { code: 'ECONNRESET' }); endOut(); };
    res.once('aborted', () => cut());
    res.once('error', cut);
    res.once('close', () => { if (!res.complete) cut(); });
    out.once('finish', () => settle(broken));
    out.once('error', (e) => { res.destroy(); settle(e); });
  });
}

async function attemptOnce(o: FileDownloadOptions, part: string, metaFile: string, offset: number, attempts: number): Promise<DownloadedFile> {
  const opened = await openFollowingRedirects(o.url, offset, o);
  const { res } = opened;
  const status = res.statusCode ?? 0;
  let start = 0;
  let total: number | undefined;
  if (status === 416 && offset > 0) {
    // Range past the end: the part may already hold the whole file ("bytes */total").
    res.resume();
    const m = /^bytes\s+\*\/(\d+)$/i.exec(header(res, 'content-range') ?? '');
    if (!m || Number(m[1]) !== offset) throw new RestartFromZero();
    return finish(o, part, metaFile, { start: offset, total: offset, opened, attempts, hash: undefined });
  }
  if (status === 206) {
    const range = parseContentRange(header(res, 'content-range'));
    // A range that does not start where our part ends cannot be appended.
    if (!range || range.start !== offset) { res.resume(); throw new RestartFromZero(); }
    start = offset;
    total = range.total;
  } else if (status === 200) {
    start = 0; // a server that ignores Range sends everything: start over (the 'w' flag below truncates)
    const length = Number(header(res, 'content-length'));
    total = header(res, 'content-length') !== undefined && Number.isSafeInteger(length) ? length : undefined;
  } else {
    res.resume();
    throw httpStatusError(status, opened.url === o.url ? o.url : `${o.url} (redirected to ${opened.url})`, res, !!o.token);
  }
  total ??= opened.linkedSize;
  if (opened.linkedSize !== undefined && total !== opened.linkedSize) {
    res.resume();
    throw new DownloadError('DOWNLOAD_CHECKSUM', `${o.url}: the hub announced ${opened.linkedSize} bytes but the file server sends ${total}.`, 'Try again later; if it persists, the mirror is inconsistent.', false);
  }
  if (o.expectedSha256 && opened.sha256 && opened.sha256 !== o.expectedSha256) {
    res.resume();
    throw new DownloadError('DOWNLOAD_CHECKSUM', `${o.url} is not the expected file: the server's sha256 is ${opened.sha256}, the catalogue expects ${o.expectedSha256}.`, 'The catalogue entry may be out of date, or the endpoint serves another version.', false);
  }
  if (o.expectedSize !== undefined && total !== undefined && total !== o.expectedSize) {
    res.resume();
    throw new DownloadError('DOWNLOAD_CHECKSUM', `${o.url} is ${total} bytes; the catalogue expects ${o.expectedSize}.`, 'The catalogue entry may be out of date, or the endpoint serves another version.', false);
  }
  const meta: PartMeta = { url: o.url, sha256: o.expectedSha256 ?? opened.sha256, size: total };
  await fsp.writeFile(metaFile, JSON.stringify(meta));
  const hash = createHash('sha256');
  if (start > 0) await hashPrefix(part, start, hash, o.signal);
  let done = start;
  let transferred = 0;
  o.onProgress?.(done, total, 0);
  await receiveBody(res, part, start > 0, (chunk) => {
    hash.update(chunk);
    done += chunk.length;
    transferred += chunk.length;
    o.onProgress?.(done, total, transferred);
  }, o.signal);
  if (total !== undefined && done < total) {
    throw new DownloadError('DOWNLOAD_FAILED', `The connection closed after ${done} of ${total} bytes of ${o.url}.`, 'Try again; the download resumes.', true);
  }
  return finish(o, part, metaFile, { start, total: total ?? done, opened, attempts, hash });
}

async function finish(o: FileDownloadOptions, part: string, metaFile: string, r: { start: number; total: number; opened: Opened; attempts: number; hash: Hash | undefined }): Promise<DownloadedFile> {
  const size = await fileSize(part);
  if (size !== r.total || (o.expectedSize !== undefined && size !== o.expectedSize)) {
    throw new DownloadError('DOWNLOAD_CHECKSUM', `${o.url}: ${size} bytes were written, ${o.expectedSize ?? r.total} expected.`, 'Download again.', false);
  }
  let sha256: string;
  if (r.hash) sha256 = r.hash.digest('hex');
  else { const h = createHash('sha256'); if (size > 0) await hashPrefix(part, size, h, o.signal); sha256 = h.digest('hex'); }
  const expected = o.expectedSha256 ?? r.opened.sha256 ?? (await readPartMeta(metaFile))?.sha256;
  if (expected && sha256 !== expected) {
    throw new DownloadError('DOWNLOAD_CHECKSUM', `Checksum mismatch for ${o.url}: sha256 ${sha256}, expected ${expected}. The file was discarded.`, 'Download again; if it persists, the server or a proxy is altering the file.', false);
  }
  // Flushed to disk before the rename, so a crash never leaves a short file under the final name.
  const handle = await fsp.open(part, 'r+');
  try { await handle.sync(); } finally { await handle.close(); }
  await fsp.rename(part, o.dest);
  await removeQuietly(metaFile);
  return { path: o.dest, size, sha256, verified: !!expected, commit: r.opened.commit, resumedFrom: r.start, attempts: r.attempts };
}
