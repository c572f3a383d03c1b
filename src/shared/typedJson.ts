// JSON that carries typed arrays as base64 ({"$f32": "..."} / {"$u8": "..."}), for the standalone HTML
// report, which embeds a whole AttentionResult in the page. Imports nothing; runs in Node and browsers.

function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  const chunk = 0x8000; // String.fromCharCode's argument count is limited
  for (let i = 0; i < bytes.length; i += chunk) s += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(s);
}

function base64ToBytes(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function stringifyTyped(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v instanceof Float32Array) return { $f32: bytesToBase64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
    if (v instanceof Uint8Array) return { $u8: bytesToBase64(v) };
    return v;
  });
}

export function parseTyped<T>(text: string): T {
  return JSON.parse(text, (_key, v) => {
    if (v && typeof v === 'object' && typeof v.$f32 === 'string') return new Float32Array(base64ToBytes(v.$f32).buffer);
    if (v && typeof v === 'object' && typeof v.$u8 === 'string') return base64ToBytes(v.$u8);
    return v;
  }) as T;
}
