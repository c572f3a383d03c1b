// One file from a hub, over real sockets: the local hub server (test/fixtures/builders/hubServer.ts) on
// 127.0.0.1, redirects, Range resume, verification, retries, error mapping, and proxies (a real
// CONNECT proxy in this process, TLS with a throw-away certificate when openssl is available).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HubServer, hubModelFromDir, startHubServer } from '../../fixtures/builders/hubServer';
import { bypassesProxy, proxyFor } from '../../../src/models/httpProxy';
import { classifyError, downloadFile, hubFileUrl, parseContentRange, sha256FromEtag } from '../../../src/models/hubDownload';
import { VitLensError } from '../../../src/shared/errors';
import { fixtureModels, tempDir } from '../support';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fast = { retries: 3, retryBaseMs: 5, retryMaxMs: 20 };

let hub: HubServer;
let dir: string;
let onnx: Buffer;
let config: Buffer;
const url = (file: string, repo = 'test/vit-tiny', rev = 'main') => hubFileUrl(hub.endpoint, repo, rev, file);

before(async () => {
  const modelDir = path.dirname(path.dirname(fixtureModels()['vit-tiny']));
  const model = hubModelFromDir('test/vit-tiny', modelDir);
  onnx = model.files['onnx/model.onnx'];
  config = model.files['config.json'];
  hub = await startHubServer({ models: [model] });
  dir = tempDir('vit-lens-dl-');
});
after(() => hub.close());

const reset = () => { hub.requests.length = 0; for (const k of Object.keys(hub.faults)) delete (hub.faults as Record<string, unknown>)[k]; };
const rejectsWith = async (p: Promise<unknown>, code: string, re?: RegExp) => {
  const e = await p.then(() => undefined, (err: unknown) => err);
  assert.ok(e instanceof VitLensError, `expected a VitLensError ${code}, got ${e}`);
  assert.equal(e.code, code, `${e.message} ${e.hint ?? ''}`);
  if (re) assert.match(`${e.message} ${e.hint ?? ''}`, re);
  return e;
};

describe('hub URLs and headers', () => {
  test('hubFileUrl encodes every segment and keeps an endpoint path prefix', () => {
    assert.equal(hubFileUrl('https://huggingface.co/', 'Xenova/vit-base-patch16-224', 'main', 'onnx/model.onnx'), 'https://huggingface.co/Xenova/vit-base-patch16-224/resolve/main/onnx/model.onnx');
    assert.equal(hubFileUrl('http://mirror.local/hf', 'o/n', 'v1.0', 'a b/c#d.json'), 'http://mirror.local/hf/o/n/resolve/v1.0/a%20b/c%23d.json');
    assert.throws(() => hubFileUrl('ftp://x', 'o/n', 'main', 'f'), /not an http\(s\) URL/);
  });

  test('sha256FromEtag takes 64-hex values only (quoted, W/, upper case), never a git-blob sha1', () => {
    const h = 'AFB6A5C28F3B6BF1618C6E43F02073EF9DFDC70E937502D51603E57B0A1DF10C';
    assert.equal(sha256FromEtag(`"${h}"`), h.toLowerCase());
    assert.equal(sha256FromEtag(`W/"${h.toLowerCase()}"`), h.toLowerCase());
    assert.equal(sha256FromEtag('"9c3ae9dd1b2b4bb1b37a43ac2a7a5c3dcb8d4c3d"'), undefined); // 40 hex: sha1
    assert.equal(sha256FromEtag('"abc"'), undefined);
    assert.equal(sha256FromEtag(undefined), undefined);
  });

  test('parseContentRange', () => {
    assert.deepEqual(parseContentRange('bytes 100-199/1000'), { start: 100, end: 199, total: 1000 });
    assert.deepEqual(parseContentRange('bytes 0-9/*'), { start: 0, end: 9, total: undefined });
    assert.equal(parseContentRange('bytes */1000'), undefined);
  });

  test('system errors map to specific codes (disk full, offline, TLS, reset)', () => {
    const err = (code: string) => Object.assign(new Error(`x ${code}`), { code });
    assert.equal(classifyError(err('ENOSPC'), 'http://h/f', '/c/f').code, 'DISK_FULL');
    assert.equal(classifyError(err('ENOTFOUND'), 'http://h/f', '/c/f').code, 'DOWNLOAD_OFFLINE');
    assert.equal(classifyError(err('ECONNREFUSED'), 'http://h/f', '/c/f').code, 'DOWNLOAD_OFFLINE');
    const tls = classifyError(err('SELF_SIGNED_CERT_IN_CHAIN'), 'https://h/f', '/c/f');
    assert.equal(tls.code, 'DOWNLOAD_FAILED');
    assert.match(tls.hint ?? '', /NODE_EXTRA_CA_CERTS/);
    const reset = classifyError(err('ECONNRESET'), 'http://h/f', '/c/f');
    assert.equal((reset as { retryable?: boolean }).retryable, true);
  });
});

describe('downloadFile against the local hub', () => {
  test('an LFS file: 302 to the CDN path, verified against X-Linked-Etag; a small file: direct, sha1 ETag ignored', async () => {
    reset();
    const dest = path.join(dir, 'full', 'model.onnx');
    const got = await downloadFile({ url: url('onnx/model.onnx'), dest, ...fast });
    assert.deepEqual(fs.readFileSync(dest), onnx);
    assert.equal(got.sha256, sha(onnx));
    assert.equal(got.verified, true);
    assert.match(got.commit ?? '', /^[0-9a-f]{40}$/);
    assert.deepEqual(hub.requests.map((r) => [r.kind, r.status]), [['resolve', 302], ['cdn', 200]]);
    assert.equal(fs.existsSync(`${dest}.part`), false);

    const small = await downloadFile({ url: url('config.json'), dest: path.join(dir, 'full', 'config.json'), ...fast });
    assert.deepEqual(fs.readFileSync(small.path), config);
    assert.equal(small.verified, false, 'a 40-hex git ETag is not a sha256');
  });

  test('absolute redirects are followed too', async () => {
    reset();
    hub.faults.absoluteRedirect = true;
    const got = await downloadFile({ url: url('onnx/model.onnx'), dest: path.join(dir, 'abs', 'model.onnx'), ...fast });
    assert.equal(got.sha256, sha(onnx));
  });

  test('a connection cut mid-file resumes with Range and yields the same bytes', async () => {
    reset();
    hub.faults.drop = { path: 'onnx/model.onnx', afterBytes: 200_000 };
    const seen: number[] = [];
    const dest = path.join(dir, 'drop', 'model.onnx');
    const got = await downloadFile({ url: url('onnx/model.onnx'), dest, ...fast, onProgress: (d) => seen.push(d) });
    const cdn = hub.requestsFor('onnx/model.onnx', 'cdn');
    assert.equal(cdn.length, 2);
    assert.equal(cdn[0].range, undefined);
    const m = /^bytes=(\d+)-$/.exec(cdn[1].range ?? '');
    assert.ok(m, `second request has a Range header (${cdn[1].range})`);
    assert.ok(Number(m[1]) > 0 && Number(m[1]) <= 200_000, `resumed at ${m[1]}`);
    assert.equal(cdn[1].status, 206);
    assert.equal(got.resumedFrom, Number(m[1]));
    assert.deepEqual(fs.readFileSync(dest), onnx);
    assert.ok(seen.every((d) => d <= onnx.length));
    assert.equal(seen.at(-1), onnx.length);
  });

  test('a part left by an earlier failure is resumed; a server that ignores Range restarts cleanly', async () => {
    for (const ignoreRange of [false, true]) {
      reset();
      const dest = path.join(dir, `part-${ignoreRange}`, 'model.onnx');
      hub.faults.drop = { path: 'onnx/model.onnx', afterBytes: 150_000 };
      await rejectsWith(downloadFile({ url: url('onnx/model.onnx'), dest, ...fast, retries: 0 }), 'DOWNLOAD_FAILED', /connection/i);
      const kept = fs.statSync(`${dest}.part`).size;
      assert.ok(kept > 0 && kept <= 150_000, 'the part survives a network failure');
      reset();
      hub.faults.ignoreRange = ignoreRange;
      const got = await downloadFile({ url: url('onnx/model.onnx'), dest, ...fast });
      const cdn = hub.requestsFor('onnx/model.onnx', 'cdn');
      assert.equal(cdn[0].range, `bytes=${kept}-`);
      assert.equal(cdn[0].status, ignoreRange ? 200 : 206);
      assert.equal(got.resumedFrom, ignoreRange ? 0 : kept);
      assert.deepEqual(fs.readFileSync(dest), onnx);
      assert.equal(fs.existsSync(`${dest}.part`), false);
    }
  });

  test('corrupted bytes: checksum mismatch, nothing left behind', async () => {
    reset();
    hub.faults.corrupt = { path: 'onnx/model.onnx' };
    const dest = path.join(dir, 'corrupt', 'model.onnx');
    await rejectsWith(downloadFile({ url: url('onnx/model.onnx'), dest, ...fast }), 'DOWNLOAD_CHECKSUM', /Checksum mismatch.*discarded/);
    assert.deepEqual(fs.readdirSync(path.dirname(dest)), []);
  });

  test('an expected sha256 that the server contradicts is refused before the body is read', async () => {
    reset();
    const dest = path.join(dir, 'pinned', 'model.onnx');
    await rejectsWith(downloadFile({ url: url('onnx/model.onnx'), dest, expectedSha256: '0'.repeat(64), ...fast }), 'DOWNLOAD_CHECKSUM', /catalogue expects 0{64}/);
    await rejectsWith(downloadFile({ url: url('onnx/model.onnx'), dest, expectedSize: onnx.length + 1, ...fast }), 'DOWNLOAD_CHECKSUM', /bytes; the catalogue expects/);
    assert.deepEqual(fs.readdirSync(path.dirname(dest)), []);
    const ok = await downloadFile({ url: url('onnx/model.onnx'), dest, expectedSha256: sha(onnx), expectedSize: onnx.length, ...fast });
    assert.equal(ok.verified, true);
  });

  test('404 names the URL; an unknown repository (401 RepoNotFound) is "not found" too', async () => {
    reset();
    const missing = url('onnx/missing.onnx');
    const e = await rejectsWith(downloadFile({ url: missing, dest: path.join(dir, 'nf', 'a'), ...fast }), 'DOWNLOAD_NOT_FOUND');
    assert.ok(e.message.includes(missing), e.message);
    await rejectsWith(downloadFile({ url: url('config.json', 'nobody/nothing'), dest: path.join(dir, 'nf', 'b'), ...fast }), 'DOWNLOAD_NOT_FOUND', /Repository not found.*token/s);
    await rejectsWith(downloadFile({ url: url('config.json', 'test/vit-tiny', 'v9'), dest: path.join(dir, 'nf', 'c'), ...fast }), 'DOWNLOAD_NOT_FOUND', /Revision not found/);
    assert.equal(hub.requests.length, 3, 'refusals are not retried');
  });

  test('401 without a token mentions one; the token is sent as Bearer and accepted', async () => {
    reset();
    hub.faults.token = 's3cret';
    const dest = path.join(dir, 'auth', 'config.json');
    await rejectsWith(downloadFile({ url: url('config.json'), dest, ...fast }), 'DOWNLOAD_UNAUTHORIZED', /gated.*token.*HF_TOKEN/s);
    await rejectsWith(downloadFile({ url: url('config.json'), dest, token: 'wrong', ...fast }), 'DOWNLOAD_UNAUTHORIZED', /token was refused/);
    const got = await downloadFile({ url: url('config.json'), dest, token: 's3cret', ...fast });
    assert.deepEqual(fs.readFileSync(got.path), config);
    assert.equal(hub.requests.at(-1)?.authorization, 'Bearer s3cret');
  });

  test('503 is retried with backoff, then succeeds', async () => {
    reset();
    hub.faults.status = { path: 'config.json', status: 503, times: 2 };
    const got = await downloadFile({ url: url('config.json'), dest: path.join(dir, 'retry', 'config.json'), ...fast });
    assert.deepEqual(fs.readFileSync(got.path), config);
    assert.deepEqual(hub.requestsFor('config.json').map((r) => r.status), [503, 503, 200]);
    assert.equal(got.attempts, 3);
  });

  test('persistent 5xx gives up after the retries with a clear error', async () => {
    reset();
    hub.faults.status = { path: 'config.json', status: 500 };
    await rejectsWith(downloadFile({ url: url('config.json'), dest: path.join(dir, 'r500', 'c'), ...fast, retries: 2 }), 'DOWNLOAD_FAILED', /HTTP 500.*gave up after 3 attempts/);
    assert.equal(hub.requestsFor('config.json').length, 3);
  });

  test('connection refused: DOWNLOAD_OFFLINE', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await rejectsWith(downloadFile({ url: `http://127.0.0.1:${port}/o/n/resolve/main/config.json`, dest: path.join(dir, 'off', 'c'), ...fast, retries: 1 }), 'DOWNLOAD_OFFLINE', /Cannot connect to 127\.0\.0\.1/);
  });

  test('cancellation removes the temporary file', async () => {
    reset();
    hub.faults.bytesPerSecond = 200_000;
    const controller = new AbortController();
    const dest = path.join(dir, 'cancel', 'model.onnx');
    let sawPart = false;
    const p = downloadFile({ url: url('onnx/model.onnx'), dest, ...fast, signal: controller.signal, onProgress: (d) => {
      if (d > 50_000 && !controller.signal.aborted) { sawPart = fs.existsSync(`${dest}.part`); controller.abort(); }
    } });
    await rejectsWith(p, 'CANCELLED');
    assert.ok(sawPart, 'the transfer was writing its .part when cancelled');
    assert.deepEqual(fs.readdirSync(path.dirname(dest)), []);
  });
});

describe('proxies', () => {
  test('proxyFor: scheme-specific variables, lower case first, NO_PROXY forms, loopback direct', () => {
    const env = { https_proxy: 'http://p1:3128', HTTPS_PROXY: 'http://p2:3128', HTTP_PROXY: 'p3:8080', NO_PROXY: 'internal.example, .corp.example,*.wild.example,onlyport.example:8443' };
    assert.equal(proxyFor(new URL('https://huggingface.co/x'), undefined, env)?.host, 'p1:3128');
    assert.equal(proxyFor(new URL('http://huggingface.co/x'), undefined, env)?.href, 'http://p3:8080/');
    for (const direct of ['https://internal.example/x', 'https://a.internal.example/x', 'https://b.corp.example/', 'https://corp.example/', 'https://x.wild.example/', 'https://onlyport.example:8443/', 'http://localhost:9/', 'http://127.0.0.5/', 'http://[::1]:80/']) {
      assert.equal(proxyFor(new URL(direct), undefined, env), null, direct);
    }
    assert.equal(proxyFor(new URL('https://onlyport.example/'), undefined, env)?.host, 'p1:3128', 'port-specific entry');
    assert.equal(proxyFor(new URL('https://notinternal.example/'), undefined, env)?.host, 'p1:3128', 'suffix needs a dot boundary');
    assert.equal(proxyFor(new URL('https://h/'), undefined, { ALL_PROXY: 'http://all:1' })?.host, 'all:1');
    assert.equal(proxyFor(new URL('https://h/'), undefined, { HTTPS_PROXY: 'http://p:1', no_proxy: '*' }), null);
    assert.equal(proxyFor(new URL('https://h/'), null, env), null, 'null = direct');
    assert.equal(proxyFor(new URL('http://127.0.0.1/'), 'http://explicit:1', {})?.host, 'explicit:1', 'an explicit proxy applies to loopback too');
    assert.throws(() => proxyFor(new URL('https://h/'), undefined, { HTTPS_PROXY: 'socks5://s:1080' }), /socks5 proxy .* not supported/);
    assert.equal(bypassesProxy(new URL('https://x.example/'), ''), false);
  });

  interface Seen { method: string; url: string; auth?: string }
  /** A minimal forward proxy: CONNECT tunnels and absolute-URI GETs; optionally demands credentials. */
  async function startProxy(requireAuth?: string): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
    const seen: Seen[] = [];
    const authorized = (h: http.IncomingHttpHeaders) => !requireAuth || h['proxy-authorization'] === `Basic ${Buffer.from(requireAuth).toString('base64')}`;
    const server = http.createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers['proxy-authorization'] });
      if (!authorized(req.headers)) { res.writeHead(407, { 'Proxy-Authenticate': 'Basic' }); res.end(); return; }
      const target = new URL(req.url ?? '');
      const up = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, headers: req.headers }, (r) => { res.writeHead(r.statusCode ?? 502, r.headers); r.pipe(res); });
      up.on('error', () => res.destroy());
      up.end();
    });
    const tunnels = new Set<net.Socket>(); // CONNECT sockets leave the server's bookkeeping: closed by hand
    server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      tunnels.add(client);
      seen.push({ method: 'CONNECT', url: req.url ?? '', auth: req.headers['proxy-authorization'] });
      if (!authorized(req.headers)) { client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n'); return; }
      const [host, port] = [req.url!.slice(0, req.url!.lastIndexOf(':')), Number(req.url!.slice(req.url!.lastIndexOf(':') + 1))];
      const upstream = net.connect(port, host.replace(/^\[|\]$/g, ''), () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      tunnels.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, seen, close: () => new Promise((r) => { for (const t of tunnels) t.destroy(); server.closeAllConnections(); server.close(() => r()); }) };
  }

  test('http target through a proxy: absolute-URI request, redirect followed through the proxy too', async () => {
    reset();
    const proxy = await startProxy('user:p@ss');
    try {
      const dest = path.join(dir, 'proxy-http', 'model.onnx');
      const proxyUrl = proxy.url.replace('http://', 'http://user:p%40ss@');
      await downloadFile({ url: url('onnx/model.onnx'), dest, proxy: proxyUrl, ...fast });
      assert.deepEqual(fs.readFileSync(dest), onnx);
      assert.deepEqual(proxy.seen.map((s) => [s.method, s.url]), [['GET', url('onnx/model.onnx')], ['GET', `${hub.endpoint}/cdn/${sha(onnx)}`]]);
      assert.ok(proxy.seen.every((s) => s.auth === `Basic ${Buffer.from('user:p@ss').toString('base64')}`));
      await rejectsWith(downloadFile({ url: url('config.json'), dest: path.join(dir, 'proxy-http', 'c'), proxy: proxy.url, ...fast }), 'DOWNLOAD_PROXY', /credentials/);
    } finally {
      await proxy.close();
    }
  });

  const openssl = spawnSync('openssl', ['version']).status === 0;
  test('https target through a proxy: CONNECT tunnel, TLS to the hub inside it', { skip: !openssl && 'openssl is not installed' }, async () => {
    const certDir = tempDir('vit-lens-tls-');
    const [key, cert] = [path.join(certDir, 'key.pem'), path.join(certDir, 'cert.pem')];
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const tlsHub = await startHubServer({ models: [hubModelFromDir('test/vit-tiny', path.dirname(path.dirname(fixtureModels()['vit-tiny'])))], tls: { key: fs.readFileSync(key), cert: fs.readFileSync(cert) } });
    const proxy = await startProxy('u:pw');
    try {
      const dest = path.join(dir, 'proxy-tls', 'model.onnx');
      const tlsUrl = hubFileUrl(tlsHub.endpoint, 'test/vit-tiny', 'main', 'onnx/model.onnx');
      const got = await downloadFile({ url: tlsUrl, dest, proxy: proxy.url.replace('http://', 'http://u:pw@'), ca: fs.readFileSync(cert), ...fast });
      assert.equal(got.sha256, sha(onnx));
      assert.equal(got.verified, true);
      assert.deepEqual(proxy.seen.map((s) => [s.method, s.url]), [['CONNECT', `127.0.0.1:${tlsHub.port}`], ['CONNECT', `127.0.0.1:${tlsHub.port}`]]);
      assert.deepEqual(tlsHub.requests.map((r) => r.kind), ['resolve', 'cdn'], 'the hub saw the requests through the tunnel');
      // Without the CA the certificate is refused, with a hint about corporate proxies.
      await rejectsWith(downloadFile({ url: tlsUrl, dest: path.join(dir, 'proxy-tls', 'x'), proxy: proxy.url.replace('http://', 'http://u:pw@'), ...fast }), 'DOWNLOAD_FAILED', /certificate.*NODE_EXTRA_CA_CERTS/s);
      // A proxy that refuses the tunnel.
      await rejectsWith(downloadFile({ url: tlsUrl, dest: path.join(dir, 'proxy-tls', 'y'), proxy: proxy.url, ca: fs.readFileSync(cert), ...fast }), 'DOWNLOAD_PROXY', /refused to connect.*credentials/s);
    } finally {
      await proxy.close();
      await tlsHub.close();
    }
  });
});
