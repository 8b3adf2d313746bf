// `tessera train text-tokenizer`: train the byte-level BPE text tokenizer on a text file and/or an
// imagefolder's captions and tags, write tokenizer.json + tokenizer_config.json to --out, then
// reload them through @huggingface/tokenizers and report the compression on the corpus.
import { trainBpe } from '../../engine/text/bpe.ts';
import { corpusFromImagefolder, corpusFromTextFile } from '../../engine/text/corpus.ts';
import { writeTokenizerFiles } from '../../engine/text/files.ts';
import { specialTokenList, DEFAULT_RESERVED } from '../../engine/text/specials.ts';
import { TextTokenizer } from '../../engine/text/tokenizer.ts';
import { intFlag, parseFlags, UsageError, type Command } from '../command.ts';

function requireFlag(flag: string, v: number | undefined): number {
  if (v === undefined) throw new UsageError(`--${flag} is required`);
  return v;
}

export const trainTextTokenizer: Command = {
  name: 'train text-tokenizer',
  summary: 'Train the byte-level BPE text tokenizer and write HF tokenizer.json + tokenizer_config.json',
  usage: 'train text-tokenizer (--corpus FILE.txt ... | --data IMAGEFOLDER ...) --vocab N --out DIR [--min-frequency 2] [--reserved 7] [--max-length 2048]',
  async run(argv) {
    const { values } = parseFlags(argv, {
      corpus: { type: 'string', multiple: true },
      data: { type: 'string', multiple: true },
      vocab: { type: 'string' },
      out: { type: 'string' },
      'min-frequency': { type: 'string' },
      reserved: { type: 'string' },
      'max-length': { type: 'string' },
    });
    const corpusFiles = values.corpus ?? [], dataDirs = values.data ?? [];
    if (corpusFiles.length + dataDirs.length === 0) throw new UsageError('give at least one --corpus FILE or --data DIR');
    if (!values.out) throw new UsageError('--out is required');
    const vocabSize = requireFlag('vocab', intFlag('vocab', values.vocab, 0));
    const reserved = intFlag('reserved', values.reserved, 0, DEFAULT_RESERVED);
    const specials = specialTokenList(reserved);
    if (vocabSize < specials.length + 256) throw new UsageError(`--vocab must be at least ${specials.length + 256} (${specials.length} specials + 256 bytes), got ${vocabSize}`);
    const minFrequency = intFlag('min-frequency', values['min-frequency'], 0, 2);
    const modelMaxLength = intFlag('max-length', values['max-length'], 0, 2048);

    const docs: string[] = [];
    for (const f of corpusFiles) docs.push(...(await corpusFromTextFile(f)));
    for (const d of dataDirs) docs.push(...(await corpusFromImagefolder(d)));
    const chars = docs.reduce((n, d) => n + d.length, 0);
    console.log(`corpus: ${docs.length} documents, ${chars} characters`);

    const t0 = performance.now();
    const model = trainBpe(docs, { vocabSize, specials, minFrequency });
    const seconds = (performance.now() - t0) / 1000;
    const padded = model.specials.length - specials.length;
    console.log(`trained ${model.merges.length} merges in ${seconds.toFixed(2)} s${padded ? `; corpus ran out of pairs, padded with ${padded} reserved specials` : ''}`);

    const { tokenizerPath, configPath } = writeTokenizerFiles(values.out, model, { modelMaxLength });
    const tok = await TextTokenizer.load(values.out);
    let tokens = 0, bytes = 0;
    for (const d of docs) {
      tokens += tok.encode(d, { parseSpecial: false }).length;
      bytes += Buffer.byteLength(d, 'utf8');
    }
    console.log(`vocab ${tok.vocabSize} (${specials.length} specials at ids 0..${specials.length - 1}); ${(bytes / Math.max(tokens, 1)).toFixed(2)} bytes/token on the corpus`);
    console.log(`wrote ${tokenizerPath}\nwrote ${configPath}`);
    return 0;
  },
};
