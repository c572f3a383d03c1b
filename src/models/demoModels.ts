// The demo models that ship with ViT Lens: small models trained here on procedurally generated scenes
// (src/scenes; training scripts in scripts/train/), so a new user sees real attention and depth before
// downloading anything. They live in the package at models/demo/<id>/ (Hugging Face layout) and are named
// `demo:<id>` in settings and on the command line. Node built-ins only.
import fs from 'node:fs';
import path from 'node:path';
import type { ModelTask } from '../shared/modelTasks';
import { VitLensError } from '../shared/errors';

export interface DemoModel {
  id: string;
  /** How the model pickers name it. */
  label: string;
  task: ModelTask;
}

export const DEMO_MODELS: readonly DemoModel[] = [
  { id: 'shapes-vit', label: 'Demo: shapes ViT', task: 'classification' },
  { id: 'scenes-depth', label: 'Demo: scenes depth', task: 'depth' },
];

export const DEMO_PREFIX = 'demo:';

/** The package's root folder: dist/ (the extension, the CLI, the engine bundles) is one level below it. */
export const packageRoot = (): string => path.resolve(__dirname, '..');

/** The folder of a demo model inside the package. */
export function demoModelDir(id: string, root = packageRoot()): string {
  return path.join(root, 'models', 'demo', id);
}

/** `demo:<id>` → its folder; undefined for anything else. Throws MODEL_UNKNOWN for a demo id that does not exist. */
export function resolveDemoModel(arg: string, root = packageRoot()): string | undefined {
  if (!arg.startsWith(DEMO_PREFIX)) return undefined;
  const id = arg.slice(DEMO_PREFIX.length);
  const demo = DEMO_MODELS.find((d) => d.id === id);
  const dir = demo && demoModelDir(demo.id, root);
  if (!dir || !fs.existsSync(path.join(dir, 'onnx', 'model.onnx'))) {
    throw new VitLensError('MODEL_UNKNOWN', `There is no demo model "${id}"${demo ? ' in this installation' : ''}.`, `The demo models are: ${DEMO_MODELS.map((d) => DEMO_PREFIX + d.id).join(', ')}.`);
  }
  return dir;
}
