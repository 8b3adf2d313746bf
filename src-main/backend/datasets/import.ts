// importDataset: one entry point for every source kind. The source is checked first (a folder
// that is missing, a COCO file that does not parse, a CSV without a path column is refused whole,
// before any row is written); then the dataset is created (or found again: re-running the same
// import resumes it, skipping files already imported) with import status 'importing', filled in
// batches by ingest, and marked 'done', 'cancelled' (aborted) or 'failed' (with the reason).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { buildEmojiDataset } from '../../engine/data/emoji.ts';
import type { DatasetRow, SourceKind, Store } from '../store/index.ts';
import { cocoEntries, readCoco } from './coco.ts';
import { countCsvRecords, csvEntries, openCsv } from './csv.ts';
import { countImages, folderEntries } from './folder.ts';
import { assertFolder, countRows, findMetadata, imagefolderEntries } from './imagefolder.ts';
import { ingest, type Entry } from './ingest.ts';
import { DatasetImportError, type ImportOptions, type ImportSpec, type ImportSummary } from './types.ts';

/** The emoji fields kept as tags (style and categories; `unified` would be one tag per emoji). */
const EMOJI_FIELD_TAGS = ['style', 'category', 'subcategory'];

interface Prepared {
  kind: SourceKind;
  root: string;
  name: string;
  total: () => Promise<number | null>;
  entries: () => AsyncIterable<Entry>;
}

async function buildEmoji(cacheDir: string, limit: number | undefined, opts: ImportOptions): Promise<void> {
  if (await fsp.stat(path.join(cacheDir, 'metadata.jsonl')).then(() => true, () => false)) return;
  await buildEmojiDataset({
    out: cacheDir, limit,
    onProgress: (done, total) => opts.onProgress?.({ phase: 'build', done, total, bad: 0 }),
  });
}

/** Checks the source and says how to read it; throws DatasetImportError when it is unusable. */
async function prepare(spec: ImportSpec, opts: ImportOptions): Promise<Prepared> {
  switch (spec.kind) {
    case 'imagefolder':
    case 'emoji': {
      const root = path.resolve(spec.kind === 'emoji' ? spec.cacheDir : spec.path);
      if (spec.kind === 'emoji') await buildEmoji(root, spec.limit, opts);
      const files = await findMetadata(root);
      const fieldTags = spec.kind === 'emoji' ? EMOJI_FIELD_TAGS : spec.fieldTags ?? true;
      return { kind: spec.kind, root, name: spec.name ?? (spec.kind === 'emoji' ? 'emoji' : path.basename(root)), total: () => countRows(root, files), entries: () => imagefolderEntries(root, files, fieldTags) };
    }
    case 'folder': {
      const root = path.resolve(spec.path);
      await assertFolder(root);
      return { kind: 'folder', root, name: spec.name ?? path.basename(root), total: () => countImages(root), entries: () => folderEntries(root) };
    }
    case 'coco': {
      const file = path.resolve(spec.path);
      const root = path.resolve(spec.imagesDir ?? path.dirname(file));
      await assertFolder(root);
      const coco = await readCoco(file);
      return { kind: 'coco', root, name: spec.name ?? path.basename(file, path.extname(file)), total: async () => coco.images.length + coco.problems.length, entries: () => cocoEntries(file, coco, spec.split ?? null) };
    }
    case 'csv': {
      const file = path.resolve(spec.path);
      const root = path.resolve(spec.root ?? path.dirname(file));
      await assertFolder(root);
      const cols = await openCsv(spec);
      return { kind: 'csv', root, name: spec.name ?? path.basename(file, path.extname(file)), total: () => countCsvRecords(spec), entries: () => csvEntries(spec, cols) };
    }
    default:
      throw new DatasetImportError(String((spec as { path?: string }).path ?? '(no path)'), `unknown import kind ${JSON.stringify((spec as { kind?: unknown }).kind)}; expected imagefolder, folder, coco, csv or emoji`);
  }
}

/** The dataset to fill: a new one, or the same-named one from an earlier run of the same import. */
function openDataset(store: Store, p: Prepared): DatasetRow {
  const old = store.datasets.getByName(p.name);
  if (!old) return store.datasets.create({ name: p.name, sourceKind: p.kind, rootPath: p.root, importStatus: 'importing' });
  if (old.sourceKind !== p.kind || old.rootPath !== p.root) {
    throw new DatasetImportError(p.root, `a dataset named ${JSON.stringify(p.name)} already exists, imported as ${old.sourceKind} from ${old.rootPath}; choose another name`);
  }
  return store.datasets.setImportStatus(old.id, 'importing');
}

/**
 * Imports `spec` into the store, streaming. Bad rows and files are recorded in importErrors (and
 * files that are no readable image become 'broken' items) and the import goes on. Re-running the
 * same import (same name, kind and folder) resumes it without duplicating rows.
 */
export async function importDataset(store: Store, spec: ImportSpec, opts: ImportOptions = {}): Promise<ImportSummary> {
  const t0 = performance.now();
  opts.signal?.throwIfAborted();
  const p = await prepare(spec, opts);
  const ds = openDataset(store, p);
  try {
    opts.onProgress?.({ phase: 'scan', done: 0, total: null, bad: 0 });
    const total = await p.total();
    const counts = await ingest(store, ds, p.entries(), total, opts);
    store.datasets.setImportStatus(ds.id, 'done');
    const exactDuplicates = store.items.contentHashGroups(ds.id).reduce((n, g) => n + g.ids.length - 1, 0);
    return { datasetId: ds.id, name: ds.name, ...counts, exactDuplicates, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    if (store.isOpen) {
      if (opts.signal?.aborted) store.datasets.setImportStatus(ds.id, 'cancelled');
      else store.datasets.setImportStatus(ds.id, 'failed', (e as Error).message || String(e));
    }
    throw e;
  }
}
