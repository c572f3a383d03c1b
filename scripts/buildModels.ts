// Builds the tiny fixture models (deterministic weights) into models/generated/ in Hugging Face layout.
//   node dist/buildModels.js [--out DIR] [--bench] [--force]
// --bench also builds the ViT-B/16-sized model used by `npm run bench` (≈350 MB, not committed).
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_FIXTURES, FIXTURES } from '../test/fixtures/builders/tinyModels';
import { defaultFixtureDir, ensureFixture } from '../test/fixtures/builders/writeFixtures';

const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const out = outIdx >= 0 ? path.resolve(args[outIdx + 1]) : defaultFixtureDir(path.resolve(__dirname, '..'));
const names = [...Object.keys(FIXTURES), ...(args.includes('--bench') ? Object.keys(BENCH_FIXTURES) : [])];
for (const name of names) {
  if (args.includes('--force')) fs.rmSync(path.join(out, name), { recursive: true, force: true });
  const t0 = Date.now();
  const p = ensureFixture(name, out);
  console.log(`${name}: ${path.relative(process.cwd(), p)} (${(fs.statSync(p).size / 1024).toFixed(0)} KiB, ${Date.now() - t0} ms)`);
}
