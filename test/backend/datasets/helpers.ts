// Shared helpers for the dataset tests: the store tests' temp folders and stores (closed and removed
// after each test), plus a short way to list a dataset's items with captions and tags.
import type { Store } from '../../../src-main/backend/store/index.ts';
export { checkAndClose, freshStore, tempDir, track } from '../../store/helpers.ts';
export * from './fixtures.ts';

/** Every item of the dataset as { path, status, caption, tags, split }, sorted by path. */
export function itemsOf(store: Store, datasetId: number) {
  const out: { path: string; status: string; caption: string | null; tags: string[]; split: string | null; id: number }[] = [];
  let afterId: number | undefined;
  for (;;) {
    const page = store.items.query({ datasetId, limit: 1000, afterId });
    for (const r of page.rows) out.push({ id: r.id, path: r.path, status: r.status, caption: r.caption, tags: store.tags.list(r.id), split: r.split });
    if (page.nextAfterId === null) break;
    afterId = page.nextAfterId;
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The import errors of a dataset as reason strings. */
export const reasons = (store: Store, datasetId: number): string[] => store.importErrors.list(datasetId).map((e) => e.reason);
