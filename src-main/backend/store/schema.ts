// The schema of the Tessera store as an ordered list of migrations. Migration k takes the database
// from `PRAGMA user_version` k-1 to k. Never edit a released migration: append a new one.
// Conventions: snake_case columns, INTEGER PRIMARY KEY ids, times as integer unix milliseconds,
// JSON columns as TEXT checked with json_valid, enumerations checked in SQL.
import type Database from 'better-sqlite3';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: (db: Database.Database) => void;
}

const sql = (text: string) => (db: Database.Database) => void db.exec(text);

/** v1: datasets and their items, caption history, tags, import errors. */
const v1 = sql(`
CREATE TABLE datasets (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  source_kind TEXT NOT NULL,
  root_path   TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE TABLE items (
  id              INTEGER PRIMARY KEY,
  dataset_id      INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  path            TEXT NOT NULL,                       -- relative to datasets.root_path
  content_hash    TEXT NOT NULL CHECK (length(content_hash) = 64),
  perceptual_hash TEXT CHECK (perceptual_hash IS NULL OR length(perceptual_hash) = 16),
  bytes           INTEGER NOT NULL CHECK (bytes >= 0),
  width           INTEGER,                             -- NULL when the file could not be decoded
  height          INTEGER,
  status          TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'broken', 'duplicate', 'near-duplicate')),
  status_reason   TEXT,
  duplicate_of    INTEGER REFERENCES items(id) ON DELETE SET NULL,
  split           TEXT CHECK (split IS NULL OR split IN ('train', 'validation', 'test')),
  created_at      INTEGER NOT NULL,
  UNIQUE (dataset_id, path)
);
-- The grid pages in id order. Every index below ends, implicitly, in the rowid (= id), so with
-- equality on its columns it yields rows already in id order and a page stops after LIMIT rows.
CREATE INDEX items_by_dataset ON items(dataset_id);
CREATE INDEX items_by_status ON items(dataset_id, status, split);
CREATE INDEX items_by_split ON items(dataset_id, split);
-- for counting size-range matches only (the page query does not use it: see ItemsRepo.query)
CREATE INDEX items_by_width ON items(dataset_id, width);
CREATE INDEX items_by_content_hash ON items(dataset_id, content_hash);
CREATE INDEX items_by_duplicate_of ON items(duplicate_of) WHERE duplicate_of IS NOT NULL;

CREATE TABLE captions (
  id         INTEGER PRIMARY KEY,
  item_id    INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
  text       TEXT NOT NULL,
  is_current INTEGER NOT NULL CHECK (is_current IN (0, 1)),
  source     TEXT NOT NULL CHECK (source IN ('import', 'user', 'model')),
  created_at INTEGER NOT NULL
);
CREATE INDEX captions_by_item ON captions(item_id, id);
-- at most one current caption per item, enforced by the database
CREATE UNIQUE INDEX captions_one_current ON captions(item_id) WHERE is_current = 1;

CREATE TABLE tags (
  id      INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
  tag     TEXT NOT NULL CHECK (length(tag) > 0),
  UNIQUE (item_id, tag)
);
CREATE INDEX tags_by_tag ON tags(tag, item_id);

CREATE TABLE import_errors (
  id         INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  path       TEXT NOT NULL,
  reason     TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX import_errors_by_dataset ON import_errors(dataset_id, id);
`);

/** v2: models, training runs with metrics and checkpoints, evaluations, the token cache. */
const v2 = sql(`
CREATE TABLE models (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  kind       TEXT NOT NULL CHECK (kind IN ('tokenizer', 'lm', 'unified')),
  dir        TEXT NOT NULL,
  card       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(card)),
  created_at INTEGER NOT NULL
);
CREATE TABLE runs (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL,
  recipe     TEXT NOT NULL,
  config     TEXT NOT NULL CHECK (json_valid(config)),
  status     TEXT NOT NULL CHECK (status IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
  error      TEXT,
  model_id   INTEGER REFERENCES models(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX runs_by_status ON runs(status, id);
CREATE INDEX runs_by_model ON runs(model_id) WHERE model_id IS NOT NULL;

CREATE TABLE metrics (
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step       INTEGER NOT NULL,
  "values"   TEXT NOT NULL CHECK (json_valid("values")),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, step)          -- unique (run_id, step): a re-logged step replaces the old one
) WITHOUT ROWID;

CREATE TABLE checkpoints (
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step       INTEGER NOT NULL,
  path       TEXT NOT NULL,
  bytes      INTEGER NOT NULL CHECK (bytes >= 0),
  sha256     TEXT NOT NULL CHECK (length(sha256) = 64),
  created_at INTEGER NOT NULL,
  UNIQUE (run_id, step)
);

CREATE TABLE evaluations (
  id         INTEGER PRIMARY KEY,
  model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  run_id     INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
  split      TEXT CHECK (split IS NULL OR split IN ('train', 'validation', 'test')),
  metrics    TEXT NOT NULL CHECK (json_valid(metrics)),
  created_at INTEGER NOT NULL
);
CREATE INDEX evaluations_by_model ON evaluations(model_id, id);
CREATE INDEX evaluations_by_run ON evaluations(run_id) WHERE run_id IS NOT NULL;
CREATE INDEX evaluations_by_dataset ON evaluations(dataset_id) WHERE dataset_id IS NOT NULL;

CREATE TABLE token_cache (
  id           INTEGER PRIMARY KEY,
  item_id      INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
  tokenizer_id TEXT NOT NULL,         -- tokenizer name + version hash
  dtype        TEXT NOT NULL CHECK (dtype IN ('uint16', 'uint32')),
  shape        TEXT NOT NULL CHECK (json_valid(shape)),
  codes        BLOB NOT NULL,         -- little-endian dtype values, row-major over shape
  created_at   INTEGER NOT NULL,
  UNIQUE (item_id, tokenizer_id)
);
CREATE INDEX token_cache_by_tokenizer ON token_cache(tokenizer_id, item_id);
`);

/** v3: the assistant: chats, messages with image attachments, generated images. */
const v3 = sql(`
CREATE TABLE chats (
  id         INTEGER PRIMARY KEY,
  title      TEXT NOT NULL,
  model_id   INTEGER REFERENCES models(id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX chats_by_updated ON chats(updated_at DESC, id DESC);

CREATE TABLE messages (
  id         INTEGER PRIMARY KEY,
  chat_id    INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  ordinal    INTEGER NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  content    TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (chat_id, ordinal)
);

CREATE TABLE attachments (
  id         INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  kind       TEXT NOT NULL CHECK (kind IN ('image')),
  path       TEXT NOT NULL,
  sha256     TEXT NOT NULL CHECK (length(sha256) = 64),
  width      INTEGER NOT NULL,
  height     INTEGER NOT NULL
);
CREATE INDEX attachments_by_message ON attachments(message_id);

CREATE TABLE generations (
  id         INTEGER PRIMARY KEY,
  prompt     TEXT NOT NULL,
  params     TEXT NOT NULL CHECK (json_valid(params)),
  model_id   INTEGER REFERENCES models(id) ON DELETE SET NULL,
  image_path TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX generations_by_model ON generations(model_id, id);
`);

/**
 * v4: substring search for the grid. Two FTS5 trigram indexes keyed by item id: one over paths,
 * one over current captions (an item has at most one), filled here from the existing rows. New
 * rows are indexed by the code that inserts them (search.ts): FTS5 inserts made from a trigger
 * flush the index at every statement and made a 100k-item import 4x slower. Deletes and updates,
 * which also come from cascades, are kept in sync by these triggers.
 */
const v4 = sql(`
CREATE VIRTUAL TABLE item_path_search USING fts5(path, tokenize = 'trigram');
CREATE VIRTUAL TABLE item_caption_search USING fts5(caption, tokenize = 'trigram');
INSERT INTO item_path_search (rowid, path) SELECT id, path FROM items;
INSERT INTO item_caption_search (rowid, caption) SELECT item_id, text FROM captions WHERE is_current = 1;
CREATE TRIGGER item_search_on_item_delete AFTER DELETE ON items BEGIN
  DELETE FROM item_path_search WHERE rowid = old.id;
  DELETE FROM item_caption_search WHERE rowid = old.id;
END;
CREATE TRIGGER item_search_on_item_path AFTER UPDATE OF path ON items BEGIN
  DELETE FROM item_path_search WHERE rowid = old.id;
  INSERT INTO item_path_search (rowid, path) VALUES (new.id, new.path);
END;
CREATE TRIGGER item_search_on_caption_update AFTER UPDATE OF is_current, text ON captions BEGIN
  DELETE FROM item_caption_search WHERE rowid = old.item_id AND old.is_current = 1;
  INSERT INTO item_caption_search (rowid, caption) SELECT new.item_id, new.text WHERE new.is_current = 1;
END;
CREATE TRIGGER item_search_on_caption_delete AFTER DELETE ON captions WHEN old.is_current = 1 BEGIN
  DELETE FROM item_caption_search WHERE rowid = old.item_id;
END;
`);

/**
 * v5: an import's state on its dataset, so an interrupted or failed import never reads as complete:
 * 'importing' while rows are being added (and after a crash), 'done', 'failed' (import_error says
 * why) or 'cancelled'. Rows from before v5 were whole imports: 'done'.
 */
const v5 = sql(`
ALTER TABLE datasets ADD COLUMN import_status TEXT NOT NULL DEFAULT 'done'
  CHECK (import_status IN ('importing', 'done', 'failed', 'cancelled'));
ALTER TABLE datasets ADD COLUMN import_error TEXT;
`);

/**
 * v6: the job queue (import, tokenize, train, evaluate, generate) with the same state machine as
 * runs (JOB_TRANSITIONS in jobs.ts), FIFO by queued_at; `attempts` counts starts, so a job that
 * ran before (paused, or interrupted by a crash) resumes from its newest checkpoint. Training
 * samples (text, or an image file) shown while a job runs.
 */
const v6 = sql(`
CREATE TABLE jobs (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('import', 'tokenize', 'train', 'evaluate', 'generate')),
  title      TEXT NOT NULL,
  params     TEXT NOT NULL CHECK (json_valid(params)),
  status     TEXT NOT NULL CHECK (status IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
  progress   TEXT CHECK (progress IS NULL OR json_valid(progress)),
  error      TEXT,
  result     TEXT CHECK (result IS NULL OR json_valid(result)),
  run_id     INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
  attempts   INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  queued_at  INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_by_status ON jobs(status, queued_at, id);
CREATE INDEX jobs_by_run ON jobs(run_id) WHERE run_id IS NOT NULL;

CREATE TABLE samples (
  id         INTEGER PRIMARY KEY,
  job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  run_id     INTEGER REFERENCES runs(id) ON DELETE CASCADE,
  step       INTEGER NOT NULL CHECK (step >= 0),
  kind       TEXT NOT NULL CHECK (kind IN ('text', 'image')),
  text       TEXT,
  image_path TEXT,
  prompt     TEXT,
  created_at INTEGER NOT NULL,
  CHECK ((kind = 'text') = (text IS NOT NULL) AND (kind = 'image') = (image_path IS NOT NULL))
);
CREATE INDEX samples_by_job ON samples(job_id, id);
CREATE INDEX samples_by_run ON samples(run_id, id) WHERE run_id IS NOT NULL;
`);

// v7: the labelled examples an assistant answer leaned on (the model's example memory), as JSON
// [{answer, share}], or NULL
const v7 = sql(`
ALTER TABLE messages ADD COLUMN memory TEXT CHECK (memory IS NULL OR json_valid(memory));
`);

// v8: the examples an assistant's drawings were redrawn from (drawing by example), as JSON
// [{index, label, example, of}], or NULL
const v8 = sql(`
ALTER TABLE messages ADD COLUMN drawn_from TEXT CHECK (drawn_from IS NULL OR json_valid(drawn_from));
`);

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'datasets, items, captions, tags, import errors', up: v1 },
  { version: 2, name: 'models, runs, metrics, checkpoints, evaluations, token cache', up: v2 },
  { version: 3, name: 'chats, messages, attachments, generations', up: v3 },
  { version: 4, name: 'trigram search indexes over item paths and current captions', up: v4 },
  { version: 5, name: 'dataset import status', up: v5 },
  { version: 6, name: 'job queue and training samples', up: v6 },
  { version: 7, name: 'the example memory behind an answer', up: v7 },
  { version: 8, name: 'the examples behind a drawing', up: v8 },
];

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

MIGRATIONS.forEach((m, i) => {
  if (m.version !== i + 1) throw new Error(`store migrations out of order: entry ${i} has version ${m.version}, expected ${i + 1}`);
});
