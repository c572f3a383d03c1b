// The files of a gallery run: a folder's image files, or the files a glob matches, sorted. Engine side
// (reads the file system). Globs: `*` and `?` within a path segment, `**` across segments, `{a,b}`
// alternatives and `[…]` classes, as in shells; matching starts at the glob's longest literal folder.
import fs from 'node:fs';
import path from 'node:path';
import { VitLensError } from '../../shared/errors';

/** Extensions listed in a folder. Files with them that are not images a model can read get an error entry. */
export const GALLERY_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'avif', 'heic', 'heif', 'svg'];
const MAX_FILES = 100_000;

export const isGlob = (s: string): boolean => /[*?[{]/.test(s);

/** A glob (relative to its base folder, forward slashes) as a regular expression over relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let depth = 0; // inside {…}
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more folders; a trailing `**` anything
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:[^/]*/)*' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let cls = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls}]`;
      i = end;
    } else if (c === '{') {
      re += '(?:';
      depth++;
    } else if (c === '}' && depth > 0) {
      re += ')';
      depth--;
    } else if (c === ',' && depth > 0) re += '|';
    else re += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  if (depth > 0) throw new VitLensError('USAGE', `the glob ${glob} has an unclosed {`);
  return new RegExp(`^${re}$`, process.platform === 'win32' || process.platform === 'darwin' ? 'i' : '');
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every path under `dir` (files and other non-folders), relative with forward slashes; symlinked folders are not followed. */
function walk(dir: string, rel = '', out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) walk(dir, r, out);
    else out.push(r);
    if (out.length > MAX_FILES) throw new VitLensError('USAGE', `more than ${MAX_FILES} files under ${dir}`, 'Narrow the glob.');
  }
  return out;
}

/**
 * The files of `source`, sorted (code-unit order of their paths): a folder's entries with image
 * extensions (not recursive; a folder named like an image is listed, and fails as not a regular file),
 * or a glob's matches.
 */
export function listGallery(source: string): string[] {
  const abs = path.resolve(source);
  if (!isGlob(source)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(abs);
    } catch {
      throw new VitLensError(
        'IMAGE_NOT_FOUND',
        `Folder not found: ${source}.`,
        'Check the path, or quote a glob so the shell does not expand it.',
      );
    }
    if (!stat.isDirectory()) throw new VitLensError('USAGE', `${source} is not a folder or a glob`);
    const files = fs.readdirSync(abs).filter((f) => GALLERY_EXTENSIONS.includes(path.extname(f).slice(1).toLowerCase()));
    return files.sort(byName).map((f) => path.join(abs, f));
  }
  // The literal folder the glob starts from, and the pattern below it.
  const parts = abs.split(path.sep);
  const first = parts.findIndex(isGlob);
  const base = parts.slice(0, first).join(path.sep) || path.sep;
  const pattern = globToRegExp(parts.slice(first).join('/'));
  if (!fs.existsSync(base)) throw new VitLensError('IMAGE_NOT_FOUND', `Folder not found: ${base}.`, "Check the glob's folder.");
  return walk(base)
    .filter((r) => pattern.test(r))
    .sort(byName)
    .map((r) => path.join(base, ...r.split('/')));
}
