// Datasets (a named import of images from one root folder) and the files that failed to import.
// Deleting a dataset deletes its items, captions, tags, token cache rows and import errors
// (ON DELETE CASCADE).
import { z } from 'zod';
import { Db, must, now } from './db.ts';
import { id, nonEmpty, parse } from './validate.ts';

export const SOURCE_KINDS = ['imagefolder', 'folder', 'coco', 'csv', 'emoji'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export interface DatasetRow {
  id: number;
  name: string;
  sourceKind: SourceKind;
  rootPath: string;
  createdAt: number;
}

export interface ImportErrorRow {
  id: number;
  datasetId: number;
  path: string;
  reason: string;
  createdAt: number;
}

const NewDataset = z.object({ name: nonEmpty, sourceKind: z.enum(SOURCE_KINDS), rootPath: nonEmpty });
export type NewDataset = z.input<typeof NewDataset>;

const COLS = `id, name, source_kind AS sourceKind, root_path AS rootPath, created_at AS createdAt`;

export class DatasetsRepo {
  constructor(private readonly db: Db) {}

  create(input: NewDataset): DatasetRow {
    const d = parse('datasets.create', '', NewDataset, input);
    if (this.getByName(d.name)) throw new Error(`datasets.create: name: a dataset named ${JSON.stringify(d.name)} already exists`);
    const r = this.db.stmt(`INSERT INTO datasets (name, source_kind, root_path, created_at) VALUES (?, ?, ?, ?)`).run(d.name, d.sourceKind, d.rootPath, now());
    return this.get(Number(r.lastInsertRowid));
  }

  get(datasetId: number): DatasetRow {
    return must(this.find(datasetId), 'dataset', datasetId);
  }

  find(datasetId: number): DatasetRow | undefined {
    return this.db.stmt(`SELECT ${COLS} FROM datasets WHERE id = ?`).get(parse('datasets.get', 'datasetId', id, datasetId)) as DatasetRow | undefined;
  }

  getByName(name: string): DatasetRow | undefined {
    return this.db.stmt(`SELECT ${COLS} FROM datasets WHERE name = ?`).get(name) as DatasetRow | undefined;
  }

  list(): DatasetRow[] {
    return this.db.stmt(`SELECT ${COLS} FROM datasets ORDER BY id`).all() as DatasetRow[];
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
