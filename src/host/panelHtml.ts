// The HTML shell of a ViT Lens webview: strict CSP (scripts by nonce only, no remote anything), the
// bundle from dist/ through asWebviewUri; the script builds the whole UI (webview/panels/attention/main.ts, webview/panels/dense/main.ts, …).
import crypto from 'node:crypto';
import * as vscode from 'vscode';

/** @param bundle the webview bundle in dist/: `<bundle>.js` and `<bundle>.css`. */
export function panelHtml(webview: vscode.Webview, distUri: vscode.Uri, title: string, bundle = 'webview'): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const js = webview.asWebviewUri(vscode.Uri.joinPath(distUri, `${bundle}.js`));
  const css = webview.asWebviewUri(vscode.Uri.joinPath(distUri, `${bundle}.css`));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} blob: data:`,
    `style-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
  ].join('; ');
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${css}">
<title>${esc(title)}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${js}"></script>
</body>
</html>`;
}
