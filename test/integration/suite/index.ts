// Loaded by the VS Code extension host (extensionTestsPath): runs every *.test.js next to this file with mocha
// (tdd UI; mocha@11 is the last CommonJS major) and, when env VITLENS_TEST_RESULTS names a file, writes
// {complete, passed, failed, skipped, failures: [{title, error}]} there for scripts/test.mjs.
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

interface Results {
  /** false until mocha has finished (stays false if the extension host dies mid-run) */
  complete: boolean;
  passed: number;
  failed: number;
  skipped: number;
  failures: { title: string; error: string }[];
}

function writeResults(r: Results): void {
  const out = process.env.VITLENS_TEST_RESULTS;
  if (!out) return;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(r, null, 2));
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 120_000 });
  const grep = process.env.VITLENS_TEST_GREP;
  if (grep) mocha.grep(grep);
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  for (const f of files) mocha.addFile(path.join(__dirname, f));

  const results: Results = { complete: false, passed: 0, failed: 0, skipped: 0, failures: [] };
  writeResults(results); // an extension-host crash mid-run leaves this (incomplete) file behind
  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        results.complete = true;
        writeResults(results);
        if (failures > 0) reject(new Error(`${failures} integration test(s) failed.`));
        else resolve();
      });
      // rewritten after every test, so a crash mid-run still reports what ran before it
      runner.on('pass', () => {
        results.passed++;
        writeResults(results);
      });
      runner.on('pending', () => {
        results.skipped++;
        writeResults(results);
      });
      runner.on('fail', (test, err: unknown) => {
        results.failed++;
        const e = err as { stack?: string; message?: string } | undefined;
        results.failures.push({ title: test.fullTitle(), error: String(e?.stack || e?.message || err) });
        writeResults(results);
      });
    } catch (err) {
      results.failed++;
      results.failures.push({ title: 'loading integration tests', error: String((err as Error)?.stack || err) });
      results.complete = true;
      writeResults(results);
      reject(err);
    }
  });
}
