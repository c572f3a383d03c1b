// The JSON contract of a gates run (`vit-lens gates --json`, and the panel's Save JSON, which writes the
// same document for the gate it shows). Per gate: node, kind, shape and values (all values of the gate
// tensor, row-major: C weights for a channel gate, H·W for a spatial gate), plus where it sits. Pure.
import { round7All } from '../../shared/jsonNumbers';
import type { Gate, GatesResult } from './types';

export function gateJson(g: Gate): Record<string, unknown> {
  return {
    index: g.index,
    node: g.node,
    op: g.op,
    kind: g.kind,
    shape: g.shape,
    featureShape: g.featureShape,
    mulNode: g.mulNode,
    values: round7All(g.values),
    ...(g.topChannels ? { topChannels: g.topChannels.channels } : {}),
  };
}

/** The whole run's document; with `only`, the same document holding just that gate. */
export function gatesJson(r: GatesResult, only?: Gate): Record<string, unknown> {
  return {
    image: r.image,
    model: { path: r.model.path, inputSize: r.model.inputSize },
    ...(r.predictions ? { predictions: r.predictions } : {}),
    gates: (only ? [only] : r.gates).map(gateJson),
    timingsMs: r.timingsMs,
  };
}
