// Typed arrays as they arrive: postMessage keeps them, but an older host, the report's typed JSON or a
// restored state may hand them back as plain arrays or index-keyed objects (a Uint16Array as its
// little-endian bytes). Each helper returns the typed array or throws an Error naming the field; every
// page revives its result and slices with these. Pure: no DOM, no vscode or Node imports.

function values(v: unknown): number[] | null {
  if (Array.isArray(v)) return v as number[];
  if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) return Object.values(v as Record<string, number>);
  return null;
}

export function asFloat32(v: unknown, field: string): Float32Array {
  if (v instanceof Float32Array) return v;
  if (v instanceof Float64Array) return Float32Array.from(v);
  const a = values(v);
  if (a) return Float32Array.from(a);
  throw new Error(`the result's ${field} is not a float array`);
}

export function asUint8(v: unknown, field: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof Uint8ClampedArray) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const a = values(v);
  if (a) return Uint8Array.from(a);
  throw new Error(`the result's ${field} is not a byte array`);
}

/** A Uint16Array, or its little-endian bytes (2·count of them), or a plain array of ids. */
export function asUint16(v: unknown, count: number, field: string): Uint16Array {
  if (v instanceof Uint16Array) return v;
  if (v instanceof Uint8Array && v.length === 2 * count && count > 0) {
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) out[i] = v[2 * i] | (v[2 * i + 1] << 8);
    return out;
  }
  if (v instanceof Uint8Array || v instanceof Int32Array || v instanceof Uint32Array) return Uint16Array.from(v);
  const a = values(v);
  if (a) return Uint16Array.from(a);
  throw new Error(`the result's ${field} is not an integer array`);
}

export function expectLength(a: ArrayLike<unknown>, n: number, field: string, shape: string): void {
  if (a.length !== n) throw new Error(`the result's ${field} has ${a.length} values; its shape ${shape} needs ${n}`);
}
