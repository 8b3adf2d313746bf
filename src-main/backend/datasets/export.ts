// exportImagefolder: writes a dataset (or what a filter matches) as an HF imagefolder: the images
// copied under their dataset paths plus one metadata.jsonl (file_name, text, tags, split). Streamed a
// page at a time into a temp folder beside the target, which is renamed into place only when whole:
// readers see no folder or a complete one. Broken items are never exported; duplicates only on request.
import { createWriteStream, promises as fsp } from 'node:fs';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fsyncDir, fsyncFile } from '../../engine/io/atomic.ts';
import type { Store } from '../store/index.ts';
import type { ItemFilter } from './curate.ts';
import { DatasetImportError, type RunOptions } from './types.ts';

export interface ExportOptions extends RunOptions {
  filter?: ItemFilter;
  /** Also export items marked 'duplicate' / 'near-duplicate' (default false). */
  includeDuplicates?: boolean;
  /** Replace an existing outDir (default false: refuse). */
  overwrite?: boolean;
}

export interface ExportSummary {
  outDir: string;
  exported: number;
  /** Items whose image file is gone from the dataset folder: listed, not exported. */
  missing: { path: string; reason: string }[];
  seconds: number;
}

/** One metadata.jsonl row. `text` is left out for an uncaptioned item (the importer reads that back as no caption). */
export interface ExportRow { file_name: string; text?: string; tags: string[]; split: string | null }

export async function exportImagefolder(store: Store, datasetId: number, outDir: string, opts: ExportOptions = {}): Promise<ExportSummary> {
  const t0 = performance.now();
  const ds = store.datasets.get(datasetId);
  const out = path.resolve(outDir);
  const existing = await fsp.stat(out).then(() => true, () => false);
  if (existing && !opts.overwrite) throw new DatasetImportError(out, 'already exists; choose a new folder or pass overwrite');
  await fsp.mkdir(path.dirname(out), { recursive: true });
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(tmp);
  const summary: ExportSummary = { outDir: out, exported: 0, missing: [], seconds: 0 };
  try {
    const metaPath = path.join(tmp, 'metadata.jsonl');
    const meta = createWriteStream(metaPath, { encoding: 'utf8' });
    const dirs = new Set<string>([tmp]);
    const total = store.items.query({ ...opts.filter, datasetId, limit: 1 }).total;
    let afterId: number | undefined, done = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      const page = store.items.query({ ...opts.filter, datasetId, limit: 500, afterId });
      for (const it of page.rows) {
        done++;
        if (it.status === 'broken' || (!opts.includeDuplicates && it.status !== 'ok')) continue;
        const dest = path.join(tmp, ...it.path.split('/'));
        if (!dirs.has(path.dirname(dest))) { await fsp.mkdir(path.dirname(dest), { recursive: true }); dirs.add(path.dirname(dest)); }
        try {
          await fsp.copyFile(path.join(ds.rootPath, ...it.path.split('/')), dest);
        } catch (e) {
          summary.missing.push({ path: it.path, reason: `${it.path}: cannot copy (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); not exported` });
          continue;
        }
        const row: ExportRow = { file_name: it.path, ...(it.caption !== null ? { text: it.caption } : {}), tags: store.tags.list(it.id), split: it.split };
        if (!meta.write(JSON.stringify(row) + '\n')) await once(meta, 'drain');
        summary.exported++;
      }
      opts.onProgress?.({ phase: 'export', done, total, bad: summary.missing.length });
      if (page.nextAfterId === null) break;
      afterId = page.nextAfterId;
    }
    meta.end();
    await once(meta, 'finish');
    await fsyncFile(metaPath);
    if (existing) {
      const old = `${tmp}.old`;
      await fsp.rename(out, old);
      await fsp.rename(tmp, out);
      await fsp.rm(old, { recursive: true, force: true });
    } else {
      await fsp.rename(tmp, out);
    }
    await fsyncDir(path.dirname(out));
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}
