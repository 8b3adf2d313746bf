// The emoji dataset: joins emoji-datasource-{apple,google,twitter,facebook} (64×64 PNGs, categories)
// with emojibase-data (English labels and tags) and writes an HF imagefolder: DIR/<split>/<style>/<image>
// (alpha on white, RGB PNG) plus one DIR/metadata.jsonl. Facebook is the held-out 'test' style; ~3% of
// emoji (hash of the base code) are 'validation' in every style. Re-running skips valid files.
import { createRequire } from 'node:module';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeImage, encodePng, imageInfo } from '../io/image.ts';

export const EMOJI_STYLES = ['apple', 'google', 'twitter', 'facebook'] as const;
export type EmojiStyle = (typeof EMOJI_STYLES)[number];
export type EmojiSplit = 'train' | 'validation' | 'test';

/** One row of DIR/metadata.jsonl (key order as written). */
export interface EmojiRow {
  file_name: string; // e.g. "train/apple/1f44b-1f3fd.png", relative to DIR, '/' separated
  text: string; // emojibase label: "waving hand: medium skin tone"
  tags: string[];
  category: string;
  subcategory: string;
  style: EmojiStyle;
  split: EmojiSplit;
  unified: string; // code points, e.g. "1F44B-1F3FD"
}

/** One image-bearing emoji (a base emoji or one of its skin-tone variations). */
export interface EmojiItem {
  unified: string;
  base: string; // unified code of the base emoji (itself for a base)
  image: string; // file name inside img/<style>/64/
  text: string;
  tags: string[];
  category: string;
  subcategory: string;
  hasImg: Record<EmojiStyle, boolean>;
}

export const VALIDATION_PER_MILLE = 30;

/** FNV-1a 32-bit: a stable, dependency-free hash for the split. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Split of an emoji in a style. Hashing the BASE code keeps every skin tone of a validation emoji
 *  (and every style of it) out of training, so validation never sees a recoloured training image. */
export function emojiSplit(base: string, style: EmojiStyle): EmojiSplit {
  if (style === 'facebook') return 'test';
  return fnv1a(base.toUpperCase()) % 1000 < VALIDATION_PER_MILLE ? 'validation' : 'train';
}

const norm = (hex: string) => hex.toUpperCase().split('-').filter((p) => p !== 'FE0F').join('-');

interface DsVariant { unified: string; non_qualified?: string | null; image: string; [k: string]: unknown }
interface DsEntry extends DsVariant { name: string; category: string; subcategory: string; short_names: string[]; sort_order: number; skin_variations?: Record<string, DsVariant> }
interface EbEntry { label: string; hexcode: string; tags?: string[]; skins?: EbEntry[] }

const req = createRequire(import.meta.url);

/** Folder of an installed npm package (e.g. emoji-datasource-apple). */
export function packageDir(name: string): string {
  try {
    return path.dirname(req.resolve(`${name}/package.json`));
  } catch {
    throw new Error(`npm package '${name}' is not installed (run npm install in the project folder)`);
  }
}

async function readJson<T>(file: string): Promise<T> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch (err) {
    throw new Error(`${file}: cannot read JSON (${(err as Error).message})`);
  }
}

/** The joined catalogue in datasource sort order, each base followed by its skin variations. */
export async function listEmoji(): Promise<EmojiItem[]> {
  const perStyle = new Map<EmojiStyle, Map<string, DsVariant>>();
  let catalogue: DsEntry[] = [];
  for (const style of EMOJI_STYLES) {
    const entries = await readJson<DsEntry[]>(path.join(packageDir(`emoji-datasource-${style}`), 'emoji.json'));
    const byCode = new Map<string, DsVariant>();
    for (const e of entries) {
      byCode.set(e.unified, e);
      for (const v of Object.values(e.skin_variations ?? {})) byCode.set(v.unified, v);
    }
    perStyle.set(style, byCode);
    if (style === 'apple') catalogue = entries;
  }
  const labels = new Map<string, { label: string; tags: string[] }>();
  for (const e of await readJson<EbEntry[]>(path.join(packageDir('emojibase-data'), 'en', 'data.json'))) {
    labels.set(norm(e.hexcode), { label: e.label, tags: e.tags ?? [] });
    for (const s of e.skins ?? []) labels.set(norm(s.hexcode), { label: s.label, tags: e.tags ?? [] });
  }
  const items: EmojiItem[] = [];
  for (const e of [...catalogue].sort((a, b) => a.sort_order - b.sort_order)) {
    for (const v of [e, ...Object.values(e.skin_variations ?? {})]) {
      const hit = labels.get(norm(v.unified)) ?? (v.non_qualified ? labels.get(norm(v.non_qualified)) : undefined);
      const hasImg = Object.fromEntries(EMOJI_STYLES.map((s) => [s, perStyle.get(s)!.get(v.unified)?.[`has_img_${s}`] === true])) as Record<EmojiStyle, boolean>;
      items.push({
        unified: v.unified,
        base: e.unified,
        image: v.image,
        // fallback when emojibase lacks the code: the Unicode name, lower-cased
        text: hit?.label ?? e.name.toLowerCase(),
        tags: hit?.tags ?? e.short_names,
        category: e.category,
        subcategory: e.subcategory,
        hasImg,
      });
    }
  }
  return items;
}

export interface EmojiBuildOptions {
  out: string;
  /** Keep the first N emoji (bases and skin variations, in sort order). */
  limit?: number;
  /** Only these unified codes (e.g. ['1F34E', '1F44B-1F3FD']). */
  only?: string[];
  size?: number; // default 64
  styles?: readonly EmojiStyle[];
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface EmojiBuildSummary {
  out: string;
  rows: number;
  counts: Record<EmojiSplit, Partial<Record<EmojiStyle, number>>>;
  written: number;
  skipped: number; // already present and valid
  notDrawn: Partial<Record<EmojiStyle, number>>; // the style has no image for the emoji (has_img false)
  missing: string[]; // has_img true but the PNG is absent from the package
  metadataChanged: boolean;
  seconds: number;
}

/** A file we wrote earlier is valid if it is a complete PNG of the expected size with no alpha. */
async function isValidOutput(file: string, size: number): Promise<boolean> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch {
    return false;
  }
  const iend = bytes.length >= 12 && bytes.toString('latin1', bytes.length - 8, bytes.length - 4) === 'IEND';
  if (!iend) return false;
  try {
    const info = await imageInfo(bytes, file);
    return info.format === 'png' && info.width === size && info.height === size && !info.hasAlpha;
  } catch {
    return false;
  }
}

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, data);
  await fsp.rename(tmp, file);
}

/** Run `fn` over `items` with at most `n` in flight. */
export async function pool<T>(items: readonly T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}

export async function buildEmojiDataset(opts: EmojiBuildOptions): Promise<EmojiBuildSummary> {
  const t0 = performance.now();
  const size = opts.size ?? 64;
  if (!Number.isInteger(size) || size < 1 || size > 1024) throw new RangeError(`size must be an integer in 1..1024, got ${size}`);
  const styles = opts.styles ?? EMOJI_STYLES;
  let items = await listEmoji();
  if (opts.only) {
    const want = new Set(opts.only.map(norm));
    items = items.filter((it) => want.has(norm(it.unified)));
    const found = new Set(items.map((it) => norm(it.unified)));
    const unknown = [...want].filter((u) => !found.has(u));
    if (unknown.length) throw new Error(`unknown emoji code(s): ${unknown.join(', ')}`);
  }
  if (opts.limit !== undefined) items = items.slice(0, opts.limit);

  const summary: EmojiBuildSummary = {
    out: opts.out, rows: 0, counts: { train: {}, validation: {}, test: {} }, written: 0, skipped: 0,
    notDrawn: {}, missing: [], metadataChanged: false, seconds: 0,
  };
  const jobs: { src: string; dest: string; row: EmojiRow }[] = [];
  for (const style of styles) {
    const imgDir = path.join(packageDir(`emoji-datasource-${style}`), 'img', style, '64');
    const present = new Set(await fsp.readdir(imgDir));
    for (const it of items) {
      if (!it.hasImg[style]) {
        summary.notDrawn[style] = (summary.notDrawn[style] ?? 0) + 1;
        continue;
      }
      if (!present.has(it.image)) {
        summary.missing.push(`${style}/${it.image}`);
        continue;
      }
      const split = emojiSplit(it.base, style);
      const fileName = `${split}/${style}/${it.image}`;
      jobs.push({
        src: path.join(imgDir, it.image),
        dest: path.join(opts.out, ...fileName.split('/')),
        row: { file_name: fileName, text: it.text, tags: it.tags, category: it.category, subcategory: it.subcategory, style, split, unified: it.unified },
      });
      summary.counts[split][style] = (summary.counts[split][style] ?? 0) + 1;
    }
  }
  for (const dir of new Set(jobs.map((j) => path.dirname(j.dest)))) await fsp.mkdir(dir, { recursive: true });

  let done = 0;
  const concurrency = opts.concurrency ?? Math.min(8, 2 * os.availableParallelism());
  await pool(jobs, concurrency, async (job) => {
    if (await isValidOutput(job.dest, size)) summary.skipped++;
    else {
      const img = await decodeImage(job.src, { size, background: [255, 255, 255] }); // (3, size, size)
      await writeAtomic(job.dest, await encodePng(img));
      summary.written++;
    }
    opts.onProgress?.(++done, jobs.length);
  });

  const metadata = jobs.map((j) => JSON.stringify(j.row) + '\n').join('');
  const metaFile = path.join(opts.out, 'metadata.jsonl');
  const old = await fsp.readFile(metaFile, 'utf8').catch(() => null);
  if (old !== metadata) {
    await writeAtomic(metaFile, metadata);
    summary.metadataChanged = true;
  }
  summary.rows = jobs.length;
  summary.seconds = (performance.now() - t0) / 1000;
  return summary;
}
