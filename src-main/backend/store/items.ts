// Items: one image file of a dataset, with its hashes, size, status and split. Bulk insert runs in
// one transaction with a progress callback; `query` filters for the virtualized grid and pages by
// keyset (afterId) or offset, returning the rows of one page plus the total number of matches.
import { z } from 'zod';
import { Db, must, now } from './db.ts';
import { SearchIndex, textFilter } from './search.ts';
import { assignSplits, type SplitCounts, type SplitSpec } from './splits.ts';
import { count, hash64Hex, id, ITEM_STATUSES, nonEmpty, parse, sha256Hex, SPLITS, StoreInputError, type ItemStatus, type Split } from './validate.ts';

export interface ItemRow {
  id: number;
  datasetId: number;
  /** Relative to the dataset's root, '/'-separated. */
  path: string;
  contentHash: string;
  perceptualHash: string | null;
  bytes: number;
  width: number | null;
  height: number | null;
  status: ItemStatus;
  statusReason: string | null;
  duplicateOf: number | null;
  split: Split | null;
  createdAt: number;
}

/** A query row: the item and its current caption (null when it has none). */
export interface ItemWithCaption extends ItemRow {
  caption: string | null;
}

const relPath = nonEmpty
  .refine((p) => !p.includes('\\'), "must use '/' separators, not '\\'")
  .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:/.test(p), 'must be relative to the dataset root, not absolute')
  .refine((p) => !p.split('/').includes('..'), "must not contain '..' segments");
const dim = z.int().min(1, 'expected an integer >= 1');

const NewItem = z.object({
  path: relPath,
  contentHash: sha256Hex,
  perceptualHash: hash64Hex.nullish(),
  bytes: count,
  width: dim.nullish(),
  height: dim.nullish(),
  status: z.enum(['ok', 'broken']).default('ok'),
  statusReason: z.string().nullish(),
  split: z.enum(SPLITS).nullish(),
  /** Imported caption; stored as the current caption with source 'import'. */
  caption: z.string().nullish(),
  /** Further imported captions (e.g. COCO's other annotations): kept in the history as older,
   *  non-current captions with source 'import', so any of them can be made current by revert. */
  alternateCaptions: z.array(z.string()).optional(),
  tags: z.array(nonEmpty).optional(),
});
export type NewItem = z.input<typeof NewItem>;

export interface InsertManyOptions {
  /** Called every `progressEvery` items and once at the end, inside the transaction. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
  /** 'error' (default): a path already in the dataset aborts the whole insert. 'skip': it is skipped. */
  onConflict?: 'error' | 'skip';
}

export interface InsertManyResult {
  /** Parallel to the input: the new item id, or null when the item was skipped as a conflict. */
  ids: (number | null)[];
  inserted: number;
  skipped: number;
}

const ItemQuery = z.object({
  datasetId: id,
  /** Case-insensitive substring of the current caption or of the path. */
  text: z.string().min(1, 'must not be empty; leave it out to match everything').optional(),
  tag: nonEmpty.optional(),
  /** A split, or null for items with no split. */
  split: z.enum(SPLITS).nullable().optional(),
  status: z.enum(ITEM_STATUSES).optional(),
  /** true: only items marked 'duplicate' or 'near-duplicate'; false: only items not so marked. */
  duplicate: z.boolean().optional(),
  /** Only the items marked as duplicates of this item (one duplicate group without its keeper). */
  duplicateOf: id.optional(),
  minWidth: count.optional(),
  maxWidth: count.optional(),
  minHeight: count.optional(),
  maxHeight: count.optional(),
  limit: z.int().min(1).max(1000, 'at most 1000 rows per page').default(100),
  offset: count.optional(),
  afterId: count.optional(),
}).refine((q) => q.offset === undefined || q.afterId === undefined, { message: 'give offset or afterId, not both', path: ['afterId'] });
export type ItemQuery = z.input<typeof ItemQuery>;

export interface ItemPage {
  rows: ItemWithCaption[];
  /** Matches of the filter over the whole dataset, ignoring limit/offset/afterId. */
  total: number;
  /** Pass as afterId for the next page; null on the last page. */
  nextAfterId: number | null;
}

export const ITEM_COLS = `i.id, i.dataset_id AS datasetId, i.path, i.content_hash AS contentHash, i.perceptual_hash AS perceptualHash,
  i.bytes, i.width, i.height, i.status, i.status_reason AS statusReason, i.duplicate_of AS duplicateOf, i.split, i.created_at AS createdAt`;

export class ItemsRepo {
  private readonly search: SearchIndex;
  constructor(private readonly db: Db) {
    this.search = new SearchIndex(db);
  }

  insertMany(datasetId: number, items: readonly NewItem[], opts: InsertManyOptions = {}): InsertManyResult {
    const op = 'items.insertMany';
    parse(op, 'datasetId', id, datasetId);
    const every = opts.progressEvery ?? 1000;
    const conflict = opts.onConflict ?? 'error';
    const insert = this.db.stmt(`INSERT ${conflict === 'skip' ? 'OR IGNORE ' : ''}INTO items
      (dataset_id, path, content_hash, perceptual_hash, bytes, width, height, status, status_reason, split, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const caption = this.db.stmt(`INSERT INTO captions (item_id, text, is_current, source, created_at) VALUES (?, ?, 1, 'import', ?)`);
    const alternate = this.db.stmt(`INSERT INTO captions (item_id, text, is_current, source, created_at) VALUES (?, ?, 0, 'import', ?)`);
    const tag = this.db.stmt(`INSERT OR IGNORE INTO tags (item_id, tag) VALUES (?, ?)`);
    return this.db.tx(() => {
      if (!this.db.stmt(`SELECT 1 FROM datasets WHERE id = ?`).get(datasetId)) throw new StoreInputError(op, 'datasetId', `dataset ${datasetId} does not exist`);
      const t = now();
      const ids: (number | null)[] = new Array(items.length);
      let inserted = 0;
      for (let k = 0; k < items.length; k++) {
        const it = parse(op, `items[${k}]`, NewItem, items[k]);
        let r;
        try {
          r = insert.run(datasetId, it.path, it.contentHash, it.perceptualHash ?? null, it.bytes, it.width ?? null, it.height ?? null, it.status, it.statusReason ?? null, it.split ?? null, t);
        } catch (e) {
          if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new StoreInputError(op, `items[${k}].path`, `${JSON.stringify(it.path)} is already in dataset ${datasetId}`);
          throw e;
        }
        if (r.changes === 0) {
          ids[k] = null;
        } else {
          const itemId = Number(r.lastInsertRowid);
          ids[k] = itemId;
          inserted++;
          this.search.addPath(itemId, it.path);
          // alternates first: history() lists newest first, and the current caption must lead it
          for (const text of it.alternateCaptions ?? []) alternate.run(itemId, text, t);
          if (it.caption != null) {
            caption.run(itemId, it.caption, t);
            this.search.addCurrentCaption(itemId, it.caption);
          }
          for (const g of it.tags ?? []) tag.run(itemId, g);
        }
        if (opts.onProgress && ((k + 1) % every === 0 || k + 1 === items.length)) opts.onProgress(k + 1, items.length);
      }
      return { ids, inserted, skipped: items.length - inserted };
    });
  }

  get(itemId: number): ItemRow {
    return must(this.find(itemId), 'item', itemId);
  }

  find(itemId: number): ItemRow | undefined {
    return this.db.stmt(`SELECT ${ITEM_COLS} FROM items i WHERE i.id = ?`).get(itemId) as ItemRow | undefined;
  }

  findByPath(datasetId: number, path: string): ItemRow | undefined {
    return this.db.stmt(`SELECT ${ITEM_COLS} FROM items i WHERE i.dataset_id = ? AND i.path = ?`).get(datasetId, path) as ItemRow | undefined;
  }

  /** Items of the dataset with this exact content hash (candidates for duplicates), oldest first. */
  findByContentHash(datasetId: number, contentHash: string): ItemRow[] {
    return this.db.stmt(`SELECT ${ITEM_COLS} FROM items i WHERE i.dataset_id = ? AND i.content_hash = ? ORDER BY i.id`).all(datasetId, contentHash) as ItemRow[];
  }

  /**
   * One page of the dataset's items in id order after `afterId`, without captions or a total: the
   * cheap scan for batch jobs (hashing, dedupe, tokenizing) that walk a whole dataset.
   * `statuses` keeps only those; `withoutPerceptualHash` keeps only items not yet hashed.
   */
  scan(datasetId: number, opts: { afterId?: number; limit?: number; statuses?: readonly ItemStatus[]; withoutPerceptualHash?: boolean } = {}): ItemRow[] {
    const op = 'items.scan';
    parse(op, 'datasetId', id, datasetId);
    const statuses = parse(op, 'statuses', z.array(z.enum(ITEM_STATUSES)).min(1, 'give at least one status, or leave it out'), opts.statuses ?? [...ITEM_STATUSES]);
    const limit = parse(op, 'limit', z.int().min(1).max(10_000), opts.limit ?? 1000);
    const hashed = opts.withoutPerceptualHash ? ' AND i.perceptual_hash IS NULL' : '';
    return this.db.stmt(`SELECT ${ITEM_COLS} FROM items i WHERE i.dataset_id = ? AND i.id > ?
      AND i.status IN (${statuses.map(() => '?').join(', ')})${hashed} ORDER BY i.id LIMIT ?`)
      .all(datasetId, opts.afterId ?? 0, ...statuses, limit) as ItemRow[];
  }

  /** Stores 64-bit perceptual hashes (16 lowercase hex characters) in one transaction. */
  setPerceptualHashes(entries: readonly { itemId: number; hash: string }[]): number {
    const op = 'items.setPerceptualHashes';
    const upd = this.db.stmt(`UPDATE items SET perceptual_hash = ? WHERE id = ?`);
    return this.db.tx(() => entries.reduce((n, e, k) => {
      parse(op, `entries[${k}].hash`, hash64Hex, e.hash);
      const changed = upd.run(e.hash, e.itemId).changes;
      if (changed === 0) throw new StoreInputError(op, `entries[${k}].itemId`, `item ${e.itemId} does not exist`);
      return n + changed;
    }, 0));
  }

  /** Groups of 2+ items of the dataset with the same content hash (not counting 'broken' ones), ids ascending. */
  contentHashGroups(datasetId: number): { contentHash: string; ids: number[] }[] {
    const rows = this.db.stmt(`SELECT id, content_hash AS h FROM items WHERE dataset_id = ? AND status <> 'broken' AND content_hash IN
      (SELECT content_hash FROM items WHERE dataset_id = ? AND status <> 'broken' GROUP BY content_hash HAVING count(*) > 1)
      ORDER BY content_hash, id`).all(datasetId, datasetId) as { id: number; h: string }[];
    const out: { contentHash: string; ids: number[] }[] = [];
    for (const r of rows) {
      if (out.length === 0 || out[out.length - 1].contentHash !== r.h) out.push({ contentHash: r.h, ids: [] });
      out[out.length - 1].ids.push(r.id);
    }
    return out;
  }

  /** Turns every 'duplicate' / 'near-duplicate' item of the dataset back into 'ok' (before a new dedupe); returns how many. */
  clearDuplicates(datasetId: number): number {
    return this.db.stmt(`UPDATE items SET status = 'ok', status_reason = NULL, duplicate_of = NULL
      WHERE dataset_id = ? AND status IN ('duplicate', 'near-duplicate')`).run(parse('items.clearDuplicates', 'datasetId', id, datasetId)).changes;
  }

  query(q: ItemQuery): ItemPage {
    const f = parse('items.query', '', ItemQuery, q);
    const where: string[] = ['i.dataset_id = ?'];
    const args: unknown[] = [f.datasetId];
    if (f.status !== undefined) { where.push('i.status = ?'); args.push(f.status); }
    if (f.duplicate !== undefined) where.push(`i.status ${f.duplicate ? 'IN' : 'NOT IN'} ('duplicate', 'near-duplicate')`);
    if (f.duplicateOf !== undefined) { where.push('i.duplicate_of = ?'); args.push(f.duplicateOf); }
    if (f.split === null) where.push('i.split IS NULL');
    else if (f.split !== undefined) { where.push('i.split = ?'); args.push(f.split); }
    if (f.minWidth !== undefined) { where.push('i.width >= ?'); args.push(f.minWidth); }
    if (f.maxWidth !== undefined) { where.push('i.width <= ?'); args.push(f.maxWidth); }
    if (f.minHeight !== undefined) { where.push('i.height >= ?'); args.push(f.minHeight); }
    if (f.maxHeight !== undefined) { where.push('i.height <= ?'); args.push(f.maxHeight); }
    if (f.tag !== undefined) { where.push('i.id IN (SELECT item_id FROM tags WHERE tag = ?)'); args.push(f.tag); }
    if (f.text !== undefined) {
      const t = textFilter(f.text);
      where.push(`i.id IN (${t.sql})`);
      args.push(...t.args);
    }
    const filter = where.join(' AND ');
    const total = (this.db.stmt(`SELECT count(*) AS n FROM items i WHERE ${filter}`).get(...args) as { n: number }).n;
    // The page must walk an index that is in id order and stop after LIMIT rows; a size range on
    // items_by_width would instead gather every match and sort it. `+col` keeps SQLite off that index.
    const ordered = filter.replace(/i\.(width|height) /g, '+i.$1 ');
    const pageWhere = f.afterId !== undefined ? `${ordered} AND i.id > ?` : ordered;
    const pageArgs = f.afterId !== undefined ? [...args, f.afterId] : args;
    const rows = this.db.stmt(`SELECT ${ITEM_COLS}, c.text AS caption FROM items i
      LEFT JOIN captions c ON c.item_id = i.id AND c.is_current = 1
      WHERE ${pageWhere} ORDER BY i.id LIMIT ? OFFSET ?`).all(...pageArgs, f.limit, f.offset ?? 0) as ItemWithCaption[];
    const nextAfterId = rows.length === f.limit ? rows[rows.length - 1].id : null;
    return { rows, total, nextAfterId };
  }

  /**
   * Sets an item's status. 'duplicate' and 'near-duplicate' need `duplicateOf`, an item of the same
   * dataset; the other statuses must not have it.
   */
  setStatus(itemId: number, status: ItemStatus, opts: { reason?: string | null; duplicateOf?: number | null } = {}): ItemRow {
    const op = 'items.setStatus';
    parse(op, 'status', z.enum(ITEM_STATUSES), status);
    const dup = opts.duplicateOf ?? null;
    const isDup = status === 'duplicate' || status === 'near-duplicate';
    if (isDup && dup === null) throw new StoreInputError(op, 'duplicateOf', `required when status is '${status}'`);
    if (!isDup && dup !== null) throw new StoreInputError(op, 'duplicateOf', `only allowed with status 'duplicate' or 'near-duplicate', not '${status}'`);
    return this.db.tx(() => {
      const item = this.get(itemId);
      if (dup !== null) {
        if (dup === itemId) throw new StoreInputError(op, 'duplicateOf', `an item cannot duplicate itself (${itemId})`);
        const other = this.find(dup);
        if (!other || other.datasetId !== item.datasetId) throw new StoreInputError(op, 'duplicateOf', `item ${dup} is not in dataset ${item.datasetId}`);
      }
      this.db.stmt(`UPDATE items SET status = ?, status_reason = ?, duplicate_of = ? WHERE id = ?`).run(status, opts.reason ?? null, dup, itemId);
      return this.get(itemId);
    });
  }

  /** Sets the split of many items in one transaction (null clears it); returns how many changed. */
  setSplit(itemIds: readonly number[], split: Split | null): number {
    parse('items.setSplit', 'split', z.enum(SPLITS).nullable(), split);
    const upd = this.db.stmt(`UPDATE items SET split = ? WHERE id = ?`);
    return this.db.tx(() => itemIds.reduce((n, itemId) => n + upd.run(split, itemId).changes, 0));
  }

  /**
   * Assigns train/validation/test to the dataset's 'ok' items in one transaction, either by
   * `{ seed, fractions }` (deterministic shuffle) or `{ byPathPrefix }`; see splits.ts.
   */
  assignSplits(datasetId: number, spec: SplitSpec): SplitCounts {
    return assignSplits(this.db, datasetId, spec);
  }

  /** Deletes items (their captions, tags and cached tokens go with them); returns how many. */
  delete(itemIds: readonly number[]): number {
    const del = this.db.stmt(`DELETE FROM items WHERE id = ?`);
    return this.db.tx(() => itemIds.reduce((n, itemId) => n + del.run(itemId).changes, 0));
  }

  /** Item counts of a dataset by status and by split (null split counted as 'none'). */
  stats(datasetId: number): { total: number; byStatus: Record<ItemStatus, number>; bySplit: Record<Split | 'none', number> } {
    const byStatus = { ok: 0, broken: 0, duplicate: 0, 'near-duplicate': 0 } as Record<ItemStatus, number>;
    const bySplit = { train: 0, validation: 0, test: 0, none: 0 } as Record<Split | 'none', number>;
    let total = 0;
    const rows = this.db.stmt(`SELECT status, split, count(*) AS n FROM items WHERE dataset_id = ? GROUP BY status, split`).all(datasetId) as { status: ItemStatus; split: Split | null; n: number }[];
    for (const r of rows) {
      total += r.n;
      byStatus[r.status] += r.n;
      bySplit[r.split ?? 'none'] += r.n;
    }
    return { total, byStatus, bySplit };
  }
}
