// NumPy .npy writer (format version 1.0) for float32 arrays in C order: the `--npy` export of the raw
// depth map. Layout: magic "\x93NUMPY", version 1 0, header length (uint16 LE), an ASCII dict literal
// padded with spaces and ended by "\n" so the data starts at a multiple of 64 bytes, then the values
// little-endian. Pure: no DOM, no imports.

/** The header dict numpy writes, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
export function npyHeaderDict(shape: readonly number[]): string {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  return `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
}

export function encodeNpyFloat32(data: Float32Array, shape: readonly number[]): Uint8Array {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`bad .npy shape (${shape.join(', ')})`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`shape (${shape.join(', ')}) holds ${count} values, the array has ${data.length}`);
  const dict = npyHeaderDict(shape);
  const preamble = 10; // magic (6) + version (2) + header length (2)
  const total = Math.ceil((preamble + dict.length + 1) / 64) * 64;
  const headerLen = total - preamble;
  if (headerLen > 0xffff) throw new Error('the .npy header is too long for format 1.0');
  const out = new Uint8Array(total + data.length * 4);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0); // \x93 N U M P Y, version 1.0
  const view = new DataView(out.buffer);
  view.setUint16(8, headerLen, true);
  const header = dict.padEnd(headerLen - 1, ' ') + '\n';
  for (let i = 0; i < header.length; i++) out[preamble + i] = header.charCodeAt(i);
  // DataView, not a Float32Array view: explicit little-endian whatever the platform.
  for (let i = 0; i < data.length; i++) view.setFloat32(total + 4 * i, data[i], true);
  return out;
}
