// Byte-level BPE (GPT-2 byte->unicode alphabet, Llama-3-style pre-tokenization): a trainer with
// incremental pair counts and a lazy max-heap, plus a deliberately naive reference encoder that
// applies the learned merges by rank. The trained model is written as HF tokenizer.json by
// files.ts and encoded at run time by @huggingface/tokenizers; tests check both agree id for id.
import { specialTokenList } from './specials.ts';

/**
 * Pre-tokenization pattern as written into tokenizer.json (Oniguruma syntax, what HF's `Split`
 * pre-tokenizer compiles). It is Llama-3's pattern with the case-insensitive contraction group
 * spelled out, so JavaScript and Oniguruma read it the same way.
 */
export const PRETOKENIZE_PATTERN =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** The same pattern for JavaScript: Oniguruma's `\s` is Unicode White_Space (JS adds U+FEFF, drops U+0085). */
const PRETOKENIZE_RE = new RegExp(PRETOKENIZE_PATTERN.replaceAll('\\s', '\\p{White_Space}').replaceAll('\\S', '\\P{White_Space}'), 'gu');

/** Split text into pre-tokens (pieces BPE never merges across). Their concatenation is the input. */
export function pretokenize(text: string): string[] {
  return text.match(PRETOKENIZE_RE) ?? [];
}

/** GPT-2's reversible map from the 256 byte values to printable unicode characters. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : next++);
  return out;
})();

const utf8 = new TextEncoder();

/** Text -> byte-level string (one char per UTF-8 byte). Lone surrogates become U+FFFD, as TextEncoder does. */
export function toByteLevel(text: string): string {
  let s = '';
  for (const b of utf8.encode(text)) s += BYTE_TO_CHAR[b];
  return s;
}

export interface BpeModel {
  /** Token string for each id; ids 0..specials.length-1 are the specials. */
  vocab: string[];
  /** Merges in rank order, as pairs of byte-level token strings. */
  merges: Array<[string, string]>;
  /** Special (added) tokens; a prefix of `vocab`, plus any padding specials at the end. */
  specials: string[];
}

export interface TrainOptions {
  /** Total vocabulary size (specials + 256 bytes + merges). */
  vocabSize: number;
  /** Special tokens placed at ids 0..k-1. Default: specialTokenList(). */
  specials?: string[];
  /** A pair must occur at least this often to be merged (default 2). */
  minFrequency?: number;
  /** If merges run out before vocabSize, fill the rest with extra `<|reserved_i|>` specials (default true). */
  padWithReserved?: boolean;
  onProgress?: (mergesDone: number, mergesWanted: number) => void;
}

/** Max-heap of (count, a, b) with lazy deletion; ties broken by smaller ids for determinism. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  get size() { return this.counts.length; }
  private above(i: number, j: number): boolean {
    return this.counts[i] > this.counts[j] || (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j]);
  }
  private swap(i: number, j: number) {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }
  push(count: number, key: number) {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.counts.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const last = this.counts.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    for (let i = 0; ;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < this.counts.length && this.above(l, m)) m = l;
      if (r < this.counts.length && this.above(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

const KEY_SCALE = 2 ** 22; // pair key = a * KEY_SCALE + b; ids stay far below 2^31

/** Train byte-level BPE on a corpus of documents. Deterministic for a given corpus order. */
export function trainBpe(corpus: Iterable<string>, opts: TrainOptions): BpeModel {
  const specials = opts.specials ?? specialTokenList();
  const minFrequency = opts.minFrequency ?? 2;
  if (new Set(specials).size !== specials.length) throw new Error(`trainBpe: duplicate special tokens in [${specials.join(', ')}]`);
  const base = specials.length + 256;
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < base || opts.vocabSize >= KEY_SCALE) {
    throw new Error(`trainBpe: vocabSize must be an integer in [${base}, ${KEY_SCALE}) (${specials.length} specials + 256 bytes), got ${opts.vocabSize}`);
  }

  // 1. Unique pre-tokens with their frequencies.
  const wordFreq = new Map<string, number>();
  for (const doc of corpus) {
    if (typeof doc !== 'string') throw new Error(`trainBpe: corpus items must be strings, got ${typeof doc}`);
    for (const piece of pretokenize(doc)) wordFreq.set(piece, (wordFreq.get(piece) ?? 0) + 1);
  }

  // 2. Vocabulary: specials, then byte b at id k+b.
  const vocab: string[] = [...specials, ...BYTE_TO_CHAR];
  const idOf = new Map<string, number>(vocab.map((t, i) => [t, i]));
  const forbidden = new Set(specials);
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [piece, f] of wordFreq) {
    words.push(Array.from(utf8.encode(piece), (b) => specials.length + b));
    freqs.push(f);
  }

  // 3. Pair counts and, per pair, the words that (may) contain it.
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: 1 | -1, touched: Set<number> | null) => {
    const s = words[w], f = freqs[w] * sign;
    for (let i = 0; i + 1 < s.length; i++) {
      const key = s[i] * KEY_SCALE + s[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + f);
      if (sign > 0) {
        let set = where.get(key);
        if (!set) where.set(key, (set = new Set()));
        set.add(w);
      }
      touched?.add(key);
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1, null);
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);

  // 4. Merge the most frequent pair until the vocabulary is full.
  const merges: Array<[string, string]> = [];
  const mergedKeys = new Set<number>();
  const wanted = opts.vocabSize - base;
  while (vocab.length < opts.vocabSize && heap.size > 0) {
    const [count, key] = heap.pop();
    if (pairCount.get(key) !== count) continue; // stale heap entry
    if (count < minFrequency) break;
    const a = Math.floor(key / KEY_SCALE), b = key % KEY_SCALE;
    const merged = vocab[a] + vocab[b];
    if (forbidden.has(merged)) { pairCount.delete(key); continue; } // never learn a special's spelling
    let c = idOf.get(merged);
    if (c === undefined) {
      c = vocab.length;
      vocab.push(merged);
      idOf.set(merged, c);
    }
    // A pair can re-form when a merge re-spells an existing token; its rank is the first one.
    if (!mergedKeys.has(key)) { merges.push([vocab[a], vocab[b]]); mergedKeys.add(key); }
    const touched = new Set<number>();
    for (const w of where.get(key) ?? []) {
      const s = words[w];
      let hit = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) { hit = true; break; }
      if (!hit) continue;
      addPairs(w, -1, touched);
      const out: number[] = [];
      for (let i = 0; i < s.length;) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) { out.push(c); i += 2; } else out.push(s[i++]);
      }
      words[w] = out;
      addPairs(w, 1, touched);
    }
    where.delete(key);
    for (const t of touched) {
      const n = pairCount.get(t) ?? 0;
      if (n > 0) heap.push(n, t); else pairCount.delete(t);
    }
    if (opts.onProgress && merges.length % 256 === 0) opts.onProgress(merges.length, wanted);
  }
  opts.onProgress?.(merges.length, wanted);

  // 5. Pad to the exact size with reserved specials (the LM vocabulary size is fixed by the model).
  const allSpecials = [...specials];
  if (vocab.length < opts.vocabSize && opts.padWithReserved !== false) {
    let i = 0;
    while (vocab.length < opts.vocabSize) {
      const t = `<|reserved_${i++}|>`;
      if (idOf.has(t)) continue;
      idOf.set(t, vocab.length);
      vocab.push(t);
      allSpecials.push(t);
    }
  }
  return { vocab, merges, specials: allSpecials };
}

/**
 * Reference encoder: the textbook BPE loop (find the lowest-ranked adjacent pair, merge every
 * occurrence left to right, repeat), written independently of @huggingface/tokenizers. Plain
 * text only: special-token spellings are encoded as ordinary bytes.
 */
export class BpeReferenceEncoder {
  private rank = new Map<string, number>();
  private ids = new Map<string, number>();
  constructor(model: Pick<BpeModel, 'vocab' | 'merges'>) {
    model.vocab.forEach((t, i) => this.ids.set(t, i));
    model.merges.forEach(([a, b], i) => {
      const k = `${a} ${b}`; // byte-level strings never contain U+0020
      if (!this.rank.has(k)) this.rank.set(k, i);
    });
  }

  /** BPE of one byte-level pre-token, as token strings. */
  bpe(word: string): string[] {
    let syms = Array.from(word);
    for (;;) {
      let best = Infinity;
      for (let i = 0; i + 1 < syms.length; i++) best = Math.min(best, this.rank.get(`${syms[i]} ${syms[i + 1]}`) ?? Infinity);
      if (best === Infinity) return syms;
      const next: string[] = [];
      for (let i = 0; i < syms.length;) {
        if (i + 1 < syms.length && this.rank.get(`${syms[i]} ${syms[i + 1]}`) === best) { next.push(syms[i] + syms[i + 1]); i += 2; } else next.push(syms[i++]);
      }
      syms = next;
    }
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const piece of pretokenize(text)) {
      for (const t of this.bpe(toByteLevel(piece))) {
        const id = this.ids.get(t);
        if (id === undefined) throw new Error(`BpeReferenceEncoder: token ${JSON.stringify(t)} from merges is not in the vocabulary`);
        out.push(id);
      }
    }
    return out;
  }
}
