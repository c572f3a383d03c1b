// Class-specific maps on the trained demo classifier (models/demo/shapes-vit), where the ground truth is
// known: scenes from the generator with their object masks, seeds never trained on.
//   - two-object scenes (seeds 2,000,000 +, both classes in the model's top two): the occlusion map of
//     each class peaks on that class's object, and puts more of its positive mass there than on the other;
//   - single-object scenes (held-out): the occlusion map's positive AUC (perturbation test) is below the
//     seeded random map's on nearly every image (≥ 85 %), i.e. the map removes what the class needs first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { runExplainPipeline } from '../../../src/analyses/explain/pipeline';
import { loadMaskedModel, type MaskedModel } from '../../../src/analyses/explain/maskedModel';
import type { ExplainResult } from '../../../src/analyses/explain/types';
import { ModelCache } from '../../../src/core/engine/modelCache';
import { NONE_CLASS, heldOutShapeScene, shapeScene, type ShapeScene } from '../../../src/scenes';
import { argmax, patchMask } from './metrics';
import { repoRoot, tempDir } from '../support';

const vitModel = process.env.VITLENS_SCENES_VIT ?? path.join(repoRoot, 'models', 'demo', 'shapes-vit');
const TWO_OBJECT_SCENES = 16;
const SINGLE_SCENES = 30;
const models = new ModelCache();
const masked = new ModelCache<MaskedModel>(2, loadMaskedModel);
let dir: string;

before(() => {
  dir = tempDir('vit-lens-explain-trained-');
});
after(async () => {
  await models.clear();
  await masked.clear();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function explainScene(s: ShapeScene, name: string, target: number): Promise<ExplainResult> {
  const file = path.join(dir, `${name}.png`);
  await sharp(Buffer.from(s.rgb), { raw: { width: s.width, height: s.height, channels: 3 } })
    .png()
    .toFile(file);
  return runExplainPipeline(
    { imagePath: file, modelPath: vitModel, methods: ['occlusion'], target, topK: 6 },
    (m) => models.get(m),
    (m) => masked.get(m),
  );
}

const positiveMassIn = (map: ArrayLike<number>, m: Uint8Array) => {
  let inside = 0;
  for (let j = 0; j < map.length; j++) if (m[j]) inside += Math.max(0, map[j]);
  return inside;
};

test(`two-object scenes: each class's occlusion map points at its own object (${TWO_OBJECT_SCENES} scenes)`, async (t) => {
  let scenes = 0;
  let peaks = 0;
  let massWins = 0;
  for (let i = 0; scenes < TWO_OBJECT_SCENES && i < 4 * TWO_OBJECT_SCENES; i++) {
    const s = shapeScene(2_000_000 + i, { twoObjects: true });
    const [a, b] = s.objects;
    const masks = [a, b].map((o) => patchMask(o.mask, s.width, s.height, 16));
    const ra = await explainScene(s, `two-${i}-a`, a.classIndex);
    const top2 = ra.predictions.slice(0, 2).map((p) => p.index);
    if (!(top2.includes(a.classIndex) && top2.includes(b.classIndex))) continue; // the model must see both
    const rb = await explainScene(s, `two-${i}-b`, b.classIndex);
    scenes++;
    for (const [r, own, other] of [
      [ra, masks[0], masks[1]],
      [rb, masks[1], masks[0]],
    ] as const) {
      const occ = r.maps.occlusion!;
      if (own[argmax(occ)]) peaks++;
      if (positiveMassIn(occ, own) > positiveMassIn(occ, other)) massWins++;
    }
  }
  t.diagnostic(
    `${scenes} scenes with both classes in the top two; peak on the own object ${peaks}/${2 * scenes}, more mass there ${massWins}/${2 * scenes}`,
  );
  assert.ok(scenes >= TWO_OBJECT_SCENES * 0.75, `only ${scenes} usable scenes`);
  assert.ok(peaks >= 0.85 * 2 * scenes, `peaks ${peaks}/${2 * scenes}`);
  assert.ok(massWins >= 0.9 * 2 * scenes, `mass ${massWins}/${2 * scenes}`);
});

test(`single-object scenes: occlusion's positive AUC beats the random map's on nearly every image (${SINGLE_SCENES})`, async (t) => {
  let better = 0;
  let n = 0;
  const aucs: string[] = [];
  for (let i = 0; n < SINGLE_SCENES; i++) {
    const s = heldOutShapeScene(i);
    if (s.label === NONE_CLASS) continue;
    const r = await explainScene(s, `one-${i}`, s.label);
    const f = r.faithfulness;
    n++;
    if (f.occlusion!.positiveAuc < f.random!.positiveAuc) better++;
    aucs.push(`${f.occlusion!.positiveAuc.toFixed(1)}/${f.random!.positiveAuc.toFixed(1)}`);
  }
  t.diagnostic(`occlusion below random on ${better}/${n} images (occlusion/random positive AUC: ${aucs.join(' ')})`);
  // Measured 27/30 (with the log-odds score too): on the other three (crosses and a ring) removing any 2×2
  // window of the object raises p_c, so the map ranks the object last; the evidence is spread over it.
  assert.ok(better >= 0.85 * n, `${better}/${n}`);
});
