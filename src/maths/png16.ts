// A minimal PNG encoder for 16-bit grayscale images (the depth export): signature, IHDR, optional tEXt,
// IDAT (zlib via the platform's CompressionStream('deflate'), which browsers and Node ≥ 18 both have),
// IEND, each chunk with its CRC-32. Canvas only writes 8-bit PNGs, hence this file.
// Pure apart from CompressionStream; no DOM, no imports.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC / zlib / PNG), continuing from a previous `crc` (0 to start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length (big-endian), type, data, CRC over type + data. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  if (!/^[A-Za-z]{4}$/.test(type)) throw new Error(`bad PNG chunk type "${type}"`);
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** zlib stream (RFC 1950: header, deflate data, Adler-32) of `data`. */
export async function zlibDeflate(data: Uint8Array): Promise<Uint8Array> {
  if (typeof CompressionStream !== 'function') throw new Error('this browser has no CompressionStream: the 16-bit PNG cannot be written');
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const latin1 = (s: string) => Uint8Array.from(s, (ch) => (ch.charCodeAt(0) < 256 ? ch.charCodeAt(0) : 63));

/**
 * Scanlines of a 16-bit grayscale image, each prefixed with PNG filter 1 (Sub: every byte minus the byte
 * two before it, mod 256), which keeps smooth depth maps small. Samples are big-endian as PNG requires.
 * [height, 1 + 2·width] bytes.
 */
export function filteredScanlines16(values: Uint16Array, width: number, height: number): Uint8Array {
  const stride = 1 + 2 * width;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const o = y * stride;
    out[o] = 1;
    let prevHi = 0;
    let prevLo = 0;
    for (let x = 0; x < width; x++) {
      const v = values[y * width + x];
      const hi = v >>> 8;
      const lo = v & 0xff;
      out[o + 1 + 2 * x] = (hi - prevHi) & 0xff;
      out[o + 2 + 2 * x] = (lo - prevLo) & 0xff;
      prevHi = hi;
      prevLo = lo;
    }
  }
  return out;
}

/** A complete 16-bit grayscale PNG. `text` becomes tEXt chunks (Latin-1 keywords of 1–79 characters). */
export async function encodePng16(
  values: Uint16Array,
  width: number,
  height: number,
  text: Record<string, string> = {},
): Promise<Uint8Array> {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new Error(`bad PNG size ${width}×${height}`);
  if (values.length !== width * height) throw new Error(`${values.length} values for a ${width}×${height} PNG`);
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 16; // bit depth
  ihdr[9] = 0; // colour type: grayscale
  // compression 0 (deflate), filter method 0 (adaptive), interlace 0: already zero
  const chunks = [pngChunk('IHDR', ihdr)];
  for (const [key, value] of Object.entries(text)) {
    if (!/^[\x20-\x7e]{1,79}$/.test(key)) throw new Error(`bad PNG text keyword "${key}"`);
    chunks.push(pngChunk('tEXt', Uint8Array.from([...latin1(key), 0, ...latin1(value)])));
  }
  chunks.push(pngChunk('IDAT', await zlibDeflate(filteredScanlines16(values, width, height))));
  chunks.push(pngChunk('IEND', new Uint8Array(0)));
  const signature = [137, 80, 78, 71, 13, 10, 26, 10];
  const out = new Uint8Array(8 + chunks.reduce((n, c) => n + c.length, 0));
  out.set(signature, 0);
  let o = 8;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
