// Minimal protobuf wire-format reader and writer: just enough to read an ONNX graph's structure, add
// graph outputs byte-for-byte (weights are never decoded or re-encoded), and write the project's test
// models. Imports nothing; Buffers in, Buffers out.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

export interface Field {
  field: number;
  wire: number;
  /** Varint value (wire 0), or the fixed value's bits as a number (wires 1, 5). */
  int: number;
  /** Payload of a length-delimited field (wire 2): a view into the source buffer. */
  bytes: Buffer;
  /** Byte range of the whole field (key included) in the source buffer. */
  start: number;
  end: number;
}

export class ProtobufError extends Error {}

function readVarint(buf: Buffer, pos: number): [value: number, next: number] {
  const start = pos;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new ProtobufError('truncated varint');
    const b = buf[pos++];
    value += (b & 0x7f) * scale; // float maths: exact up to 2^53, enough for sizes and dims
    if ((b & 0x80) === 0) return [i < 9 ? value : tenByteVarint(buf, start), pos];
    scale *= 128;
  }
  throw new ProtobufError('varint longer than 10 bytes');
}

/**
 * A 10-byte varint is a negative int64 (two's complement, e.g. an attribute axis = −1): decoded exactly
 * as a signed number, since 2^64 − 1 has no float64 of its own.
 */
function tenByteVarint(buf: Buffer, start: number): number {
  let v = 0n;
  for (let i = 0; i < 10; i++) v |= BigInt(buf[start + i] & 0x7f) << BigInt(7 * i);
  return Number(BigInt.asIntN(64, v));
}

/** Iterates the fields of one message. Throws ProtobufError on malformed input. */
export function* fields(buf: Buffer): Generator<Field> {
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [key, p1] = readVarint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 0) throw new ProtobufError('field number 0');
    pos = p1;
    let int = 0;
    let bytes: Buffer = EMPTY;
    if (wire === WIRE_VARINT) {
      [int, pos] = readVarint(buf, pos);
    } else if (wire === WIRE_FIXED64) {
      if (pos + 8 > buf.length) throw new ProtobufError('truncated fixed64');
      int = Number(buf.readBigInt64LE(pos));
      pos += 8;
    } else if (wire === WIRE_BYTES) {
      const [len, p2] = readVarint(buf, pos);
      if (p2 + len > buf.length) throw new ProtobufError('length-delimited field runs past the end');
      bytes = buf.subarray(p2, p2 + len);
      pos = p2 + len;
    } else if (wire === WIRE_FIXED32) {
      if (pos + 4 > buf.length) throw new ProtobufError('truncated fixed32');
      int = buf.readUInt32LE(pos);
      pos += 4;
    } else {
      throw new ProtobufError(`unsupported wire type ${wire}`);
    }
    yield { field, wire, int, bytes, start, end: pos };
  }
}

const EMPTY = Buffer.alloc(0);

/** Packed or repeated varints (e.g. int64 dims, ints attributes). */
export function readPackedVarints(f: Field): number[] {
  if (f.wire === WIRE_VARINT) return [f.int];
  const out: number[] = [];
  let pos = 0;
  while (pos < f.bytes.length) {
    const [v, next] = readVarint(f.bytes, pos);
    out.push(toSigned64(v));
    pos = next;
  }
  return out;
}

/** Varints of negative int64 values read as 2^64 − |v| (fixed64); map them back. 10-byte varints arrive signed already. */
export function toSigned64(v: number): number {
  return v >= 2 ** 63 ? v - 2 ** 64 : v;
}

// ---- writer ----

export function varint(n: number): Buffer {
  let v = BigInt.asUintN(64, BigInt(n)); // negative int64 → two's complement, 10 bytes
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}

const key = (field: number, wire: number) => varint(field * 8 + wire);
export const intField = (field: number, v: number) => Buffer.concat([key(field, WIRE_VARINT), varint(v)]);
export const bytesField = (field: number, b: Buffer | string) => {
  const payload = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  return Buffer.concat([key(field, WIRE_BYTES), varint(payload.length), payload]);
};
export const messageField = (field: number, ...parts: Buffer[]) => bytesField(field, Buffer.concat(parts));
export const floatField = (field: number, v: number) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return Buffer.concat([key(field, WIRE_FIXED32), b]);
};
export const packedInts = (field: number, values: number[]) => bytesField(field, Buffer.concat(values.map(varint)));
