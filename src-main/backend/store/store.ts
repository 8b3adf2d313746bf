// openStore() and the Store: one SQLite connection (better-sqlite3, synchronous) in WAL mode, with
// the schema migrated to the version this code knows, and one repository per concept
// (store.datasets, store.items, store.captions, ...). The only place that opens the database.
import Database from 'better-sqlite3';
import { CaptionsRepo, TagsRepo } from './captions.ts';
import { ChatsRepo } from './chats.ts';
import { CheckpointsRepo } from './checkpoints.ts';
import { DatasetsRepo, ImportErrorsRepo } from './datasets.ts';
import { Db } from './db.ts';
import { GenerationsRepo } from './generations.ts';
import { ItemsRepo } from './items.ts';
import { JobsRepo } from './jobs.ts';
import { assertNotNewer, migrate, peekUserVersion, readUserVersion, SchemaTooNewError, type MigrationReport } from './migrations.ts';
import { EvaluationsRepo, ModelsRepo } from './models.ts';
import { MetricsRepo, RunsRepo } from './runs.ts';
import { MIGRATIONS, type Migration } from './schema.ts';
import { TokenCacheRepo } from './token-cache.ts';

export interface OpenStoreOptions {
  /** Open without writing anything; the schema must already be current. */
  readonly?: boolean;
  /** Migrate only up to this version (tests and tools that need an older schema). Default: newest. */
  targetVersion?: number;
  /** Tests only: a different migration list (e.g. one with a failing step). Default: MIGRATIONS. */
  migrations?: readonly Migration[];
  /** How long a write waits for another connection's lock before SQLITE_BUSY. Default 5000 ms. */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) the store at `path` and migrates it. Async because the pre-migration
 * backup uses SQLite's online backup API, which better-sqlite3 exposes as a Promise.
 * Throws SchemaTooNewError, leaving the file untouched, when the file is newer than this code.
 */
export async function openStore(path: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const migrations = opts.migrations ?? MIGRATIONS;
  const latest = migrations.length;
  const target = opts.targetVersion ?? latest;
  const busy = opts.busyTimeoutMs ?? 5000;
  const peeked = path === ':memory:' ? null : peekUserVersion(path);
  if (peeked !== null && peeked > latest) throw new SchemaTooNewError(path, peeked, latest);
  if (opts.readonly) {
    const raw = new Database(path, { readonly: true, fileMustExist: true });
    try {
      raw.pragma(`busy_timeout = ${busy}`);
      const v = assertNotNewer(raw, path, latest);
      if (v < target) throw new Error(`database schema v${v} at ${path} is older than this Tessera (v${target}); open it read-write once to upgrade it`);
      return new Store(raw, path, true, { from: v, to: v, backupPath: null });
    } catch (e) {
      raw.close();
      throw e;
    }
  }
  const raw = new Database(path);
  try {
    raw.pragma(`busy_timeout = ${busy}`);
    // Before anything that writes (journal_mode=WAL is persistent in the file): refuse newer schemas.
    assertNotNewer(raw, path, latest);
    const mode = raw.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && path !== ':memory:' && path !== '') throw new Error(`could not put ${path} in WAL mode (journal_mode is ${String(mode)})`);
    // Durability trade-off: in WAL mode, synchronous=NORMAL fsyncs only at WAL checkpoints, not at
    // every commit. Every commit is still atomic and the file never corrupts; a commit survives a
    // crash of the process (SIGKILL, app crash: the WAL bytes are already in the OS), but the last
    // few commits may be rolled back by a power loss or OS crash. That is the right price for
    // thousands of small curation writes. Rows that reference files written elsewhere and that
    // callers rely on across power loss (checkpoints) commit with synchronous=FULL: see
    // CheckpointsRepo.register.
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
    const report = await migrate(raw, path, target, migrations);
    return new Store(raw, path, false, report);
  } catch (e) {
    raw.close();
    throw e;
  }
}

export class Store {
  readonly datasets: DatasetsRepo;
  readonly importErrors: ImportErrorsRepo;
  readonly items: ItemsRepo;
  readonly captions: CaptionsRepo;
  readonly tags: TagsRepo;
  readonly tokenCache: TokenCacheRepo;
  readonly models: ModelsRepo;
  readonly evaluations: EvaluationsRepo;
  readonly runs: RunsRepo;
  readonly metrics: MetricsRepo;
  readonly checkpoints: CheckpointsRepo;
  readonly chats: ChatsRepo;
  readonly generations: GenerationsRepo;
  readonly jobs: JobsRepo;
  private readonly db: Db;

  /** Use openStore(). */
  constructor(raw: Database.Database, readonly path: string, readonly readonly: boolean, readonly migration: MigrationReport) {
    const db = (this.db = new Db(raw));
    this.datasets = new DatasetsRepo(db);
    this.importErrors = new ImportErrorsRepo(db);
    this.items = new ItemsRepo(db);
    this.captions = new CaptionsRepo(db);
    this.tags = new TagsRepo(db);
    this.tokenCache = new TokenCacheRepo(db);
    this.models = new ModelsRepo(db);
    this.evaluations = new EvaluationsRepo(db);
    this.runs = new RunsRepo(db);
    this.metrics = new MetricsRepo(db);
    this.checkpoints = new CheckpointsRepo(db, readonly);
    this.chats = new ChatsRepo(db);
    this.generations = new GenerationsRepo(db);
    this.jobs = new JobsRepo(db);
  }

  /** The file's `PRAGMA user_version`. */
  get schemaVersion(): number {
    return readUserVersion(this.db.raw);
  }

  get isOpen(): boolean {
    return this.db.raw.open;
  }

  /** Runs `fn` (store calls, synchronous) in one transaction; nested calls become savepoints. */
  transaction<T>(fn: () => T): T {
    return this.db.tx(fn);
  }

  /** `PRAGMA integrity_check` plus `foreign_key_check`: 'ok', or the problems found, one per line. */
  integrityCheck(): string {
    const rows = this.db.raw.pragma('integrity_check') as { integrity_check: string }[];
    const problems = rows.map((r) => r.integrity_check).filter((s) => s !== 'ok');
    const fk = this.db.raw.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
    for (const f of fk) problems.push(`foreign key: ${f.table} row ${f.rowid} points at a missing ${f.parent} row`);
    return problems.length ? problems.join('\n') : 'ok';
  }

  /** Folds the WAL back into the main file (e.g. before copying the database somewhere). */
  checkpointWal(): void {
    this.db.raw.pragma('wal_checkpoint(TRUNCATE)');
  }

  close(): void {
    if (this.db.raw.open) this.db.raw.close();
  }
}
