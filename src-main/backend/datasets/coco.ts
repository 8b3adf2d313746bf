// COCO captions JSON as an import source: images[] ({id, file_name}) and annotations[]
// ({image_id, caption}). The file is one JSON document, so it is parsed whole (captions are text:
// ~25 MB for COCO's 118k training images); the images themselves are streamed like every other
// source. An image's first caption is current, its others are kept in the caption history.
// An unparseable file or one without the two arrays is refused whole, naming the file.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Split } from '../store/index.ts';
import type { Entry } from './ingest.ts';
import { DatasetImportError } from './types.ts';

export interface CocoIndex {
  images: unknown[];
  /** image id -> captions in file order */
  captions: Map<unknown, string[]>;
  /** annotations that could not be used, as import errors */
  problems: { path: string; reason: string }[];
}

/** Reads and checks the JSON, indexing captions by image id. */
export async function readCoco(file: string): Promise<CocoIndex> {
  let doc: unknown;
  try {
    doc = JSON.parse(await fsp.readFile(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetImportError(file, code ? `cannot read (${code})` : `is not valid JSON (${(e as Error).message}); expected a COCO captions file`);
  }
  const d = doc as { images?: unknown; annotations?: unknown };
  if (typeof doc !== 'object' || doc === null || !Array.isArray(d.images)) throw new DatasetImportError(file, "has no 'images' array; expected a COCO captions file (images[] and annotations[])");
  if (!Array.isArray(d.annotations)) throw new DatasetImportError(file, "has no 'annotations' array; expected a COCO captions file (images[] and annotations[])");
  const name = path.basename(file);
  const ids = new Set(d.images.map((im) => (im as { id?: unknown } | null)?.id));
  const captions = new Map<unknown, string[]>();
  const problems: CocoIndex['problems'] = [];
  d.annotations.forEach((a, k) => {
    const ann = a as { image_id?: unknown; caption?: unknown } | null;
    if (typeof ann?.caption !== 'string') { problems.push({ path: name, reason: `${name}: annotations[${k}] has no caption text; skipped` }); return; }
    if (!ids.has(ann.image_id)) { problems.push({ path: name, reason: `${name}: annotations[${k}] refers to image_id ${JSON.stringify(ann.image_id)}, which is not in images[]; skipped` }); return; }
    const list = captions.get(ann.image_id);
    if (list) list.push(ann.caption.trim());
    else captions.set(ann.image_id, [ann.caption.trim()]);
  });
  return { images: d.images, captions, problems };
}

export async function* cocoEntries(file: string, coco: CocoIndex, split: Split | null): AsyncGenerator<Entry> {
  const name = path.basename(file);
  for (const p of coco.problems) yield { kind: 'error', ...p };
  for (let k = 0; k < coco.images.length; k++) {
    const im = coco.images[k] as { id?: unknown; file_name?: unknown } | null;
    const where = `${name} images[${k}]`;
    if (typeof im?.file_name !== 'string' || im.file_name === '') { yield { kind: 'error', path: name, reason: `${where}: has no file_name; skipped` }; continue; }
    const caps = coco.captions.get(im.id) ?? [];
    // history is oldest first, so the alternates go in reverse: the second caption is the newest of them
    yield { kind: 'file', given: im.file_name, where, caption: caps[0] ?? null, alternates: caps.slice(1).reverse(), split };
  }
}
