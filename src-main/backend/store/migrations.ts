// Runs the schema migrations of schema.ts on an open database. `PRAGMA user_version` is the schema
// version. Before a non-empty database is upgraded it is copied to `<path>.bak-v<n>-<timestamp>` with
// SQLite's online backup API; each migration then runs in its own IMMEDIATE transaction that also
// bumps user_version, so a crash leaves the database at exactly one version.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './schema.ts';

/** Thrown when the database was written by a newer Tessera; the file is left untouched. */
export class SchemaTooNewError extends Error {
  override name = 'SchemaTooNewError';
  constructor(readonly path: string, readonly found: number, readonly supported: number) {
    super(`database schema v${found} is newer than this Tessera (v${supported}); upgrade Tessera (database: ${path})`);
  }
}

export interface MigrationReport {
  readonly from: number;
  readonly to: number;
  /** The backup written before migrating, or null when the database was empty or already current. */
  readonly backupPath: string | null;
}

export function readUserVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function userTables(db: Database.Database): string[] {
  const rows = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[];
  return rows.map((r) => r.name);
}

/** Throws SchemaTooNewError when the file's schema is newer than `supported`; reads only. */
export function assertNotNewer(db: Database.Database, path: string, supported: number): number {
  const found = readUserVersion(db);
  if (found > supported) throw new SchemaTooNewError(path, found, supported);
  return found;
}

/**
 * user_version read from the file header (big-endian at byte 60) without opening SQLite, so a
 * refused file gets no -wal/-shm companions. Null when that cannot be trusted: no file, not an
 * SQLite file, or a non-empty -wal (whose page 1 may be newer than the main file's).
 */
export function peekUserVersion(path: string): number | null {
  if (!existsSync(path) || statSync(path).size < 100) return null;
  if (existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0) return null;
  const header = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1', 0, 16) !== 'SQLite format 3\0') return null;
  return header.readUInt32BE(60);
}

/** `2026-11-22T11-34-26-123Z`: an ISO time that is also a valid file name on every platform. */
export function fileTimestamp(date = new Date()): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

/**
 * Brings `db` (opened read-write on `path`) from its current version up to `target` (default: the
 * newest). Refuses a database that has tables but no version: it is not a Tessera store.
 */
export async function migrate(db: Database.Database, path: string, target = MIGRATIONS.length, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationReport> {
  if (!Number.isInteger(target) || target < 0 || target > migrations.length) {
    throw new Error(`migrate: target version ${target} is out of range 0..${migrations.length}`);
  }
  const from = assertNotNewer(db, path, migrations.length);
  if (from >= target) return { from, to: from, backupPath: null };
  const tables = userTables(db);
  if (from === 0 && tables.length > 0) {
    throw new Error(`${path} is not a Tessera database: user_version is 0 but it holds tables (${tables.slice(0, 5).join(', ')}); open a Tessera store or an empty file`);
  }
  let backupPath: string | null = null;
  if (from > 0 && path !== ':memory:') {
    backupPath = `${path}.bak-v${from}-${fileTimestamp()}`;
    await db.backup(backupPath);
  }
  for (const m of migrations.slice(from, target)) {
    const step = db.transaction(() => {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      if (readUserVersion(db) >= m.version) return;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    });
    try {
      step.immediate();
    } catch (e) {
      throw new Error(`migration v${m.version} (${m.name}) failed on ${path}; the database stays at v${readUserVersion(db)}${backupPath ? `, backup at ${backupPath}` : ''}: ${(e as Error).message}`, { cause: e });
    }
  }
  return { from, to: readUserVersion(db), backupPath };
}
