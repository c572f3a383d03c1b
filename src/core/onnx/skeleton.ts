// Taps a model without copying its weights. The model file is walked with positioned reads: every
// field is read except the payloads of large initializers (TensorProto.raw_data), which are replaced
// by external-data references into the original file (location = the file itself, offset and length
// of the payload). The result is a small "skeleton" ModelProto (a few MB for ViT-B) that onnxruntime
// loads from memory with the model's folder as its external-data folder: it then reads each weight
// straight from the file once, as it does when given the path, instead of from a JS copy of the whole
// model (which cost two extra copies, ~0.5 s per fresh 100 MB on a loaded 2-core machine).
// External-data layout: onnx/onnx.proto3 TensorProto fields 13 (external_data: key/value entries
// "location", "offset", "length") and 14 (data_location, EXTERNAL = 1); see
// https://onnx.ai/onnx/repo-docs/ExternalData.html
import fs from 'node:fs';
import path from 'node:path';
import { openRegularFile } from '../regularFile';
import { ProtobufError, WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT, bytesField, intField, messageField } from './protobuf';

/** Payloads at least this large stay in the file; smaller ones are read (not worth a read call in onnxruntime). */
export const EXTERNAL_MIN_BYTES = 4096;

/** Reads a file at positions through a sliding window, so walking thousands of small fields costs few syscalls. */
export class WindowReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;
  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly windowBytes = 1 << 20,
  ) {}

  /** Bytes [pos, pos + len): a view valid until the next call. */
  read(pos: number, len: number): Buffer {
    if (pos < 0 || pos + len > this.size) throw new ProtobufError('field runs past the end of the file');
    if (pos >= this.windowStart && pos + len <= this.windowStart + this.window.length) {
      return this.window.subarray(pos - this.windowStart, pos - this.windowStart + len);
    }
    const want = Math.min(Math.max(len, this.windowBytes), this.size - pos);
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = fs.readSync(this.fd, buf, got, want - got, pos + got);
      if (n === 0) throw new ProtobufError('file shorter than its size');
      got += n;
    }
    this.window = buf;
    this.windowStart = pos;
    return buf.subarray(0, len);
  }

  /** A copy of [pos, pos + len), kept by the caller. */
  copy(pos: number, len: number): Buffer {
    return Buffer.from(this.read(pos, len));
  }

  /** A varint at pos: [value, next position]. */
  varint(pos: number): [number, number] {
    const b = this.read(pos, Math.min(10, this.size - pos));
    let value = 0;
    let scale = 1;
    for (let i = 0; i < b.length; i++) {
      value += (b[i] & 0x7f) * scale;
      if ((b[i] & 0x80) === 0) return [value, pos + i + 1];
      scale *= 128;
    }
    throw new ProtobufError('truncated or over-long varint');
  }
}

export interface FieldAt {
  field: number;
  wire: number;
  /** Whole field, key included. */
  start: number;
  end: number;
  /** Payload of a length-delimited field. */
  payloadStart: number;
}

/** The fields of a message occupying [start, end) of the file, without reading their payloads. */
export function* fieldsAt(r: WindowReader, start: number, end: number): Generator<FieldAt> {
  let pos = start;
  while (pos < end) {
    const fieldStart = pos;
    const [key, p1] = r.varint(pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 0) throw new ProtobufError('field number 0');
    let payloadStart = p1;
    if (wire === WIRE_VARINT) pos = r.varint(p1)[1];
    else if (wire === WIRE_FIXED64) pos = p1 + 8;
    else if (wire === WIRE_FIXED32) pos = p1 + 4;
    else if (wire === WIRE_BYTES) {
      const [len, p2] = r.varint(p1);
      payloadStart = p2;
      pos = p2 + len;
    } else throw new ProtobufError(`unsupported wire type ${wire}`);
    if (pos > end) throw new ProtobufError('field runs past the end of its message');
    yield { field, wire, start: fieldStart, end: pos, payloadStart };
  }
}

/** One TensorProto (initializer) at [start, end): small fields copied, a large raw_data turned into a reference. */
function skeletonTensor(r: WindowReader, start: number, end: number, location: string): { bytes: Buffer; external: number } {
  const parts: Buffer[] = [];
  let raw: FieldAt | undefined;
  for (const f of fieldsAt(r, start, end)) {
    if (f.field === 9 && f.wire === WIRE_BYTES && f.end - f.payloadStart >= EXTERNAL_MIN_BYTES) raw = f;
    else parts.push(r.copy(f.start, f.end - f.start));
  }
  if (!raw) return { bytes: r.copy(start, end - start), external: 0 };
  // Already-external tensors have no raw_data, so none of these fields is present yet (data_location of an
  // inline tensor is DEFAULT = 0 if written at all; it is dropped below in favour of EXTERNAL).
  const kept = parts.filter((p) => p[0] !== 14 * 8 + WIRE_VARINT);
  const entry = (k: string, v: string) => messageField(13, bytesField(1, k), bytesField(2, v));
  const length = raw.end - raw.payloadStart;
  kept.push(entry('location', location), entry('offset', String(raw.payloadStart)), entry('length', String(length)), intField(14, 1));
  return { bytes: Buffer.concat(kept), external: length };
}

export interface Skeleton {
  /** A ModelProto whose large initializers point into the original file. */
  model: Buffer;
  /** Bytes left in the file (not read). */
  externalBytes: number;
}

/**
 * Builds the skeleton of the ONNX model at `onnxPath`, with `extraGraph` (serialised GraphProto fields,
 * e.g. extra outputs) appended to its graph. Throws ProtobufError when the file is not a protobuf.
 * Load the result with the model's folder as the external-data folder.
 */
export function readSkeleton(onnxPath: string, extraGraph: Buffer = Buffer.alloc(0)): Skeleton {
  const { fd, size } = openRegularFile(onnxPath); // a FIFO or device named .onnx is refused, never read
  try {
    const r = new WindowReader(fd, size);
    const location = path.basename(onnxPath);
    const top: Buffer[] = [];
    let externalBytes = 0;
    let sawGraph = false;
    for (const f of fieldsAt(r, 0, r.size)) {
      if (f.field !== 7 || f.wire !== WIRE_BYTES) {
        top.push(r.copy(f.start, f.end - f.start));
        continue;
      }
      // ModelProto.graph: copy every field but the initializers' large payloads.
      const graph: Buffer[] = [];
      for (const g of fieldsAt(r, f.payloadStart, f.end)) {
        if (g.field === 5 && g.wire === WIRE_BYTES) {
          const t = skeletonTensor(r, g.payloadStart, g.end, location);
          externalBytes += t.external;
          graph.push(t.external ? bytesField(5, t.bytes) : r.copy(g.start, g.end - g.start));
        } else graph.push(r.copy(g.start, g.end - g.start));
      }
      // A repeated graph field would merge (protobuf semantics) but onnxruntime may not expect it: one graph.
      if (!sawGraph) graph.push(extraGraph);
      sawGraph = true;
      top.push(bytesField(7, Buffer.concat(graph)));
    }
    return { model: Buffer.concat(top), externalBytes };
  } finally {
    fs.closeSync(fd);
  }
}
