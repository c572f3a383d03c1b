#!/usr/bin/env node
// `npm run screenshots`: the README's pictures, media/screenshot-*.png, from the workbench screenshots that the
// installed-VSIX test takes (test-results/screenshots/vsix-*.png, written by `npm test`'s VSIX stage, plus two of the
// development-tree suite): the real
// extension, installed from its VSIX, in a real VS Code. The title bar is cropped off (it carries the test run's
// "[Extension Development Host]" label, which an installed extension never shows) and the PNG is palette-quantised
// to keep the repository and the VSIX small. Run it after a green `npm test`; it never runs on its own.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shots = path.join(root, 'test-results', 'screenshots');
/** test screenshot → README picture (the segmentation and gates panels come from the development-tree suite) */
const PICTURES = {
  'vsix-attention-panel.png': 'screenshot-attention.png',
  'vsix-depth-panel.png': 'screenshot-depth.png',
  'dpt-segmentation.png': 'screenshot-segmentation.png',
  'gates-cbam.png': 'screenshot-gates.png',
};
/** VS Code's title bar in the 1400×900 CSS-pixel page the runner uses (device scale factor 1). */
const TITLE_BAR_PX = 35;

let missing = 0;
for (const [from, to] of Object.entries(PICTURES)) {
  const src = path.join(shots, from);
  if (!fs.existsSync(src)) {
    console.error(`missing ${path.relative(root, src)}: run npm test (its installed-VSIX stage takes it)`);
    missing++;
    continue;
  }
  const { width, height } = await sharp(src).metadata();
  const out = path.join(root, 'media', to);
  await sharp(src)
    .extract({ left: 0, top: TITLE_BAR_PX, width, height: height - TITLE_BAR_PX })
    .png({ palette: true, quality: 90, compressionLevel: 9, effort: 10 })
    .toFile(out);
  console.log(
    `${path.relative(root, out)}: ${width}×${height - TITLE_BAR_PX}, ${(fs.statSync(out).size / 1024).toFixed(0)} KiB (from ${path.relative(root, src)})`,
  );
}
process.exit(missing ? 1 : 0);
