// `vit-lens demo [--out <dir>]`: a first look without a download. Builds a sample image and a tiny ViT and
// writes <dir>/demo.html and demo.json through the attention command. Node side.
import fs from 'node:fs';
import path from 'node:path';
import { runAttentionCommand } from '../analyses/attention/command';
import { CliCommand, parseFlags } from './context';

export const DEMO_USAGE = `  vit-lens demo [--out <dir>]
      Builds the tiny fixture ViT and a sample image, writes <dir>/demo.html and demo.json
      (default dir: ./reports).`;

export const demoCommand: CliCommand = {
  name: 'demo',
  async run(argv, ctx) {
    const f = parseFlags(argv, ['out']);
    const out = path.resolve(f.values.get('out') ?? 'reports');
    // Fixture builders pull in sharp and the model writer: load them only for the demo.
    const { ensureFixture, defaultFixtureDir } = await import('../../test/fixtures/builders/writeFixtures');
    const { sampleScenePng } = await import('../../test/fixtures/builders/sampleImages');
    fs.mkdirSync(out, { recursive: true });
    const image = path.join(out, 'sample-scene.png');
    fs.writeFileSync(image, await sampleScenePng());
    const model = ensureFixture('vit-tiny', defaultFixtureDir(path.resolve(__dirname, '..')));
    await runAttentionCommand([image, '--model', model, '--json', path.join(out, 'demo.json'), '--html', path.join(out, 'demo.html')], ctx);
    console.log(`Open ${path.join(out, 'demo.html')} in a browser: the same panel the VS Code extension shows.`);
  },
};
