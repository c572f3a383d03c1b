// Whole models into the cache, over real sockets to the local hub: layout and completion marker,
// progress, resume, "never a half-written model" after a checksum failure or a cancel, shared
// parallel pulls, the cross-process lock (stale locks included), listing, removal and resolveModelArg.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { VitLensError } from '../../../src/shared/errors';
import { acquireLock } from '../../../src/models/fileLock';
import { COMPLETE_MARKER, DownloadProgress, ModelSource, cachedModel, defaultCacheDir, listCachedModels, pullModel, removeCachedModel, resolveModelArg } from '../../../src/models/modelStore';
import { HubModel, HubServer, hubModelFromDir, startHubServer } from '../../fixtures/builders/hubServer';
import { fixtureModels, tempDir } from '../support';

const fast = { retries: 3, retryBaseMs: 5, retryMaxMs: 20 };
let hub: HubServer;
let tiny: HubModel;
let external: HubModel;

const fixtureDir = (name: string) => path.dirname(path.dirname(fixtureModels()[name]));
const source = (repo: string, files: string[], key = repo.replace('/', '--')): ModelSource => ({ key, repo, revision: 'main', files: files.map((p) => ({ path: p })) });
const TINY_FILES = ['onnx/model.onnx', 'config.json', 'preprocessor_config.json'];
const tinySource = (key?: string) => source('test/vit-tiny', TINY_FILES, key);

before(async () => {
  tiny = hubModelFromDir('test/vit-tiny', fixtureDir('vit-tiny'));
  external = hubModelFromDir('test/vit-tiny-external', fixtureDir('vit-tiny-external'));
  hub = await startHubServer({ models: [tiny, external] });
});
after(() => hub.close());

const reset = () => { hub.requests.length = 0; for (const k of Object.keys(hub.faults)) delete (hub.faults as Record<string, unknown>)[k]; };
const errorOf = (p: Promise<unknown>) => p.then(() => assert.fail('expected a rejection'), (e: unknown) => { assert.ok(e instanceof VitLensError, String(e)); return e; });

/** Every file below `dir`, relative, "/"-separated. */
function walk(dir: string, sub = ''): string[] {
  if (!fs.existsSync(path.join(dir, sub))) return [];
  return fs.readdirSync(path.join(dir, sub), { withFileTypes: true }).flatMap((e) => {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    return e.isDirectory() ? [rel + '/', ...walk(dir, rel)] : [rel];
  });
}

describe('pullModel', () => {
  test('full download: HF layout under <cache>/<key>, marker written last, every byte equal, opens by folder', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    const events: DownloadProgress[] = [];
    const model = await pullModel(source('test/vit-tiny-external', ['onnx/model.onnx', 'onnx/model.onnx.data', 'config.json', 'preprocessor_config.json']), { cacheDir, endpoint: hub.endpoint, ...fast, onProgress: (p) => events.push({ ...p }) });
    assert.equal(model.dir, path.join(cacheDir, 'test--vit-tiny-external'));
    assert.equal(model.onnxPath, path.join(model.dir, 'onnx', 'model.onnx'));
    assert.equal(model.complete, true);
    for (const [file, data] of Object.entries(external.files)) assert.deepEqual(fs.readFileSync(path.join(model.dir, ...file.split('/'))), data, file);
    const total = Object.values(external.files).reduce((s, b) => s + b.length, 0);
    assert.equal(model.sizeOnDisk, total);
    const marker = JSON.parse(fs.readFileSync(path.join(model.dir, COMPLETE_MARKER), 'utf8'));
    assert.equal(marker.repo, 'test/vit-tiny-external');
    assert.match(marker.commit, /^[0-9a-f]{40}$/);
    assert.deepEqual(marker.files.map((f: { path: string; verified: boolean }) => [f.path, f.verified]), [['onnx/model.onnx', true], ['onnx/model.onnx.data', true], ['config.json', false], ['preprocessor_config.json', false]]);
    // Nothing else in the cache: no temporary files, an empty staging area.
    assert.deepEqual(walk(cacheDir).filter((f) => f === 'test--vit-tiny-external/' || !f.startsWith('test--vit-tiny-external/')).sort(), ['.downloads/', 'test--vit-tiny-external/']);
    // Progress: bytes only grow, end complete at the exact total, name the files, speed is a rate.
    assert.ok(events.length >= 4, `${events.length} progress events`);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].bytesDone >= events[i - 1].bytesDone);
    assert.deepEqual([events.at(-1)!.bytesDone, events.at(-1)!.bytesTotal], [total, total]);
    assert.ok(events.every((e) => e.bytesDone <= e.bytesTotal && Number.isFinite(e.speed) && e.speed >= 0));
    assert.deepEqual([...new Set(events.map((e) => e.file))], ['onnx/model.onnx', 'onnx/model.onnx.data', 'config.json', 'preprocessor_config.json']);
    // A second pull is answered from the cache, without a request.
    hub.requests.length = 0;
    assert.equal((await pullModel(source('test/vit-tiny-external', ['onnx/model.onnx']), { cacheDir, endpoint: hub.endpoint })).dir, model.dir);
    assert.equal(hub.requests.length, 0);
  });

  test('a connection dropped mid-file resumes with Range; the model is byte-identical', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    hub.faults.drop = { path: 'onnx/model.onnx', afterBytes: 300_000 };
    const model = await pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast });
    const cdn = hub.requestsFor('onnx/model.onnx', 'cdn');
    assert.deepEqual(cdn.map((r) => r.status), [200, 206]);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(cdn[1].range ?? '')?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 300_000, `resumed at ${cdn[1].range}`);
    assert.deepEqual(fs.readFileSync(model.onnxPath!), tiny.files['onnx/model.onnx']);
  });

  test('an interrupted pull leaves only staging; the next pull resumes it and skips finished files', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    // config.json is fetched last: make it fail for good, after the model file is complete.
    hub.faults.status = { path: 'preprocessor_config.json', status: 503 };
    const e = await errorOf(pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast, retries: 1 }));
    assert.equal(e.code, 'DOWNLOAD_FAILED');
    assert.equal(cachedModel(cacheDir, 'test--vit-tiny'), undefined);
    assert.equal(fs.existsSync(path.join(cacheDir, 'test--vit-tiny')), false, 'no model folder before it is complete');
    const listed = await listCachedModels(cacheDir);
    assert.deepEqual(listed.map((m) => [m.key, m.complete]), [['test--vit-tiny', false]]);
    assert.ok(listed[0].sizeOnDisk >= tiny.files['onnx/model.onnx'].length);
    assert.throws(() => resolveModelArg('test/vit-tiny', cacheDir), (err: VitLensError) => err.code === 'MODEL_NOT_DOWNLOADED' && /neither a file nor a downloaded model/.test(err.message) && /models pull test\/vit-tiny/.test(err.hint ?? ''));
    reset();
    const model = await pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast });
    assert.deepEqual(hub.requests.map((r) => r.file), ['preprocessor_config.json'], 'finished files are not fetched again');
    assert.deepEqual(fs.readFileSync(model.onnxPath!), tiny.files['onnx/model.onnx']);
  });

  test('checksum mismatch: the file is rejected and nothing of the model is left', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    hub.faults.corrupt = { path: 'onnx/model.onnx' };
    const e = await errorOf(pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast }));
    assert.equal(e.code, 'DOWNLOAD_CHECKSUM');
    assert.match(e.message, /Checksum mismatch/);
    assert.deepEqual(walk(cacheDir), ['.downloads/'], 'not even an empty staging folder');
    assert.equal(fs.existsSync(path.join(cacheDir, 'test--vit-tiny')), false);
    assert.equal(cachedModel(cacheDir, 'test--vit-tiny'), undefined);
  });

  test('404 names the URL, and a catalogue export hint is added', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    const e = await errorOf(pullModel({ ...tinySource(), files: [{ path: 'onnx/model_fp16.onnx' }], exportHint: 'torch.onnx.export(...)' }, { cacheDir, endpoint: hub.endpoint, ...fast }));
    assert.equal(e.code, 'DOWNLOAD_NOT_FOUND');
    assert.ok(e.message.includes(`${hub.endpoint}/test/vit-tiny/resolve/main/onnx/model_fp16.onnx`), e.message);
    assert.match(e.hint ?? '', /Export it yourself: torch\.onnx\.export/);
  });

  test('401 on a gated model asks for a token; with it the pull works', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    hub.faults.token = 'hf_test';
    const e = await errorOf(pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast }));
    assert.equal(e.code, 'DOWNLOAD_UNAUTHORIZED');
    assert.match(`${e.message} ${e.hint}`, /token/);
    const model = await pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, token: 'hf_test', ...fast });
    assert.equal(model.complete, true);
  });

  test('503 twice, then success: retried with backoff', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    hub.faults.status = { path: 'onnx/model.onnx', status: 503, times: 2 };
    const model = await pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast });
    assert.deepEqual(hub.requestsFor('onnx/model.onnx', 'resolve').map((r) => r.status), [503, 503, 302]);
    assert.equal(model.complete, true);
  });

  test('cancellation: the temporary file and the staging folder are removed', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    hub.faults.bytesPerSecond = 150_000;
    const controller = new AbortController();
    let partSeen = false;
    const p = pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast, signal: controller.signal, onProgress: (ev) => {
      if (ev.file === 'onnx/model.onnx' && ev.bytesDone > 40_000 && !controller.signal.aborted) {
        partSeen = walk(cacheDir).some((f) => f.endsWith('model.onnx.part'));
        controller.abort();
      }
    } });
    const e = await errorOf(p);
    assert.equal(e.code, 'CANCELLED');
    assert.ok(partSeen, 'a .part file existed while downloading');
    assert.deepEqual(walk(cacheDir), ['.downloads/'], 'only the empty staging area is left');
  });

  test('two parallel pulls of one model share one download; one caller cancelling does not stop the other', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    hub.faults.bytesPerSecond = 2_000_000;
    const a: DownloadProgress[] = [];
    const b: DownloadProgress[] = [];
    const [ma, mb] = await Promise.all([
      pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast, onProgress: (p) => a.push(p) }),
      pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast, onProgress: (p) => b.push(p) }),
    ]);
    assert.equal(ma.dir, mb.dir);
    // One request per small file; one resolve + one CDN transfer for the model file.
    for (const file of ['config.json', 'preprocessor_config.json']) assert.equal(hub.requestsFor(file).length, 1, file);
    assert.equal(hub.requestsFor('onnx/model.onnx', 'resolve').length, 1);
    assert.equal(hub.requestsFor('onnx/model.onnx', 'cdn').length, 1);
    assert.ok(a.length > 2 && b.length > 2, 'both callers saw progress');
    assert.equal(b.at(-1)!.bytesDone, a.at(-1)!.bytesDone);

    reset();
    const cacheDir2 = tempDir('vit-lens-cache-');
    hub.faults.bytesPerSecond = 400_000;
    const quitter = new AbortController();
    const first = pullModel(tinySource(), { cacheDir: cacheDir2, endpoint: hub.endpoint, ...fast, signal: quitter.signal, onProgress: (p) => { if (p.bytesDone > 20_000) quitter.abort(); } });
    const second = pullModel(tinySource(), { cacheDir: cacheDir2, endpoint: hub.endpoint, ...fast });
    assert.equal((await errorOf(first)).code, 'CANCELLED');
    const model = await second;
    assert.deepEqual(fs.readFileSync(model.onnxPath!), tiny.files['onnx/model.onnx']);
    assert.equal(hub.requestsFor('onnx/model.onnx', 'cdn').length, 1);
  });

  test('force downloads again and swaps the folder in one step', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    const first = await pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast });
    fs.writeFileSync(path.join(first.dir, 'stale.txt'), 'old');
    const again = await pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast, force: true });
    assert.equal(again.dir, first.dir);
    assert.equal(fs.existsSync(path.join(again.dir, 'stale.txt')), false);
    assert.equal(hub.requestsFor('onnx/model.onnx', 'cdn').length, 2);
    assert.deepEqual(walk(path.join(cacheDir, '.downloads')), []);
  });
});

describe('cross-process lock', () => {
  test('a live holder makes the pull wait; a dead holder\'s lock is taken over', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    const lockPath = path.join(cacheDir, '.downloads', 'test--vit-tiny.lock');
    fs.mkdirSync(path.dirname(lockPath), { recursive: true });
    // Held by this (live) process through a separate acquire: the pull must wait until it is released.
    const held = await acquireLock(lockPath, { staleMs: 60_000 });
    const events: DownloadProgress[] = [];
    const pending = pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast, lock: { pollMs: 20 }, onProgress: (p) => events.push(p) });
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(hub.requests.length, 0, 'no request while another holder has the lock');
    assert.ok(events.some((e) => e.waiting), 'the wait is reported');
    await held.release();
    assert.equal((await pending).complete, true);

    // A lock left by a process that no longer exists.
    const cacheDir2 = tempDir('vit-lens-cache-');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const lock2 = path.join(cacheDir2, '.downloads', 'test--vit-tiny.lock');
    fs.mkdirSync(path.dirname(lock2), { recursive: true });
    fs.writeFileSync(lock2, JSON.stringify({ pid: Number(dead.stdout), hostname: os.hostname(), startedAt: new Date().toISOString(), token: 'x' }));
    const t0 = Date.now();
    assert.equal((await pullModel(tinySource(), { cacheDir: cacheDir2, endpoint: hub.endpoint, ...fast, lock: { pollMs: 20 } })).complete, true);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(fs.existsSync(lock2), false, 'released after the pull');

    // A lock whose heartbeat stopped (another host, a frozen process): stale after staleMs.
    const cacheDir3 = tempDir('vit-lens-cache-');
    const lock3 = path.join(cacheDir3, '.downloads', 'test--vit-tiny.lock');
    fs.mkdirSync(path.dirname(lock3), { recursive: true });
    fs.writeFileSync(lock3, JSON.stringify({ pid: 1, hostname: 'elsewhere', startedAt: '', token: 'y' }));
    const old = new Date(Date.now() - 10_000);
    fs.utimesSync(lock3, old, old);
    assert.equal((await pullModel(tinySource(), { cacheDir: cacheDir3, endpoint: hub.endpoint, ...fast, lock: { pollMs: 20, staleMs: 2000 } })).complete, true);
  });
});

describe('cache listing, removal and model arguments', () => {
  test('listCachedModels, removeCachedModel, resolveModelArg', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    assert.deepEqual(await listCachedModels(path.join(cacheDir, 'absent')), []);
    // Under the catalogue id of ViT-B/16 (the local hub impersonates its repository).
    const hubAsVit = await startHubServer({ models: [{ ...tiny, repo: 'Xenova/vit-base-patch16-224' }] });
    try {
      const m = await pullModel('vit-base-patch16-224', { cacheDir, endpoint: hubAsVit.endpoint, ...fast });
      assert.equal(m.id, 'vit-base-patch16-224');
      assert.equal(resolveModelArg('vit-base-patch16-224', cacheDir), path.join(cacheDir, 'vit-base-patch16-224', 'onnx', 'model.onnx'));
    } finally {
      await hubAsVit.close();
    }
    const listed = await listCachedModels(cacheDir);
    assert.deepEqual(listed.map((m) => [m.key, m.id, m.complete, m.repo]), [['vit-base-patch16-224', 'vit-base-patch16-224', true, 'Xenova/vit-base-patch16-224']]);
    // Paths pass through untouched; ids need the cache; unknown names are named.
    const file = fixtureModels()['vit-tiny'];
    assert.equal(resolveModelArg(file, cacheDir), file);
    assert.equal(resolveModelArg(path.dirname(file), cacheDir), path.dirname(file));
    assert.throws(() => resolveModelArg('deit-tiny-distilled', cacheDir), (e: VitLensError) => e.code === 'MODEL_NOT_DOWNLOADED' && /vit-lens models pull deit-tiny-distilled/.test(e.hint ?? ''));
    assert.throws(() => resolveModelArg('no-such-model', cacheDir), (e: VitLensError) => e.code === 'MODEL_UNKNOWN' && /vit-base-patch16-224/.test(e.hint ?? ''));
    assert.throws(() => resolveModelArg('./missing/model.onnx', cacheDir), (e: VitLensError) => e.code === 'MODEL_NOT_FOUND');
    // Removal: the folder goes in one rename; a second removal finds nothing.
    assert.equal(await removeCachedModel(cacheDir, 'vit-base-patch16-224'), true);
    assert.equal(await removeCachedModel(cacheDir, 'vit-base-patch16-224'), false);
    assert.deepEqual(walk(cacheDir), ['.downloads/']);
    assert.throws(() => resolveModelArg('vit-base-patch16-224', cacheDir), /not downloaded yet/);
  });

  test('a model folder whose files were deleted is not complete', async () => {
    reset();
    const cacheDir = tempDir('vit-lens-cache-');
    const m = await pullModel(tinySource(), { cacheDir, endpoint: hub.endpoint, ...fast });
    fs.rmSync(m.onnxPath!);
    assert.equal(cachedModel(cacheDir, 'test--vit-tiny'), undefined);
    assert.equal((await listCachedModels(cacheDir))[0].complete, false);
  });

  test('defaultCacheDir follows VITLENS_CACHE, XDG_CACHE_HOME and the platform', () => {
    assert.equal(defaultCacheDir({ VITLENS_CACHE: '/x/y' }, 'linux', '/home/u'), path.resolve('/x/y'));
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/xdg' }, 'linux', '/home/u'), path.join('/xdg', 'vit-lens'));
    assert.equal(defaultCacheDir({}, 'linux', '/home/u'), path.join('/home/u', '.cache', 'vit-lens'));
    assert.equal(defaultCacheDir({}, 'darwin', '/Users/u'), path.join('/Users/u', 'Library', 'Caches', 'vit-lens'));
    assert.equal(defaultCacheDir({ LOCALAPPDATA: 'C:\\L' }, 'win32', 'C:\\U'), path.join('C:\\L', 'vit-lens', 'Cache'));
  });
});
