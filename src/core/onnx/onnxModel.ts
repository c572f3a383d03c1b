// Reads the structure of an ONNX ModelProto (inputs, outputs, nodes, opsets, external-data files) and
// adds graph outputs without touching anything else. Field numbers are those of onnx/onnx.proto3.
// Weights are skipped, never decoded, so a 300 MB model costs one pass over its bytes.
import { Field, ProtobufError, bytesField, fields, intField, messageField, readPackedVarints, toSigned64 } from './protobuf';

/** TensorProto.DataType values we name in messages. */
export const ElemType = { FLOAT: 1, UINT8: 2, INT8: 3, INT64: 7, FLOAT16: 10, DOUBLE: 11 } as const;

export interface ValueInfo {
  name: string;
  elemType: number;
  /** Each dim is a number, a symbolic name, or null when unknown; `undefined` when the shape is absent. */
  dims?: (number | string | null)[];
}

export interface AttributeValue {
  i?: number;
  f?: number;
  s?: string;
  ints?: number[];
}

export interface NodeInfo {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

export interface OnnxModelInfo {
  irVersion: number;
  /** domain ('' = ai.onnx) → opset version */
  opsets: Record<string, number>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: NodeInfo[];
  initializerNames: Set<string>;
  /** Relative paths of external-data files referenced by initializers. */
  externalDataFiles: string[];
}

export class NotOnnxError extends Error {}

const text = (b: Buffer) => b.toString('utf8');

function parseValueInfo(buf: Buffer): ValueInfo {
  const vi: ValueInfo = { name: '', elemType: 0 };
  for (const f of fields(buf)) {
    if (f.field === 1) vi.name = text(f.bytes);
    else if (f.field === 2) {
      for (const t of fields(f.bytes)) {
        if (t.field !== 1) continue; // TypeProto.tensor_type
        for (const tt of fields(t.bytes)) {
          if (tt.field === 1) vi.elemType = tt.int;
          else if (tt.field === 2) {
            vi.dims = [];
            for (const d of fields(tt.bytes)) {
              if (d.field !== 1) continue; // TensorShapeProto.dim
              let dim: number | string | null = null;
              for (const dv of fields(d.bytes)) {
                if (dv.field === 1) dim = toSigned64(dv.int);
                else if (dv.field === 2) dim = text(dv.bytes);
              }
              vi.dims.push(dim);
            }
          }
        }
      }
    }
  }
  return vi;
}

function parseAttribute(buf: Buffer): [string, AttributeValue] {
  let name = '';
  const v: AttributeValue = {};
  for (const f of fields(buf)) {
    if (f.field === 1) name = text(f.bytes);
    else if (f.field === 2) v.f = Buffer.from(Uint32Array.of(f.int).buffer).readFloatLE(0);
    else if (f.field === 3) v.i = toSigned64(f.int);
    else if (f.field === 4) v.s = text(f.bytes);
    else if (f.field === 8) v.ints = [...(v.ints ?? []), ...readPackedVarints(f)];
  }
  return [name, v];
}

function parseNode(buf: Buffer): NodeInfo {
  const n: NodeInfo = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: {} };
  for (const f of fields(buf)) {
    if (f.field === 1) n.inputs.push(text(f.bytes));
    else if (f.field === 2) n.outputs.push(text(f.bytes));
    else if (f.field === 3) n.name = text(f.bytes);
    else if (f.field === 4) n.opType = text(f.bytes);
    else if (f.field === 7) n.domain = text(f.bytes);
    else if (f.field === 5) {
      const [k, v] = parseAttribute(f.bytes);
      n.attributes[k] = v;
    }
  }
  return n;
}

/** Name and external-data location of an initializer (TensorProto), skipping its payload. */
function parseInitializer(buf: Buffer): { name: string; location?: string } {
  let name = '';
  let location: string | undefined;
  for (const f of fields(buf)) {
    if (f.field === 8) name = text(f.bytes);
    else if (f.field === 13) {
      let k = '';
      let v = '';
      for (const e of fields(f.bytes)) {
        if (e.field === 1) k = text(e.bytes);
        else if (e.field === 2) v = text(e.bytes);
      }
      if (k === 'location') location = v;
    }
  }
  return { name, location };
}

function graphField(model: Buffer): Field | undefined {
  let graph: Field | undefined;
  for (const f of fields(model)) if (f.field === 7 && f.wire === 2) graph = f;
  return graph;
}

/** Parses an ONNX model's structure. Throws NotOnnxError when the bytes are not an ONNX ModelProto. */
export function readOnnxModel(model: Buffer): OnnxModelInfo {
  const info: OnnxModelInfo = {
    irVersion: 0,
    opsets: {},
    inputs: [],
    outputs: [],
    nodes: [],
    initializerNames: new Set(),
    externalDataFiles: [],
  };
  let graph: Field | undefined;
  try {
    for (const f of fields(model)) {
      if (f.field === 1 && f.wire === 0) info.irVersion = f.int;
      else if (f.field === 8 && f.wire === 2) {
        let domain = '';
        let version = 0;
        for (const o of fields(f.bytes)) {
          if (o.field === 1) domain = text(o.bytes);
          else if (o.field === 2) version = o.int;
        }
        info.opsets[domain === 'ai.onnx' ? '' : domain] = version;
      } else if (f.field === 7 && f.wire === 2) graph = f;
    }
    if (!graph || info.irVersion === 0) throw new NotOnnxError('no ONNX graph or IR version found');
    const external = new Set<string>();
    for (const f of fields(graph.bytes)) {
      if (f.field === 1) info.nodes.push(parseNode(f.bytes));
      else if (f.field === 5) {
        const init = parseInitializer(f.bytes);
        info.initializerNames.add(init.name);
        if (init.location) external.add(init.location);
      } else if (f.field === 11) info.inputs.push(parseValueInfo(f.bytes));
      else if (f.field === 12) info.outputs.push(parseValueInfo(f.bytes));
    }
    info.externalDataFiles = [...external];
  } catch (e) {
    if (e instanceof ProtobufError || e instanceof RangeError)
      throw new NotOnnxError(`not a valid ONNX protobuf (${(e as Error).message})`);
    throw e;
  }
  if (info.nodes.length === 0) throw new NotOnnxError('the ONNX graph has no nodes');
  return info;
}

/** Graph inputs that are real feeds (older exports also list every initializer as an input). */
export function feedInputs(info: OnnxModelInfo): ValueInfo[] {
  return info.inputs.filter((i) => !info.initializerNames.has(i.name));
}

/**
 * A ValueInfoProto for a tensor of the given element type; its shape when `dims` is given (a number is a
 * fixed dim, a string a symbolic one), else unknown. TypeProto.tensor_type = 1: elem_type = 1, shape = 2;
 * TensorShapeProto.dim = 1: dim_value = 1, dim_param = 2.
 */
export function encodeValueInfo(name: string, elemType: number, dims?: (number | string)[]): Buffer {
  const shape = dims
    ? [messageField(2, ...dims.map((d) => messageField(1, typeof d === 'number' ? intField(1, d) : bytesField(2, d))))]
    : [];
  const tensorType = messageField(1, intField(1, elemType), ...shape);
  return Buffer.concat([bytesField(1, name), messageField(2, tensorType)]);
}

/**
 * Returns a copy of the model with extra graph outputs appended; every other byte is kept as is, so the
 * model's maths (and weights) are unchanged. Outputs already present are not added twice.
 */
export function addGraphOutputs(model: Buffer, outputs: { name: string; elemType: number }[]): Buffer {
  const graph = graphField(model);
  if (!graph) throw new NotOnnxError('no ONNX graph found');
  const extra = Buffer.concat(outputs.map((o) => bytesField(12, encodeValueInfo(o.name, o.elemType))));
  const newGraph = bytesField(7, Buffer.concat([graph.bytes, extra]));
  return Buffer.concat([model.subarray(0, graph.start), newGraph, model.subarray(graph.end)]);
}
