// Training corpora for the text tokenizer: a plain text file (read in line-aligned chunks) or an HF
// imagefolder's metadata.jsonl, whose `text` captions and `tags` are expanded into the question and
// answer phrasings the instruction-tuned LM will see, so the vocabulary covers them too.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Split a text into documents of about `chunkChars` characters, cutting only after a newline. */
export function chunkText(text: string, chunkChars = 1 << 16): string[] {
  const out: string[] = [];
  for (let start = 0; start < text.length;) {
    let end = Math.min(text.length, start + chunkChars);
    if (end < text.length) {
      const nl = text.indexOf('\n', end);
      end = nl === -1 ? text.length : nl + 1;
    }
    out.push(text.slice(start, end));
    start = end;
  }
  return out;
}

export async function corpusFromTextFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read corpus (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (text.length === 0) throw new Error(`${path}: corpus file is empty`);
  return chunkText(text);
}

export interface ImagefolderRecord {
  text: string;
  tags: string[];
}

/** Parse metadata.jsonl: every line a JSON object with a string `text`; `tags` optional (string[] or comma-separated string). */
export function parseMetadataJsonl(content: string, file = 'metadata.jsonl'): ImagefolderRecord[] {
  const records: ImagefolderRecord[] = [];
  content.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    if (!row || typeof row !== 'object' || Array.isArray(row)) throw new Error(`${file}:${i + 1}: each line must be a JSON object`);
    const { text, tags } = row as Record<string, unknown>;
    if (typeof text !== 'string') throw new Error(`${file}:${i + 1}: field 'text' must be a string, got ${text === undefined ? 'nothing' : typeof text}`);
    let tagList: string[] = [];
    if (typeof tags === 'string') tagList = tags.split(',').map((t) => t.trim()).filter(Boolean);
    else if (Array.isArray(tags) && tags.every((t) => typeof t === 'string')) tagList = tags as string[];
    else if (tags !== undefined && tags !== null) throw new Error(`${file}:${i + 1}: field 'tags' must be a string array or a comma-separated string`);
    records.push({ text, tags: tagList });
  });
  if (records.length === 0) throw new Error(`${file}: no records`);
  return records;
}

const QUESTIONS = ['What is this?', 'What is in the image?', 'Describe the image.', 'Write a short caption for this picture.', 'What do you see?'];

/** The documents one record contributes: caption, tags, and caption/tag question-answer phrasings. */
export function phrasings(r: ImagefolderRecord, index: number): string[] {
  const q = QUESTIONS[index % QUESTIONS.length];
  const out = [r.text, `${q} ${capitalize(r.text)}.`, `Draw ${article(r.text)} ${r.text}.`, `Generate an image of ${r.text}.`];
  if (r.tags.length > 0) {
    out.push(`Tags: ${r.tags.join(', ')}`);
    out.push(`What tags describe this image? ${r.tags.join(', ')}.`);
    out.push(`Is this ${article(r.tags[0])} ${r.tags[0]}? Yes, it is ${article(r.text)} ${r.text}.`);
  }
  return out;
}

function capitalize(s: string): string {
  return s.length ? s[0].toUpperCase() + s.slice(1) : s;
}

function article(s: string): string {
  return /^[aeiou]/i.test(s) ? 'an' : 'a';
}

export async function corpusFromImagefolder(dir: string): Promise<string[]> {
  const file = join(dir, 'metadata.jsonl');
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); --data expects an imagefolder with metadata.jsonl`);
  }
  return parseMetadataJsonl(content, file).flatMap((r, i) => phrasings(r, i));
}
