// Curation edits over the store, in bulk and in one transaction each: caption edits (kept in the
// history), tag add/remove on many items or on everything a filter matches, and split assignment
// (seeded fractions, path prefixes, or by tag such as an imported `style:facebook`). Filters are the
// store's ItemQuery (caption text, tag, split, status, size, duplicate state), re-exported here.
import { SPLITS, type ItemQuery, type Split, type SplitCounts, type SplitSpec, type Store } from '../store/index.ts';

/** The store's split specs plus `byTag`: the first listed tag an 'ok' item has decides its split. */
export type SplitAssignment = SplitSpec | { byTag: Record<string, Split | null>; otherwise?: Split | null };

/** Item filter for the grid and for bulk edits (see the store's ItemQuery). */
export type ItemFilter = Omit<ItemQuery, 'datasetId' | 'limit' | 'offset' | 'afterId'>;

/** Ids of every item of the dataset that the filter matches, in id order (paged through the store). */
export function matchingIds(store: Store, datasetId: number, filter: ItemFilter = {}): number[] {
  const ids: number[] = [];
  let afterId: number | undefined;
  for (;;) {
    const page = store.items.query({ ...filter, datasetId, limit: 1000, afterId });
    for (const r of page.rows) ids.push(r.id);
    if (page.nextAfterId === null) return ids;
    afterId = page.nextAfterId;
  }
}

/** Applies caption edits (source 'user' unless given) in one transaction: all or none. */
export function editCaptions(store: Store, edits: readonly { itemId: number; text: string }[], source: 'user' | 'model' = 'user'): number {
  return store.transaction(() => {
    for (const e of edits) store.captions.edit(e.itemId, e.text, source);
    return edits.length;
  });
}

/** Adds `tag` to the given items, or to every item a filter matches; returns how many gained it. */
export function addTag(store: Store, target: { itemIds: readonly number[] } | { datasetId: number; filter: ItemFilter }, tag: string): number {
  const ids = 'itemIds' in target ? target.itemIds : matchingIds(store, target.datasetId, target.filter);
  return store.tags.addMany(ids, tag);
}

/** Removes `tag` from the given items, or from every item a filter matches; returns how many lost it. */
export function removeTag(store: Store, target: { itemIds: readonly number[] } | { datasetId: number; filter: ItemFilter }, tag: string): number {
  const ids = 'itemIds' in target ? target.itemIds : matchingIds(store, target.datasetId, target.filter);
  return store.tags.removeMany(ids, tag);
}

/** Assigns train/validation/test to the dataset's 'ok' items (others get none); returns the counts. */
export function assignSplits(store: Store, datasetId: number, spec: SplitAssignment): SplitCounts {
  if (!('byTag' in spec)) return store.items.assignSplits(datasetId, spec);
  for (const [tag, split] of Object.entries(spec.byTag)) {
    if (split !== null && !(SPLITS as readonly string[]).includes(split)) throw new RangeError(`assignSplits: byTag[${JSON.stringify(tag)}]: unknown split ${JSON.stringify(split)} (expected train, validation, test or null)`);
  }
  return store.transaction(() => {
    const decided = new Map<number, Split | null>();
    for (const [tag, split] of Object.entries(spec.byTag)) {
      for (const id of matchingIds(store, datasetId, { tag, status: 'ok' })) if (!decided.has(id)) decided.set(id, split);
    }
    const counts: SplitCounts = { train: 0, validation: 0, test: 0, none: 0 };
    const bySplit = new Map<Split | null, number[]>();
    const everyOk = matchingIds(store, datasetId, { status: 'ok' });
    for (const id of everyOk) {
      const s = decided.has(id) ? decided.get(id)! : spec.otherwise ?? null;
      const list = bySplit.get(s);
      if (list) list.push(id); else bySplit.set(s, [id]);
    }
    store.items.setSplit(matchingIds(store, datasetId, {}), null);
    for (const [s, ids] of bySplit) {
      if (s !== null) store.items.setSplit(ids, s);
      counts[s ?? 'none'] += ids.length;
    }
    counts.none += store.items.stats(datasetId).total - everyOk.length;
    return counts;
  });
}
