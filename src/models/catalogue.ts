// The catalogue of pretrained models ViT Lens can download (models/catalogue.json, bundled into the JS
// by esbuild's json loader, so nothing has to be located on disk at run time) and its validator.
// Runs in the extension host too: imports only node built-ins and src/core/errors — never
// onnxruntime-node, sharp or vscode.
import catalogueJson from '../../models/catalogue.json';
import { VitLensError } from '../shared/errors';

export type ModelTask = 'classification' | 'depth' | 'segmentation';
export const MODEL_TASKS: readonly ModelTask[] = ['classification', 'depth', 'segmentation'];

/** Where ViT Lens finds the attention probabilities in the export (see README "Models"). */
export type AttentionExport = 'softmax' | 'outputs' | 'fused' | 'unknown';
const ATTENTION_EXPORTS: readonly AttentionExport[] = ['softmax', 'outputs', 'fused', 'unknown'];

export interface CatalogueFile {
  /** Path inside the repository, "/"-separated (e.g. "onnx/model.onnx"). */
  path: string;
  /** Exact size in bytes, checked after the download (only for a pinned commit). */
  size?: number;
  /** Exact sha256 (64 lowercase hex), checked after the download (only for a pinned commit). */
  sha256?: string;
}

export interface CatalogueEntry {
  /** Short id used by `vit-lens models pull <id>`, `--model <id>` and the cache folder name. */
  id: string;
  name: string;
  task: ModelTask;
  /** Hub repository "owner/name". */
  repo: string;
  /** A 40-hex commit, or a branch/tag such as "main" (then `unverified` says so). */
  revision: string;
  /** Files to fetch, the model's .onnx first. */
  files: CatalogueFile[];
  approxSizeBytes: number;
  license: string;
  /** The original (PyTorch) model the export was converted from. */
  upstream?: string;
  /** What the model is good for, one or two sentences. */
  description: string;
  architecture?: { layers: number; heads: number; patchSize: number; inputSize?: [number, number]; registers?: number; distillationToken?: boolean };
  attention: AttentionExport;
  /** What could not be confirmed against the hub when the entry was written. */
  unverified?: string;
  /** How to produce the files yourself when the hub may not have them. */
  exportHint?: string;
}

export interface Catalogue {
  version: 1;
  models: CatalogueEntry[];
}

const ID_RE = /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/;
const REPO_RE = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
const COMMIT_RE = /^[0-9a-f]{40}$/;
const REF_RE = /^[\w.-]+$/;
const SHA256_RE = /^[0-9a-f]{64}$/;

export const isCommitHash = (revision: string): boolean => COMMIT_RE.test(revision);

/** A repository file path we are willing to write under the cache: relative, no "..", no backslashes. */
export function isSafeRepoPath(p: string): boolean {
  if (!p || p.startsWith('/') || p.includes('\\') || p.includes('\0')) return false;
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPosInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;

/** Problems of one entry (empty when valid). `where` prefixes every message. */
function entryProblems(e: unknown, where: string): string[] {
  const out: string[] = [];
  const bad = (msg: string) => out.push(`${where}: ${msg}`);
  if (!isObj(e)) return [`${where}: not an object`];
  if (typeof e.id !== 'string' || !ID_RE.test(e.id)) bad(`id ${JSON.stringify(e.id)} must be lowercase letters, digits, "." and "-"`);
  if (!isText(e.name)) bad('name is missing');
  if (!MODEL_TASKS.includes(e.task as ModelTask)) bad(`task ${JSON.stringify(e.task)} must be one of ${MODEL_TASKS.join(', ')}`);
  if (typeof e.repo !== 'string' || !REPO_RE.test(e.repo)) bad(`repo ${JSON.stringify(e.repo)} must be "owner/name"`);
  const revision = e.revision;
  if (typeof revision !== 'string' || !REF_RE.test(revision)) bad(`revision ${JSON.stringify(revision)} must be a commit hash or a branch/tag name`);
  else if (!isCommitHash(revision) && !isText(e.unverified)) bad(`revision "${revision}" is not a commit hash: say so in "unverified"`);
  if (!Array.isArray(e.files) || e.files.length === 0) bad('files must be a non-empty list');
  else {
    const seen = new Set<string>();
    e.files.forEach((f, i) => {
      const at = `files[${i}]`;
      if (!isObj(f) || typeof f.path !== 'string') { bad(`${at} needs a path`); return; }
      if (!isSafeRepoPath(f.path)) bad(`${at}.path "${f.path}" must be a relative path without "..", "." or "\\"`);
      if (seen.has(f.path)) bad(`${at}.path "${f.path}" is listed twice`);
      seen.add(f.path);
      if (f.size !== undefined && !isPosInt(f.size)) bad(`${at}.size must be a positive whole number of bytes`);
      if (f.sha256 !== undefined && (typeof f.sha256 !== 'string' || !SHA256_RE.test(f.sha256))) bad(`${at}.sha256 must be 64 lowercase hex digits`);
      // A file at a branch can change: an exact size or hash would then reject a good download.
      if ((f.size !== undefined || f.sha256 !== undefined) && typeof revision === 'string' && !isCommitHash(revision)) {
        bad(`${at} pins a size/sha256 but the revision "${revision}" can move: pin a commit or drop them`);
      }
    });
    const paths = e.files.filter(isObj).map((f) => f.path);
    if (typeof paths[0] !== 'string' || !paths[0].endsWith('.onnx')) bad('the first file must be the model\'s .onnx file');
    for (const needed of ['config.json', 'preprocessor_config.json']) if (!paths.includes(needed)) bad(`files must include ${needed}`);
    const pinned = e.files.filter(isObj).reduce((s, f) => s + (isPosInt(f.size) ? f.size : 0), 0);
    if (isPosInt(e.approxSizeBytes) && pinned > e.approxSizeBytes * 1.05) bad(`approxSizeBytes ${e.approxSizeBytes} is below the pinned file sizes (${pinned})`);
  }
  if (!isPosInt(e.approxSizeBytes)) bad('approxSizeBytes must be a positive whole number');
  if (!isText(e.license)) bad('license is missing');
  if (!isText(e.description)) bad('description is missing');
  if (e.upstream !== undefined && (typeof e.upstream !== 'string' || !REPO_RE.test(e.upstream))) bad('upstream must be "owner/name"');
  if (!ATTENTION_EXPORTS.includes(e.attention as AttentionExport)) bad(`attention must be one of ${ATTENTION_EXPORTS.join(', ')}`);
  if (e.unverified !== undefined && !isText(e.unverified)) bad('unverified, when present, must say what is unverified');
  if (e.exportHint !== undefined && !isText(e.exportHint)) bad('exportHint must be text');
  const a = e.architecture;
  if (a !== undefined) {
    if (!isObj(a) || !isPosInt(a.layers) || !isPosInt(a.heads) || !isPosInt(a.patchSize)) bad('architecture needs positive layers, heads and patchSize');
    else {
      if (a.inputSize !== undefined && !(Array.isArray(a.inputSize) && a.inputSize.length === 2 && a.inputSize.every(isPosInt))) bad('architecture.inputSize must be [height, width]');
      if (a.registers !== undefined && !isPosInt(a.registers)) bad('architecture.registers must be a positive whole number');
      if (a.distillationToken !== undefined && typeof a.distillationToken !== 'boolean') bad('architecture.distillationToken must be true or false');
    }
  }
  return out;
}

/** Checks a parsed catalogue; throws CATALOGUE_INVALID listing every problem. */
export function validateCatalogue(data: unknown): Catalogue {
  const problems: string[] = [];
  if (!isObj(data)) problems.push('the catalogue is not a JSON object');
  else {
    if (data.version !== 1) problems.push(`version ${JSON.stringify(data.version)} is not supported (expected 1)`);
    if (!Array.isArray(data.models)) problems.push('"models" must be a list');
    else {
      const ids = new Set<string>();
      data.models.forEach((e, i) => {
        const id = isObj(e) && typeof e.id === 'string' ? e.id : undefined;
        problems.push(...entryProblems(e, `models[${i}]${id ? ` (${id})` : ''}`));
        if (id && ids.has(id)) problems.push(`models[${i}]: id "${id}" is used twice`);
        if (id) ids.add(id);
      });
    }
  }
  if (problems.length) {
    throw new VitLensError('CATALOGUE_INVALID', `The model catalogue is invalid:\n  ${problems.join('\n  ')}`, 'Fix models/catalogue.json.');
  }
  return data as unknown as Catalogue;
}

let bundled: Catalogue | undefined;
/** The catalogue shipped with ViT Lens (validated once). */
export function loadCatalogue(): Catalogue {
  return (bundled ??= validateCatalogue(catalogueJson));
}

export function findCatalogueEntry(id: string, catalogue: Catalogue = loadCatalogue()): CatalogueEntry | undefined {
  return catalogue.models.find((m) => m.id === id);
}

/** MODEL_UNKNOWN for `id`, suggesting similar ids and listing the known ones. */
export function unknownModelError(id: string, catalogue: Catalogue = loadCatalogue()): VitLensError {
  const close = catalogue.models.filter((m) => m.id.includes(id) || id.includes(m.id.split('-')[0])).map((m) => m.id);
  return new VitLensError('MODEL_UNKNOWN', `"${id}" is not a model of the catalogue.`,
    `${close.length ? `Did you mean ${close.join(', ')}? ` : ''}Known models: ${catalogue.models.map((m) => m.id).join(', ')} (vit-lens models list).`);
}

/** The entry with this id, or MODEL_UNKNOWN naming the known ids. */
export function catalogueEntry(id: string, catalogue: Catalogue = loadCatalogue()): CatalogueEntry {
  const entry = findCatalogueEntry(id, catalogue);
  if (!entry) throw unknownModelError(id, catalogue);
  return entry;
}

/** The catalogue's models grouped by task, in catalogue order (for pickers). */
export function catalogueByTask(catalogue: Catalogue = loadCatalogue()): Record<ModelTask, CatalogueEntry[]> {
  const groups = { classification: [], depth: [], segmentation: [] } as Record<ModelTask, CatalogueEntry[]>;
  for (const m of catalogue.models) groups[m.task].push(m);
  return groups;
}
