// Captions with full history (an edit inserts a new current row and un-currents the previous one,
// in one transaction; a partial unique index keeps at most one current caption per item) and tags
// (unique per item).
import { z } from 'zod';
import { Db, must, now } from './db.ts';
import { SearchIndex } from './search.ts';
import { CAPTION_SOURCES, id, nonEmpty, parse, StoreInputError, type CaptionSource } from './validate.ts';

export interface CaptionRow {
  id: number;
  itemId: number;
  text: string;
  isCurrent: boolean;
  source: CaptionSource;
  createdAt: number;
}

const COLS = `id, item_id AS itemId, text, is_current AS isCurrent, source, created_at AS createdAt`;
const toRow = (r: any): CaptionRow => ({ ...r, isCurrent: r.isCurrent === 1 });

export class CaptionsRepo {
  private readonly search: SearchIndex;
  constructor(private readonly db: Db) {
    this.search = new SearchIndex(db);
  }

  /** Makes `text` the current caption of the item, keeping the old one in the history. */
  edit(itemId: number, text: string, source: CaptionSource): CaptionRow {
    const op = 'captions.edit';
    parse(op, 'itemId', id, itemId);
    parse(op, 'text', z.string(), text);
    parse(op, 'source', z.enum(CAPTION_SOURCES), source);
    return this.db.tx(() => {
      if (!this.db.stmt(`SELECT 1 FROM items WHERE id = ?`).get(itemId)) throw new StoreInputError(op, 'itemId', `item ${itemId} does not exist`);
      this.db.stmt(`UPDATE captions SET is_current = 0 WHERE item_id = ? AND is_current = 1`).run(itemId);
      const r = this.db.stmt(`INSERT INTO captions (item_id, text, is_current, source, created_at) VALUES (?, ?, 1, ?, ?)`).run(itemId, text, source, now());
      this.search.addCurrentCaption(itemId, text);
      return toRow(this.db.stmt(`SELECT ${COLS} FROM captions WHERE id = ?`).get(r.lastInsertRowid));
    });
  }

  /** The current caption, or undefined when the item has none. */
  current(itemId: number): CaptionRow | undefined {
    const r = this.db.stmt(`SELECT ${COLS} FROM captions WHERE item_id = ? AND is_current = 1`).get(itemId);
    return r === undefined ? undefined : toRow(r);
  }

  /** Every caption the item ever had, newest first (the first one is current). */
  history(itemId: number): CaptionRow[] {
    return this.db.stmt(`SELECT ${COLS} FROM captions WHERE item_id = ? ORDER BY id DESC`).all(itemId).map(toRow);
  }

  /** Makes an older caption current again (undo), as a new history entry copying its text. */
  revert(captionId: number): CaptionRow {
    const old = must(this.db.stmt(`SELECT ${COLS} FROM captions WHERE id = ?`).get(captionId), 'caption', captionId);
    return this.edit(toRow(old).itemId, toRow(old).text, 'user');
  }
}

const tag = nonEmpty.max(200, 'at most 200 characters');

export class TagsRepo {
  constructor(private readonly db: Db) {}

  /** Adds a tag; returns false when the item already had it. */
  add(itemId: number, t: string): boolean {
    parse('tags.add', 'tag', tag, t);
    if (!this.db.stmt(`SELECT 1 FROM items WHERE id = ?`).get(itemId)) throw new StoreInputError('tags.add', 'itemId', `item ${itemId} does not exist`);
    return this.db.stmt(`INSERT OR IGNORE INTO tags (item_id, tag) VALUES (?, ?)`).run(itemId, t).changes > 0;
  }

  /** Adds one tag to many items in one transaction; returns how many items gained it. */
  addMany(itemIds: readonly number[], t: string): number {
    parse('tags.addMany', 'tag', tag, t);
    const ins = this.db.stmt(`INSERT OR IGNORE INTO tags (item_id, tag) SELECT id, ? FROM items WHERE id = ?`);
    return this.db.tx(() => itemIds.reduce((n, itemId) => n + ins.run(t, itemId).changes, 0));
  }

  /** Removes one tag from many items in one transaction; returns how many items lost it. */
  removeMany(itemIds: readonly number[], t: string): number {
    const del = this.db.stmt(`DELETE FROM tags WHERE item_id = ? AND tag = ?`);
    return this.db.tx(() => itemIds.reduce((n, itemId) => n + del.run(itemId, t).changes, 0));
  }

  /** Removes a tag; returns false when the item did not have it. */
  remove(itemId: number, t: string): boolean {
    return this.db.stmt(`DELETE FROM tags WHERE item_id = ? AND tag = ?`).run(itemId, t).changes > 0;
  }

  list(itemId: number): string[] {
    return (this.db.stmt(`SELECT tag FROM tags WHERE item_id = ? ORDER BY tag`).all(itemId) as { tag: string }[]).map((r) => r.tag);
  }

  /** Every tag used in the dataset with its item count, most used first. */
  counts(datasetId: number): { tag: string; count: number }[] {
    return this.db.stmt(`SELECT t.tag AS tag, count(*) AS count FROM tags t JOIN items i ON i.id = t.item_id
      WHERE i.dataset_id = ? GROUP BY t.tag ORDER BY count DESC, tag`).all(datasetId) as { tag: string; count: number }[];
  }
}
