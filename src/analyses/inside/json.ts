// The JSON contracts of "Inside the ViT" (`vit-lens anatomy|tokens|features --json`, `attention
// --hard-attention`, and the panel's Save JSON). Numbers to 7 significant digits; maps row-major over
// the patch grid. A part the model cannot have is `{"unavailable": {"code", "message", "hint"}}`. Pure.
import { round7, round7All } from '../../shared/jsonNumbers';
import type { AnatomyResult, FeaturesResult, HardAttentionResult, TokensResult, Unavailable } from './types';

const isUnavailable = (x: object): x is Unavailable => 'unavailable' in x;

/** [k·n] → [[n]…]. */
export function rows(flat: ArrayLike<number>, n: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i + n <= flat.length; i += n) out.push(round7All(Array.prototype.slice.call(flat, i, i + n) as number[]));
  return out;
}

export function anatomyJson(r: AnatomyResult): Record<string, unknown> {
  const pe = r.patchEmbedding;
  const pos = r.positionEmbedding;
  const [, c, p, q] = isUnavailable(pe) ? [0, 0, 0, 0] : pe.shape;
  return {
    model: { path: r.model.path, inputSize: r.model.inputSize, patchSize: r.model.patchSize },
    patchEmbedding: isUnavailable(pe)
      ? pe
      : {
          weight: pe.weight,
          shape: pe.shape,
          components: rows(pe.components, c * p * q),
          explainedVarianceRatio: round7All(pe.explainedVarianceRatio),
        },
    positionEmbedding: isUnavailable(pos)
      ? pos
      : {
          table: pos.table,
          shape: pos.shape,
          leading: pos.leading,
          grid: pos.grid,
          runtimeGrid: pos.runtimeGrid,
          interpolated: pos.grid[0] !== pos.runtimeGrid[0] || pos.grid[1] !== pos.runtimeGrid[1],
          similarity: rows(pos.similarity, pos.grid[0] * pos.grid[1]),
        },
  };
}

/** Token roles as indices into the sequence: cls / distillation an index or null, registers a list. */
export function tokenRoles(t: TokensResult['tokens']): Record<string, unknown> {
  return {
    count: t.count,
    cls: t.cls ? 0 : null,
    distillation: t.distillation ? (t.cls ? 1 : 0) : null,
    registers: Array.from({ length: t.registers }, (_, i) => t.firstPatch - t.registers + i),
    firstPatch: t.firstPatch,
  };
}

export function tokensJson(r: TokensResult): Record<string, unknown> {
  const received = r.attentionReceived;
  return {
    image: r.image,
    model: { path: r.model.path, inputSize: r.model.inputSize, patchSize: r.model.patchSize },
    grid: r.grid,
    tokens: tokenRoles(r.tokens),
    norms: r.norms.map((n) => round7All(n)),
    outliers: r.outliers.map((o) => ({ layer: o.layer, token: o.token, norm: round7(o.norm) })),
    outliersFrom: r.outliersFrom,
    attentionReceived: Array.isArray(received) ? received.map((a) => round7All(a)) : null,
    ...(Array.isArray(received) ? {} : { attentionUnavailable: received.unavailable }),
    ...(r.rollout
      ? { rollout: { map: round7All(r.rollout.map), excluded: round7All(r.rollout.excluded), excludedTokens: r.rollout.excludedTokens } }
      : {}),
    ...(r.predictions ? { predictions: r.predictions } : {}),
    timingsMs: r.timingsMs,
  };
}

export function featuresJson(r: FeaturesResult): Record<string, unknown> {
  const first = r.images[0];
  const image = (i: FeaturesResult['images'][number]) => ({
    path: i.path,
    components: i.components.map((c) => round7All(c)),
    foreground: Array.from(i.foreground),
  });
  return {
    model: { path: r.model.path, inputSize: r.model.inputSize, patchSize: r.model.patchSize },
    layer: r.layer,
    grid: r.grid,
    explainedVarianceRatio: round7All(r.explainedVarianceRatio),
    // The first image at the top level (the single-image contract); every image, the first included, in `images`.
    components: image(first).components,
    foreground: image(first).foreground,
    images: r.images.map(image),
    timingsMs: r.timingsMs,
  };
}

export function hardAttentionJson(h: HardAttentionResult): Record<string, unknown> {
  return { map: h.map, tau: h.tau, mass: round7(h.mass), box: h.box, gridBox: h.gridBox, predictions: h.predictions };
}
