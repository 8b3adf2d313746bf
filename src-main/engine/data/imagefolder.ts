// HF imagefolder loader: reads DIR/metadata.jsonl (file_name + text + optional columns), selects a
// split (and style), decodes the images through io/image.ts with bounded concurrency into one float
// tensor (N, 3, H, W), and caches it as DIR/.cache/<split>-<style|all>-<size>.f32 with a JSON sidecar
// (row order, source mtimes and sizes) so a second load is a single file read.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeImage } from '../io/image.ts';

export interface MetadataRow {
  file_name: string;
  text: string;
  tags?: string[];
  category?: string;
  subcategory?: string;
  style?: string;
  split?: string;
  unified?: string;
  [column: string]: unknown;
}

export class ImageFolderError extends Error {
  override name = 'ImageFolderError';
}

export interface LoadOptions {
  split: string;
  style?: string;
  limit?: number;
  /** Decode every image to size×size (area averaging when shrinking). Omitted: the images' own size,
   *  which must then be the same for all of them. */
  size?: number;
  concurrency?: number;
  /** Read and write DIR/.cache (default true). */
  cache?: boolean;
}

export interface LoadedImageFolder {
  images: Float32Array; // (N, 3, H, W) in [0,1]
  rows: MetadataRow[];
  height: number;
  width: number;
  /** True when the images came from DIR/.cache without decoding. */
  cached: boolean;
}

interface Sidecar {
  version: 1;
  height: number;
  width: number;
  count: number;
  files: string[];
  mtimes: number[];
  sizes: number[];
}

/** Parse DIR/metadata.jsonl, checking every line. Returns rows with their 1-based line numbers. */
export async function readMetadata(dir: string): Promise<{ row: MetadataRow; line: number }[]> {
  const file = path.join(dir, 'metadata.jsonl');
  let content: string;
  try {
    content = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new ImageFolderError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); is ${dir} an imagefolder?`);
  }
  const root = path.resolve(dir);
  const out: { row: MetadataRow; line: number }[] = [];
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].trim();
    if (text === '') continue;
    const where = `${file}:${i + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (err) {
      throw new ImageFolderError(`${where}: invalid JSON (${(err as Error).message})`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new ImageFolderError(`${where}: each line must be a JSON object`);
    const r = row as Record<string, unknown>;
    if (typeof r.file_name !== 'string' || r.file_name === '') throw new ImageFolderError(`${where}: 'file_name' must be a non-empty string`);
    if (typeof r.text !== 'string') throw new ImageFolderError(`${where}: 'text' must be a string, got ${r.text === undefined ? 'nothing' : typeof r.text}`);
    const abs = path.resolve(root, r.file_name);
    const rel = path.relative(root, abs);
    if (path.isAbsolute(r.file_name) || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new ImageFolderError(`${where}: file_name '${r.file_name}' escapes the folder ${root}`);
    }
    out.push({ row: r as MetadataRow, line: i + 1 });
  }
  return out;
}

/** The split of a row: its `split` column, else the first folder of file_name (HF convention). */
export function rowSplit(row: MetadataRow): string {
  return typeof row.split === 'string' ? row.split : row.file_name.split(/[\\/]/)[0];
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

async function readCache(cacheFile: string, sidecarFile: string, files: string[], stats: { mtimeMs: number; size: number }[]) {
  let side: Sidecar;
  try {
    side = JSON.parse(await fsp.readFile(sidecarFile, 'utf8')) as Sidecar;
  } catch {
    return null;
  }
  if (side.version !== 1 || side.count < files.length) return null;
  for (let i = 0; i < files.length; i++) {
    if (side.files[i] !== files[i] || side.mtimes[i] !== stats[i].mtimeMs || side.sizes[i] !== stats[i].size) return null;
  }
  const per = 3 * side.height * side.width;
  const fh = await fsp.open(cacheFile, 'r').catch(() => null);
  if (!fh) return null;
  try {
    if ((await fh.stat()).size !== side.count * per * 4) return null;
    const images = new Float32Array(files.length * per); // (N, 3, H, W): read only the prefix we need
    const bytes = new Uint8Array(images.buffer);
    for (let off = 0; off < bytes.length;) {
      const { bytesRead } = await fh.read(bytes, off, bytes.length - off, off);
      if (bytesRead === 0) return null;
      off += bytesRead;
    }
    return { images, height: side.height, width: side.width };
  } finally {
    await fh.close();
  }
}

async function writeCache(cacheFile: string, sidecarFile: string, images: Float32Array, side: Sidecar): Promise<void> {
  await fsp.mkdir(path.dirname(cacheFile), { recursive: true });
  const tmp = `${cacheFile}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, new Uint8Array(images.buffer, images.byteOffset, images.byteLength));
  await fsp.rename(tmp, cacheFile);
  await fsp.writeFile(`${sidecarFile}.tmp-${process.pid}`, JSON.stringify(side));
  await fsp.rename(`${sidecarFile}.tmp-${process.pid}`, sidecarFile);
}

/** Load one split (optionally one style, the first `limit` rows) as a (N, 3, H, W) float tensor. */
export async function loadImageFolder(dir: string, opts: LoadOptions): Promise<LoadedImageFolder> {
  const all = await readMetadata(dir);
  let picked = all.filter(({ row }) => rowSplit(row) === opts.split && (opts.style === undefined || row.style === opts.style));
  if (picked.length === 0) {
    const splits = [...new Set(all.map(({ row }) => rowSplit(row)))].join(', ');
    const styles = [...new Set(all.map(({ row }) => row.style).filter((s) => s !== undefined))].join(', ');
    throw new ImageFolderError(`${path.join(dir, 'metadata.jsonl')}: no rows for split '${opts.split}'${opts.style ? ` and style '${opts.style}'` : ''} (splits: ${splits || 'none'}${styles ? `; styles: ${styles}` : ''})`);
  }
  if (opts.limit !== undefined) picked = picked.slice(0, opts.limit);
  const rows = picked.map((p) => p.row);
  const files = rows.map((r) => r.file_name);
  const meta = path.join(dir, 'metadata.jsonl');
  const stats = await Promise.all(picked.map(async ({ row, line }) => {
    try {
      const st = await fsp.stat(path.join(dir, row.file_name));
      return { mtimeMs: st.mtimeMs, size: st.size };
    } catch {
      throw new ImageFolderError(`${meta}:${line}: image '${row.file_name}' does not exist in ${dir}`);
    }
  }));

  const cacheDir = path.join(dir, '.cache');
  const base = `${safe(opts.split)}-${safe(opts.style ?? 'all')}-${opts.size ?? 'native'}`;
  const cacheFile = path.join(cacheDir, `${base}.f32`), sidecarFile = path.join(cacheDir, `${base}.json`);
  const useCache = opts.cache ?? true;
  if (useCache) {
    const hit = await readCache(cacheFile, sidecarFile, files, stats);
    if (hit) return { ...hit, rows, cached: true };
  }

  const first = await decodeImage(path.join(dir, files[0]), { size: opts.size, source: path.join(dir, files[0]) });
  const { height, width } = first;
  const per = 3 * height * width;
  const images = new Float32Array(rows.length * per); // (N, 3, H, W)
  images.set(first.data, 0);
  const concurrency = opts.concurrency ?? Math.min(8, 2 * os.availableParallelism());
  let next = 1;
  const worker = async () => {
    while (next < rows.length) {
      const i = next++;
      const file = path.join(dir, files[i]);
      const img = await decodeImage(file, { size: opts.size, source: `${file} (${meta}:${picked[i].line})` });
      if (img.height !== height || img.width !== width) {
        throw new ImageFolderError(`${file} (${meta}:${picked[i].line}): image is ${img.width}×${img.height} but the first is ${width}×${height}; pass size to resize them all`);
      }
      images.set(img.data, i * per);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, rows.length - 1)) }, worker));
  if (useCache) {
    await writeCache(cacheFile, sidecarFile, images, {
      version: 1, height, width, count: rows.length, files, mtimes: stats.map((s) => s.mtimeMs), sizes: stats.map((s) => s.size),
    });
  }
  return { images, rows, height, width, cached: false };
}
