// One onnxruntime session per model, cached by path and invalidated when the file changes on disk.
// A few models at most stay loaded (least recently used first out): sessions hold their weights.
import fs from 'node:fs';
import { LoadedModel, loadVitModel, resolveModelFiles } from '../model/vitModel';

/** What the cache needs of a loaded model: its file's mtime when loaded, and a session to release. */
interface CachedModel {
  mtimeMs: number;
  session: { release(): Promise<void> };
}

/** Generic over the model kind: ViT models by default, or e.g. the gates loader's models. */
export class ModelCache<M extends CachedModel = LoadedModel> {
  private readonly entries = new Map<string, Promise<M>>();
  constructor(
    private readonly capacity = 3,
    private readonly load: (modelPath: string) => Promise<M> = loadVitModel as unknown as (modelPath: string) => Promise<M>,
  ) {}

  async get(modelPath: string): Promise<M> {
    const key = resolveModelFiles(modelPath).onnxPath;
    const cached = this.entries.get(key);
    if (cached) {
      const model = await cached.catch(() => undefined);
      const mtime = fs.existsSync(key) ? fs.statSync(key).mtimeMs : -1;
      if (model && model.mtimeMs === mtime) {
        this.entries.delete(key); // re-insert: most recently used last
        this.entries.set(key, cached);
        return model;
      }
      await this.evict(key);
    }
    const loading = this.load(modelPath);
    this.entries.set(key, loading);
    loading.catch(() => this.entries.delete(key)); // failures are not cached
    while (this.entries.size > this.capacity) await this.evict(this.entries.keys().next().value as string);
    return loading;
  }

  /** Releases every cached session. */
  async clear(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((key) => this.evict(key)));
  }

  async evict(modelPath: string): Promise<boolean> {
    let key = modelPath;
    try {
      key = resolveModelFiles(modelPath).onnxPath;
    } catch {
      /* file gone: use the path as given */
    }
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    const model = await entry.catch(() => undefined);
    await model?.session.release().catch(() => {});
    return true;
  }
}
