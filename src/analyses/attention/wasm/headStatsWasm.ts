// Head statistics with WebAssembly SIMD: the same numbers as headStatistics (analysis/attention.ts,
// the readable reference the tests compare against) in about a quarter of the time; it was the
// slowest part of the analysis stage (18 ms of ~37 on ViT-B). Engine-side only.
import { patchDistances } from '../../../maths/attention';
import type { AttentionTensor, HeadStat } from '../../../shared/attentionTypes';
import kernelBytes from './headStats.wat';

interface Kernel {
  memory: WebAssembly.Memory;
  entropy(ptr: number, count: number): number;
  distance(attn: number, n: number, first: number, p: number, dist: number): number;
}

let kernel: Kernel | undefined;
function getKernel(): Kernel {
  // Synchronous compile: the module is a few hundred bytes.
  kernel ??= new WebAssembly.Instance(new WebAssembly.Module(kernelBytes)).exports as unknown as Kernel;
  return kernel;
}

const PAGE = 65536;

/**
 * Per layer and head: mean attention distance over the patch queries (pixels) and mean entropy over
 * all query rows (nats); definitions on headStatistics. Memory: [D: p×p f32 | one layer: H heads of
 * N×N f32, each padded with zeros to a multiple of 4 values for the 4-lane entropy loop].
 */
export function headStatisticsWasm(t: AttentionTensor, grid: [number, number], patchSize: number, firstPatch: number): HeadStat[] {
  const n = t.tokens;
  const p = grid[0] * grid[1];
  if (firstPatch + p > n)
    throw new RangeError(`a ${grid[0]}×${grid[1]} grid after ${firstPatch} special tokens needs more than the ${n} tokens`);
  const k = getKernel();
  const headFloats = n * n;
  const stride = Math.ceil(headFloats / 4) * 4;
  const distPtr = 0;
  const layerPtr = p * p * 4;
  const needed = layerPtr + t.heads * stride * 4;
  if (k.memory.buffer.byteLength < needed) k.memory.grow(Math.ceil((needed - k.memory.buffer.byteLength) / PAGE));
  const memory = new Float32Array(k.memory.buffer); // made after any grow: growing detaches older views
  memory.set(patchDistances(grid[0], grid[1], patchSize), distPtr / 4);
  for (let h = 0; h < t.heads; h++) memory.fill(0, layerPtr / 4 + h * stride + headFloats, layerPtr / 4 + (h + 1) * stride);
  const stats: HeadStat[] = [];
  for (let l = 0; l < t.layers; l++) {
    for (let h = 0; h < t.heads; h++) {
      const src = (l * t.heads + h) * headFloats;
      memory.set(t.data.subarray(src, src + headFloats), layerPtr / 4 + h * stride);
    }
    for (let h = 0; h < t.heads; h++) {
      const head = layerPtr + h * stride * 4;
      stats.push({
        layer: l,
        head: h,
        meanDistance: k.distance(head, n, firstPatch, p, distPtr) / p,
        entropy: k.entropy(head, stride) / n,
      });
    }
  }
  return stats;
}
