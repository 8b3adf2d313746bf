// Broken tokenizer folders fail with the file and field named; the written tokenizer.json has the
// HF layout; the `train text-tokenizer` command trains from a text file and from an imagefolder.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src-main/cli/command.ts';
import { trainTextTokenizer } from '../../src-main/cli/commands/train-text-tokenizer.ts';
import { parseMetadataJsonl } from '../../src-main/engine/text/corpus.ts';
import { TextTokenizer } from '../../src-main/engine/text/tokenizer.ts';
import { buildCorpus, trainTmp, type Trained } from './helpers.ts';

let t: Trained;
let tj: any, cf: any;
const scratch = mkdtempSync(join(tmpdir(), 'tessera-text-files-'));
beforeAll(async () => {
  t = await trainTmp(600);
  tj = JSON.parse(readFileSync(join(t.dir, 'tokenizer.json'), 'utf8'));
  cf = JSON.parse(readFileSync(join(t.dir, 'tokenizer_config.json'), 'utf8'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let n = 0;
/** Write a tokenizer folder from (possibly broken) objects or raw strings; return its path. */
function folder(tokenizer: unknown, config: unknown): string {
  const dir = join(scratch, `case${n++}`);
  rmSync(dir, { recursive: true, force: true });
  const fs = { tokenizer: join(dir, 'tokenizer.json'), config: join(dir, 'tokenizer_config.json') };
  mkdirSync(dir, { recursive: true });
  if (tokenizer !== undefined) writeFileSync(fs.tokenizer, typeof tokenizer === 'string' ? tokenizer : JSON.stringify(tokenizer));
  if (config !== undefined) writeFileSync(fs.config, typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}
const clone = <T>(x: T): T => structuredClone(x);

describe('tokenizer.json layout', () => {
  it('is an HF BPE tokenizer with specials as added tokens at ids 0..k-1', () => {
    expect(tj.model.type).toBe('BPE');
    expect(tj.model.byte_fallback).toBe(false);
    expect(tj.pre_tokenizer.pretokenizers.map((p: any) => p.type)).toEqual(['Split', 'ByteLevel']);
    expect(tj.decoder.type).toBe('ByteLevel');
    expect(tj.added_tokens.slice(0, 3)).toEqual([
      expect.objectContaining({ id: 0, content: '<|pad|>', special: true, normalized: false }),
      expect.objectContaining({ id: 1, content: '<|bos|>', special: true }),
      expect.objectContaining({ id: 2, content: '<|eos|>', special: true }),
    ]);
    expect(Object.keys(tj.model.vocab).length).toBe(600);
    expect(tj.model.merges[0]).toHaveLength(2);
    expect(cf.added_tokens_decoder['7']).toMatchObject({ content: '<img>', special: true });
  });
});

describe('loading broken folders', () => {
  const cases: Array<[string, () => [unknown, unknown], RegExp]> = [
    ['missing tokenizer.json', () => [undefined, cf], /tokenizer\.json: file not found/],
    ['missing tokenizer_config.json', () => [tj, undefined], /tokenizer_config\.json: file not found/],
    ['tokenizer.json not JSON', () => ['{"model": ', cf], /tokenizer\.json: not valid JSON/],
    ['tokenizer_config.json not JSON', () => [tj, 'nope'], /tokenizer_config\.json: not valid JSON/],
    ['no merges', () => { const x = clone(tj); delete x.model.merges; return [x, cf]; }, /tokenizer\.json: field 'model\.merges': missing/],
    ['wrong model type', () => { const x = clone(tj); x.model.type = 'WordPiece'; return [x, cf]; }, /tokenizer\.json: field 'model\.type'/],
    ['bad vocab id', () => { const x = clone(tj); x.model.vocab.Ġthe = 'seven'; return [x, cf]; }, /tokenizer\.json: field 'model\.vocab\.Ġthe'/],
    ['missing decoder', () => { const x = clone(tj); delete x.decoder; return [x, cf]; }, /tokenizer\.json: field 'decoder': missing/],
    ['special removed', () => { const x = clone(tj); x.added_tokens = x.added_tokens.filter((a: any) => a.content !== '<|user|>'); delete x.model.vocab['<|user|>']; return [x, cf]; }, /tokenizer\.json: .*(missing special token <\|user\|>|no token has id 4)/],
    ['special not special', () => { const x = clone(tj); x.added_tokens[6].special = false; return [x, cf]; }, /<\|end\|> must have "special": true/],
    ['id gap', () => { const x = clone(tj); const last = Object.entries(x.model.vocab).find(([, id]) => id === 300)![0]; delete x.model.vocab[last]; return [x, cf]; }, /no token has id 300/],
    ['id clash', () => { const x = clone(tj); x.model.vocab.Ġthe = 9; return [x, cf]; }, /id 9 is given to both/],
    ['no chat_template', () => { const c = clone(cf); delete c.chat_template; return [tj, c]; }, /tokenizer_config\.json: field 'chat_template': missing/],
    ['bos not added', () => [tj, { ...cf, bos_token: '<s>' }], /tokenizer_config\.json: field 'bos_token': "<s>" is not an added token/],
    ['eos wrong type', () => [tj, { ...cf, eos_token: 3 }], /tokenizer_config\.json: field 'eos_token'/],
    ['bad template', () => [tj, { ...cf, chat_template: '{% for %}' }], /chat_template: cannot parse/],
    ['bad regex', () => { const x = clone(tj); x.pre_tokenizer.pretokenizers[0].pattern.Regex = '(unclosed'; return [x, cf]; }, /tokenizer\.json: @huggingface\/tokenizers rejected it/],
  ];
  for (const [name, make, re] of cases) {
    it(name, async () => {
      const [a, b] = make();
      await expect(TextTokenizer.load(folder(a, b))).rejects.toThrow(re);
    });
  }

  it('fromJSON names the file too', () => {
    expect(() => TextTokenizer.fromJSON({ ...tj, model: { ...tj.model, vocab: [] } }, cf)).toThrow(/^tokenizer\.json: field 'model\.vocab'/);
    expect(TextTokenizer.fromJSON(tj, cf).encode('red apple')).toEqual(t.tok.encode('red apple'));
  });
});

describe('tessera train text-tokenizer', () => {
  const quiet = () => vi.spyOn(console, 'log').mockImplementation(() => {});

  it('trains from a text file and an imagefolder and writes loadable files', async () => {
    const corpus = join(scratch, 'corpus.txt');
    writeFileSync(corpus, buildCorpus().join('\n'));
    const data = join(scratch, 'folder');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'metadata.jsonl'), [
      { file_name: 'a.png', text: 'red apple', tags: ['apple', 'fruit', 'red'] },
      { file_name: 'b.png', text: 'grinning face', tags: 'face, grin, smile' },
      { file_name: 'c.png', text: 'ice cube' },
    ].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = join(scratch, 'cli-out');
    const log = quiet();
    expect(await trainTextTokenizer.run(['--corpus', corpus, '--data', data, '--vocab', '800', '--out', out])).toBe(0);
    expect(log.mock.calls.flat().join('\n')).toMatch(/bytes\/token/);
    log.mockRestore();
    const tok = await TextTokenizer.load(out);
    expect(tok.vocabSize).toBe(800);
    expect(tok.decode(tok.encode('Generate an image of an ice cube.'))).toBe('Generate an image of an ice cube.');
  });

  it('reports bad flags and bad data clearly', async () => {
    await expect(trainTextTokenizer.run(['--vocab', '800', '--out', scratch])).rejects.toThrow(UsageError);
    await expect(trainTextTokenizer.run(['--corpus', 'x.txt', '--vocab', '10', '--out', scratch])).rejects.toThrow(/--vocab must be at least 272/);
    await expect(trainTextTokenizer.run(['--corpus', 'x.txt', '--vocab', 'lots', '--out', scratch])).rejects.toThrow(/--vocab must be a non-negative integer/);
    await expect(trainTextTokenizer.run(['--corpus', join(scratch, 'none.txt'), '--vocab', '800', '--out', scratch])).rejects.toThrow(/none\.txt: cannot read corpus \(ENOENT\)/);
    await expect(trainTextTokenizer.run(['--data', join(scratch, 'nodir'), '--vocab', '800', '--out', scratch])).rejects.toThrow(/metadata\.jsonl: cannot read/);
    expect(() => parseMetadataJsonl('{"text":"ok"}\n{"text":', 'm.jsonl')).toThrow(/^m\.jsonl:2: not valid JSON/);
    expect(() => parseMetadataJsonl('{"file_name":"a.png"}', 'm.jsonl')).toThrow(/^m\.jsonl:1: field 'text' must be a string, got nothing/);
    expect(() => parseMetadataJsonl('{"text":"a","tags":[1]}', 'm.jsonl')).toThrow(/field 'tags'/);
  });
});
