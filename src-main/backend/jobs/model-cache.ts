// The loaded model a resident worker keeps between jobs (chat replies, generations): loading the
// unified model (reading weights, building and opening its ONNX sessions) costs seconds, so the
// next job on the same model folder reuses it. One model at a time: asking for another releases
// the first. The key includes the weights' mtime and size, so a model retrained in place reloads.
import { statSync } from 'node:fs';
import { join } from 'node:path';

interface Releasable { release(): Promise<void> }

let cached: { key: string; value: Releasable } | null = null;

function fileStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.mtimeMs}:${st.size}`;
  } catch {
    return 'absent';
  }
}

/** What identifies a loaded model folder: its path, the session settings, and its files' stamps. */
export const modelKey = (dir: string, opts: { threads: number; provider: string }): string =>
  [dir, opts.threads, opts.provider, fileStamp(join(dir, 'config.json')), fileStamp(join(dir, 'model.safetensors'))].join('|');

/** The model for `key`: the cached one, or `load()`ed (the previous one released first). `reused` says which. */
export async function cachedModel<T extends Releasable>(key: string, load: () => Promise<T>): Promise<{ model: T; reused: boolean }> {
  if (cached?.key === key) return { model: cached.value as T, reused: true };
  await releaseCachedModel();
  const model = await load();
  cached = { key, value: model };
  return { model, reused: false };
}

/** Releases the cached model's sessions and buffers (a worker does this before it exits). */
export async function releaseCachedModel(): Promise<void> {
  const c = cached;
  cached = null;
  await c?.value.release();
}
