// Looking at one source file for an import: its path made safe (relative to the dataset root, no
// absolute paths, no `..`, no symlink leading outside the root), then its bytes hashed and its
// image header read (imageInfo: no pixel decode). The verdict is an item ('ok' or 'broken' with a
// reason) or an error sentence naming the file.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { ImageError, imageInfo } from '../../engine/io/image.ts';

/** File extensions taken as images when walking a folder (content decides whether they decode). */
export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.avif', '.tif', '.tiff', '.bmp']);

export const isImageName = (name: string): boolean => IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());

/**
 * `given` (a path from metadata, CSV or COCO) as a clean '/'-separated path relative to the root,
 * or a sentence saying why it is refused.
 */
export function relativePath(given: string): { rel: string } | { refused: string } {
  if (given === '') return { refused: 'the file name is empty' };
  if (given.includes('\0')) return { refused: 'the file name contains a NUL character' };
  const slashed = process.platform === 'win32' ? given.replace(/\\/g, '/') : given;
  if (slashed.startsWith('/') || /^[A-Za-z]:[\\/]/.test(slashed) || slashed.startsWith('\\\\')) {
    return { refused: `${JSON.stringify(given)} is an absolute path; paths must be relative to the dataset folder` };
  }
  if (slashed.includes('\\')) return { refused: `${JSON.stringify(given)} contains a backslash; use '/' between folders` };
  const rel = path.posix.normalize(slashed);
  if (rel === '..' || rel.startsWith('../') || rel.split('/').includes('..')) {
    return { refused: `${JSON.stringify(given)} points outside the dataset folder ('..')` };
  }
  if (rel === '.' || rel.endsWith('/')) return { refused: `${JSON.stringify(given)} names a folder, not a file` };
  return { rel };
}

export type Verdict =
  | { kind: 'ok'; contentHash: string; bytes: number; width: number; height: number }
  | { kind: 'broken'; contentHash: string; bytes: number; reason: string }
  | { kind: 'error'; reason: string };

/**
 * Examines root/rel. `rootReal` is the realpath of the root (symlinks inside the dataset may point
 * anywhere inside it, never out of it).
 */
export async function examineFile(root: string, rootReal: string, rel: string): Promise<Verdict> {
  const abs = path.join(root, ...rel.split('/'));
  let real: string;
  try {
    real = await fsp.realpath(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const link = await fsp.lstat(abs).then((s) => s.isSymbolicLink(), () => false);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'error', reason: `${rel}: file not found${link ? ' (a symbolic link to nothing)' : ''}` };
    return { kind: 'error', reason: `${rel}: cannot open (${code ?? (e as Error).message})` };
  }
  if (real !== rootReal && !real.startsWith(rootReal + path.sep)) {
    return { kind: 'error', reason: `${rel}: is a symbolic link to ${real}, outside the dataset folder ${rootReal}; not imported` };
  }
  let buf: Buffer;
  try {
    const st = await fsp.stat(real);
    if (!st.isFile()) return { kind: 'error', reason: `${rel}: is not a regular file` };
    buf = await fsp.readFile(real);
  } catch (e) {
    return { kind: 'error', reason: `${rel}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  const contentHash = createHash('sha256').update(buf).digest('hex');
  if (buf.byteLength === 0) return { kind: 'broken', contentHash, bytes: 0, reason: `${rel}: file is empty (0 bytes)` };
  try {
    const info = await imageInfo(buf, rel);
    return { kind: 'ok', contentHash, bytes: buf.byteLength, width: info.width, height: info.height };
  } catch (e) {
    if (e instanceof ImageError) return { kind: 'broken', contentHash, bytes: buf.byteLength, reason: e.message };
    throw e;
  }
}

/** Tags as the store takes them: trimmed, non-empty, at most 200 characters, each once. */
export function cleanTags(values: readonly unknown[]): string[] {
  const out = new Set<string>();
  for (const v of values) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
    const t = String(v).trim();
    if (t !== '' && t.length <= 200) out.add(t);
  }
  return [...out];
}

/** Maps the usual split names to the store's; null for anything else. */
export function normalizeSplit(value: string): 'train' | 'validation' | 'test' | null {
  const v = value.trim().toLowerCase();
  if (v === 'train' || v === 'training') return 'train';
  if (v === 'validation' || v === 'valid' || v === 'val' || v === 'dev') return 'validation';
  if (v === 'test' || v === 'testing') return 'test';
  return null;
}

/** Runs `fn` over `items` with at most `n` in flight, results in input order. */
export async function mapPool<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  return out;
}
