// The public shapes of dataset curation: what to import (ImportSpec, one variant per source kind),
// the plain progress objects every long operation reports, the import summary, and the one error
// type thrown when a source is unusable as a whole (a bad row or file is recorded, never thrown).
import type { Split } from '../store/index.ts';

/** Progress of a long operation, a plain object (it crosses IPC and WebSocket as is). */
export interface Progress {
  /** 'build' (emoji set), 'scan' (counting), 'import', 'hash', 'dedupe', 'export', 'tokenize'. */
  phase: 'build' | 'scan' | 'import' | 'hash' | 'dedupe' | 'export' | 'tokenize';
  done: number;
  /** null while it cannot be known. */
  total: number | null;
  /** Entries or items that failed so far (recorded with their reason, not thrown). */
  bad: number;
}

export interface RunOptions {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

/** Which extra metadata fields become `field:value` tags: all scalar ones (true), none, or these. */
export type FieldTags = boolean | readonly string[];

interface SpecBase {
  /** The dataset's name; default: the source folder's (or file's) base name. */
  name?: string;
}

/** HF imagefolder: DIR/metadata.jsonl (file_name, text, optional tags, split, other fields), or
 *  DIR/{train,validation,test}/metadata.jsonl with file names relative to each split folder. */
export interface ImagefolderSpec extends SpecBase {
  kind: 'imagefolder';
  path: string;
  /** Default true: every extra scalar field becomes a tag `field:value`. */
  fieldTags?: FieldTags;
}

/** A folder tree of images, each captioned by a sidecar `<basename>.txt` when there is one. */
export interface FolderSpec extends SpecBase {
  kind: 'folder';
  path: string;
}

/** COCO captions JSON: images[] {id, file_name} and annotations[] {image_id, caption}. */
export interface CocoSpec extends SpecBase {
  kind: 'coco';
  /** The annotations JSON file. */
  path: string;
  /** Folder the file_names are relative to; default: the JSON file's folder. */
  imagesDir?: string;
  /** Split given to every item (e.g. 'validation' for captions_val2017.json); default none. */
  split?: Split;
}

/** CSV with a header row (RFC 4180: quoted fields may hold commas, quotes and newlines). */
export interface CsvSpec extends SpecBase {
  kind: 'csv';
  path: string;
  /** Folder the file paths are relative to; default: the CSV file's folder. */
  root?: string;
  /** Column names; defaults: the first of file_name, image, path, file, filename, image_path;
   *  text, caption, captions, description; tags; split. */
  pathColumn?: string;
  captionColumn?: string;
  tagsColumn?: string;
  splitColumn?: string;
  delimiter?: string;
}

/** The emoji set (4 styles, facebook held out), built into `cacheDir` when missing, then imported. */
export interface EmojiSpec extends SpecBase {
  kind: 'emoji';
  cacheDir: string;
  /** Build only the first N emoji (tests, quick looks). Ignored when cacheDir already holds the set. */
  limit?: number;
}

export type ImportSpec = ImagefolderSpec | FolderSpec | CocoSpec | CsvSpec | EmojiSpec;

export interface ImportOptions extends RunOptions {
  /** Items per transaction (default 500). */
  batchSize?: number;
  /** Files examined at once (default 8). */
  concurrency?: number;
  /** Called after each committed batch with the ids it added (crash tests, job logs). */
  onCommit?: (c: { itemIds: number[]; errors: number }) => void;
}

export interface ImportSummary {
  datasetId: number;
  name: string;
  /** Source entries seen in this run (rows, files, images). */
  seen: number;
  /** New items with status 'ok'. */
  imported: number;
  /** New items with status 'broken' (the file exists but is no readable image). */
  broken: number;
  /** Entries that did not become an 'ok' item: broken items plus rows with no usable file. */
  bad: number;
  /** Entries already in the dataset from an earlier (interrupted) run, left as they were. */
  skipped: number;
  /** Import errors recorded in this run (bad entries and notes such as an unknown split). */
  errors: number;
  /** Items in the dataset that repeat an earlier item's exact bytes (found, not yet marked). */
  exactDuplicates: number;
  seconds: number;
}

/** A source that cannot be imported at all (unreadable file, missing column, not a folder). */
export class DatasetImportError extends Error {
  override name = 'DatasetImportError';
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
  }
}
