// Datasets (a named import of images from one root folder) and the files that failed to import.
// Deleting a dataset deletes its items, captions, tags, token cache rows and import errors
// (ON DELETE CASCADE). Since v5 a dataset carries its import's state (importing, done, failed,
// cancelled) so a crashed or failed import is never mistaken for a complete one.
import { z } from 'zod';
import { Db, must, now } from './db.ts';
import { id, nonEmpty, parse, StoreInputError } from './validate.ts';

export const SOURCE_KINDS = ['imagefolder', 'folder', 'coco', 'csv', 'emoji'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];
export const IMPORT_STATUSES = ['importing', 'done', 'failed', 'cancelled'] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];
/** The schema version that added datasets.import_status / import_error. */
const IMPORT_STATUS_SINCE = 5;

export interface DatasetRow {
  id: number;
  name: string;
  sourceKind: SourceKind;
  rootPath: string;
  createdAt: number;
  /** 'importing' while an import adds rows (also after a crash mid-import), else how it ended. */
  importStatus: ImportStatus;
  /** Why the import failed, when importStatus is 'failed'. */
  importError: string | null;
}

export interface ImportErrorRow {
  id: number;
  datasetId: number;
  path: string;
  reason: string;
  createdAt: number;
}

const NewDataset = z.object({
  name: nonEmpty,
  sourceKind: z.enum(SOURCE_KINDS),
  rootPath: nonEmpty,
  /** Default 'done' (a dataset filled in one go); an importer creates it 'importing'. */
  importStatus: z.enum(IMPORT_STATUSES).default('done'),
});
export type NewDataset = z.input<typeof NewDataset>;

export class DatasetsRepo {
  private readonly hasStatus: boolean;
  private readonly cols: string;
  constructor(private readonly db: Db) {
    this.hasStatus = db.version >= IMPORT_STATUS_SINCE;
    this.cols = `id, name, source_kind AS sourceKind, root_path AS rootPath, created_at AS createdAt, ${this.hasStatus
      ? 'import_status AS importStatus, import_error AS importError' : `'done' AS importStatus, NULL AS importError`}`;
  }

  create(input: NewDataset): DatasetRow {
    const d = parse('datasets.create', '', NewDataset, input);
    if (this.getByName(d.name)) throw new Error(`datasets.create: name: a dataset named ${JSON.stringify(d.name)} already exists`);
    const r = this.hasStatus
      ? this.db.stmt(`INSERT INTO datasets (name, source_kind, root_path, created_at, import_status) VALUES (?, ?, ?, ?, ?)`).run(d.name, d.sourceKind, d.rootPath, now(), d.importStatus)
      : this.db.stmt(`INSERT INTO datasets (name, source_kind, root_path, created_at) VALUES (?, ?, ?, ?)`).run(d.name, d.sourceKind, d.rootPath, now());
    return this.get(Number(r.lastInsertRowid));
  }

  /** Records how the dataset's import stands; `error` (required for 'failed') says why it failed. */
  setImportStatus(datasetId: number, status: ImportStatus, error: string | null = null): DatasetRow {
    const op = 'datasets.setImportStatus';
    parse(op, 'status', z.enum(IMPORT_STATUSES), status);
    if (status === 'failed' && !error) throw new StoreInputError(op, 'error', "required when status is 'failed'");
    if (!this.hasStatus) throw new StoreInputError(op, 'status', `needs schema v${IMPORT_STATUS_SINCE}; this store is at v${this.db.version}`);
    must(this.find(datasetId), 'dataset', datasetId);
    this.db.stmt(`UPDATE datasets SET import_status = ?, import_error = ? WHERE id = ?`).run(status, status === 'failed' ? error : null, datasetId);
    return this.get(datasetId);
  }

  get(datasetId: number): DatasetRow {
    return must(this.find(datasetId), 'dataset', datasetId);
  }

  find(datasetId: number): DatasetRow | undefined {
    return this.db.stmt(`SELECT ${this.cols} FROM datasets WHERE id = ?`).get(parse('datasets.get', 'datasetId', id, datasetId)) as DatasetRow | undefined;
  }

  getByName(name: string): DatasetRow | undefined {
    return this.db.stmt(`SELECT ${this.cols} FROM datasets WHERE name = ?`).get(name) as DatasetRow | undefined;
  }

  list(): DatasetRow[] {
    return this.db.stmt(`SELECT ${this.cols} FROM datasets ORDER BY id`).all() as DatasetRow[];
  }

  rename(datasetId: number, name: string): DatasetRow {
    const n = parse('datasets.rename', 'name', nonEmpty, name);
    const other = this.getByName(n);
    if (other && other.id !== datasetId) throw new Error(`datasets.rename: name: a dataset named ${JSON.stringify(n)} already exists`);
    must(this.find(datasetId), 'dataset', datasetId);
    this.db.stmt(`UPDATE datasets SET name = ? WHERE id = ?`).run(n, datasetId);
    return this.get(datasetId);
  }

  /** Deletes the dataset and, by cascade, everything that belongs to it. Returns whether it existed. */
  delete(datasetId: number): boolean {
    return this.db.stmt(`DELETE FROM datasets WHERE id = ?`).run(parse('datasets.delete', 'datasetId', id, datasetId)).changes > 0;
  }
}

const NewImportError = z.object({ path: nonEmpty, reason: nonEmpty });

export class ImportErrorsRepo {
  constructor(private readonly db: Db) {}

  add(datasetId: number, path: string, reason: string): ImportErrorRow {
    const e = parse('importErrors.add', '', NewImportError, { path, reason });
    const r = this.db.stmt(`INSERT INTO import_errors (dataset_id, path, reason, created_at) VALUES (?, ?, ?, ?)`).run(parse('importErrors.add', 'datasetId', id, datasetId), e.path, e.reason, now());
    return this.db.stmt(`SELECT id, dataset_id AS datasetId, path, reason, created_at AS createdAt FROM import_errors WHERE id = ?`).get(r.lastInsertRowid) as ImportErrorRow;
  }

  list(datasetId: number): ImportErrorRow[] {
    return this.db.stmt(`SELECT id, dataset_id AS datasetId, path, reason, created_at AS createdAt FROM import_errors WHERE dataset_id = ? ORDER BY id`).all(datasetId) as ImportErrorRow[];
  }

  /** Removes every import error of the dataset (before a re-import); returns how many. */
  clear(datasetId: number): number {
    return this.db.stmt(`DELETE FROM import_errors WHERE dataset_id = ?`).run(datasetId).changes;
  }
}
