// A .wat import is compiled to WebAssembly by the build (scripts/build.mjs) and arrives as its bytes.
declare module '*.wat' {
  const bytes: Uint8Array<ArrayBuffer>;
  export default bytes;
}
