// Shared fixtures for the text tokenizer tests: a real, varied corpus from installed packages
// (emoji labels/tags from emojibase-data, the READMEs of the tokenizer and jinja packages, plus a
// multilingual paragraph), a seeded random-text generator, and a trained tokenizer in a temp dir.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainBpe, type BpeModel } from '../../src-main/engine/text/bpe.ts';
import { writeTokenizerFiles } from '../../src-main/engine/text/files.ts';
import { TextTokenizer } from '../../src-main/engine/text/tokenizer.ts';

const require = createRequire(import.meta.url);

export const MULTILINGUAL = [
  'The quick brown fox jumps over the lazy dog. It\'s 3.14159 o\'clock; we\'ve 12345678 reasons!',
  'Ünïcödé: café, naïve, Straße, ÆØÅ, İstanbul, ΑΒΓ αβγ, Привет мир, こんにちは世界, 你好，世界！, 안녕하세요',
  'עברית: שלום עולם. العربية: مرحبا بالعالم. فارسی: سلام دنیا',
  'Emoji: 🍎🍏🍐 👩‍👩‍👧‍👦 🇫🇷 🏳️‍🌈 👍🏽 ❤️ 1️⃣',
  'Combining: e\u0301 a\u0308 n\u0303 ḁ̵̧̛ Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇',
  '    indented\tcode(x) {\n  return x + 1;  \n}\r\n\r\n\n  // trailing   \n',
];

export function buildCorpus(): string[] {
  const emoji = require('emojibase-data/en/data.json') as Array<{ label: string; tags?: string[]; emoticon?: string | string[] }>;
  const docs = emoji.map((e) => `${e.label}: ${(e.tags ?? []).join(', ')}${e.emoticon ? ` ${[e.emoticon].flat().join(' ')}` : ''}`);
  const dir = (pkg: string) => join(require.resolve(pkg).split(`/node_modules/${pkg}/`)[0], 'node_modules', pkg);
  docs.push(readFileSync(join(dir('@huggingface/tokenizers'), 'README.md'), 'utf8'));
  docs.push(readFileSync(join(dir('@huggingface/jinja'), 'README.md'), 'utf8'));
  docs.push(...MULTILINGUAL);
  return docs;
}

/** Mulberry32: a small seeded PRNG so random tests are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOL = [
  ...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789',
  ' ', ' ', ' ', '\n', '\r', '\t', '\v', '\f', '\u0085', '\u00a0', '\u2028', '\u3000', '\ufeff', '\u200b', '\u200d',
  ...'.,;:!?\'"()[]{}<>|/\\-_=+*&^%$#@~`', "'s", "'LL", "'Re",
  'é', 'e\u0301', 'ß', 'İ', 'ﬁ', 'Ω', 'ж', '中', '文', 'の', '한', 'ع', 'ש', '\u202e', '\u0000', '\u0007', '\u007f',
  '😀', '👩‍👩‍👧', '🇯🇵', '👍🏿', '²', '½', '٣', '𝟙', '𐍈',
  '<|user|>', '<|end|>', '<img>', '</img>', '<|', '|>',
];

/** Random text mixing scripts, digits, odd whitespace, controls, emoji and special-token lookalikes. */
export function randomText(next: () => number, maxPieces = 40): string {
  const n = Math.floor(next() * maxPieces);
  let s = '';
  for (let i = 0; i < n; i++) s += POOL[Math.floor(next() * POOL.length)];
  return s;
}

export interface Trained {
  model: BpeModel;
  dir: string;
  tok: TextTokenizer;
}

export async function trainTmp(vocabSize = 1024): Promise<Trained> {
  const model = trainBpe(buildCorpus(), { vocabSize });
  const dir = mkdtempSync(join(tmpdir(), 'tessera-text-'));
  writeTokenizerFiles(dir, model);
  return { model, dir, tok: await TextTokenizer.load(dir) };
}
