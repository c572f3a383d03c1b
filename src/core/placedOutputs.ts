// Outputs written in place. After a model's first run on an input shape, the shapes of its fetched
// outputs are known; later runs on that shape hand onnxruntime arrays to write into, the attention
// layers as views of one [L, H, N, N] array. That skips our stacking copy of the attention: 22 MB on
// ViT-B, 192 MB on DPT-B at 384². (onnxruntime-node 1.30 still copies every output into a new
// ArrayBuffer after the run, given array or not; client/engineClient.ts keeps those copies cheap.)
// The [L, H, N, N] array is recycled when its owner is done with it (`recycleAttention`: the engine,
// after sending a result or when a panel's kept result is superseded): in a new array, onnxruntime's
// threads take the page faults, and that measured slower than letting onnxruntime copy.
import * as ort from 'onnxruntime-node';
import type { AttentionTensor } from '../shared/attentionTypes';
import type { SessionModel } from './model/vitModel';

interface RecordedShapes {
  /** Input shape and fetched names: a run with another key runs unplaced and records anew. */
  key: string;
  dims: Map<string, readonly number[]>;
  /** The attention outputs, in layer order, each [1, heads, tokens, tokens]. */
  attention?: { names: string[]; heads: number; tokens: number };
}
const recorded = new WeakMap<SessionModel, RecordedShapes>();

/** Attention arrays given back by their owners, for the next run of the same size. */
const spare: Float32Array[] = [];
const MAX_SPARE = 2;

/** Gives an attention array back: its owner must hold no reference to it (or to a view of it) any more. */
export function recycleAttention(data: Float32Array): void {
  if (data.byteLength > 0 && data.byteOffset === 0 && !spare.includes(data)) {
    // byteLength 0: detached
    if (spare.length >= MAX_SPARE) spare.shift();
    spare.push(data);
  }
}

function takeAttentionArray(length: number): Float32Array {
  const i = spare.findIndex((a) => a.length === length);
  return i >= 0 ? spare.splice(i, 1)[0] : new Float32Array(length);
}

const keyOf = (inputDims: readonly number[], names: string[]) => `${inputDims.join('x')}|${names.join('\n')}`;

/** The attention's shape expected before a first run: each of `names` one layer [1, heads, tokens, tokens]. */
export interface AttentionGuess {
  names: string[];
  heads: number;
  tokens: number;
}

/**
 * One session.run fetching `names`. With recorded shapes for this input shape, the outputs land in given
 * arrays and `attention` is the [L, H, N, N] tensor they form (rows not yet checked). Without, a `guess`
 * places the attention layers alone (onnxruntime allocates the other outputs): a first run then needs
 * no stacking copy (192 MB on DPT-B at 384²). Should a placed run fail (a wrong guess, an output whose
 * shape depends on the content), the record is dropped and the run repeated unplaced, so only the
 * normal path's errors reach the caller.
 */
export async function runPlaced(
  model: SessionModel,
  input: ort.Tensor,
  names: string[],
  guess?: AttentionGuess,
): Promise<{ outputs: Record<string, ort.Tensor>; attention?: AttentionTensor }> {
  const feeds = { [model.inputName]: input };
  const known = recorded.get(model);
  if (!known || known.key !== keyOf(input.dims, names)) {
    if (!guess || guess.names.length === 0 || !guess.names.every((n) => names.includes(n)))
      return { outputs: await model.session.run(feeds, names) };
    const { heads, tokens } = guess;
    const per = heads * tokens * tokens;
    const data = takeAttentionArray(guess.names.length * per);
    const fetches: Record<string, ort.Tensor | null> = Object.fromEntries(names.map((n) => [n, null]));
    guess.names.forEach((n, l) => {
      fetches[n] = new ort.Tensor('float32', data.subarray(l * per, (l + 1) * per), [1, heads, tokens, tokens]);
    });
    try {
      return { outputs: await model.session.run(feeds, fetches), attention: { layers: guess.names.length, heads, tokens, data } };
    } catch {
      return { outputs: await model.session.run(feeds, names) }; // onnxruntime refused the buffers: not that shape
    }
  }
  const fetches: Record<string, ort.Tensor> = {};
  let attention: AttentionTensor | undefined;
  if (known.attention) {
    const { names: layers, heads, tokens } = known.attention;
    const per = heads * tokens * tokens;
    const data = takeAttentionArray(layers.length * per); // every value is overwritten by the run
    layers.forEach((n, l) => {
      fetches[n] = new ort.Tensor('float32', data.subarray(l * per, (l + 1) * per), known.dims.get(n)!);
    });
    attention = { layers: layers.length, heads, tokens, data };
  }
  for (const n of names) {
    const dims = known.dims.get(n)!;
    fetches[n] ??= new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  }
  try {
    return { outputs: await model.session.run(feeds, fetches), attention };
  } catch {
    recorded.delete(model);
    return { outputs: await model.session.run(feeds, names) };
  }
}

/**
 * After an unplaced run: records the shapes of `names` for the next runs on this input shape, when all
 * are float32 and the attention (stacked from `attentionNames`) came as one [1, H, N, N] output per layer.
 */
export function recordShapes(
  model: SessionModel,
  inputDims: readonly number[],
  names: string[],
  attentionNames: string[],
  outputs: Record<string, ort.Tensor>,
  attention: AttentionTensor | undefined,
): void {
  if (!names.every((n) => outputs[n]?.type === 'float32')) return;
  const layers = attention
    ? attentionNames.filter((n) => {
        const d = outputs[n]?.dims;
        return d?.length === 4 && d[0] === 1 && d[1] === attention.heads && d[3] === attention.tokens;
      })
    : [];
  if (attention && layers.length !== attention.layers) return; // stacked or mixed layouts: keep stacking
  recorded.set(model, {
    key: keyOf(inputDims, names),
    dims: new Map(names.map((n) => [n, outputs[n].dims])),
    attention: attention ? { names: layers, heads: attention.heads, tokens: attention.tokens } : undefined,
  });
}
