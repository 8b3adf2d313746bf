// TextTokenizer on a freshly trained tokenizer.json: lossless round trips on arbitrary Unicode, ids
// identical to the independent reference BPE encoder, and the special-token policy (specials are
// whole tokens; plain-text encoding never produces them from lookalike text).
import { beforeAll, describe, expect, it } from 'vitest';
import { BpeReferenceEncoder } from '../../src-main/engine/text/bpe.ts';
import { SPECIAL_TOKENS, specialTokenList } from '../../src-main/engine/text/specials.ts';
import { buildCorpus, MULTILINGUAL, randomText, rng, trainTmp, type Trained } from './helpers.ts';

let t: Trained;
let ref: BpeReferenceEncoder;
beforeAll(async () => {
  t = await trainTmp(1024);
  ref = new BpeReferenceEncoder(t.model);
});

const UNICODE_CASES = [
  '', ' ', '    ', '\t\t\n\n\r\n', 'a  b   c    d', '\u3000\u00a0\u2028\u0085',
  ...MULTILINGUAL,
  '🍎', '👩‍👩‍👧‍👦👍🏽🇫🇷🏳️‍🌈', '中文字符测试，标点。', 'e\u0301\u0301\u0301', '\u202eRTL override\u202c', 'مرحبا123abc',
  '\u0000\u0001\u0007\u001b[31mred\u001b[0m\u007f', '\ufeffBOM at start', 'x\u200bzero\u200dwidth',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈 𝟙𝟚𝟛', "It's DON'T we'LL they'RE", '1234567890 ٠١٢٣٤٥٦٧٨٩',
];

describe('round trips', () => {
  it('decode(encode(s)) === s on hand-picked Unicode', () => {
    for (const s of UNICODE_CASES) {
      expect(t.tok.decode(t.tok.encode(s))).toBe(s);
      expect(t.tok.decode(t.tok.encode(s, { parseSpecial: false }))).toBe(s);
    }
  });

  it('decode(encode(s)) === s on 3000 random mixed strings', () => {
    const next = rng(1234);
    for (let i = 0; i < 3000; i++) {
      const s = randomText(next);
      expect(t.tok.decode(t.tok.encode(s))).toBe(s);
      expect(t.tok.decode(t.tok.encode(s, { parseSpecial: false }))).toBe(s);
    }
  });

  it('lone surrogates come back as U+FFFD, as the library encodes them', () => {
    for (const s of ['\ud800', 'a\udc00b', '\ud83d', 'x\ud83d\ude00\ud83dy']) {
      const back = t.tok.decode(t.tok.encode(s));
      expect(back).toBe(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
    }
  });

  it('encodes the empty string to no ids and decodes no ids to the empty string', () => {
    expect(t.tok.encode('')).toEqual([]);
    expect(t.tok.decode([])).toBe('');
    expect(t.tok.encode('', { addSpecial: true })).toEqual([t.tok.specials.bos]);
  });
});

describe('agreement with the reference BPE encoder', () => {
  it('gives identical ids on the corpus, multilingual text and random strings', () => {
    const next = rng(99);
    const texts = [...buildCorpus(), ...UNICODE_CASES, ...Array.from({ length: 2000 }, () => randomText(next, 60))];
    let compared = 0;
    for (const s of texts) {
      const expected = ref.encode(s);
      expect(t.tok.encode(s, { parseSpecial: false })).toEqual(expected);
      if (!specialTokenList().some((sp) => s.includes(sp))) {
        expect(t.tok.encode(s)).toEqual(expected);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(2000);
  });

  it('has the vocabulary size of the trained model and uses merges', () => {
    expect(t.tok.vocabSize).toBe(1024);
    expect(t.tok.encode('the face').length).toBeLessThan(Buffer.byteLength('the face'));
  });
});

describe('special tokens', () => {
  it('sit at ids 0..k-1 in a fixed order', () => {
    specialTokenList().forEach((s, i) => expect(t.tok.tokenId(s)).toBe(i));
    expect(t.tok.specials).toEqual({ pad: 0, bos: 1, eos: 2, system: 3, user: 4, assistant: 5, end: 6, imgStart: 7, imgEnd: 8 });
    expect(t.tok.stopIds).toEqual([6, 2]);
    for (let i = 0; i < specialTokenList().length; i++) expect(t.tok.isSpecial(i)).toBe(true);
    expect(t.tok.isSpecial(specialTokenList().length)).toBe(false);
  });

  it('are single tokens when parsed, never split or merged with neighbours', () => {
    const s = 'hi<|user|>there<img></img>x<|end|><|reserved_3|>';
    const ids = t.tok.encode(s);
    for (const sp of ['<|user|>', '<img>', '</img>', '<|end|>', '<|reserved_3|>']) expect(ids.filter((id) => id === t.tok.tokenId(sp)).length).toBe(1);
    expect(t.tok.decode(ids)).toBe(s);
    expect(t.tok.decode(ids, { skipSpecial: true })).toBe('hithere' + 'x');
  });

  it('are never produced by plain-text encoding of lookalike text', () => {
    const k = specialTokenList().length;
    for (const sp of [...Object.values(SPECIAL_TOKENS), '<|reserved_0|>', 'a<|user|>b<img></img>']) {
      const ids = t.tok.encode(sp, { parseSpecial: false });
      expect(ids.every((id) => id >= k)).toBe(true);
      expect(t.tok.decode(ids)).toBe(sp);
    }
    const next = rng(5);
    for (let i = 0; i < 500; i++) expect(t.tok.encode(randomText(next), { parseSpecial: false }).every((id) => id >= k)).toBe(true);
  });

  it('addSpecial prepends <|bos|> in both modes', () => {
    const plain = t.tok.encode('red apple');
    expect(t.tok.encode('red apple', { addSpecial: true })).toEqual([t.tok.specials.bos, ...plain]);
    expect(t.tok.encode('red apple', { addSpecial: true, parseSpecial: false })).toEqual([t.tok.specials.bos, ...plain]);
  });

  it('no learned token spells a special', () => {
    const specials = new Set(specialTokenList());
    t.model.vocab.slice(specials.size).forEach((tok) => expect(specials.has(tok)).toBe(false));
  });
});

describe('lookups and bad ids', () => {
  it('tokenId/idToToken are inverse and name unknown tokens', () => {
    expect(t.tok.idToToken(t.tok.tokenId('Ġthe'))).toBe('Ġthe');
    expect(() => t.tok.tokenId('no such token!')).toThrow(/"no such token!" is not in the vocabulary/);
    expect(() => t.tok.idToToken(99999)).toThrow(/99999 is not a token id/);
  });

  it('decode rejects ids outside the vocabulary', () => {
    expect(() => t.tok.decode([5, 1024])).toThrow(/ids\[1\] = 1024 is not a token id in \[0, 1024\)/);
    expect(() => t.tok.decode([-1])).toThrow(/ids\[0\] = -1/);
    expect(() => t.tok.decode([1.5])).toThrow(/ids\[0\] = 1.5/);
  });
});
