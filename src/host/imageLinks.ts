// Image paths in source files: a string literal that names an image file in the workspace (Python,
// TypeScript/JavaScript, Markdown, notebooks' code cells) gets a hover with a thumbnail and the links
// "Show Attention", "Run DPT Depth", "Run DPT Segmentation". Registering costs nothing: the file system
// is touched only on hover (one stat per candidate path). vitLens.imageLinks turns it off.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { candidatePaths, imagePathAt } from './imagePathText';

/** Languages whose string literals are looked at; notebook code cells are documents of their cell's language. */
export const IMAGE_LINK_LANGUAGES = ['python', 'typescript', 'javascript', 'typescriptreact', 'javascriptreact', 'markdown'];
const COMMANDS: [string, string][] = [
  ['vitLens.showAttention', 'Show Attention'],
  ['vitLens.runDptDepth', 'Run DPT Depth'],
  ['vitLens.runDptSegmentation', 'Run DPT Segmentation'],
];

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** The hover's content: a thumbnail and the command links, for an image file. */
export function imageHover(file: string): vscode.MarkdownString {
  const uri = vscode.Uri.file(file);
  const args = encodeURIComponent(JSON.stringify([file]));
  const md = new vscode.MarkdownString(`![${path.basename(file).replace(/[[\]]/g, '')}](${uri.toString()}|width=200)\n\n`);
  md.appendMarkdown(
    COMMANDS.map(([cmd, label]) => `[${label}](command:${cmd}?${args} "${label}: ${path.basename(file).replace(/"/g, '')}")`).join(' · '),
  );
  md.isTrusted = { enabledCommands: COMMANDS.map(([c]) => c) };
  md.supportHtml = false;
  return md;
}

export const imageLinkProvider: vscode.HoverProvider = {
  async provideHover(doc, pos) {
    if (!vscode.workspace.getConfiguration('vitLens').get<boolean>('imageLinks', true)) return undefined;
    const hit = imagePathAt(doc.lineAt(pos.line).text, pos.character);
    if (!hit) return undefined;
    // A notebook cell's URI carries the notebook's path; an untitled file has no folder.
    const dir = doc.uri.scheme === 'untitled' ? undefined : path.dirname(doc.uri.fsPath);
    const roots = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    for (const p of candidatePaths(hit.text, dir, roots)) {
      if (await isFile(p)) return new vscode.Hover(imageHover(p), new vscode.Range(pos.line, hit.start, pos.line, hit.end));
    }
    return undefined;
  },
};

/** Registers the hover for the languages above (files, untitled documents and notebook cells). */
export function registerImageLinks(): vscode.Disposable {
  return vscode.languages.registerHoverProvider(
    IMAGE_LINK_LANGUAGES.map((language) => ({ language })),
    imageLinkProvider,
  );
}
