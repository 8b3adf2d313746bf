// Scale: 100k items inserted in one transaction, then the grid's queries (first page, a filtered
// page, a deep keyset page, a text search) timed and printed. No time is asserted (machines
// differ); the results are checked against the known fake data so the test can still fail.
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { checkAndClose, fakeItems, freshStore } from './helpers.ts';

const N = 100_000;

describe('items at 100k scale', () => {
  it('inserts 100k items in one transaction and filters them quickly', async () => {
    const { store } = await freshStore();
    const d = store.datasets.create({ name: 'big', sourceKind: 'folder', rootPath: '/big' });
    const items = fakeItems(N);
    let t = performance.now();
    const { ids } = store.items.insertMany(d.id, items);
    console.log(`store: inserted ${N} items (+captions, tags) in ${(performance.now() - t).toFixed(0)} ms`);
    store.items.assignSplits(d.id, { seed: 1, fractions: { train: 0.8, validation: 0.1, test: 0.1 } });

    const time = <T>(label: string, fn: () => T): T => {
      fn(); // warm the statement cache and the page cache
      const reps = 5;
      const t0 = performance.now();
      let out!: T;
      for (let k = 0; k < reps; k++) out = fn();
      console.log(`store: ${label}: ${((performance.now() - t0) / reps).toFixed(2)} ms per query`);
      return out;
    };
    const first = time('first page, no filter (100 rows + total)', () => store.items.query({ datasetId: d.id }));
    expect(first.total).toBe(N);
    const filtered = time('split=train, minWidth=40, status=ok (page + total)', () =>
      store.items.query({ datasetId: d.id, split: 'train', minWidth: 40, status: 'ok', limit: 200 }));
    expect(filtered.rows.length).toBe(200);
    expect(filtered.rows.every((r) => r.split === 'train' && r.width! >= 40)).toBe(true);
    const deep = time('keyset page deep in the grid (afterId at 90%)', () =>
      store.items.query({ datasetId: d.id, afterId: ids[N * 0.9]!, limit: 100 }));
    expect(deep.rows[0].id).toBe(ids[N * 0.9 + 1]);
    const tagged = time('tag filter (10% of items)', () => store.items.query({ datasetId: d.id, tag: 'tenth' }));
    expect(tagged.total).toBe(N / 10);
    const text = time('caption substring search (page + total)', () => store.items.query({ datasetId: d.id, text: 'number 4242' }));
    expect(text.total).toBe(1 + 10); // 4242 and 42420..42429
    t = performance.now();
    const stats = store.items.stats(d.id);
    console.log(`store: stats over ${N} items: ${(performance.now() - t).toFixed(2)} ms`);
    expect(stats.bySplit.train).toBe(N * 0.8);
    checkAndClose(store);
  });
});
