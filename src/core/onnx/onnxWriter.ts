// A small ONNX graph builder for the project's test models (ViT, DPT, CNN fixtures). Writes ModelProto
// bytes directly (field numbers of onnx/onnx.proto3); weights inline or in an external-data file.
// Node-free apart from Buffer; never imported by the host or the webview.
import { bytesField, floatField, intField, messageField } from './protobuf';
import { ElemType, encodeValueInfo } from './onnxModel';

export type Attr = number | number[] | string | { f: number };
type Dim = number | string;

/** Deterministic PRNG (mulberry32) with a Box–Muller normal, so fixtures are identical on every machine. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  uniform(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u = Math.max(this.uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
  normals(n: number, std: number): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.normal() * std;
    return a;
  }
}

function encodeAttr(name: string, v: Attr): Buffer {
  // AttributeProto: name=1, f=2, i=3, s=4, ints=8, type=20 (FLOAT=1, INT=2, STRING=3, INTS=7)
  if (typeof v === 'number') return Buffer.concat([bytesField(1, name), intField(3, v), intField(20, 2)]);
  if (typeof v === 'string') return Buffer.concat([bytesField(1, name), bytesField(4, v), intField(20, 3)]);
  if (Array.isArray(v)) return Buffer.concat([bytesField(1, name), ...v.map((x) => intField(8, x)), intField(20, 7)]);
  return Buffer.concat([bytesField(1, name), floatField(2, v.f), intField(20, 1)]);
}

interface Initializer {
  name: string;
  dims: number[];
  elemType: number;
  raw: Buffer;
}

export class GraphBuilder {
  private nodes: Buffer[] = [];
  private inits: Initializer[] = [];
  private inputs: Buffer[] = [];
  private outputs: Buffer[] = [];
  private count = 0;

  /** A fresh value name with a readable prefix (like torch.onnx's `/encoder/layer.0/...`). */
  name(prefix: string): string {
    return `${prefix}_${this.count++}`;
  }

  input(name: string, dims: Dim[], elemType: number = ElemType.FLOAT): string {
    this.inputs.push(encodeValueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, dims: Dim[], elemType: number = ElemType.FLOAT): void {
    this.outputs.push(encodeValueInfo(name, elemType, dims));
  }

  /** A float32 initializer. */
  weight(prefix: string, dims: number[], data: Float32Array): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`weight ${prefix}: ${data.length} values for dims ${dims}`);
    const name = this.name(prefix);
    this.inits.push({ name, dims, elemType: ElemType.FLOAT, raw: Buffer.from(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** An int64 initializer (shapes, axes, indices). */
  ints(prefix: string, values: number[], dims: number[] = [values.length]): string {
    const name = this.name(prefix);
    this.inits.push({ name, dims, elemType: ElemType.INT64, raw: Buffer.from(BigInt64Array.from(values.map(BigInt)).buffer) });
    return name;
  }

  scalar(prefix: string, v: number): string {
    return this.weight(prefix, [], Float32Array.of(v));
  }

  /** Adds a node; returns its output names (named `prefix/Op_output_k`). */
  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, Attr> = {},
    opts: { outputs?: number; domain?: string; prefix?: string; outputNames?: string[] } = {},
  ): string[] {
    const nodeName = `${opts.prefix ?? ''}/${opType}_${this.count++}`;
    const outs = opts.outputNames ?? Array.from({ length: opts.outputs ?? 1 }, (_, k) => `${nodeName}_output_${k}`);
    const parts = [
      ...inputs.map((i) => bytesField(1, i)),
      ...outs.map((o) => bytesField(2, o)),
      bytesField(3, nodeName),
      bytesField(4, opType),
      ...Object.entries(attrs).map(([k, v]) => messageField(5, encodeAttr(k, v))),
    ];
    if (opts.domain) parts.push(bytesField(7, opts.domain));
    this.nodes.push(Buffer.concat(parts));
    return outs;
  }

  /** One-output convenience. */
  op1(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, prefix?: string): string {
    return this.op(opType, inputs, attrs, { prefix })[0];
  }

  /**
   * Serialises the model. With `externalData`, every initializer of 1 KiB or more is stored in that
   * file (returned as `data`) at 4 KiB-aligned offsets, as torch.onnx does for large models.
   */
  build(opts: { opsets?: Record<string, number>; externalData?: string; producer?: string } = {}): { model: Buffer; data?: Buffer } {
    const dataChunks: Buffer[] = [];
    let dataLength = 0;
    const initMsgs = this.inits.map((t) => {
      const head = [...t.dims.map((d) => intField(1, d)), intField(2, t.elemType), bytesField(8, t.name)];
      if (!opts.externalData || t.raw.length < 1024) return messageField(5, ...head, bytesField(9, t.raw));
      const pad = (4096 - (dataLength % 4096)) % 4096;
      if (pad) {
        dataChunks.push(Buffer.alloc(pad));
        dataLength += pad;
      }
      const entry = (k: string, v: string) => messageField(13, bytesField(1, k), bytesField(2, v));
      const msg = messageField(
        5,
        ...head,
        entry('location', opts.externalData),
        entry('offset', String(dataLength)),
        entry('length', String(t.raw.length)),
        intField(14, 1),
      );
      dataChunks.push(t.raw);
      dataLength += t.raw.length;
      return msg;
    });
    const graph = Buffer.concat([
      ...this.nodes.map((n) => bytesField(1, n)),
      bytesField(2, 'main_graph'),
      ...initMsgs,
      ...this.inputs.map((i) => bytesField(11, i)),
      ...this.outputs.map((o) => bytesField(12, o)),
    ]);
    const opsets = opts.opsets ?? { '': 17 };
    const model = Buffer.concat([
      intField(1, 8), // IR version 8
      bytesField(2, opts.producer ?? 'vit-lens-fixtures'),
      bytesField(7, graph),
      ...Object.entries(opsets).map(([domain, version]) => messageField(8, bytesField(1, domain), intField(2, version))),
    ]);
    return { model, data: opts.externalData ? Buffer.concat(dataChunks) : undefined };
  }
}
