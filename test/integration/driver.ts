// Test driver bridge: lets integration tests (running in the VS Code extension host) ask the test runner
// (scripts/vscode-offline/run-vscode-tests.mjs, which holds the playwright page of the real workbench) to act on the
// workbench and its webviews: real mouse clicks, key presses, palette commands, DOM queries and screenshots.
//
// Protocol: the runner passes a directory in env VITLENS_DRIVER_DIR (code-server -> extension host). A request is
// written atomically as `<id>.req.json` = {id, op, args}; the runner answers with `<id>.res.json` =
// {ok: true, result} | {ok: false, error}. Without VITLENS_DRIVER_DIR (e.g. tests run in a downloaded Electron VS Code)
// every helper throws DriverUnavailableError: guard driver-based tests with `if (!driverAvailable()) this.skip();`.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export interface BoundingBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WebviewQueryResult {
  /** number of matches in the first frame that has at least one (0: no frame matched within the timeout) */
  count: number;
  /** textContent of the first match */
  text: string | null;
  /** all attributes of the first match */
  attributes: Record<string, string> | null;
  /** first match's box in CSS pixels relative to the workbench page (null if not rendered) */
  boundingBox: BoundingBox | null;
  /** URL (without query) of the frame that matched */
  frameUrl: string | null;
}

export interface WaitOptions {
  /** how long the runner looks for a frame containing the selector (default 10000; 0 = look once) */
  timeoutMs?: number;
}

export interface ClickOptions extends WaitOptions {
  /** click position relative to the element's top-left corner (default: element centre) */
  offsetX?: number;
  offsetY?: number;
  /** which match to click (default 0) */
  index?: number;
}

export class DriverUnavailableError extends Error {
  constructor() {
    super('test driver unavailable: VITLENS_DRIVER_DIR is not set (run through scripts/test.mjs with the offline VS Code runner)');
    this.name = 'DriverUnavailableError';
  }
}

/** True when the tests run under the offline runner and its driver bridge. */
export function driverAvailable(): boolean {
  const dir = process.env.VITLENS_DRIVER_DIR;
  return !!dir && fs.existsSync(dir);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sends one request to the runner and waits for its reply. */
export async function request<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 60000): Promise<T> {
  if (!driverAvailable()) throw new DriverUnavailableError();
  const dir = process.env.VITLENS_DRIVER_DIR as string;
  const id = `${Date.now().toString(36)}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const req = path.join(dir, `${id}.req.json`);
  const res = path.join(dir, `${id}.res.json`);
  fs.writeFileSync(req + '.tmp', JSON.stringify({ id, op, args }));
  fs.renameSync(req + '.tmp', req); // atomic: the runner never reads a half-written request
  const end = Date.now() + timeoutMs;
  while (!fs.existsSync(res)) {
    if (Date.now() > end) {
      fs.rmSync(req, { force: true });
      throw new Error(`test driver: no reply to "${op}" within ${timeoutMs} ms (is run-vscode-tests.mjs serving ${dir}?)`);
    }
    await sleep(50);
  }
  const reply = JSON.parse(fs.readFileSync(res, 'utf8')) as { ok: boolean; result?: T; error?: string };
  fs.rmSync(res, { force: true });
  if (!reply.ok) throw new Error(`test driver: ${op} failed: ${reply.error}`);
  return reply.result as T;
}

const replyTimeout = (o?: WaitOptions) => (o?.timeoutMs ?? 10000) + 30000;

/** Round trip to the runner. */
export function ping(): Promise<{ pong: true }> {
  return request('ping', {}, 10000);
}

/** Full workbench page screenshot saved as PNG to the absolute path `pngPath` (folders are created). */
export function screenshot(pngPath: string): Promise<{ path: string; bytes: number }> {
  return request('screenshot', { path: path.resolve(pngPath) });
}

/** Queries the first frame (webviews are nested iframes) that contains `selector`. */
export function webviewQuery(selector: string, opts: WaitOptions = {}): Promise<WebviewQueryResult> {
  return request('webviewQuery', { selector, timeoutMs: opts.timeoutMs }, replyTimeout(opts));
}

/** Real mouse click (playwright: scroll into view, wait until actionable, mouse down/up) on a webview element. */
export function webviewClick(
  selector: string,
  opts: ClickOptions = {},
): Promise<{ clicked: true; boundingBox: BoundingBox | null; frameUrl: string }> {
  return request(
    'webviewClick',
    { selector, offsetX: opts.offsetX, offsetY: opts.offsetY, index: opts.index, timeoutMs: opts.timeoutMs },
    replyTimeout(opts),
  );
}

/**
 * Evaluates a JavaScript expression inside the first frame containing `selector`; `el` is bound to the first match.
 * The expression may return a promise; the result must be JSON-serialisable. Not subject to the webview's CSP.
 * Example: `await webviewEval<number>('canvas', 'el.width')`.
 */
export function webviewEval<T = unknown>(selector: string, expression: string, opts: WaitOptions = {}): Promise<T> {
  return request<T>('webviewEval', { selector, expression, timeoutMs: opts.timeoutMs }, replyTimeout(opts));
}

/** Presses a key (playwright key name, e.g. 'Escape', 'ArrowRight', 'Control+Shift+P') on the focused element. */
export async function pressKey(key: string): Promise<void> {
  await request('pressKey', { key });
}

/** Real mouse click on the workbench page itself (not a webview): the first match of `selector` containing `hasText`. */
export async function workbenchClick(selector: string, hasText?: string, opts: WaitOptions = {}): Promise<void> {
  await request('workbenchClick', { selector, hasText, timeoutMs: opts.timeoutMs }, replyTimeout(opts));
}

/** How many visible elements of the workbench page match `selector` (and contain `hasText`) now. */
export async function workbenchCount(selector: string, hasText?: string): Promise<number> {
  return (await request<{ count: number }>('workbenchCount', { selector, hasText })).count;
}

/** Runs a command like a user: F1, type its palette title (e.g. 'ViT Lens: Open'), Enter. */
export async function runCommandFromPalette(title: string): Promise<void> {
  await request('runCommandFromPalette', { title });
}

/** Absolute path for `test-results/screenshots/<name>.png` in the repository (env VITLENS_SCREENSHOTS_DIR overrides). */
export function screenshotPath(name: string): string {
  const file = name.endsWith('.png') ? name : `${name}.png`;
  if (process.env.VITLENS_SCREENSHOTS_DIR) return path.join(process.env.VITLENS_SCREENSHOTS_DIR, file);
  return path.join(repoRoot(), 'test-results', 'screenshots', file);
}

function repoRoot(): string {
  for (let d = __dirname; ; d = path.dirname(d)) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')).name === 'vit-lens') return d;
    } catch {
      /* keep walking */
    }
    if (path.dirname(d) === d) return process.cwd();
  }
}
