// The connection wrapper every repository shares: a lazily-filled prepared-statement cache (so a
// store opened at an older schema for tests can still use the tables it has) and a transaction
// helper. Internal to the store module.
import type Database from 'better-sqlite3';

export class Db {
  private readonly cache = new Map<string, Database.Statement>();
  /** The schema version at open (a store opened with targetVersion may be older than the code). */
  readonly version: number;
  constructor(readonly raw: Database.Database) {
    this.version = raw.pragma('user_version', { simple: true }) as number;
  }

  /** The prepared statement for `sql`, prepared on first use and reused afterwards. */
  stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.raw.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` in a transaction (a savepoint when nested); rolls back if it throws. */
  tx<T>(fn: () => T): T {
    return this.raw.transaction(fn)();
  }
}

export const now = (): number => Date.now();

/** Throws a not-found error naming the entity and id when `row` is undefined. */
export function must<T>(row: T | undefined, what: string, id: number | string): T {
  if (row === undefined) throw new Error(`${what} ${JSON.stringify(id)} does not exist`);
  return row;
}
