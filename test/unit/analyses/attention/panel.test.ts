// The attention panel's engine request, first map first: attentionPanel streams the first map (the
// predictions and query 0's rows, no raw baseline, no head statistics), then query 0's rollout, before
// the whole result under the same request; a run cancelled after its map sends no whole result and keeps no tensor.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import { EngineClient } from '../../../../src/client/engineClient';
import { Engine } from '../../../../src/core/engine/engine';
import type { AttentionMapPartial } from '../../../../src/analyses/attention/types';
import type { FromEngine } from '../../../../src/shared/engineProtocol';
import { writeSampleScene } from '../../../fixtures/builders/sampleImages';
import { distDir, fixtureModels, tempDir } from '../../support';

const settings = { fusion: 'mean' as const, discardRatio: 0, startLayer: 0 };
let image: string;
let models: Record<string, string>;

before(async () => {
  models = fixtureModels();
  image = await writeSampleScene(tempDir());
});

test("engine: attentionPanel sends the first map ahead (predictions and query 0's rows, no baseline, no statistics), then its rollout, then the whole result", async () => {
  const client = new EngineClient({ enginePath: path.join(distDir, 'engine.js') });
  try {
    for (const modelPath of [models['vit-tiny'], null]) {
      const events: string[] = [];
      let map: AttentionMapPartial | undefined;
      let rollout: AttentionMapPartial | undefined;
      const panel = await client.request(
        'attentionPanel',
        { imagePath: image, modelPath, rollout: settings },
        {
          onPartial: (p) => {
            const part = p as AttentionMapPartial;
            events.push(part.kind);
            if (part.kind === 'map') map = part;
            else rollout = part;
          },
        },
      );
      events.push('result');
      assert.deepEqual(events, ['map', 'rollout', 'result'], String(modelPath));
      assert.ok(map?.kind === 'map' && rollout?.kind === 'rollout');
      assert.equal(map.result.baseline, undefined);
      assert.deepEqual(map.result.headStats, []);
      assert.deepEqual(map.result.attention, panel.result.attention);
      assert.deepEqual(map.result.predictions, panel.result.predictions);
      assert.deepEqual(map.result.view.png, panel.result.view.png);
      // The same rows and rollout as the whole result's: the page does not recolour the map it painted.
      assert.deepEqual(map.rows, panel.slice.rows);
      assert.deepEqual(rollout.slice.rows, panel.slice.rows);
      assert.deepEqual(rollout.slice.rollout, panel.slice.rollout);
      assert.ok(panel.result.headStats.length === panel.result.attention.layers * panel.result.attention.heads);
      assert.ok(panel.result.baseline.tokens > 0);
      assert.ok(map.result.timingsMs.total <= panel.result.timingsMs.total);
      await client.request('release', { attentionKey: panel.attentionKey });
    }
    assert.equal(
      (await client.request('attentionPanel', { imagePath: image, modelPath: models['vit-tiny'], rollout: settings })).result.predictions
        ?.length,
      5,
    );
  } finally {
    client.dispose();
  }
});

test('engine: a run cancelled once its first map is sent answers CANCELLED, never a stale whole result, and keeps no tensor', async () => {
  const sent: FromEngine[] = [];
  let settle: () => void = () => {};
  const engine: Engine = new Engine((m, done) => {
    sent.push(m);
    // The client cancels request 1 as its map arrives, while the engine goes on to the statistics.
    if (m.type === 'partial' && m.id === 1) setImmediate(() => engine.handle({ type: 'cancel', id: m.id }));
    // As process IPC: the message has left once the channel took it (a macrotask later).
    setImmediate(() => {
      done?.();
      if (m.type === 'result' || m.type === 'error') settle();
    });
  });
  const runRequest = (id: number) =>
    new Promise<FromEngine[]>((resolve) => {
      settle = () => resolve(sent.filter((m) => 'id' in m && m.id === id));
      engine.handle({
        type: 'request',
        id,
        kind: 'attentionPanel',
        params: { imagePath: image, modelPath: models['vit-tiny'], rollout: settings },
      });
    });
  const cancelled = (await runRequest(1)).map((m) => m.type).filter((t) => t !== 'progress');
  assert.deepEqual(cancelled, ['partial', 'error']);
  const err = sent.find((m) => m.type === 'error' && m.id === 1);
  assert.equal(err?.type === 'error' && err.error.code, 'CANCELLED');
  assert.equal(engine.attentions.size, 0, 'the cancelled run released its tensor');
  // The engine runs on: the next request gets its map and its whole result, and keeps its tensor.
  const next = (await runRequest(2)).map((m) => m.type).filter((t) => t !== 'progress');
  assert.deepEqual(next, ['partial', 'partial', 'result']);
  assert.equal(engine.attentions.size, 1);
  await engine.models.clear();
});
