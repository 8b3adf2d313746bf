// The BPE trainer and its pre-tokenizer: vocabulary layout (specials first, then the 256 bytes),
// exact size, determinism, speed on ~1 MB, padding, errors; and that our JavaScript pre-tokenizer
// splits exactly like @huggingface/tokenizers' Split pre-tokenizer compiled from the JSON pattern.
import { describe, expect, it } from 'vitest';
import * as hf from '@huggingface/tokenizers';
import { BYTE_TO_CHAR, PRETOKENIZE_PATTERN, pretokenize, toByteLevel, trainBpe, BpeReferenceEncoder } from '../../src-main/engine/text/bpe.ts';
import { specialTokenList } from '../../src-main/engine/text/specials.ts';
import { buildCorpus, MULTILINGUAL, randomText, rng } from './helpers.ts';

describe('pre-tokenization', () => {
  // The package's .d.ts files use extensionless re-exports that NodeNext cannot follow; the runtime export exists.
  const SplitPreTokenizer = (hf as any).SplitPreTokenizer;
  const lib = new SplitPreTokenizer({ type: 'Split', pattern: { Regex: PRETOKENIZE_PATTERN }, behavior: 'Isolated', invert: false } as any);

  it('splits like the library Split pre-tokenizer and loses nothing', () => {
    const next = rng(7);
    const texts = [...MULTILINGUAL, ...buildCorpus().slice(0, 300), ...Array.from({ length: 2000 }, () => randomText(next))];
    texts.push('a\u0085b', 'x\ufeffy', '  \u3000 z', "DON'T it'S we'Ve", '12345 ١٢٣٤ 1.5e10', '\r\n\r\n  \n', '');
    for (const t of texts) {
      const ours = pretokenize(t);
      expect(ours.join('')).toBe(t);
      expect(ours).toEqual(lib.pre_tokenize_text(t));
    }
  });

  it('follows the Llama-3 rules on a known sentence', () => {
    expect(pretokenize("Hello, world! It's 12345 (ok)\n\n  done")).toEqual([
      'Hello', ',', ' world', '!', ' It', "'s", ' ', '123', '45', ' (', 'ok', ')\n\n', ' ', ' done',
    ]);
  });

  it('maps bytes to 256 distinct printable characters without spaces', () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(BYTE_TO_CHAR[0x20]).toBe('Ġ');
    expect(BYTE_TO_CHAR[0x41]).toBe('A');
    expect(BYTE_TO_CHAR.some((c) => /\s/u.test(c))).toBe(false);
    expect(toByteLevel('\ud800')).toBe(toByteLevel('\ufffd')); // lone surrogate -> U+FFFD, as TextEncoder
  });
});

describe('trainBpe', () => {
  const corpus = buildCorpus();

  it('lays out specials, then bytes, then merges, at the exact size', () => {
    const specials = specialTokenList();
    const m = trainBpe(corpus, { vocabSize: 800 });
    expect(m.vocab.length).toBe(800);
    expect(m.vocab.slice(0, specials.length)).toEqual(specials);
    expect(m.specials).toEqual(specials);
    expect(m.vocab.slice(specials.length, specials.length + 256)).toEqual(BYTE_TO_CHAR);
    expect(new Set(m.vocab).size).toBe(800);
    expect(m.merges.length).toBe(800 - 256 - specials.length);
    const inVocab = new Set(m.vocab);
    const seen = new Set<string>();
    for (const [a, b] of m.merges) {
      expect(inVocab.has(a) && inVocab.has(b) && inVocab.has(a + b)).toBe(true);
      expect(seen.has(`${a} ${b}`)).toBe(false);
      seen.add(`${a} ${b}`);
    }
    // The first merge is the most frequent adjacent byte pair of the corpus.
    const counts = new Map<string, number>();
    for (const d of corpus) for (const p of pretokenize(d)) {
      const s = Array.from(toByteLevel(p));
      for (let i = 0; i + 1 < s.length; i++) counts.set(`${s[i]} ${s[i + 1]}`, (counts.get(`${s[i]} ${s[i + 1]}`) ?? 0) + 1);
    }
    const top = Math.max(...counts.values());
    expect(counts.get(m.merges[0].join(' '))).toBe(top);
  });

  it('is deterministic and compresses its corpus', () => {
    const a = trainBpe(corpus, { vocabSize: 600 });
    const b = trainBpe(corpus, { vocabSize: 600 });
    expect(a).toEqual(b);
    const enc = new BpeReferenceEncoder(a);
    const text = corpus.slice(0, 500).join('\n');
    expect(enc.encode(text).length).toBeLessThan(0.6 * Buffer.byteLength(text));
  });

  it('trains a 4096 vocabulary on ~1 MB in a few seconds', () => {
    const big: string[] = [];
    let chars = 0;
    for (let rep = 0; chars < 1_000_000; rep++) for (const d of corpus) { const s = `${rep} ${d}`; big.push(s); chars += s.length; }
    const t0 = performance.now();
    const m = trainBpe(big, { vocabSize: 4096 });
    const ms = performance.now() - t0;
    expect(m.vocab.length).toBe(4096);
    expect(ms).toBeLessThan(10_000);
  });

  it('pads with reserved specials when the corpus runs out of pairs', () => {
    const m = trainBpe(['ab ab ab'], { vocabSize: 300, specials: ['<|pad|>'] });
    expect(m.vocab.length).toBe(300);
    expect(m.merges.length).toBeGreaterThan(0);
    expect(m.specials.length).toBe(300 - 1 - 256 - m.merges.length + 1);
    expect(m.vocab.at(-1)).toMatch(/^<\|reserved_\d+\|>$/);
    expect(m.specials).toContain(m.vocab.at(-1));
  });

  it('rejects bad sizes, duplicate specials and non-string documents', () => {
    expect(() => trainBpe(corpus, { vocabSize: 100 })).toThrow(/vocabSize must be an integer in \[272,/);
    expect(() => trainBpe(corpus, { vocabSize: 1000.5 })).toThrow(/vocabSize/);
    expect(() => trainBpe(corpus, { vocabSize: 1000, specials: ['<a>', '<a>'] })).toThrow(/duplicate special/);
    expect(() => trainBpe([42 as unknown as string], { vocabSize: 1000 })).toThrow(/corpus items must be strings/);
  });
});
