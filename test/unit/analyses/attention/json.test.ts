// The attention JSON contract from a result without its tensor plus the CLS slice (what a panel holds)
// equals the maps computed from the full tensor (clsMaps, rolloutMap): the CLI and the panel's Save JSON
// write the same document.
import assert from 'node:assert/strict';
import test from 'node:test';
import { attentionSlice, clsMaps, rolloutMap } from '../../../../src/maths/attention';
import { attentionJson } from '../../../../src/analyses/attention/json';
import type { PanelResult } from '../../../../src/shared/attentionTypes';
import { modelSummary, randomAttention } from '../../support';

test("attentionJson from the CLS slice holds the full tensor's CLS maps and rollout, rounded to 7 digits", () => {
  const t = randomAttention(3, 2, 1 + 2 + 12, 7); // CLS, 2 registers, 3×4 patches
  const firstPatch = 3;
  const opts = { fusion: 'max' as const, discardRatio: 0.2 };
  const r = {
    image: { path: '/a.png', width: 64, height: 48 },
    grid: [3, 4],
    firstPatchToken: firstPatch,
    model: modelSummary({
      path: '/m.onnx',
      inputSize: [48, 64],
      numLayers: 3,
      numHeads: 2,
      specialTokens: { cls: true, distillation: false, registers: 2 },
    }),
    attention: { layers: 3, heads: 2, tokens: 15 },
    headStats: [],
    timingsMs: { decode: 1, modelLoad: 0, preprocess: 1, inference: 2, analysis: 1, total: 5 },
  } as unknown as PanelResult;
  const doc = attentionJson(r, attentionSlice(t, firstPatch, 0, { ...opts, startLayer: 0 }), opts) as {
    clsAttention: number[][][];
    rollout: { map: number[]; fusion: string; discardRatio: number };
  };
  const maps = clsMaps(t, firstPatch);
  for (let l = 0; l < 3; l++)
    for (let h = 0; h < 2; h++) {
      assert.equal(doc.clsAttention[l][h].length, 12);
      doc.clsAttention[l][h].forEach((v, j) =>
        assert.ok(Math.abs(v - maps[l][h][j]) <= 1e-6 * Math.max(1, Math.abs(v)), `L${l} H${h} patch ${j}`),
      );
    }
  const roll = rolloutMap(t, firstPatch, opts);
  doc.rollout.map.forEach((v, j) => assert.ok(Math.abs(v - roll[j]) <= 1e-6 * Math.max(1, Math.abs(v)), `rollout patch ${j}`));
  assert.equal(doc.rollout.fusion, 'max');
  assert.deepEqual(Object.keys(doc), ['image', 'model', 'grid', 'clsAttention', 'rollout', 'headStats', 'timingsMs']);
});
