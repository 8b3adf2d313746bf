// HF imagefolder as an import source: DIR/metadata.jsonl, or one metadata.jsonl per split folder
// (DIR/train/, DIR/validation/, DIR/test/; file names relative to that folder). Lines are read one
// at a time; a broken line (bad JSON, no file_name, a caption that is not text) becomes an import
// error naming the file and line, and the import goes on. `tags` become tags; the other scalar
// fields (style, category, ...) become `field:value` tags unless told otherwise.
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Split } from '../store/index.ts';
import { cleanTags, normalizeSplit } from './files.ts';
import type { Entry } from './ingest.ts';
import { DatasetImportError, type FieldTags } from './types.ts';

/** One metadata file: its path relative to the root, the folder its file names are in, its split. */
interface MetadataFile { rel: string; prefix: string; split: Split | null }

const RESERVED = new Set(['file_name', 'text', 'tags', 'split']);
const SPLIT_FOLDERS = ['train', 'training', 'validation', 'valid', 'val', 'dev', 'test', 'testing'];

export async function assertFolder(dir: string): Promise<void> {
  const st = await fsp.stat(dir).catch((e: NodeJS.ErrnoException) => {
    throw new DatasetImportError(dir, e.code === 'ENOENT' ? 'no such folder' : `cannot open (${e.code ?? e.message})`);
  });
  if (!st.isDirectory()) throw new DatasetImportError(dir, 'is a file, not a folder');
}

const exists = (p: string) => fsp.stat(p).then((s) => s.isFile(), () => false);

/** The metadata files of an imagefolder, or a DatasetImportError saying there are none. */
export async function findMetadata(root: string): Promise<MetadataFile[]> {
  await assertFolder(root);
  if (await exists(path.join(root, 'metadata.jsonl'))) return [{ rel: 'metadata.jsonl', prefix: '', split: null }];
  const out: MetadataFile[] = [];
  for (const dir of SPLIT_FOLDERS) {
    if (await exists(path.join(root, dir, 'metadata.jsonl'))) out.push({ rel: `${dir}/metadata.jsonl`, prefix: `${dir}/`, split: normalizeSplit(dir) });
  }
  if (out.length === 0) {
    throw new DatasetImportError(root, "no metadata.jsonl here nor in train/, validation/ or test/; is this an HF imagefolder? (a plain folder of images imports with kind 'folder')");
  }
  return out;
}

async function* lines(file: string): AsyncGenerator<{ text: string; line: number }> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    const t = line === 1 ? text.replace(/^\uFEFF/, '') : text;
    if (t.trim() !== '') yield { text: t, line };
  }
}

/** Non-blank lines over all metadata files: the import's total, counted without parsing. */
export async function countRows(root: string, files: readonly MetadataFile[]): Promise<number> {
  let n = 0;
  for (const f of files) for await (const _ of lines(path.join(root, f.rel))) n++;
  return n;
}

function fieldTagsOf(row: Record<string, unknown>, fieldTags: FieldTags): string[] {
  if (fieldTags === false) return [];
  const keys = fieldTags === true ? Object.keys(row).filter((k) => !RESERVED.has(k)) : fieldTags;
  const out: string[] = [];
  for (const k of keys) {
    const v = row[k];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.push(`${k}:${v}`);
  }
  return out;
}

/** One parsed metadata line as an entry (a file, or an error naming the line). */
export function rowEntry(text: string, where: string, mf: MetadataFile, fieldTags: FieldTags): Entry {
  let row: unknown;
  try {
    row = JSON.parse(text);
  } catch (e) {
    return { kind: 'error', path: mf.rel, reason: `${where}: not valid JSON (${(e as Error).message}); line skipped` };
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return { kind: 'error', path: mf.rel, reason: `${where}: expected a JSON object, got ${Array.isArray(row) ? 'an array' : typeof row}; line skipped` };
  const r = row as Record<string, unknown>;
  if (typeof r.file_name !== 'string' || r.file_name === '') return { kind: 'error', path: mf.rel, reason: `${where}: 'file_name' must be a non-empty string, got ${JSON.stringify(r.file_name) ?? 'nothing'}; line skipped` };
  if (r.text !== undefined && r.text !== null && typeof r.text !== 'string') return { kind: 'error', path: mf.rel, reason: `${where}: 'text' must be a string, got ${typeof r.text}; line skipped` };
  const tags = Array.isArray(r.tags) ? r.tags : typeof r.tags === 'string' ? r.tags.split(',') : [];
  let split = mf.split, note: string | undefined;
  if (typeof r.split === 'string') {
    split = normalizeSplit(r.split);
    if (split === null) note = `${mf.prefix}${r.file_name}: unknown split ${JSON.stringify(r.split)} (expected train, validation or test); imported without a split`;
  }
  return {
    kind: 'file', given: `${mf.prefix}${r.file_name}`, where, caption: (r.text as string | null | undefined) ?? null,
    tags: cleanTags([...tags, ...fieldTagsOf(r, fieldTags)]), split, note,
  };
}

/** Every entry of the imagefolder, streamed line by line. */
export async function* imagefolderEntries(root: string, files: readonly MetadataFile[], fieldTags: FieldTags = true): AsyncGenerator<Entry> {
  for (const mf of files) {
    for await (const { text, line } of lines(path.join(root, mf.rel))) yield rowEntry(text, `${mf.rel} line ${line}`, mf, fieldTags);
  }
}
