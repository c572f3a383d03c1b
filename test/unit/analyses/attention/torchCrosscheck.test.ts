// Cross-check against PyTorch: a tiny ViT exported by torch.onnx (test/fixtures/torch-vit, made by
// scripts/torch-crosscheck/export_vit.py), run here by onnxruntime on the same pixel tensor. Attention
// from the model's outputs and from tapped Softmax nodes must equal PyTorch's own tensors, and our
// rollout, CLS maps and head statistics must equal the numpy reference, to 1e-4.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { clsMaps, headStatistics, rolloutMap, topK } from '../../../../src/maths/attention';
import { collectOutputs, inferenceStage } from '../../../../src/analyses/attention/pipeline';
import { headStatisticsWasm } from '../../../../src/analyses/attention/wasm/headStatsWasm';
import { loadVitModel } from '../../../../src/core/model/vitModel';
import type { HeadFusion } from '../../../../src/shared/attentionTypes';
import { assertRowsSumToOne, maxAbsDiff, repoRoot } from '../../support';

const dir = path.join(repoRoot, 'test', 'fixtures', 'torch-vit');
const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
const raw = fs.readFileSync(path.join(dir, 'pixel_values.f32'));
const pixels = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));

for (const variant of ['with-attentions', 'logits-only'] as const) {
  test(`PyTorch cross-check (${variant}): attention, CLS maps, rollout, head stats, logits`, async () => {
    const model = await loadVitModel(path.join(dir, variant, 'model.onnx'));
    assert.equal(model.attentionSource, variant === 'with-attentions' ? 'outputs' : 'tapped');
    assert.deepEqual(model.fixedSize, [32, 48]);
    assert.equal(model.patchSize, 8);
    // Run 1 stacks onnxruntime's outputs; run 2, on the recorded shapes, has them written in place.
    for (const pass of ['stacked', 'placed'] as const) {
      const run = await inferenceStage(model, pixels, 32, 48);
      assert.equal(run.attention !== undefined, pass === 'placed', pass);
      const { attention: att, logits } = collectOutputs(model, run, [1, 3, 32, 48]);
      assert.deepEqual([att.layers, att.heads, att.tokens], [3, 4, 25]);
      assertRowsSumToOne(att, 1e-5);
      assert.ok(maxAbsDiff(att.data, expected.attentions.flat(3)) < 1e-4, 'attention tensors');

      const maps = clsMaps(att, 1);
      assert.ok(
        maxAbsDiff(
          maps.flat().flatMap((m) => Array.from(m)),
          expected.clsAttention.flat(2),
        ) < 1e-4,
        'CLS maps',
      );

      for (const r of expected.rollout as { fusion: HeadFusion; discardRatio: number; map: number[] }[]) {
        const got = rolloutMap(att, 1, { fusion: r.fusion, discardRatio: r.discardRatio });
        const scale = Math.max(...r.map.map(Math.abs));
        assert.ok(maxAbsDiff(got, r.map) < 1e-4, `rollout ${r.fusion} ${r.discardRatio} (absolute)`);
        assert.ok(maxAbsDiff(got, r.map) / scale < 1e-3, `rollout ${r.fusion} ${r.discardRatio} (relative to its max ${scale})`);
      }

      for (const stats of [headStatistics(att, [4, 6], 8, 1), headStatisticsWasm(att, [4, 6], 8, 1)]) {
        for (const s of stats) {
          const e = expected.headStats[s.layer][s.head];
          assert.ok(Math.abs(s.meanDistance - e.meanDistance) < 1e-3, `distance L${s.layer}H${s.head}`);
          assert.ok(Math.abs(s.entropy - e.entropy) < 1e-4, `entropy L${s.layer}H${s.head}`);
        }
      }
      assert.ok(logits && maxAbsDiff(logits, expected.logits) < 1e-4, 'logits');
      const top = topK(logits, 5, model.files.config.id2label);
      assert.deepEqual(
        top.map((p) => p.label),
        expected.topk.map((p: { label: string }) => p.label),
      );
    }
    await model.session.release();
  });
}
