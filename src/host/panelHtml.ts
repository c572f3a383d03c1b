// The HTML shell of a ViT Lens webview: strict CSP (scripts by nonce only, no remote anything), the
// bundle from dist/ through asWebviewUri; the script builds the whole UI (webview/panels/<name>/main.ts).
import crypto from 'node:crypto';
import * as vscode from 'vscode';
import { escapeAttr, pageHtml } from '../shared/pageHtml';

/** @param bundle the webview bundle in dist/: `<bundle>.js` and `<bundle>.css`. */
export function panelHtml(webview: vscode.Webview, distUri: vscode.Uri, title: string, bundle = 'webview'): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const js = webview.asWebviewUri(vscode.Uri.joinPath(distUri, `${bundle}.js`)).toString();
  const css = webview.asWebviewUri(vscode.Uri.joinPath(distUri, `${bundle}.css`)).toString();
  const src = webview.cspSource;
  return pageHtml({
    csp: ["default-src 'none'", `img-src ${src} blob: data:`, `style-src ${src}`, `script-src 'nonce-${nonce}'`, `font-src ${src}`],
    title,
    head: `<link rel="stylesheet" href="${escapeAttr(css)}">`,
    body: `<script nonce="${nonce}" src="${escapeAttr(js)}"></script>`,
  });
}
