#!/usr/bin/env node
// `npm run icon`: draws the extension icon, media/icon.png (256×256, the size the marketplace asks for), from an
// SVG written here: a magnifying lens over an 8×8 grid of image patches coloured like an attention map (a bump
// of attention where the lens looks), with the panel's own inferno colormap (webview/colormaps.ts, bundled on
// the fly by esbuild so the icon and the panel share one definition). sharp rasterises the SVG.
// Usage: node scripts/makeIcon.mjs [out.png]        (deterministic for a given sharp/libvips version)
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'media', 'icon.png'));
const SIZE = 256;

/** webview/colormaps.ts as an ES module (type-only imports vanish in the bundle). */
async function loadColormaps() {
  const built = await esbuild.build({
    entryPoints: [path.join(root, 'webview', 'colormaps.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    logLevel: 'error',
  });
  return import(`data:text/javascript;base64,${Buffer.from(built.outputFiles[0].text).toString('base64')}`);
}

const hex = ([r, g, b]) => '#' + [r, g, b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');

function iconSvg(colormapFloat) {
  // patch grid: 8×8 cells in [20, 236]², 2 px gutters
  const grid = 8,
    x0 = 20,
    span = 216,
    gap = 2,
    cell = span / grid;
  // attention: a main bump under the lens centre and a weaker one at the bottom left (a second object)
  const lens = { cx: 112, cy: 108, r: 60 };
  const bump = (u, v, cu, cv, s) => Math.exp(-((u - cu) ** 2 + (v - cv) ** 2) / (2 * s * s));
  const cells = [];
  for (let row = 0; row < grid; row++) {
    for (let col = 0; col < grid; col++) {
      const u = (col + 0.5) / grid,
        v = (row + 0.5) / grid;
      const a = Math.min(1, bump(u, v, (lens.cx - x0) / span, (lens.cy - x0) / span, 0.17) + 0.5 * bump(u, v, 0.2, 0.84, 0.1));
      const colour = hex(colormapFloat('inferno', 0.08 + 0.9 * a));
      cells.push(
        `<rect x="${(x0 + col * cell + gap / 2).toFixed(2)}" y="${(x0 + row * cell + gap / 2).toFixed(2)}" width="${(cell - gap).toFixed(2)}" height="${(cell - gap).toFixed(2)}" rx="3" fill="${colour}"/>`,
      );
    }
  }
  // handle from the rim at 45°, outward to the bottom right
  const rim = lens.r + 7,
    d = Math.SQRT1_2;
  const h0 = [lens.cx + rim * d, lens.cy + rim * d],
    h1 = [222, 218];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}">
  <defs><clipPath id="tile"><rect width="${SIZE}" height="${SIZE}" rx="44"/></clipPath></defs>
  <g clip-path="url(#tile)">
    <rect width="${SIZE}" height="${SIZE}" fill="#120d1f"/>
    ${cells.join('\n    ')}
  </g>
  <circle cx="${lens.cx}" cy="${lens.cy}" r="${lens.r}" fill="#ffffff" fill-opacity="0.12"/>
  <path d="M ${lens.cx - lens.r * 0.62} ${lens.cy - lens.r * 0.2} A ${lens.r * 0.66} ${lens.r * 0.66} 0 0 1 ${lens.cx - lens.r * 0.2} ${lens.cy - lens.r * 0.62}" fill="none" stroke="#ffffff" stroke-opacity="0.7" stroke-width="7" stroke-linecap="round"/>
  <line x1="${h0[0].toFixed(1)}" y1="${h0[1].toFixed(1)}" x2="${h1[0]}" y2="${h1[1]}" stroke="#120d1f" stroke-width="30" stroke-linecap="round"/>
  <line x1="${h0[0].toFixed(1)}" y1="${h0[1].toFixed(1)}" x2="${h1[0]}" y2="${h1[1]}" stroke="#f4f1ea" stroke-width="20" stroke-linecap="round"/>
  <circle cx="${lens.cx}" cy="${lens.cy}" r="${lens.r}" fill="none" stroke="#120d1f" stroke-width="22"/>
  <circle cx="${lens.cx}" cy="${lens.cy}" r="${lens.r}" fill="none" stroke="#f4f1ea" stroke-width="13"/>
</svg>`;
}

const { colormapFloat } = await loadColormaps();
const svg = iconSvg(colormapFloat);
fs.mkdirSync(path.dirname(out), { recursive: true });
const png = await sharp(Buffer.from(svg)).resize(SIZE, SIZE).png({ compressionLevel: 9 }).toBuffer();
fs.writeFileSync(out, png);
const meta = await sharp(png).metadata();
console.log(`${path.relative(process.cwd(), out)}: ${meta.width}×${meta.height} PNG, ${png.length} bytes`);
