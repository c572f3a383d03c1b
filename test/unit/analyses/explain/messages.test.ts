// The explain view's messages as both panels' parsers see them: a well-formed request passes with only
// the fields it had (region, steps, layer/head), anything malformed is dropped (undefined), never passed on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExplainMessage } from '../../../../src/analyses/explain/messages';
import { parseWebviewMessage } from '../../../../src/analyses/attention/messages';
import { parseDenseWebviewMessage } from '../../../../src/analyses/dense/messages';

const base = { methods: ['occlusion'], window: 2, samples: 500, seed: 0, score: 'probability' };

test('explain requests: the fields a request had, checked', () => {
  assert.deepEqual(parseExplainMessage({ type: 'explain', resultId: 3, request: { ...base, target: 7, steps: true } }), {
    type: 'explain',
    resultId: 3,
    request: { ...base, target: 7, steps: true },
  });
  const region = [0, 8, 64, 40];
  assert.deepEqual(parseDenseWebviewMessage({ type: 'explain', resultId: 1, request: { ...base, region } }), {
    type: 'explain',
    resultId: 1,
    request: { ...base, region },
  });
  assert.deepEqual(parseWebviewMessage({ type: 'explain', resultId: 2, request: { ...base, layer: 3, head: 'mean' } }), {
    type: 'explain',
    resultId: 2,
    request: { ...base, layer: 3, head: 'mean' },
  });
  // steps: false is the default and is not carried on.
  assert.deepEqual(parseExplainMessage({ type: 'explain', resultId: 0, request: { ...base, steps: false } }), {
    type: 'explain',
    resultId: 0,
    request: base,
  });
  assert.deepEqual(parseDenseWebviewMessage({ type: 'cancelExplain' }), { type: 'cancelExplain' });
  assert.equal(parseExplainMessage({ type: 'ready' }), null);
});

test('explain requests: malformed ones are dropped', () => {
  const bad: Record<string, unknown>[] = [
    { ...base, methods: [] },
    { ...base, methods: ['occlusion', 'gradcam'] },
    { ...base, region: [0, 0, 10] },
    { ...base, region: [0, 0, 10, Number.NaN] },
    { ...base, target: -1 },
    { ...base, score: 'logit' },
    { ...base, steps: 'yes' },
    { ...base, head: 'max' },
    { ...base, samples: 1.5 },
  ];
  for (const request of bad) {
    assert.equal(parseExplainMessage({ type: 'explain', resultId: 1, request }), undefined, JSON.stringify(request));
    assert.equal(parseDenseWebviewMessage({ type: 'explain', resultId: 1, request }), undefined, JSON.stringify(request));
  }
  assert.equal(parseExplainMessage({ type: 'explain', resultId: -2, request: base }), undefined);
  assert.equal(parseExplainMessage({ type: 'explain', resultId: 1 }), undefined);
});
