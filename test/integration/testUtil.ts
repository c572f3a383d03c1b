// Helpers shared by the integration suites (they run inside the extension host, from dist/test/integration/<suite>/).
import * as path from 'path';
import { defaultFixtureDir, ensureFixture } from '../fixtures/builders/writeFixtures';

/** The repository root, from dist/test/integration/<suite>/. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');
/** CC0 photos next to the repository, when present. */
export const sharedImages = path.resolve(repoRoot, '..', 'shared', 'images');

/** A fixture model's .onnx path (built on first use). */
export const fixture = (name: string): string => ensureFixture(name, defaultFixtureDir(repoRoot));

/** Polls `probe` until it returns something truthy. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 50,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
