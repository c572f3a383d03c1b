// Types of chromium.mjs, for the TypeScript that imports it (test/ui/pageShell.ts).
export declare const HEADLESS_CHROMIUM_ARGS: readonly string[];
