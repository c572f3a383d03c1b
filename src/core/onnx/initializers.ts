// Reads chosen initializers (weights) of an ONNX model as float32, without decoding the others: the file
// is walked with positioned reads (skeleton.ts's WindowReader), each TensorProto's small fields are
// parsed, and only the payloads the caller asks for are read, inline (raw_data, float_data) or from its
// external-data file. TensorProto fields (onnx/onnx.proto3): 1 dims, 2 data_type, 4 float_data,
// 8 name, 9 raw_data, 10 double_data, 13 external_data, 14 data_location.
import fs from 'node:fs';
import path from 'node:path';
import { openRegularFile } from '../regularFile';
import { ElemType } from './onnxModel';
import { ProtobufError, WIRE_BYTES, WIRE_VARINT, fields, readPackedVarints } from './protobuf';
import { WindowReader, fieldsAt } from './skeleton';

export interface InitializerHeader {
  name: string;
  dims: number[];
  dataType: number;
}

export interface InitializerTensor extends InitializerHeader {
  data: Float32Array;
}

/** IEEE 754 half → float. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Little-endian payload bytes of a FLOAT / FLOAT16 / DOUBLE tensor as float32. */
function decodePayload(bytes: Buffer, dataType: number, name: string): Float32Array {
  if (dataType === ElemType.FLOAT) {
    const out = new Float32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
    return out;
  }
  if (dataType === ElemType.FLOAT16)
    return Float32Array.from({ length: bytes.length / 2 }, (_, i) => halfToFloat(bytes.readUInt16LE(i * 2)));
  if (dataType === ElemType.DOUBLE) return Float32Array.from({ length: bytes.length / 8 }, (_, i) => bytes.readDoubleLE(i * 8));
  throw new ProtobufError(`initializer ${name} has data type ${dataType}, not a float type`);
}

function readExternal(modelDir: string, location: string, offset: number, length: number | undefined, name: string): Buffer {
  const file = path.resolve(modelDir, location);
  // External data must stay beside the model (the ONNX spec: paths relative to the model's folder).
  if (path.relative(modelDir, file).startsWith('..'))
    throw new ProtobufError(`initializer ${name}: external data path ${location} leaves the model's folder`);
  const { fd, size } = openRegularFile(file);
  try {
    const len = length ?? size - offset;
    if (offset < 0 || offset + len > size) throw new ProtobufError(`initializer ${name}: external data runs past the end of ${location}`);
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = fs.readSync(fd, buf, got, len - got, offset + got);
      if (n === 0) throw new ProtobufError(`initializer ${name}: ${location} is shorter than its size`);
      got += n;
    }
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The initializers of the model at `onnxPath` for which `want(header)` is true, decoded to float32
 * (batch of names, one pass). Every other initializer's payload is skipped. `payloadBytesRead` counts
 * the weight bytes read, so a caller (or test) can see that nothing else was. Throws ProtobufError on
 * malformed files and for wanted tensors that are not float.
 */
export function readInitializers(
  onnxPath: string,
  want: (h: InitializerHeader) => boolean,
): { tensors: Map<string, InitializerTensor>; payloadBytesRead: number } {
  const tensors = new Map<string, InitializerTensor>();
  let payloadBytesRead = 0;
  const { fd, size } = openRegularFile(onnxPath);
  try {
    const r = new WindowReader(fd, size);
    for (const top of fieldsAt(r, 0, r.size)) {
      if (top.field !== 7 || top.wire !== WIRE_BYTES) continue; // ModelProto.graph
      for (const g of fieldsAt(r, top.payloadStart, top.end)) {
        if (g.field !== 5 || g.wire !== WIRE_BYTES) continue; // GraphProto.initializer
        const header: InitializerHeader = { name: '', dims: [], dataType: 0 };
        let payload: { start: number; length: number; packed: 'raw' | 'float' | 'double' } | undefined;
        const external: Record<string, string> = {};
        for (const f of fieldsAt(r, g.payloadStart, g.end)) {
          const len = f.end - f.payloadStart;
          if (f.field === 1) {
            if (f.wire === WIRE_VARINT) header.dims.push(r.varint(f.payloadStart)[0]);
            else
              for (const d of readPackedVarints({
                field: 1,
                wire: WIRE_BYTES,
                int: 0,
                bytes: r.copy(f.payloadStart, len),
                start: 0,
                end: 0,
              }))
                header.dims.push(d);
          } else if (f.field === 2 && f.wire === WIRE_VARINT) header.dataType = r.varint(f.payloadStart)[0];
          else if (f.field === 8 && f.wire === WIRE_BYTES) header.name = r.copy(f.payloadStart, len).toString('utf8');
          else if (f.field === 9 && f.wire === WIRE_BYTES) payload = { start: f.payloadStart, length: len, packed: 'raw' };
          else if (f.field === 4 && f.wire === WIRE_BYTES) payload = { start: f.payloadStart, length: len, packed: 'float' };
          else if (f.field === 10 && f.wire === WIRE_BYTES) payload = { start: f.payloadStart, length: len, packed: 'double' };
          else if (f.field === 13 && f.wire === WIRE_BYTES) {
            let k = '';
            let v = '';
            for (const e of fields(r.copy(f.payloadStart, len))) {
              if (e.field === 1) k = e.bytes.toString('utf8');
              else if (e.field === 2) v = e.bytes.toString('utf8');
            }
            external[k] = v;
          }
        }
        if (!want(header)) continue;
        let bytes: Buffer;
        let dataType = header.dataType;
        if (external.location) {
          bytes = readExternal(
            path.dirname(onnxPath),
            external.location,
            Number(external.offset ?? 0),
            external.length !== undefined ? Number(external.length) : undefined,
            header.name,
          );
        } else if (payload) {
          bytes = r.copy(payload.start, payload.length);
          if (payload.packed === 'float') dataType = ElemType.FLOAT;
          else if (payload.packed === 'double') dataType = ElemType.DOUBLE;
        } else bytes = Buffer.alloc(0);
        payloadBytesRead += bytes.length;
        const data = decodePayload(bytes, dataType, header.name);
        const count = header.dims.reduce((a, b) => a * b, 1);
        if (data.length !== count)
          throw new ProtobufError(
            `initializer ${header.name} holds ${data.length} values but its shape [${header.dims.join(', ')}] needs ${count}`,
          );
        tensors.set(header.name, { ...header, data });
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return { tensors, payloadBytesRead };
}
