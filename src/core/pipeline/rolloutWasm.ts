// Attention rollout with WebAssembly SIMD: the same row as rolloutRow (src/maths/attention.ts, the
// readable reference the tests compare against) in about a quarter of the time; it was the engine's
// longest step after inference for a panel's rollout and the CLI's JSON (13 ms on ViT-B). With a
// discard ratio it is rolloutRow itself (the discard orders the whole fused matrix). Engine-side only.
import { rolloutRow, type RolloutOptions } from '../../maths/attention';
import type { AttentionTensor } from '../../shared/attentionTypes';
import kernelBytes from './rollout.wat';

interface Kernel {
  memory: WebAssembly.Memory;
  step(layer: number, stride: number, heads: number, n: number, fusion: number, v: number, next: number, row: number): void;
}

let kernel: Kernel | undefined;
function getKernel(): Kernel {
  kernel ??= new WebAssembly.Instance(new WebAssembly.Module(kernelBytes)).exports as unknown as Kernel;
  return kernel;
}

const PAGE = 65536;
const FUSION = { mean: 0, max: 1, min: 2 } as const;
const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/**
 * Row `query` of R = Â_L ⋯ Â_start (rolloutRow's definition), one layer copied into the kernel's memory
 * at a time. Memory: [one layer: H heads of N×N f32 | v: N f64 | next: N f64 | fused row: N f32, padded].
 */
export function rolloutRowWasm(t: AttentionTensor, opts: RolloutOptions): Float32Array {
  if (opts.discardRatio > 0) return rolloutRow(t, opts);
  const n = t.tokens;
  const headFloats = n * n;
  const vPtr = align16(t.heads * headFloats * 4);
  const nextPtr = vPtr + align16(n * 8);
  const rowPtr = nextPtr + align16(n * 8);
  const needed = rowPtr + align16(n * 4);
  const k = getKernel();
  if (k.memory.buffer.byteLength < needed) k.memory.grow(Math.ceil((needed - k.memory.buffer.byteLength) / PAGE));
  const f32 = new Float32Array(k.memory.buffer); // made after any grow: growing detaches older views
  const f64 = new Float64Array(k.memory.buffer);
  let v = vPtr;
  let next = nextPtr;
  f64.fill(0, v / 8, v / 8 + n);
  f64[v / 8 + (opts.query ?? 0)] = 1;
  for (let l = t.layers - 1; l >= (opts.startLayer ?? 0); l--) {
    f32.set(t.data.subarray(l * t.heads * headFloats, (l + 1) * t.heads * headFloats), 0);
    f64.fill(0, next / 8, next / 8 + n);
    k.step(0, headFloats, t.heads, n, FUSION[opts.fusion], v, next, rowPtr);
    [v, next] = [next, v];
  }
  return Float32Array.from(f64.subarray(v / 8, v / 8 + n));
}
