// The grid's text search over schema v4's trigram indexes (item_path_search, item_caption_search,
// both keyed by item id). Inserts go through here, called by the code that inserts items and
// current captions (see the note on v4 in schema.ts); deletes and updates are done by triggers.
import { Db } from './db.ts';

/** The schema version that created the search tables; an older store (tests) has none to fill. */
export const SEARCH_SINCE_VERSION = 4;

export class SearchIndex {
  private readonly enabled: boolean;
  constructor(private readonly db: Db) {
    this.enabled = db.version >= SEARCH_SINCE_VERSION;
  }

  /** Indexes a new item's path. */
  addPath(itemId: number, path: string): void {
    if (this.enabled) this.db.stmt(`INSERT INTO item_path_search (rowid, path) VALUES (?, ?)`).run(itemId, path);
  }

  /** Indexes a caption that was just inserted as the item's current one. */
  addCurrentCaption(itemId: number, text: string): void {
    if (this.enabled) this.db.stmt(`INSERT INTO item_caption_search (rowid, caption) VALUES (?, ?)`).run(itemId, text);
  }
}

const likeEscape = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * SQL (an `IN (...)` subquery over item ids) and its two arguments for items whose path or current
 * caption contains `text`, case-insensitively. With 3+ characters a quoted FTS5 phrase uses the
 * trigrams; shorter text cannot, and scans the index tables with LIKE instead.
 */
export function textFilter(text: string): { sql: string; args: [string, string] } {
  if ([...text].length >= 3) {
    const phrase = `"${text.replace(/"/g, '""')}"`;
    return {
      sql: `SELECT rowid FROM item_path_search WHERE item_path_search MATCH ? UNION SELECT rowid FROM item_caption_search WHERE item_caption_search MATCH ?`,
      args: [phrase, phrase],
    };
  }
  return {
    sql: `SELECT rowid FROM item_path_search WHERE path LIKE ? ESCAPE '\\' UNION SELECT rowid FROM item_caption_search WHERE caption LIKE ? ESCAPE '\\'`,
    args: [likeEscape(text), likeEscape(text)],
  };
}
