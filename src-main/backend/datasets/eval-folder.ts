// writeEvalFolder: a dataset split of the store as the HF imagefolder the engine's evaluators read
// (engine/infer/eval.ts, engine/data/imagefolder.ts): `limit` 'ok' items spread evenly over the
// split (id order, so the same request picks the same items), their files copied under their dataset
// paths, and one metadata.jsonl whose rows carry the current caption, the plain tags, and the fields
// an import kept as `field:value` tags (category, subcategory, style: the emoji set's) as columns.
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Split, Store } from '../store/index.ts';

/** The split cannot be evaluated (no usable item, an image gone from disk); the message says which. */
export class EvalSetError extends Error {
  override name = 'EvalSetError';
}

/** Import fields that come back as metadata columns (the evaluators read category). */
const FIELD_COLUMNS = ['category', 'subcategory', 'style'];

export interface EvalFolder {
  dir: string;
  split: Split;
  /** Items written (at most limit). */
  images: number;
  /** 'ok' items in the split. */
  available: number;
  /** Picked items left out because they have no caption (only when captions are required). */
  uncaptioned: number;
}

export interface EvalFolderOptions {
  split: Split;
  limit: number;
  /** Leave out items without a caption (the unified model's questions need the true label). */
  requireCaption?: boolean;
}

/** Writes `dir` afresh (it is replaced); throws EvalSetError when the split has no usable item. */
export async function writeEvalFolder(store: Store, datasetId: number, dir: string, o: EvalFolderOptions): Promise<EvalFolder> {
  const ds = store.datasets.get(datasetId);
  const all: { id: number; path: string; caption: string | null }[] = [];
  for (let afterId: number | undefined; ;) {
    const page = store.items.query({ datasetId, split: o.split, status: 'ok', limit: 1000, afterId });
    for (const r of page.rows) all.push({ id: r.id, path: r.path, caption: r.caption });
    if (page.nextAfterId === null) break;
    afterId = page.nextAfterId;
  }
  const usable = o.requireCaption ? all.filter((r) => r.caption !== null && r.caption.trim() !== '') : all;
  if (usable.length === 0) {
    const counts = store.items.stats(datasetId).bySplit;
    throw new EvalSetError(`dataset "${ds.name}" has no ${o.requireCaption ? 'captioned ' : ''}'ok' items in split '${o.split}' `
      + `(items per split: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}); assign splits or pick another split`);
  }
  const n = Math.min(o.limit, usable.length);
  const picked = Array.from({ length: n }, (_, i) => usable[Math.floor((i * usable.length) / n)]);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const lines: string[] = [];
  for (const it of picked) {
    const rel = it.path.split('/');
    const dest = path.join(dir, ...rel);
    await mkdir(path.dirname(dest), { recursive: true });
    try {
      await copyFile(path.join(ds.rootPath, ...rel), dest);
    } catch (e) {
      throw new EvalSetError(`${path.join(ds.rootPath, ...rel)} (item ${it.id} of dataset "${ds.name}"): cannot read the image (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const row: Record<string, unknown> = { file_name: it.path, text: it.caption ?? '', split: o.split, tags: [] as string[] };
    for (const t of store.tags.list(it.id)) {
      const m = /^([a-z_]+):(.+)$/.exec(t);
      if (m && FIELD_COLUMNS.includes(m[1])) row[m[1]] = m[2];
      else (row.tags as string[]).push(t);
    }
    lines.push(JSON.stringify(row));
  }
  await writeFile(path.join(dir, 'metadata.jsonl'), lines.join('\n') + '\n');
  return { dir, split: o.split, images: picked.length, available: all.length, uncaptioned: all.length - usable.length };
}
