// esbuild bundles `import './styles.css'` into dist/webview.css; TypeScript only needs to know it exists.
// (Types only: nothing here may pull vscode or Node types into the browser-side check.)
declare module '*.css';
