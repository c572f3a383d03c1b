// The HTML page around a ViT Lens panel, for a VS Code webview (src/host/panelHtml.ts: bundle by URI) and
// for the standalone report (src/cli/htmlReport.ts: bundle and data inlined). A strict CSP: scripts by
// nonce only, nothing remote. Pure string code: no imports.

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** For a double-quoted attribute whose value must keep its single quotes (the CSP's 'none', 'nonce-…'). */
export const escapeAttr = (s: string) => s.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);

export interface PageParts {
  /** Content-Security-Policy directives, e.g. "default-src 'none'". */
  csp: string[];
  title: string;
  /** Raw markup for <head> after the title (a stylesheet link or an inline <style>). */
  head: string;
  /** Raw markup after the #app element (the scripts). */
  body: string;
  bodyClass?: string;
}

export function pageHtml(p: PageParts): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(p.csp.join('; '))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ViT Lens">
<title>${escapeHtml(p.title)}</title>
${p.head}
</head>
<body${p.bodyClass ? ` class="${escapeAttr(p.bodyClass)}"` : ''}>
<div id="app"></div>
${p.body}
</body>
</html>
`;
}
