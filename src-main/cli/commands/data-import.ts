// `tessera data import`: imports an HF imagefolder, a folder with sidecar .txt captions, a COCO
// captions JSON, a CSV or the emoji sample into a Tessera store, streaming, with a progress line and
// a summary (imported, bad, duplicates). Re-running the same command resumes an interrupted import.
import { importDataset, type ImportSpec, type Progress } from '../../backend/datasets/index.ts';
import { openStore, SPLITS, type Split, type Store } from '../../backend/store/index.ts';
import { intFlag, parseFlags, UsageError, type Command } from '../command.ts';

const KINDS = ['imagefolder', 'folder', 'coco', 'csv', 'emoji'] as const;

/** A progress printer for stderr: one rewritten line on a terminal, nothing otherwise. */
export function progressLine(): { update: (p: Progress) => void; end: () => void } {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    update(p) {
      const t = performance.now();
      if (!tty || t - last < 100) return;
      last = t;
      const of = p.total === null ? '' : `/${p.total} (${Math.floor((100 * p.done) / Math.max(1, p.total))}%)`;
      process.stderr.write(`\r  ${p.phase} ${p.done}${of}${p.bad ? `, ${p.bad} bad` : ''}   `);
    },
    end: () => { if (tty && last > 0) process.stderr.write('\n'); },
  };
}

/** Opens --store (required) and closes it after `fn`, even when it throws. */
export async function withStore<T>(path: string | undefined, fn: (store: Store) => Promise<T>): Promise<T> {
  if (!path) throw new UsageError('--store FILE is required (the Tessera database; created when missing)');
  const store = await openStore(path);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

function spec(v: Record<string, string | undefined>): ImportSpec {
  const kind = v.kind as (typeof KINDS)[number] | undefined;
  if (!kind || !KINDS.includes(kind)) throw new UsageError(`--kind must be one of ${KINDS.join(', ')}${kind ? `, got '${kind}'` : ''}`);
  if (kind === 'emoji') return { kind, cacheDir: v.path ?? v['cache-dir'] ?? 'data/emoji', name: v.name, limit: intFlag('limit', v.limit, 1) };
  if (!v.path) throw new UsageError(`--path is required for --kind ${kind}`);
  if (v.split !== undefined && !(SPLITS as readonly string[]).includes(v.split)) throw new UsageError(`--split must be one of ${SPLITS.join(', ')}, got '${v.split}'`);
  switch (kind) {
    case 'imagefolder': return { kind, path: v.path, name: v.name };
    case 'folder': return { kind, path: v.path, name: v.name };
    case 'coco': return { kind, path: v.path, name: v.name, imagesDir: v.images, split: v.split as Split | undefined };
    case 'csv': return { kind, path: v.path, name: v.name, root: v.images, pathColumn: v['path-column'], captionColumn: v['caption-column'], delimiter: v.delimiter };
  }
}

export const dataImport: Command = {
  name: 'data import',
  summary: 'Import images with captions (imagefolder, folder + .txt, COCO, CSV, emoji sample) into a store',
  usage: 'data import --store FILE --kind imagefolder|folder|coco|csv|emoji --path P [--name N] [--images DIR] [--split S] [--path-column C] [--caption-column C] [--delimiter D] [--limit N]',
  async run(argv) {
    const { values } = parseFlags(argv, {
      store: { type: 'string' }, kind: { type: 'string' }, path: { type: 'string' }, name: { type: 'string' },
      images: { type: 'string' }, split: { type: 'string' }, 'path-column': { type: 'string' }, 'caption-column': { type: 'string' },
      delimiter: { type: 'string' }, limit: { type: 'string' },
    });
    const s = spec(values);
    const line = progressLine();
    const ac = new AbortController();
    const stop = () => ac.abort(new Error('interrupted (Ctrl-C); run the same command again to resume'));
    process.once('SIGINT', stop);
    try {
      return await withStore(values.store, async (store) => {
        const r = await importDataset(store, s, { onProgress: line.update, signal: ac.signal });
        line.end();
        console.log(`dataset ${JSON.stringify(r.name)} (id ${r.datasetId}): ${r.imported} imported, ${r.bad} bad (${r.broken} unreadable images), ${r.skipped} already there, ${r.exactDuplicates} exact duplicates; ${r.seconds.toFixed(1)} s (${(r.seen / Math.max(r.seconds, 1e-9)).toFixed(0)} entries/s)`);
        const errors = store.importErrors.list(r.datasetId);
        for (const e of errors.slice(-10)) console.log(`  ${e.reason}`);
        if (errors.length > 10) console.log(`  ... ${errors.length - 10} more import errors in the store`);
        return 0;
      });
    } finally {
      line.end();
      process.off('SIGINT', stop);
    }
  },
};
