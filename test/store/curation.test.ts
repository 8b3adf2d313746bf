// Dataset curation: bulk insert with progress, cascades on delete, caption history, tag uniqueness,
// query filters with keyset and offset paging, statuses with duplicates, deterministic splits, and
// input validation errors that name the field.
import { describe, expect, it } from 'vitest';
import { SplitMix32, splitCounts, StoreInputError } from '../../src-main/backend/store/index.ts';
import { checkAndClose, fakeItems, freshStore, sha256 } from './helpers.ts';

const count = (store: any, table: string): number => store.db.raw.prepare(`SELECT count(*) AS n FROM ${table}`).get().n;

describe('datasets and items', () => {
  it('bulk-inserts in one transaction with progress, and cascades on delete', async () => {
    const { store } = await freshStore();
    const a = store.datasets.create({ name: 'a', sourceKind: 'imagefolder', rootPath: '/a' });
    const b = store.datasets.create({ name: 'b', sourceKind: 'csv', rootPath: '/b' });
    const progress: number[] = [];
    const res = store.items.insertMany(a.id, fakeItems(2500), { onProgress: (done, total) => progress.push(done / total) });
    expect(res.inserted).toBe(2500);
    expect(progress).toEqual([0.4, 0.8, 1]);
    store.items.insertMany(b.id, fakeItems(10));
    store.importErrors.add(a.id, 'img/bad.png', 'not a PNG');
    store.captions.edit(res.ids[0]!, 'second caption', 'user');
    store.tokenCache.put(res.ids[0]!, 'tok@1', [1, 2, 3], [3]);
    expect(count(store, 'captions')).toBe(2511);

    expect(store.items.query({ datasetId: a.id, text: 'second caption' }).total).toBe(1);
    expect(store.datasets.delete(a.id)).toBe(true);
    expect(store.items.stats(a.id).total).toBe(0);
    expect(count(store, 'captions')).toBe(10);
    expect(count(store, 'tags')).toBe(10 + 1);
    expect(count(store, 'token_cache')).toBe(0);
    expect(store.importErrors.list(a.id)).toEqual([]);
    expect(store.items.stats(b.id).total).toBe(10);
    // the search indexes follow the cascade
    expect(count(store, 'item_path_search')).toBe(10);
    expect(count(store, 'item_caption_search')).toBe(10);
    checkAndClose(store);
  });

  it('rolls the whole batch back on a bad item, naming the field', async () => {
    const { store } = await freshStore();
    const d = store.datasets.create({ name: 'd', sourceKind: 'folder', rootPath: '/d' });
    const items = fakeItems(5);
    items[3] = { ...items[3], width: -2 };
    expect(() => store.items.insertMany(d.id, items)).toThrow('items.insertMany: items[3].width: expected an integer >= 1 (got -2)');
    expect(store.items.stats(d.id).total).toBe(0);
    expect(() => store.items.insertMany(d.id, [{ ...fakeItems(1)[0], contentHash: 'abc' }])).toThrow(/items\[0\]\.contentHash: expected a sha256 as 64 lowercase hex/);
    expect(() => store.items.insertMany(d.id, [{ ...fakeItems(1)[0], path: '../etc/passwd' }])).toThrow(/items\[0\]\.path: must not contain '\.\.' segments/);
    expect(() => store.items.insertMany(d.id, [{ ...fakeItems(1)[0], path: '/abs.png' }])).toThrow(/items\[0\]\.path: must be relative/);
    expect(() => store.items.insertMany(999, fakeItems(1))).toThrow('items.insertMany: datasetId: dataset 999 does not exist');
    expect(() => store.datasets.create({ name: '', sourceKind: 'folder', rootPath: '/x' })).toThrow(/datasets\.create: name: must not be empty/);
    expect(() => store.datasets.create({ name: 'x', sourceKind: 'zip' as any, rootPath: '/x' })).toThrow(StoreInputError);
    expect(() => store.datasets.create({ name: 'd', sourceKind: 'folder', rootPath: '/x' })).toThrow('a dataset named "d" already exists');

    store.items.insertMany(d.id, fakeItems(3));
    expect(() => store.items.insertMany(d.id, fakeItems(2, 2))).toThrow(`items.insertMany: items[0].path: "img/000002.png" is already in dataset ${d.id}`);
    expect(store.items.stats(d.id).total).toBe(3);
    const skip = store.items.insertMany(d.id, fakeItems(3, 2), { onConflict: 'skip' });
    expect(skip).toMatchObject({ inserted: 2, skipped: 1 });
    expect(skip.ids[0]).toBeNull();
    checkAndClose(store);
  });

  it('keeps the full caption history with exactly one current caption', async () => {
    const { store } = await freshStore();
    const d = store.datasets.create({ name: 'd', sourceKind: 'folder', rootPath: '/d' });
    const [itemId] = store.items.insertMany(d.id, fakeItems(1)).ids as number[];
    store.captions.edit(itemId, 'a smiling face', 'model');
    const last = store.captions.edit(itemId, 'a grinning face', 'user');
    const h = store.captions.history(itemId);
    expect(h.map((c) => [c.text, c.source, c.isCurrent])).toEqual([
      ['a grinning face', 'user', true],
      ['a smiling face', 'model', false],
      ['a red emoji number 0', 'import', false],
    ]);
    expect(store.captions.current(itemId)?.id).toBe(last.id);
    const undone = store.captions.revert(h[1].id);
    expect(undone.text).toBe('a smiling face');
    expect(store.captions.history(itemId).filter((c) => c.isCurrent).length).toBe(1);
    expect(() => store.captions.edit(itemId, 'x', 'robot' as any)).toThrow(/captions\.edit: source: Invalid option/);
    expect(() => store.captions.edit(12345, 'x', 'user')).toThrow('captions.edit: itemId: item 12345 does not exist');
    // the database itself refuses a second current caption
    expect(() => (store as any).db.raw.prepare(`INSERT INTO captions (item_id, text, is_current, source, created_at) VALUES (?, 'dup', 1, 'user', 0)`).run(itemId)).toThrow(/UNIQUE constraint failed/);
    checkAndClose(store);
  });

  it('keeps tags unique per item and counts them', async () => {
    const { store } = await freshStore();
    const d = store.datasets.create({ name: 'd', sourceKind: 'folder', rootPath: '/d' });
    const ids = store.items.insertMany(d.id, fakeItems(20)).ids as number[];
    expect(store.tags.add(ids[1], 'smile')).toBe(true);
    expect(store.tags.add(ids[1], 'smile')).toBe(false);
    expect(store.tags.addMany(ids.slice(0, 5), 'smile')).toBe(4);
    expect(store.tags.list(ids[1])).toEqual(['emoji', 'smile']);
    expect(store.tags.remove(ids[1], 'smile')).toBe(true);
    expect(store.tags.remove(ids[1], 'smile')).toBe(false);
    expect(store.tags.counts(d.id)).toEqual([{ tag: 'emoji', count: 20 }, { tag: 'smile', count: 4 }, { tag: 'tenth', count: 2 }]);
    expect(() => store.tags.add(ids[0], '')).toThrow('tags.add: tag: must not be empty');
    checkAndClose(store);
  });
});

describe('items.query', () => {
  it('filters by text, tag, split, status and size, and pages by keyset and offset', async () => {
    const { store } = await freshStore();
    const d = store.datasets.create({ name: 'd', sourceKind: 'folder', rootPath: '/d' });
    const other = store.datasets.create({ name: 'o', sourceKind: 'folder', rootPath: '/o' });
    const ids = store.items.insertMany(d.id, fakeItems(200)).ids as number[];
    store.items.insertMany(other.id, fakeItems(50));
    const q = (f: object) => store.items.query({ datasetId: d.id, ...f });

    expect(q({}).total).toBe(200);
    expect(q({ text: 'BLUE' }).total).toBe(50); // case-insensitive
    expect(q({ text: 'number 1' }).total).toBe(1 + 10 + 100); // 1, 10-19, 100-199
    expect(q({ text: '000042' }).rows.map((r) => r.id)).toEqual([ids[42]]); // path match
    expect(q({ text: '100%' }).total).toBe(0); // no wildcards
    expect(q({ text: '"' }).total).toBe(0);
    expect(q({ text: 'a "quoted" word' }).total).toBe(0);
    expect(q({ text: '9' }).total).toBe(fakeItems(200).filter((i) => i.caption!.includes('9') || i.path.includes('9')).length); // short: LIKE
    expect(q({ text: '_' }).total).toBe(0); // LIKE wildcards are escaped
    expect(q({ tag: 'tenth' }).total).toBe(20);
    const wide = q({ minWidth: 70, maxWidth: 75, limit: 1000 });
    expect(wide.rows.every((r) => r.width! >= 70 && r.width! <= 75)).toBe(true);
    expect(wide.total).toBe(fakeItems(200).filter((i) => i.width! >= 70 && i.width! <= 75).length);

    store.captions.edit(ids[7], 'a purple unicorn', 'user');
    expect(q({ text: 'unicorn' }).rows.map((r) => [r.id, r.caption])).toEqual([[ids[7], 'a purple unicorn']]);
    expect(q({ text: 'number 7' }).rows.map((r) => r.id)).not.toContain(ids[7]); // old captions do not match

    store.items.setStatus(ids[5], 'duplicate', { duplicateOf: ids[4], reason: 'same sha256' });
    store.items.setStatus(ids[6], 'broken', { reason: 'truncated PNG' });
    expect(q({ status: 'duplicate' }).rows.map((r) => [r.id, r.duplicateOf, r.statusReason])).toEqual([[ids[5], ids[4], 'same sha256']]);
    expect(q({ status: 'ok' }).total).toBe(198);

    // keyset paging walks every match exactly once
    const seen: number[] = [];
    let afterId: number | undefined;
    for (;;) {
      const page = q({ tag: 'emoji', limit: 64, afterId });
      expect(page.total).toBe(200);
      seen.push(...page.rows.map((r) => r.id));
      if (page.nextAfterId === null) break;
      afterId = page.nextAfterId;
    }
    expect(seen).toEqual(ids);
    expect(q({ limit: 10, offset: 190 }).rows.map((r) => r.id)).toEqual(ids.slice(190));

    expect(() => q({ limit: 5000 })).toThrow(/items\.query: limit: at most 1000 rows per page/);
    expect(() => q({ offset: 5, afterId: 3 })).toThrow('items.query: afterId: give offset or afterId, not both');
    expect(() => store.items.query({ datasetId: 0 })).toThrow(/items\.query: datasetId: expected a positive integer id/);
    checkAndClose(store);
  });

  it('validates duplicate links', async () => {
    const { store } = await freshStore();
    const d = store.datasets.create({ name: 'd', sourceKind: 'folder', rootPath: '/d' });
    const e = store.datasets.create({ name: 'e', sourceKind: 'folder', rootPath: '/e' });
    const [x, y] = store.items.insertMany(d.id, fakeItems(2)).ids as number[];
    const [z] = store.items.insertMany(e.id, fakeItems(1)).ids as number[];
    expect(() => store.items.setStatus(x, 'near-duplicate')).toThrow("items.setStatus: duplicateOf: required when status is 'near-duplicate'");
    expect(() => store.items.setStatus(x, 'ok', { duplicateOf: y })).toThrow(/duplicateOf: only allowed with status/);
    expect(() => store.items.setStatus(x, 'duplicate', { duplicateOf: z })).toThrow(`items.setStatus: duplicateOf: item ${z} is not in dataset ${d.id}`);
    store.items.setStatus(x, 'near-duplicate', { duplicateOf: y });
    expect(store.items.query({ datasetId: d.id, text: 'number 1' }).total).toBe(1);
    store.items.delete([y]); // the original goes: the link becomes null (ON DELETE SET NULL)
    expect(store.items.query({ datasetId: d.id, text: 'number 1' }).total).toBe(0);
    expect(store.items.get(x).duplicateOf).toBeNull();
    expect(store.items.findByContentHash(d.id, sha256('item 0')).map((i) => i.id)).toEqual([x]);
    checkAndClose(store);
  });
});

describe('splits', () => {
  it('splitmix32 is deterministic and roughly uniform', () => {
    const a = new SplitMix32(42), b = new SplitMix32(42), c = new SplitMix32(43);
    const sa = Array.from({ length: 5 }, () => a.nextU32());
    expect(sa).toEqual(Array.from({ length: 5 }, () => b.nextU32()));
    expect(sa).not.toEqual(Array.from({ length: 5 }, () => c.nextU32()));
    const r = new SplitMix32(1);
    const buckets = new Array(10).fill(0);
    for (let k = 0; k < 100_000; k++) buckets[r.below(10)]++;
    for (const n of buckets) expect(Math.abs(n - 10_000)).toBeLessThan(500);
    expect(splitCounts(10, { train: 0.8, validation: 0.1, test: 0.1 })).toEqual({ train: 8, validation: 1, test: 1 });
    expect(splitCounts(7, { train: 0.5, validation: 0.5, test: 0 })).toEqual({ train: 4, validation: 3, test: 0 });
  });

  it('assigns exact, deterministic splits to ok items only, or by path prefix', async () => {
    const { store } = await freshStore();
    const d = store.datasets.create({ name: 'd', sourceKind: 'folder', rootPath: '/d' });
    const ids = store.items.insertMany(d.id, fakeItems(1000)).ids as number[];
    store.items.setStatus(ids[0], 'broken', { reason: 'x' });
    const spec = { seed: 7, fractions: { train: 0.8, validation: 0.1, test: 0.1 } };
    const counts = store.items.assignSplits(d.id, spec);
    expect(counts).toEqual({ train: 799, validation: 100, test: 100, none: 1 });
    expect(store.items.stats(d.id).bySplit).toEqual({ train: 799, validation: 100, test: 100, none: 1 });
    const snapshot = ids.map((i) => store.items.get(i).split);
    store.items.assignSplits(d.id, spec);
    expect(ids.map((i) => store.items.get(i).split)).toEqual(snapshot);
    store.items.assignSplits(d.id, { ...spec, seed: 8 });
    expect(ids.map((i) => store.items.get(i).split)).not.toEqual(snapshot);
    expect(snapshot.slice(0, 100).filter((s) => s === 'train').length).toBeGreaterThan(60); // shuffled, not cut in order

    const byPrefix = store.items.assignSplits(d.id, { byPathPrefix: { 'img/0000': 'test', 'img/': 'train' } });
    expect(byPrefix).toEqual({ train: 900, validation: 0, test: 99, none: 1 });
    expect(() => store.items.assignSplits(d.id, { seed: 1, fractions: { train: 0.8, validation: 0.1, test: 0.2 } })).toThrow('items.assignSplits: spec.fractions: train + validation + test must sum to 1');
    checkAndClose(store);
  });
});
