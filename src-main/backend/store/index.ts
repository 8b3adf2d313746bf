// The store module's public surface: openStore() and the Store with its repositories, row types,
// the schema version, and the crash-safe file helpers. This folder is the only importer of
// better-sqlite3; everything else reaches the database through here.
export { openStore, Store, type OpenStoreOptions } from './store.ts';
export { SCHEMA_VERSION, MIGRATIONS, type Migration } from './schema.ts';
export { SchemaTooNewError, type MigrationReport } from './migrations.ts';
export { StoreInputError, ITEM_STATUSES, SPLITS, CAPTION_SOURCES, type ItemStatus, type Split, type CaptionSource } from './validate.ts';
export { SOURCE_KINDS, IMPORT_STATUSES, type ImportStatus, type SourceKind, type DatasetRow, type ImportErrorRow, type NewDataset, DatasetsRepo, ImportErrorsRepo } from './datasets.ts';
export { ItemsRepo, type ItemRow, type ItemWithCaption, type NewItem, type ItemQuery, type ItemPage, type InsertManyOptions, type InsertManyResult } from './items.ts';
export { SplitMix32, splitCounts, type SplitSpec, type SplitCounts } from './splits.ts';
export { CaptionsRepo, TagsRepo, type CaptionRow } from './captions.ts';
export { TokenCacheRepo, packCodes, unpackCodes, type CodeDtype, type CachedCodes, type CodebookUsage } from './token-cache.ts';
export { ModelsRepo, EvaluationsRepo, MODEL_KINDS, type ModelKind, type ModelRow, type NewModel, type EvaluationRow, type NewEvaluation } from './models.ts';
export { RunsRepo, MetricsRepo, RUN_STATUSES, RUN_TRANSITIONS, IllegalRunTransitionError, type RunStatus, type RunRow, type NewRun, type MetricRow } from './runs.ts';
export { CheckpointsRepo, type CheckpointRow, type NewCheckpoint } from './checkpoints.ts';
export { ChatsRepo, MESSAGE_ROLES, type MessageRole, type ChatRow, type MessageRow, type AttachmentRow, type NewMessage } from './chats.ts';
export { JobsRepo, JOB_KINDS, JOB_STATUSES, JOB_TRANSITIONS, IllegalJobTransitionError, type JobKind, type JobStatus, type JobRow, type NewJob, type SampleRow, type NewSample } from './jobs.ts';
export { GenerationsRepo, type GenerationRow, type GenerationParams, type NewGeneration } from './generations.ts';
export { writeFileAtomic, registerCheckpoint, sha256File } from './files.ts';
