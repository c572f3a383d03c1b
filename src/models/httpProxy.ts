// Opening one HTTP(S) request, directly or through a proxy, with node:http/https/tls only.
// Supported: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (lower case first, as curl and most Node tools) with
// an http:// or https:// proxy URL, optional user:password (sent as Proxy-Authorization: Basic);
// https targets are tunnelled with CONNECT, http targets sent to the proxy with an absolute URI.
// NO_PROXY: comma/space separated host names, ".suffix" or "*.suffix" (matching the host and its
// subdomains), optional ":port", or "*" for everything; IP ranges (CIDR) are not supported.
// Loopback hosts (localhost, 127.0.0.0/8, ::1) never go through a proxy. SOCKS proxies are refused
// with a clear error. Runs in the extension host too: no onnxruntime-node, sharp or vscode here.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { VitLensError } from '../shared/errors';

export interface ConnectOptions {
  headers: Record<string, string>;
  /** The proxy for this request (see proxyFor), or null for a direct connection. */
  proxy: URL | null;
  /** Extra trusted CA certificates (a TLS-inspecting corporate proxy, a mirror with a private CA). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** The socket may stay idle this long (connecting, or between body chunks) before the request fails. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
}

const LOOPBACK = /^(localhost|.*\.localhost|127(?:\.\d{1,3}){3}|::1|0:0:0:0:0:0:0:1)$/i;

const bareHost = (hostname: string) => (hostname.startsWith('[') ? hostname.slice(1, -1) : hostname).toLowerCase();
const defaultPort = (u: URL) => (u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(bareHost(hostname));
}

/** True when NO_PROXY (or loopback) says `target` must be reached directly. */
export function bypassesProxy(target: URL, noProxy: string | undefined): boolean {
  const host = bareHost(target.hostname);
  if (isLoopbackHost(host)) return true;
  const port = defaultPort(target);
  for (const raw of (noProxy ?? '').split(/[\s,]+/).filter(Boolean)) {
    if (raw === '*') return true;
    // "[::1]:8080", "host:8080", "host", ".example.com", "*.example.com"
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(raw.trim());
    if (!m) continue;
    if (m[2] && Number(m[2]) !== port) continue;
    const entry = bareHost(m[1]).replace(/^\*?\./, '');
    if (host === entry || host.endsWith('.' + entry)) return true;
  }
  return false;
}

const envValue = (env: NodeJS.ProcessEnv, name: string) => env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;

/** Parses a proxy setting ("http://user:pw@proxy:3128", "proxy:3128"); refuses schemes we cannot speak. */
export function parseProxyUrl(value: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new VitLensError('DOWNLOAD_PROXY', `The proxy setting "${value}" is not a URL.`, 'Use the form http://host:port (HTTPS_PROXY / HTTP_PROXY).');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new VitLensError('DOWNLOAD_PROXY', `The ${url.protocol.replace(':', '')} proxy "${url.host}" is not supported.`, 'Use an HTTP(S) proxy (HTTPS_PROXY=http://host:port), or download the model elsewhere and use "Use Model from File…".');
  }
  return url;
}

/**
 * The proxy to use for `target`: `explicit` when given (a URL string; null = always direct), else from
 * the environment (HTTPS_PROXY for https targets, HTTP_PROXY for http, ALL_PROXY for both; NO_PROXY).
 * An explicit proxy is used for every host, loopback included (that is how the tests reach it).
 */
export function proxyFor(target: URL, explicit: string | null | undefined, env: NodeJS.ProcessEnv = process.env): URL | null {
  if (explicit === null) return null;
  if (explicit !== undefined) return explicit === '' ? null : parseProxyUrl(explicit);
  const value = (target.protocol === 'https:' ? envValue(env, 'https_proxy') : envValue(env, 'http_proxy')) ?? envValue(env, 'all_proxy');
  if (!value || bypassesProxy(target, envValue(env, 'no_proxy'))) return null;
  return parseProxyUrl(value);
}

function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'Proxy-Authorization': `Basic ${Buffer.from(credentials).toString('base64')}` };
}

function proxyRefused(proxy: URL, status: number | undefined, target: URL): VitLensError {
  const hint = status === 407 ? 'The proxy wants credentials: put them in the proxy URL (http://user:password@host:port).' : 'Check HTTPS_PROXY / HTTP_PROXY and NO_PROXY.';
  return new VitLensError('DOWNLOAD_PROXY', `The proxy ${proxy.host} refused to connect to ${target.host} (HTTP ${status ?? '?'}).`, hint);
}

/** Opens a CONNECT tunnel to target's host:port through an HTTP(S) proxy; resolves with the raw socket. */
function connectTunnel(proxy: URL, target: URL, o: ConnectOptions): Promise<net.Socket> {
  const authority = `${target.hostname}:${defaultPort(target)}`; // hostname keeps IPv6 brackets, as CONNECT wants
  const mod = proxy.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request({
      host: bareHost(proxy.hostname), port: defaultPort(proxy), method: 'CONNECT', path: authority, agent: false,
      headers: { Host: authority, ...proxyAuthorization(proxy) }, ...(proxy.protocol === 'https:' && o.ca ? { ca: o.ca } : {}),
    });
    const onAbort = () => req.destroy(o.signal?.reason instanceof Error ? o.signal.reason : new Error('aborted'));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    req.setTimeout(o.idleTimeoutMs, () => req.destroy(Object.assign(new Error(`proxy ${proxy.host} did not answer`), { code: 'ETIMEDOUT' })));
    req.once('connect', (res, socket, head) => {
      o.signal?.removeEventListener('abort', onAbort);
      if (res.statusCode !== 200) { socket.destroy(); reject(proxyRefused(proxy, res.statusCode, target)); return; }
      if (head.length) socket.unshift(head);
      resolve(socket);
    });
    req.once('response', (res) => { res.resume(); reject(proxyRefused(proxy, res.statusCode, target)); });
    req.once('error', (e) => { o.signal?.removeEventListener('abort', onAbort); reject(e); });
    req.end();
  });
}

/**
 * GET `target` and resolve with the response (status not checked, body not read). The signal destroys
 * the request and its response at any point; the idle timeout applies while the body streams too.
 */
export async function openRequest(target: URL, o: ConnectOptions): Promise<http.IncomingMessage> {
  const isHttps = target.protocol === 'https:';
  const host = bareHost(target.hostname);
  let options: https.RequestOptions;
  let viaHttps: boolean; // which node module speaks to the first hop
  if (!o.proxy) {
    viaHttps = isHttps;
    options = { host, port: defaultPort(target), path: target.pathname + target.search, headers: o.headers, ...(isHttps && o.ca ? { ca: o.ca } : {}) };
  } else if (!isHttps) {
    // Plain HTTP through a proxy: the request line carries the absolute URI.
    viaHttps = o.proxy.protocol === 'https:';
    options = { host: bareHost(o.proxy.hostname), port: defaultPort(o.proxy), path: target.href, headers: { ...o.headers, Host: target.host, ...proxyAuthorization(o.proxy) }, ...(viaHttps && o.ca ? { ca: o.ca } : {}) };
  } else {
    // HTTPS through a proxy: TLS to the target inside a CONNECT tunnel (the proxy sees only host:port).
    const socket = await connectTunnel(o.proxy, target, o);
    const servername = net.isIP(host) ? undefined : host; // SNI must not be an IP address
    viaHttps = true;
    options = {
      host, port: defaultPort(target), path: target.pathname + target.search, headers: o.headers,
      createConnection: () => tls.connect({ socket, host, servername, ...(o.ca ? { ca: o.ca } : {}) }),
    };
  }
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) { reject(o.signal.reason); return; }
    const req = (viaHttps ? https : http).request({ ...options, method: 'GET' });
    const onAbort = () => req.destroy(o.signal?.reason instanceof Error ? o.signal.reason : new Error('aborted'));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    req.setTimeout(o.idleTimeoutMs, () => req.destroy(Object.assign(new Error(`no data from ${target.host} for ${Math.round(o.idleTimeoutMs / 1000)} s`), { code: 'ETIMEDOUT' })));
    req.once('response', (res) => {
      res.once('close', () => o.signal?.removeEventListener('abort', onAbort));
      resolve(res);
    });
    req.once('error', (e) => { o.signal?.removeEventListener('abort', onAbort); reject(e); });
    req.end();
  });
}
