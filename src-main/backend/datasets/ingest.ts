// The streaming core every importer shares. A source yields entries (a file with its caption, tags
// and split, or an error it found in its own format); ingest checks each path, skips files already
// in the dataset (so a re-run resumes an interrupted import), examines the rest a few at a time,
// and commits every `batchSize` entries as one transaction of items plus import errors. Memory
// stays bounded by one batch; only the set of paths seen in this run grows (for duplicate names).
import { promises as fsp } from 'node:fs';
import type { DatasetRow, NewItem, Split, Store } from '../store/index.ts';
import { examineFile, mapPool, relativePath, type Verdict } from './files.ts';
import type { ImportOptions, ImportSummary, Progress } from './types.ts';

/** What a source yields. `where` ("metadata.jsonl line 12") is appended to reasons about the entry. */
export type Entry =
  | {
      kind: 'file';
      given: string;
      where?: string;
      caption?: string | null;
      alternates?: string[];
      tags?: string[];
      split?: Split | null;
      /** A note recorded as an import error while the file is still imported (e.g. an unknown split). */
      note?: string;
    }
  | { kind: 'error'; path: string; reason: string };

/** The per-run counters of an import (documented on ImportSummary). */
export type IngestCounts = Pick<ImportSummary, 'seen' | 'imported' | 'broken' | 'bad' | 'skipped' | 'errors'>;

type FileEntry = Extract<Entry, { kind: 'file' }>;
type Planned = { entry: FileEntry; rel: string };

export async function ingest(store: Store, ds: DatasetRow, source: AsyncIterable<Entry>, total: number | null, opts: ImportOptions = {}): Promise<IngestCounts> {
  const batchSize = opts.batchSize ?? 500;
  const concurrency = opts.concurrency ?? 8;
  const rootReal = await fsp.realpath(ds.rootPath);
  const known = new Set(store.importErrors.list(ds.id).map((e) => `${e.path}\n${e.reason}`));
  const firstSeen = new Map<string, string>(); // rel path -> where it first appeared in this run
  const counts: IngestCounts = { seen: 0, imported: 0, broken: 0, bad: 0, skipped: 0, errors: 0 };
  const report = (phase: Progress['phase']) => opts.onProgress?.({ phase, done: counts.seen, total, bad: counts.bad });
  let batch: Entry[] = [];

  const flush = async () => {
    opts.signal?.throwIfAborted();
    // errors carry their entry's position in the batch: recorded in source order
    const errors: { at: number; path: string; reason: string }[] = [];
    const planned: (Planned & { at: number })[] = [];
    let at = 0;
    const fail = (path: string, reason: string) => {
      errors.push({ at, path, reason });
      counts.bad++;
    };
    for (; at < batch.length; at++) {
      const e = batch[at];
      if (e.kind === 'error') { fail(e.path, e.reason); continue; }
      const where = e.where ? ` (${e.where})` : '';
      const p = relativePath(e.given);
      if ('refused' in p) { fail(e.given || '(empty file name)', `${p.refused}${where}`); continue; }
      const first = firstSeen.get(p.rel);
      if (first !== undefined) { fail(p.rel, `${p.rel}: listed again${where}; already listed${first ? ` at ${first}` : ''}, which was kept`); continue; }
      firstSeen.set(p.rel, e.where ?? '');
      if (store.items.findByPath(ds.id, p.rel)) { counts.skipped++; continue; }
      planned.push({ entry: e, rel: p.rel, at });
    }
    const verdicts = await mapPool(planned, concurrency, (p) => examineFile(ds.rootPath, rootReal, p.rel));
    opts.signal?.throwIfAborted();
    const items: NewItem[] = [];
    planned.forEach((p, k) => {
      const v: Verdict = verdicts[k];
      const where = p.entry.where ? ` (${p.entry.where})` : '';
      at = p.at;
      if (v.kind === 'error') { fail(p.rel, `${v.reason}${where}`); return; }
      if (p.entry.note) errors.push({ at, path: p.rel, reason: `${p.entry.note}${where}` });
      const meta = { path: p.rel, caption: p.entry.caption ?? null, alternateCaptions: p.entry.alternates, tags: p.entry.tags, split: p.entry.split ?? null };
      if (v.kind === 'ok') {
        items.push({ ...meta, contentHash: v.contentHash, bytes: v.bytes, width: v.width, height: v.height, status: 'ok' });
      } else {
        items.push({ ...meta, contentHash: v.contentHash, bytes: v.bytes, status: 'broken', statusReason: v.reason });
        fail(p.rel, `${v.reason}${where}`);
      }
    });
    errors.sort((a, b) => a.at - b.at);
    const fresh = errors.filter((e) => !known.has(`${e.path}\n${e.reason}`));
    const ids = store.transaction(() => {
      const r = store.items.insertMany(ds.id, items, { onConflict: 'skip' });
      for (const e of fresh) store.importErrors.add(ds.id, e.path, e.reason);
      return r.ids.filter((x): x is number => x !== null);
    });
    for (const e of fresh) known.add(`${e.path}\n${e.reason}`);
    counts.errors += fresh.length;
    for (const it of items) if (it.status === 'ok') counts.imported++; else counts.broken++;
    counts.seen += batch.length;
    batch = [];
    opts.onCommit?.({ itemIds: ids, errors: fresh.length });
    report('import');
  };

  report('import');
  for await (const e of source) {
    batch.push(e);
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  return counts;
}
