// The compare JSON contract (`vit-lens compare --json`, the panel's Save JSON): both models' attention
// documents (the attention analysis's own builder), rolloutDifference = rollout(a) − rollout(b),
// headDeltas (a − b) and layerChange. Pure: runs in Node and the webview.
import { round7, round7All } from '../../shared/jsonNumbers';
import { attentionJson, type AttentionJsonOptions } from '../attention/json';
import type { CompareResult } from './types';

export function compareJson(r: CompareResult, opts: AttentionJsonOptions): Record<string, unknown> {
  const c = r.comparison;
  return {
    a: attentionJson(r.a, r.sliceA, opts),
    b: attentionJson(r.b, r.sliceB, opts),
    rolloutDifference: c.rolloutDifference ? round7All(c.rolloutDifference) : null,
    headDeltas: c.headDeltas.map((d) => ({
      layer: d.layer,
      head: d.head,
      meanDistance: round7(d.meanDistance),
      entropy: round7(d.entropy),
    })),
    layerChange: c.layerChange ? round7All(c.layerChange) : null,
    ...(c.note ? { note: c.note } : {}),
  };
}
