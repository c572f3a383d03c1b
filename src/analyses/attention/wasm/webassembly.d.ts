// The few WebAssembly declarations the head-statistics kernel uses. TypeScript declares WebAssembly only
// in its DOM and WebWorker libs, and the Node side is type-checked without them (tsconfig.json); Node's
// WebAssembly global is the same JS API.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
}
