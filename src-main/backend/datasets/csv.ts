// CSV as an import source. parseCsv is a small streaming RFC 4180 parser (no CSV package is
// installed, and this one is ~80 lines): fields separated by a delimiter, records by LF or CRLF,
// double-quoted fields holding delimiters, newlines and doubled quotes (""). A malformed record
// (stray quote, text after a closing quote, a quote never closed) comes back with an `error` and the
// parser goes on with the next record. Each record carries the line it starts on.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { cleanTags, normalizeSplit } from './files.ts';
import type { Entry } from './ingest.ts';
import { DatasetImportError, type CsvSpec } from './types.ts';

export interface CsvRecord {
  fields: string[];
  /** 1-based line the record starts on. */
  line: number;
  error?: string;
}

/** Records of CSV text arriving in chunks. Blank lines are skipped. */
export async function* parseCsv(chunks: AsyncIterable<string> | Iterable<string>, delimiter = ','): AsyncGenerator<CsvRecord> {
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') throw new RangeError(`CSV delimiter must be one character other than a quote or newline, got ${JSON.stringify(delimiter)}`);
  let fields: string[] = [], field = '', line = 1, start = 1, error: string | undefined;
  let state: 'start' | 'plain' | 'quoted' | 'quote' = 'start'; // 'quote': just saw a quote inside a quoted field
  let pendingCR = false, first = true;
  const endRecord = (): CsvRecord | null => {
    fields.push(field);
    const rec: CsvRecord | null = fields.length === 1 && fields[0] === '' && state === 'start' && !error ? null : { fields, line: start, ...(error ? { error } : {}) };
    fields = []; field = ''; error = undefined; state = 'start';
    return rec;
  };
  for await (let chunk of chunks) {
    if (first) { chunk = chunk.replace(/^\uFEFF/, ''); first = false; }
    for (let k = 0; k < chunk.length; k++) {
      const c = chunk[k];
      if (pendingCR) {
        pendingCR = false;
        if (c === '\n') continue; // the LF of a CRLF already ended the record
      }
      if (state === 'quoted') {
        if (c === '"') state = 'quote';
        else { field += c; if (c === '\n') line++; }
        continue;
      }
      if (state === 'quote') {
        if (c === '"') { field += '"'; state = 'quoted'; continue; }
        if (c !== delimiter && c !== '\n' && c !== '\r') {
          error ??= `line ${line}: unexpected ${JSON.stringify(c)} after a closing quote`;
          field += c; state = 'plain';
          continue;
        }
      }
      if (c === delimiter) { fields.push(field); field = ''; state = 'start'; continue; }
      if (c === '\n' || c === '\r') {
        if (state === 'start' && fields.length === 0 && field === '') { line++; start = line; pendingCR = c === '\r'; state = 'start'; continue; }
        const rec = endRecord();
        if (rec) yield rec;
        line++; start = line; pendingCR = c === '\r';
        continue;
      }
      if (c === '"') {
        if (state === 'start') { state = 'quoted'; continue; }
        error ??= `line ${line}: a quote inside an unquoted field (quote the whole field and double the quote)`;
      }
      field += c; state = 'plain';
    }
  }
  if (state === 'quoted') error ??= `a quoted field opened on line ${start} is never closed`;
  const rec = endRecord();
  if (rec) yield rec;
}

const DEFAULTS = {
  path: ['file_name', 'image', 'path', 'file', 'filename', 'image_path', 'file_path'],
  caption: ['text', 'caption', 'captions', 'description'],
  tags: ['tags'],
  split: ['split'],
};

export interface CsvColumns { path: number; caption: number; tags: number; split: number; width: number }

function pick(header: string[], given: string | undefined, defaults: string[], file: string, what: string, required: boolean): number {
  const lower = header.map((h) => h.trim().toLowerCase());
  if (given !== undefined) {
    const k = lower.indexOf(given.trim().toLowerCase());
    if (k < 0) throw new DatasetImportError(file, `has no ${what} column ${JSON.stringify(given)}; its columns are ${header.map((h) => JSON.stringify(h)).join(', ')}`);
    return k;
  }
  const k = defaults.map((d) => lower.indexOf(d)).find((i) => i >= 0) ?? -1;
  if (k < 0 && required) throw new DatasetImportError(file, `has no ${what} column (looked for ${defaults.join(', ')}); its columns are ${header.map((h) => JSON.stringify(h)).join(', ')}; name it with pathColumn / --path-column`);
  return k;
}

const chunksOf = (file: string) => createReadStream(file, { encoding: 'utf8' }) as AsyncIterable<string>;

/** Reads the header and picks the columns, or throws a DatasetImportError naming the file. */
export async function openCsv(spec: CsvSpec): Promise<CsvColumns> {
  const file = path.resolve(spec.path);
  let header: CsvRecord | undefined;
  try {
    for await (const rec of parseCsv(chunksOf(file), spec.delimiter)) { header = rec; break; }
  } catch (e) {
    if (e instanceof RangeError) throw new DatasetImportError(file, e.message);
    throw new DatasetImportError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!header) throw new DatasetImportError(file, 'is empty; expected a header row naming the columns');
  if (header.error) throw new DatasetImportError(file, `header row: ${header.error}`);
  const h = header.fields;
  return {
    path: pick(h, spec.pathColumn, DEFAULTS.path, file, 'file path', true),
    caption: pick(h, spec.captionColumn, DEFAULTS.caption, file, 'caption', false),
    tags: pick(h, spec.tagsColumn, DEFAULTS.tags, file, 'tags', false),
    split: pick(h, spec.splitColumn, DEFAULTS.split, file, 'split', false),
    width: h.length,
  };
}

/** Data records (after the header): the import's total. */
export async function countCsvRecords(spec: CsvSpec): Promise<number> {
  let n = -1;
  for await (const _ of parseCsv(chunksOf(path.resolve(spec.path)), spec.delimiter)) n++;
  return Math.max(0, n);
}

function splitTags(v: string): string[] {
  const t = v.trim();
  if (t.startsWith('[')) {
    try {
      const a = JSON.parse(t);
      if (Array.isArray(a)) return cleanTags(a);
    } catch { /* not JSON: split it as text below */ }
  }
  return cleanTags(t.split(/[|;,]/));
}

export async function* csvEntries(spec: CsvSpec, cols: CsvColumns): AsyncGenerator<Entry> {
  const name = path.basename(spec.path);
  let header = true;
  for await (const rec of parseCsv(chunksOf(path.resolve(spec.path)), spec.delimiter)) {
    if (header) { header = false; continue; }
    const where = `${name} line ${rec.line}`;
    if (rec.error) { yield { kind: 'error', path: name, reason: `${name}: ${rec.error}; record skipped` }; continue; }
    if (rec.fields.length !== cols.width) {
      yield { kind: 'error', path: name, reason: `${where}: has ${rec.fields.length} fields but the header has ${cols.width}; record skipped` };
      continue;
    }
    const f = rec.fields;
    const rawSplit = cols.split >= 0 ? f[cols.split].trim() : '';
    const split = rawSplit ? normalizeSplit(rawSplit) : null;
    yield {
      kind: 'file', given: f[cols.path], where,
      caption: cols.caption >= 0 ? f[cols.caption] : null,
      tags: cols.tags >= 0 ? splitTags(f[cols.tags]) : [],
      split,
      note: rawSplit && split === null ? `${f[cols.path]}: unknown split ${JSON.stringify(rawSplit)} (expected train, validation or test); imported without a split` : undefined,
    };
  }
}
