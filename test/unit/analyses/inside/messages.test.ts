// The inside panel's webview → host validator: the page's messages pass, anything else is dropped
// (a webview is never trusted: the host runs the model on what it asks for).
import assert from 'node:assert/strict';
import test from 'node:test';
import { insideTestIds, parseInsideWebviewMessage } from '../../../../src/analyses/inside/messages';

test('parseInsideWebviewMessage accepts the protocol and rejects anything else', () => {
  assert.deepEqual(parseInsideWebviewMessage({ type: 'rendered', views: ['token-norms'] }), { type: 'rendered', views: ['token-norms'] });
  assert.deepEqual(parseInsideWebviewMessage({ type: 'needFeatures', layer: 3 }), { type: 'needFeatures', layer: 3 });
  assert.deepEqual(parseInsideWebviewMessage({ type: 'hardAttention', map: [0.5, 0.5], mapName: 'rollout', tau: 0.9 }), {
    type: 'hardAttention',
    map: [0.5, 0.5],
    mapName: 'rollout',
    tau: 0.9,
  });
  assert.deepEqual(parseInsideWebviewMessage({ type: 'ready' }), { type: 'ready' });
  assert.deepEqual(parseInsideWebviewMessage({ type: 'featureImages', layer: 2, clear: false }), {
    type: 'featureImages',
    layer: 2,
    clear: false,
  });
  for (const bad of [
    null,
    'ready',
    { type: 'needFeatures', layer: -1 },
    { type: 'needFeatures', layer: 1.5 },
    { type: 'hardAttention', map: [], mapName: 'x', tau: 0.5 },
    { type: 'hardAttention', map: [NaN], mapName: 'x', tau: 0.5 },
    { type: 'hardAttention', map: [1], mapName: 'x', tau: 0 },
    { type: 'hardAttention', map: [1], mapName: 'x', tau: 1.5 },
    { type: 'hardAttention', map: [1], mapName: 7, tau: 0.5 },
    { type: 'rendered', views: [1] },
    { type: 'featureImages', layer: 2, clear: 'yes' },
    { type: 'featureImages', layer: -2, clear: true },
    { type: 'export', requestId: 1, format: 'exe', suggestedName: 'a.exe', bytes: new Uint8Array(1) },
    { type: 'runModel', path: '/etc/passwd' },
  ])
    assert.equal(parseInsideWebviewMessage(bad), undefined, JSON.stringify(bad));
});

test('the panel’s test ids are the issue’s', () => {
  assert.deepEqual(
    [
      insideTestIds.anatomyFilters,
      insideTestIds.anatomyPosition,
      insideTestIds.tokenNorms,
      insideTestIds.featurePca,
      insideTestIds.hardAttentionBox,
    ],
    ['anatomy-filters', 'anatomy-position', 'token-norms', 'feature-pca', 'hard-attention-box'],
  );
});
