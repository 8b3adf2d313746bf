// Dataset curation, the public surface the API handlers, jobs and CLI call: import (HF imagefolder,
// sidecar-caption folder, COCO captions, CSV, the emoji sample), dedupe (exact + perceptual), bulk
// caption/tag edits and filters, split assignment, export to imagefolder, and tokenizing into the
// token cache. Long operations take { onProgress, signal } and report plain Progress objects.
export { importDataset } from './import.ts';
export { findDuplicates, type DedupeOptions, type DedupeSummary, type DuplicateGroup } from './dedupe.ts';
export { addTag, assignSplits, editCaptions, matchingIds, removeTag, type ItemFilter, type SplitAssignment } from './curate.ts';
export { exportImagefolder, type ExportOptions, type ExportRow, type ExportSummary } from './export.ts';
export { histogramStats, tokenizeDataset, type TokenizeOptions, type TokenizeSummary } from './tokenize.ts';
export { hamming, pHash } from './phash.ts';
export { parseCsv, type CsvRecord } from './csv.ts';
export {
  DatasetImportError,
  type CocoSpec, type CsvSpec, type EmojiSpec, type FieldTags, type FolderSpec, type ImagefolderSpec,
  type ImportOptions, type ImportSpec, type ImportSummary, type Progress, type RunOptions,
} from './types.ts';
export { EvalSetError, writeEvalFolder, type EvalFolder, type EvalFolderOptions } from './eval-folder.ts';
