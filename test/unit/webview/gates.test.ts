// The gates panel's pure parts: the host ⇄ webview message validator (a webview is never trusted) and
// the UI state, ordering, labels and exports of webview/panels/gates/gatesState.ts.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { Gate, GatesResult } from '../../../src/analyses/gates/types';
import { parseGatesWebviewMessage } from '../../../src/analyses/gates/messages';
import { isExportName } from '../../../src/shared/panelProtocol';
import { gatesJson } from '../../../src/analyses/gates/json';
import {
  applyGatesSettings,
  blockLabel,
  channelOrder,
  defaultGatesState,
  fitGatesState,
  gateExportName,
  parseGatesUiState,
  shortNode,
  summarize,
} from '../../../webview/panels/gates/gatesState';

const bytes = Uint8Array.of(1, 2, 3);

test('parseGatesWebviewMessage accepts well-formed messages and rejects everything else', () => {
  assert.deepEqual(parseGatesWebviewMessage({ type: 'ready', extra: 1 }), { type: 'ready' });
  assert.deepEqual(parseGatesWebviewMessage({ type: 'rendered', gates: 4, block: 3, kind: 'spatial' }), {
    type: 'rendered',
    gates: 4,
    block: 3,
    kind: 'spatial',
  });
  assert.equal(parseGatesWebviewMessage({ type: 'rendered', gates: 4, block: 4, kind: 'spatial' }), undefined, 'block out of range');
  assert.equal(
    parseGatesWebviewMessage({ type: 'rendered', gates: 0, block: 0, kind: 'channel' }),
    undefined,
    'a result always has a gate',
  );
  assert.equal(parseGatesWebviewMessage({ type: 'rendered', gates: 2, block: 0, kind: 'element' }), undefined);
  assert.equal(parseGatesWebviewMessage({ type: 'rendered', gates: 2, block: -1, kind: 'channel' }), undefined);
  const exp = { type: 'export', requestId: 3, format: 'png', suggestedName: 'cat-gate2-spatial.png', bytes };
  assert.deepEqual(parseGatesWebviewMessage(exp), exp);
  assert.deepEqual(parseGatesWebviewMessage({ ...exp, format: 'json', suggestedName: 'cat.json' }), {
    ...exp,
    format: 'json',
    suggestedName: 'cat.json',
  });
  assert.equal(parseGatesWebviewMessage({ ...exp, suggestedName: 'cat.json' }), undefined, 'name must end with the format');
  assert.equal(parseGatesWebviewMessage({ ...exp, suggestedName: '../../etc/cat.png' }), undefined, 'no paths');
  assert.equal(parseGatesWebviewMessage({ ...exp, format: 'npy', suggestedName: 'cat.npy' }), undefined);
  assert.equal(parseGatesWebviewMessage({ ...exp, bytes: [1, 2, 3] }), undefined, 'bytes as a typed array only');
  assert.equal(parseGatesWebviewMessage({ ...exp, requestId: 1.5 }), undefined);
  assert.deepEqual(parseGatesWebviewMessage({ type: 'action', action: 'chooseModel' }), { type: 'action', action: 'chooseModel' });
  assert.equal(parseGatesWebviewMessage({ type: 'action', action: 'rm -rf' }), undefined);
  const log = parseGatesWebviewMessage({ type: 'log', level: 'warn', message: 'x'.repeat(5000) });
  assert.equal(log?.type === 'log' && log.message.length, 2000);
  for (const bad of [null, 'ready', 42, {}, { type: 'queryChanged', query: 1, layer: 0, head: 0 }, { type: 'needSlice' }])
    assert.equal(parseGatesWebviewMessage(bad), undefined, JSON.stringify(bad));
});

function gate(
  index: number,
  kind: 'channel' | 'spatial',
  node: string,
  values: number[],
  featureShape: [number, number, number, number],
): Gate {
  return {
    index,
    node,
    op: 'Sigmoid',
    kind,
    mulNode: `${node}/Mul`,
    featureTensor: 'u',
    shape: kind === 'channel' ? [1, values.length, 1, 1] : [1, 1, featureShape[2], featureShape[3]],
    featureShape,
    values: Float32Array.from(values),
  };
}

const result = (gates: Gate[]): GatesResult => ({
  image: { path: '/photos/My Cat (1).jpg', width: 300, height: 200 },
  model: { path: '/m/model.onnx', name: 'se-resnet', inputSize: [224, 224] },
  gates,
  timingsMs: { decode: 1, modelLoad: 0, preprocess: 1, inference: 1, analysis: 1, total: 4 },
  view: { png: new Uint8Array(0), width: 300, height: 200, sourceRect: [0, 0, 300, 200] },
});

test('UI state: restored state validated field by field; host settings win only when they change', () => {
  const base = defaultGatesState({ colormap: 'viridis', opacity: 0.4 });
  assert.deepEqual(parseGatesUiState('garbage', base), base);
  const s = parseGatesUiState(
    {
      block: 3,
      colormap: 'rainbow',
      opacity: 2,
      smooth: true,
      order: 'index',
      imagePath: '/a.png',
      settingsSeen: { colormap: 'jet', opacity: 0.5 },
    },
    base,
  );
  assert.deepEqual([s.block, s.colormap, s.opacity, s.smooth, s.order, s.imagePath], [3, 'viridis', 0.4, true, 'index', '/a.png']);
  assert.deepEqual(s.settingsSeen, { colormap: 'jet', opacity: 0.5 });
  assert.equal(parseGatesUiState({ block: -1 }, base).block, 0);
  // The user picked magma in the panel; the same host settings again keep it, new ones replace it.
  const picked = { ...s, colormap: 'magma' as const };
  assert.equal(applyGatesSettings(picked, { colormap: 'jet', opacity: 0.5 }).colormap, 'magma');
  assert.equal(applyGatesSettings(picked, { colormap: 'turbo', opacity: 0.5 }).colormap, 'turbo');
});

test('fitGatesState keeps the block of a re-run of the same model and resets it for another model', () => {
  const a = result([
    gate(0, 'channel', '/l1/se/Sigmoid', [0.1, 0.9], [1, 2, 4, 4]),
    gate(1, 'spatial', '/l1/sp/Sigmoid', [0.5, 0.2, 0.1, 0.7], [1, 2, 2, 2]),
  ]);
  const s1 = fitGatesState({ ...defaultGatesState(), block: 1 }, a);
  assert.equal(s1.block, 0, 'first result of a model starts at the first gate');
  const s2 = fitGatesState({ ...s1, block: 1 }, a);
  assert.equal(s2.block, 1);
  assert.equal(s2.imagePath, '/photos/My Cat (1).jpg');
  const b = result([gate(0, 'channel', '/other/Sigmoid', [0.3], [1, 1, 2, 2])]);
  assert.equal(fitGatesState(s2, b).block, 0);
});

test('channel order, summaries, labels and exports', () => {
  assert.deepEqual(channelOrder([0.2, 0.9, 0.2, 0.5], 'sorted'), [1, 3, 0, 2], 'ties by index');
  assert.deepEqual(channelOrder([0.2, 0.9, 0.2], 'index'), [0, 1, 2]);
  assert.deepEqual(summarize([0.25, 0.75]), { min: 0.25, mean: 0.5, max: 0.75 });
  assert.equal(shortNode('/model/layer1/layer1.0/se/Sigmoid_16'), 'layer1.0/se/Sigmoid');
  assert.equal(shortNode('sigmoid_out'), 'sigmoid_out');
  const sp = gate(1, 'spatial', '/layer2/spatial/Sigmoid_66', [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [1, 24, 2, 3]);
  assert.equal(blockLabel(sp), '2 · spatial · layer2/spatial/Sigmoid (2×3 positions of 24 channels)');
  // Save JSON writes the CLI's document (gatesJson) holding the gate shown.
  const j = gatesJson(result([sp]), sp) as { gates: { values: number[]; kind: string; shape: number[] }[] };
  assert.equal(j.gates.length, 1);
  assert.equal(j.gates[0].kind, 'spatial');
  assert.deepEqual(
    j.gates[0].values.map((v) => Number(v.toFixed(2))),
    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
    'H·W row-major',
  );
  const name = gateExportName(result([sp]), sp, 'png');
  assert.equal(name, 'My Cat _1_-gate2-spatial-layer2-spatial-Sigmoid.png');
  assert.ok(isExportName(name), 'the host accepts the suggested name');
  const long = gate(0, 'channel', `/${'block'.repeat(40)}/se/Sigmoid`, [0.5, 0.6], [1, 2, 1, 1]);
  const longName = gateExportName(result([long]), long, 'json');
  assert.ok(longName.endsWith('.json') && isExportName(longName), longName);
});
