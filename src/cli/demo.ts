// `vit-lens demo [--out <dir>]`: a first look without a download, on the demo models that ship with ViT
// Lens (models/demo/, trained on procedurally generated scenes, src/scenes). It generates a shapes scene
// and a 3D scene with their ground truth, runs the attention and depth analyses on them, writes every
// file below and prints what the models found against the truth:
//   scene.png, scene.json ({"objects": [{class, label, box, mask}]}), mask-<i>.png, attention.json, attention.html
//   depth-scene.png, depth-truth.npy (1/z, larger = nearer, as the model's output), depth.json, depth.npy, depth.html
// Node side (sharp writes the PNGs; loaded when the demo runs, not with every CLI command: 145 ms).
import fs from 'node:fs';
import path from 'node:path';
import { runAttentionCommand } from '../analyses/attention/command';
import { commandDepth } from '../analyses/dense/command';
import { encodeNpyFloat32 } from '../maths/npy';
import { spearman } from '../maths/ranks';
import { DEMO_PREFIX } from '../models/demoModels';
import { depthScene, shapeScene } from '../scenes/index';
import { CliCommand, parseFlags } from './context';

export const DEMO_USAGE = `  vit-lens demo [--out <dir>]
      Runs the demo models (trained on generated scenes, no download) on a generated shapes scene and a
      3D scene: writes the scenes with their ground truth and the attention and depth reports to <dir>
      (default ./reports) and prints the predictions against the truth.`;

/** The demo's scenes: seeds outside the training (0…) and test (1 000 000…) ranges; a triangle among clutter, and a room with two spheres and two boxes. */
const DEMO_SHAPE_SEED = 3_000_001;
const DEMO_SHAPE_CLASS = 2; // triangle
const DEMO_DEPTH_SEED = 3_000_006; // two spheres and two boxes, half the picture

const loadSharp = async () => (await import('sharp')).default;

async function writeRgbPng(file: string, rgb: Uint8Array, width: number, height: number): Promise<void> {
  const sharp = await loadSharp();
  await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
}

export const demoCommand: CliCommand = {
  name: 'demo',
  async run(argv, ctx) {
    const f = parseFlags(argv, ['out']);
    const out = path.resolve(f.values.get('out') ?? 'reports');
    fs.mkdirSync(out, { recursive: true });
    // A command's arguments: the image, a demo model, and `--<flag> <out>/<file>` for each output.
    const args = (image: string, model: string, outputs: Record<string, string>) => [
      image,
      '--model',
      `${DEMO_PREFIX}${model}`,
      ...Object.entries(outputs).flatMap(([flag, file]) => [`--${flag}`, path.join(out, file)]),
    ];

    // 1. Attention: a shapes scene and the demo ViT.
    const scene = shapeScene(DEMO_SHAPE_SEED, { classIndex: DEMO_SHAPE_CLASS });
    const image = path.join(out, 'scene.png');
    await writeRgbPng(image, scene.rgb, scene.width, scene.height);
    const objects = [];
    const sharp = await loadSharp();
    for (const [i, o] of scene.objects.entries()) {
      const mask = `mask-${i}.png`;
      await sharp(
        Uint8Array.from(o.mask, (v) => (v ? 255 : 0)),
        { raw: { width: scene.width, height: scene.height, channels: 1 } },
      )
        .png()
        .toFile(path.join(out, mask));
      objects.push({ class: o.classIndex, label: o.label, box: o.box, mask });
    }
    fs.writeFileSync(
      path.join(out, 'scene.json'),
      JSON.stringify({ seed: scene.seed, width: scene.width, height: scene.height, objects }, null, 1),
    );
    const run = await runAttentionCommand(args(image, 'shapes-vit', { json: 'attention.json', html: 'attention.html' }), ctx);
    if (!run) throw new Error('the attention command did not return its result'); // only folders return none
    const top = run.result.predictions?.[0];
    const truth = scene.objects.map((o) => o.label).join(' + ') || 'none';
    console.log(
      `\nDemo ViT: predicted ${top ? `${top.label} (${(top.probability * 100).toFixed(1)} %)` : 'nothing'}; truth: ${truth} ${top && top.label === truth ? '✓' : '✗'}`,
    );

    // 2. Depth: a 3D scene and the demo DPT; the truth is the exact inverse depth of the ray cast.
    const room = depthScene(DEMO_DEPTH_SEED);
    const roomImage = path.join(out, 'depth-scene.png');
    await writeRgbPng(roomImage, room.rgb, room.width, room.height);
    fs.writeFileSync(path.join(out, 'depth-truth.npy'), encodeNpyFloat32(room.inverseDepth, [room.height, room.width]));
    const depth = await commandDepth(args(roomImage, 'scenes-depth', { json: 'depth.json', npy: 'depth.npy', html: 'depth.html' }), ctx);
    const d = depth.depth!;
    // The view map is the prediction upsampled to the image (the demo scene is small, so at its own size).
    const rho = d.view.length === room.inverseDepth.length ? spearman(d.view, room.inverseDepth) : NaN;
    console.log(`\nDemo depth: Spearman ρ of the predicted against the true inverse depth = ${rho.toFixed(3)} (1 = the same ordering)`);
    console.log(
      `\nOpen ${path.join(out, 'attention.html')} and ${path.join(out, 'depth.html')} in a browser: the same panels the VS Code extension shows.`,
    );
  },
};
