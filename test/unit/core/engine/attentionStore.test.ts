// The panel sees one query at a time: slices of the full tensor must equal the full-tensor maps, and
// the store that fetches them must ask the host once per slice, newest request first.
import assert from 'node:assert/strict';
import test from 'node:test';
import { attentionSlice, patchMap, rolloutMap, slicePatchMap } from '../../../../src/maths/attention';
import type { AttentionSlice, RolloutSettings } from '../../../../src/shared/attentionTypes';
import { parseWebviewMessage } from '../../../../src/analyses/attention/messages';
import { SliceStore } from '../../../../webview/shell/sliceStore';
import { maxAbsDiff, randomAttention } from '../../support';

const settings: RolloutSettings = { fusion: 'mean', discardRatio: 0.2, startLayer: 1 };

test('a slice holds every layer×head row of its query and its rollout; maps from it equal the full-tensor maps', () => {
  const t = randomAttention(3, 4, 10, 5); // 1 CLS + 9 patches
  for (const query of [0, 4, 9]) {
    const s = attentionSlice(t, 1, query, settings);
    assert.equal(s.rows.length, 3 * 4 * 10);
    for (let l = 0; l < 3; l++) {
      for (const head of [0, 3, 'mean'] as const) {
        assert.ok(maxAbsDiff(slicePatchMap(s.rows, t, l, head, 1), patchMap(t, l, head, query, 1)) < 1e-7, `L${l} ${head} q${query}`);
      }
      for (let h = 0; h < 4; h++) {
        let sum = 0;
        for (let j = 0; j < 10; j++) sum += s.rows[(l * 4 + h) * 10 + j];
        assert.ok(Math.abs(sum - 1) < 1e-5, 'every row of a slice sums to 1');
      }
    }
    assert.deepEqual(Array.from(s.rollout.map), Array.from(rolloutMap(t, 1, { ...settings, query })));
    assert.deepEqual({ fusion: s.rollout.fusion, discardRatio: s.rollout.discardRatio, startLayer: s.rollout.startLayer }, settings);
  }
});

test('local slice store (report): computes on demand, synchronously, without repaint callbacks', () => {
  const t = randomAttention(2, 2, 5, 9);
  const store = SliceStore.local(t, 1);
  let repaints = 0;
  store.onSlice = () => repaints++;
  assert.ok(maxAbsDiff(store.rows(3, settings)!, attentionSlice(t, 1, 3, settings).rows) === 0);
  assert.ok(
    maxAbsDiff(store.rollout(3, { ...settings, fusion: 'max' })!, rolloutMap(t, 1, { ...settings, fusion: 'max', query: 3 })) === 0,
  );
  assert.equal(repaints, 0);
});

test('remote slice store: one request at a time, newest waiting request wins, stale answers still cached', () => {
  const t = randomAttention(2, 2, 5, 9);
  const asked: number[] = [];
  const store = SliceStore.remote(attentionSlice(t, 1, 0, settings), (q) => asked.push(q));
  let repaints = 0;
  store.onSlice = () => repaints++;
  assert.ok(store.rows(0, settings), 'the first slice comes with the result');
  assert.equal(store.rows(2, settings), undefined);
  assert.equal(store.rows(2, settings), undefined);
  assert.equal(store.rows(3, settings), undefined);
  assert.equal(store.rows(4, settings), undefined);
  assert.deepEqual(asked, [2], 'one request in flight, duplicates not re-sent');
  const answer = (q: number): AttentionSlice => attentionSlice(t, 1, q, settings);
  store.put(answer(2));
  assert.deepEqual(asked, [2, 4], 'then only the newest waiting query (3 was superseded by 4)');
  assert.equal(repaints, 1);
  assert.ok(store.rows(2, settings));
  store.put(answer(4));
  assert.ok(store.rows(4, settings) && store.rollout(4, settings));
  assert.equal(store.rollout(4, { ...settings, discardRatio: 0 }), undefined, 'other rollout settings need another slice');
  assert.deepEqual(asked, [2, 4, 4]);
});

test('needSlice messages are validated', () => {
  const ok = { type: 'needSlice', resultId: 3, query: 5, rollout: { fusion: 'max', discardRatio: 0.5, startLayer: 0 } };
  assert.deepEqual(parseWebviewMessage(ok), ok);
  for (const bad of [
    { ...ok, query: -1 },
    { ...ok, resultId: 1.5 },
    { ...ok, rollout: null },
    { ...ok, rollout: { ...ok.rollout, fusion: 'sum' } },
    { ...ok, rollout: { ...ok.rollout, discardRatio: 1 } },
    { ...ok, rollout: { ...ok.rollout, startLayer: '0' } },
  ])
    assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
});

test('painted (the first map on screen) and rendered (everything) messages are validated', () => {
  const painted = { type: 'painted', view: 'attention', at: 1234.5, receivedAt: 1200 };
  assert.deepEqual(parseWebviewMessage({ ...painted, junk: 1 }), painted);
  assert.equal(parseWebviewMessage({ ...painted, at: 'soon' }), undefined);
  assert.equal(parseWebviewMessage({ ...painted, receivedAt: Infinity }), undefined);
  assert.equal(parseWebviewMessage({ ...painted, view: 3 }), undefined);
  assert.deepEqual(parseWebviewMessage({ type: 'rendered', thumbnails: 144, view: 'rollout' }), {
    type: 'rendered',
    thumbnails: 144,
    view: 'rollout',
  });
  assert.equal(parseWebviewMessage({ type: 'rendered', thumbnails: -1, view: 'rollout' }), undefined);
});

test('retained-result budget: the least recently used result is dropped (logged), its slice answers RESULT_EXPIRED, a re-run re-creates it; a lower budget drops at once', async () => {
  const { AttentionStore } = await import('../../../../src/core/engine/attentionStore');
  const { VitLensError } = await import('../../../../src/shared/errors');
  const make = (seed: number) => randomAttention(2, 3, 17, seed); // 2·3·17·17·4 = 6936 bytes each
  const per = 2 * 3 * 17 * 17 * 4;
  const lines: string[] = [];
  const store = new AttentionStore(2.5 * per, (l) => lines.push(l));
  const a = store.keep(make(1), 1, 0, settings);
  const b = store.keep(make(2), 1, 0, settings);
  store.slice(a.key, 3, settings); // a is now more recently used than b
  const c = store.keep(make(3), 1, 0, settings);
  assert.equal(store.size, 2);
  assert.ok(store.has(a.key) && store.has(c.key) && !store.has(b.key), 'b, the least recently used, was dropped');
  assert.equal(lines.length, 1);
  assert.match(lines[0], new RegExp(`dropped ${b.key} .*least recently used.*within 0\\.0 MB`));
  assert.ok(store.bytes <= 2.5 * per);
  assert.throws(
    () => store.slice(b.key, 0, settings),
    (e) => e instanceof VitLensError && e.code === 'RESULT_EXPIRED',
  );
  // The panel re-runs: the same tensor kept anew serves the slice the dropped one would have.
  const again = store.keep(make(2), 1, 0, settings);
  const expected = attentionSlice(make(2), 1, 5, settings);
  const got = store.slice(again.key, 5, settings);
  assert.equal(maxAbsDiff(got.rows, expected.rows), 0);
  assert.equal(maxAbsDiff(got.rollout.map, expected.rollout.map), 0);
  assert.ok(!store.has(a.key), 'a (now the least recently used) made room');
  // Lowering the budget drops at once, but the newest result always stays.
  store.setBudget(per / 2);
  assert.equal(store.size, 1);
  assert.ok(store.has(again.key));
  assert.equal(lines.length, 3);
});
