// Writes the procedurally generated training and held-out sets as raw little-endian binary files for the
// Python trainers (scripts/train/*.py read them with numpy), so training and the TypeScript tests see
// byte-identical scenes. Training seeds are 0 … N−1, held-out seeds start at 1,000,000 (src/scenes).
//
//   node dist/exportDataset.js --out <dir> [--only shapes|depth] [--shapes 40000] [--shapes-test 1200]
//                              [--depth 6000] [--depth-test 200]
//
// Files (N scenes each, C order):
//   shapes_{train,test}_images.u8    [N, 128, 128, 3] uint8 RGB
//   shapes_{train,test}_targets.f32  [N, 6] float32 soft targets (one-hot; 0.5/0.5 for two objects)
//   shapes_{train,test}_labels.i32   [N] int32 class index (two objects: the first object's)
//   shapes_{train,test}_patches.f32  [N, 64, 6] float32 per-patch class shares (patchCoverage: token labels)
//   depth_{train,test}_images.u8     [N, 96, 128, 3] uint8 RGB
//   depth_{train,test}_inverse.f32   [N, 96, 128] float32 inverse depth 1/z (1/metres; the model's target)
//   <kind>_meta.json                 shapes, counts, seed ranges, class names
import fs from 'node:fs';
import path from 'node:path';
import {
  DEPTH_CLASSES,
  DEPTH_HELD_OUT_SEED0,
  DEPTH_SCENE_HEIGHT,
  DEPTH_SCENE_WIDTH,
  HELD_OUT_SEED0,
  NUM_SHAPE_CLASSES,
  SHAPE_CLASSES,
  SHAPE_SCENE_SIZE,
  TWO_OBJECT_SHARE,
  depthScene,
  heldOutShapeScene,
  patchCoverage,
  trainingShapeScene,
} from '../../src/scenes';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const out = path.resolve(arg('out', 'datasets'));
const only = arg('only', 'all');
fs.mkdirSync(out, { recursive: true });

class Writer {
  private readonly fd: number;
  constructor(file: string) {
    this.fd = fs.openSync(path.join(out, file), 'w');
  }
  write(a: ArrayBufferView): void {
    fs.writeSync(this.fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
if (!little) throw new Error('exportDataset writes native byte order and expects a little-endian machine');

function progress(what: string, i: number, n: number, t0: number): void {
  if (i % 2000 === 0 || i === n) process.stdout.write(`${what}: ${i}/${n} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
}

/**
 * `<kind>_meta.json`: the scenes' description, then each split's count, seed range (training 0 … N−1,
 * held-out from `heldOutSeed0`) and how its scenes are generated.
 */
function writeMeta(
  kind: string,
  description: Record<string, unknown>,
  sets: { train: number; test: number },
  heldOutSeed0: number,
  [trainGenerator, testGenerator]: [string, string],
): void {
  const meta = {
    ...description,
    train: { count: sets.train, seeds: [0, sets.train - 1], generator: trainGenerator },
    test: { count: sets.test, seeds: [heldOutSeed0, heldOutSeed0 + sets.test - 1], generator: testGenerator },
  };
  fs.writeFileSync(path.join(out, `${kind}_meta.json`), JSON.stringify(meta, null, 2) + '\n');
}

function exportShapes(): void {
  const sets = { train: Number(arg('shapes', '40000')), test: Number(arg('shapes-test', '1200')) };
  for (const [split, n] of Object.entries(sets)) {
    const images = new Writer(`shapes_${split}_images.u8`);
    const targets = new Writer(`shapes_${split}_targets.f32`);
    const patches = new Writer(`shapes_${split}_patches.f32`);
    const labels = new Int32Array(n);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = split === 'train' ? trainingShapeScene(i) : heldOutShapeScene(i);
      images.write(s.rgb);
      targets.write(s.target);
      patches.write(patchCoverage(s));
      labels[i] = s.label;
      progress(`shapes ${split}`, i + 1, n, t0);
    }
    images.close();
    targets.close();
    patches.close();
    fs.writeFileSync(path.join(out, `shapes_${split}_labels.i32`), labels);
  }
  writeMeta(
    'shapes',
    { size: SHAPE_SCENE_SIZE, classes: SHAPE_CLASSES, numClasses: NUM_SHAPE_CLASSES, twoObjectShare: TWO_OBJECT_SHARE },
    sets,
    HELD_OUT_SEED0,
    ['trainingShapeScene(seed)', 'heldOutShapeScene(i) = shapeScene(1000000 + i, { classIndex: i % 6 })'],
  );
}

function exportDepth(): void {
  const sets = { train: Number(arg('depth', '6000')), test: Number(arg('depth-test', '200')) };
  for (const [split, n] of Object.entries(sets)) {
    const images = new Writer(`depth_${split}_images.u8`);
    const inverse = new Writer(`depth_${split}_inverse.f32`);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = depthScene(split === 'train' ? i : DEPTH_HELD_OUT_SEED0 + i);
      images.write(s.rgb);
      inverse.write(s.inverseDepth);
      progress(`depth ${split}`, i + 1, n, t0);
    }
    images.close();
    inverse.close();
  }
  writeMeta(
    'depth',
    { height: DEPTH_SCENE_HEIGHT, width: DEPTH_SCENE_WIDTH, classes: DEPTH_CLASSES, target: 'inverse depth 1/z, camera-space z in metres' },
    sets,
    DEPTH_HELD_OUT_SEED0,
    ['depthScene(seed)', 'depthScene(1000000 + i)'],
  );
}

if (only === 'all' || only === 'shapes') exportShapes();
if (only === 'all' || only === 'depth') exportDepth();
console.log(`wrote ${out}`);
