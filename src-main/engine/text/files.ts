// HF tokenizer files for a trained byte-level BPE: tokenizer.json (model BPE, Split+ByteLevel
// pre-tokenizer, ByteLevel decoder, specials as added tokens) and tokenizer_config.json (bos/eos/pad,
// chat_template, model_max_length). Also the loader's validation: every problem in a file is
// reported as `<file>: field '<path>': <problem>`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PRETOKENIZE_PATTERN, type BpeModel } from './bpe.ts';
import { SPECIAL_TOKENS, type SpecialIds, type SpecialRole } from './specials.ts';
import { DEFAULT_CHAT_TEMPLATE } from './chat.ts';

export const TOKENIZER_FILE = 'tokenizer.json';
export const CONFIG_FILE = 'tokenizer_config.json';

export interface WriteOptions {
  /** Longest sequence the LM accepts (tokenizer_config model_max_length). */
  modelMaxLength?: number;
  chatTemplate?: string;
}

/** tokenizer.json for a trained model. Added tokens keep their vocab ids; bos is added by TemplateProcessing. */
export function buildTokenizerJson(model: BpeModel): object {
  const vocab: Record<string, number> = {};
  model.vocab.forEach((t, i) => { vocab[t] = i; });
  const idOf = (t: string) => model.vocab.indexOf(t);
  const bos = SPECIAL_TOKENS.bos;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: model.specials.map((content) => ({
      id: idOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: PRETOKENIZE_PATTERN }, behavior: 'Isolated', invert: false },
        byteLevel,
      ],
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [idOf(bos)], tokens: [bos] } },
    },
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: model.merges,
    },
  };
}

export function buildTokenizerConfig(model: BpeModel, opts: WriteOptions = {}): object {
  const added: Record<string, object> = {};
  model.specials.forEach((content) => {
    added[String(model.vocab.indexOf(content))] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  });
  const named = new Set<string>(Object.values(SPECIAL_TOKENS));
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: SPECIAL_TOKENS.bos,
    eos_token: SPECIAL_TOKENS.eos,
    pad_token: SPECIAL_TOKENS.pad,
    unk_token: null,
    additional_special_tokens: model.specials.filter((t) => named.has(t) && t !== SPECIAL_TOKENS.bos && t !== SPECIAL_TOKENS.eos && t !== SPECIAL_TOKENS.pad),
    added_tokens_decoder: added,
    add_bos_token: true,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: opts.modelMaxLength ?? 2048,
    chat_template: opts.chatTemplate ?? DEFAULT_CHAT_TEMPLATE,
  };
}

export function writeTokenizerFiles(dir: string, model: BpeModel, opts: WriteOptions = {}): { tokenizerPath: string; configPath: string } {
  mkdirSync(dir, { recursive: true });
  const tokenizerPath = join(dir, TOKENIZER_FILE), configPath = join(dir, CONFIG_FILE);
  writeFileSync(tokenizerPath, JSON.stringify(buildTokenizerJson(model), null, 1) + '\n');
  writeFileSync(configPath, JSON.stringify(buildTokenizerConfig(model, opts), null, 2) + '\n');
  return { tokenizerPath, configPath };
}

/** Read and JSON-parse one file, naming it in any error. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? (err as Error).message})`}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

const tokenSpec = z.union([z.string(), z.looseObject({ content: z.string() })]);
const tokenizerSchema = z.looseObject({
  model: z.looseObject({
    type: z.literal('BPE'),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
    merges: z.array(z.union([z.tuple([z.string(), z.string()]), z.string()])),
  }),
  added_tokens: z.array(z.looseObject({ id: z.number().int().nonnegative(), content: z.string().min(1), special: z.boolean().optional() })),
  normalizer: z.unknown(),
  pre_tokenizer: z.looseObject({ type: z.string() }),
  post_processor: z.unknown(),
  decoder: z.looseObject({ type: z.string() }),
});
const configSchema = z.looseObject({
  bos_token: tokenSpec,
  eos_token: tokenSpec,
  pad_token: tokenSpec,
  chat_template: z.string().min(1),
  model_max_length: z.number().int().positive().optional(),
});

function check<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.length ? issue.path.join('.') : '(top level)';
  const problem = issue.code === 'invalid_type' && value && typeof value === 'object' && issue.path.length && getPath(value, issue.path) === undefined
    ? 'missing' : issue.message;
  throw new Error(`${file}: field '${field}': ${problem}`);
}

function getPath(obj: unknown, path: PropertyKey[]): unknown {
  let cur: any = obj;
  for (const k of path) { if (cur === null || typeof cur !== 'object') return undefined; cur = cur[k as any]; }
  return cur;
}

export interface ValidatedTokenizer {
  vocabSize: number;
  specials: SpecialIds;
  /** Every added token marked special, id -> content. */
  specialIds: Map<number, string>;
  bosToken: string;
  eosToken: string;
  padToken: string;
  chatTemplate: string;
  modelMaxLength: number | null;
}

/** Check a tokenizer.json + tokenizer_config.json pair; `names` label the two in error messages. */
export function validateTokenizerFiles(tokenizerJson: unknown, config: unknown, names = { tokenizer: TOKENIZER_FILE, config: CONFIG_FILE }): ValidatedTokenizer {
  const tj = check(tokenizerSchema, tokenizerJson, names.tokenizer);
  const cf = check(configSchema, config, names.config);
  // Ids must cover 0..V-1 exactly once across vocab and added tokens (added tokens may repeat their vocab entry).
  const byId = new Map<number, string>();
  const claim = (id: number, content: string, field: string) => {
    const prev = byId.get(id);
    if (prev !== undefined && prev !== content) throw new Error(`${names.tokenizer}: field '${field}': id ${id} is given to both ${JSON.stringify(prev)} and ${JSON.stringify(content)}`);
    byId.set(id, content);
  };
  for (const [t, id] of Object.entries(tj.model.vocab)) claim(id, t, `model.vocab.${t}`);
  tj.added_tokens.forEach((a, i) => claim(a.id, a.content, `added_tokens.${i}.id`));
  const vocabSize = byId.size === 0 ? 0 : Math.max(...byId.keys()) + 1;
  if (vocabSize === 0) throw new Error(`${names.tokenizer}: field 'model.vocab': empty vocabulary`);
  for (let i = 0; i < vocabSize; i++) if (!byId.has(i)) throw new Error(`${names.tokenizer}: field 'model.vocab': no token has id ${i} (ids must be 0..${vocabSize - 1} without gaps)`);

  const added = new Map(tj.added_tokens.map((a) => [a.content, a]));
  const specials = {} as SpecialIds;
  for (const [role, content] of Object.entries(SPECIAL_TOKENS) as Array<[SpecialRole, string]>) {
    const a = added.get(content);
    if (!a) throw new Error(`${names.tokenizer}: field 'added_tokens': missing special token ${content} (${role})`);
    if (a.special !== true) throw new Error(`${names.tokenizer}: field 'added_tokens': ${content} must have "special": true`);
    specials[role] = a.id;
  }
  const specialIds = new Map(tj.added_tokens.filter((a) => a.special === true).map((a) => [a.id, a.content]));
  const content = (v: z.infer<typeof tokenSpec>) => (typeof v === 'string' ? v : v.content);
  const bosToken = content(cf.bos_token), eosToken = content(cf.eos_token), padToken = content(cf.pad_token);
  for (const [field, tok] of [['bos_token', bosToken], ['eos_token', eosToken], ['pad_token', padToken]] as const) {
    if (!added.has(tok)) throw new Error(`${names.config}: field '${field}': ${JSON.stringify(tok)} is not an added token of ${names.tokenizer}`);
  }
  return { vocabSize, specials, specialIds, bosToken, eosToken, padToken, chatTemplate: cf.chat_template, modelMaxLength: cf.model_max_length ?? null };
}
