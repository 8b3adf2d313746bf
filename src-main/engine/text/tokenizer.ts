// TextTokenizer: the LM's text tokenizer, an HF tokenizer.json + tokenizer_config.json pair run by
// @huggingface/tokenizers, with the chat template from chat.ts. Special-token policy:
// `encode(text)` parses special spellings (`<|user|>` -> its id), like HF, so rendered templates
// encode right; `encode(text, { parseSpecial: false })` and every message text inside encodeChat are
// plain text, so user content can never forge a role marker or an image span.
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ChatTemplate, type ChatMessage, type RenderOptions } from './chat.ts';
import { CONFIG_FILE, TOKENIZER_FILE, readJsonFile, validateTokenizerFiles, type ValidatedTokenizer } from './files.ts';
import type { SpecialIds } from './specials.ts';

export interface EncodeOptions {
  /** Apply tokenizer.json's post-processor (ours prepends `<|bos|>`). Default false. */
  addSpecial?: boolean;
  /** Turn special-token spellings in the text into their ids. Default true (HF behaviour). */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (all added tokens marked special) from the output. Default false. */
  skipSpecial?: boolean;
}

export interface EncodedChat {
  ids: number[];
  /** 1 for tokens of assistant replies (content and closing `<|end|>`), 0 elsewhere; same length as ids. */
  assistantMask: number[];
}

export class TextTokenizer {
  /** Number of token ids, 0..vocabSize-1 (the LM vocabulary, shared with image codes under UniCode). */
  readonly vocabSize: number;
  /** Ids of the named special tokens. */
  readonly specials: SpecialIds;
  readonly chatTemplate: string;
  readonly modelMaxLength: number | null;
  private readonly tok: Tokenizer;
  private readonly template: ChatTemplate;
  private readonly info: ValidatedTokenizer;

  private constructor(tok: Tokenizer, info: ValidatedTokenizer) {
    this.tok = tok;
    this.info = info;
    this.vocabSize = info.vocabSize;
    this.specials = info.specials;
    this.chatTemplate = info.chatTemplate;
    this.modelMaxLength = info.modelMaxLength;
    this.template = new ChatTemplate(info.chatTemplate, { bos_token: info.bosToken, eos_token: info.eosToken, pad_token: info.padToken });
  }

  /** Load `dir/tokenizer.json` and `dir/tokenizer_config.json`. Errors name the file and field. */
  static async load(dir: string): Promise<TextTokenizer> {
    const tokenizerPath = join(dir, TOKENIZER_FILE), configPath = join(dir, CONFIG_FILE);
    const [tj, cf] = [await readJsonFile(tokenizerPath), await readJsonFile(configPath)];
    return TextTokenizer.build(tj, cf, { tokenizer: tokenizerPath, config: configPath });
  }

  /** Build from already-parsed tokenizer.json and tokenizer_config.json objects. */
  static fromJSON(tokenizerJson: object, config: object): TextTokenizer {
    return TextTokenizer.build(tokenizerJson, config, { tokenizer: TOKENIZER_FILE, config: CONFIG_FILE });
  }

  private static build(tj: unknown, cf: unknown, names: { tokenizer: string; config: string }): TextTokenizer {
    const info = validateTokenizerFiles(tj, cf, names);
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(tj as object, cf as object);
    } catch (err) {
      throw new Error(`${names.tokenizer}: @huggingface/tokenizers rejected it (${(err as Error).message})`);
    }
    return new TextTokenizer(tok, info);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new Error(`TextTokenizer.encode: text must be a string, got ${typeof text}`);
    const addSpecial = opts.addSpecial ?? false;
    if (opts.parseSpecial ?? true) return this.tok.encode(text, { add_special_tokens: addSpecial }).ids;
    // Plain text: the same normalizer -> pre-tokenizer -> model chain, minus the added-token splitter.
    const t = this.tok;
    const normalized = t.normalizer ? t.normalizer._call(text) : text;
    const pieces = normalized.length === 0 ? [] : t.pre_tokenizer ? t.pre_tokenizer._call(normalized) : [normalized];
    let tokens = t.model!._call(pieces);
    if (t.post_processor) tokens = t.post_processor._call(tokens, null, addSpecial).tokens;
    return tokens.map((s: string) => {
      const id = t.model!.tokens_to_ids.get(s);
      if (id === undefined) throw new Error(`TextTokenizer.encode: token ${JSON.stringify(s)} has no id (vocabulary and merges disagree)`);
      return id;
    });
  }

  decode(ids: number[], opts: DecodeOptions = {}): string {
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new Error(`TextTokenizer.decode: ids[${i}] = ${id} is not a token id in [0, ${this.vocabSize})`);
    });
    if (ids.length === 0) return '';
    return this.tok.decode(ids, { skip_special_tokens: opts.skipSpecial ?? false, clean_up_tokenization_spaces: false });
  }

  /** Id of a token string (a special like `<|end|>` or a byte-level vocab entry). Throws if absent. */
  tokenId(token: string): number {
    const id = this.tok.token_to_id(token);
    if (id === undefined) throw new Error(`TextTokenizer.tokenId: ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  }

  /** Token string of an id (byte-level spelling for BPE tokens). */
  idToToken(id: number): string {
    const t = this.tok.id_to_token(id);
    if (t === undefined) throw new Error(`TextTokenizer.idToToken: ${id} is not a token id in [0, ${this.vocabSize})`);
    return t;
  }

  isSpecial(id: number): boolean {
    return this.info.specialIds.has(id);
  }

  /** Ids that end an assistant turn during generation: `<|end|>` and `<|eos|>`. */
  get stopIds(): number[] {
    return [this.specials.end, this.specials.eos];
  }

  /** Render messages with the chat template (the same string as tokenizer_config.json's chat_template). */
  applyChatTemplate(messages: ChatMessage[], opts: RenderOptions = { addGenerationPrompt: false }): string {
    return this.template.render(messages, opts);
  }

  /**
   * Token ids of a conversation with the answer-only loss mask. Template text is encoded with
   * specials parsed, message text as plain text, segment by segment. When no message text spells
   * a special token, the result is checked to equal `encode(applyChatTemplate(messages))`.
   */
  encodeChat(messages: ChatMessage[], opts: RenderOptions = {}): EncodedChat {
    const segments = this.template.segments(messages, opts);
    const ids: number[] = [], assistantMask: number[] = [];
    for (const s of segments) {
      const part = this.encode(s.text, { parseSpecial: s.kind === 'template' });
      ids.push(...part);
      for (let i = 0; i < part.length; i++) assistantMask.push(s.assistant ? 1 : 0);
    }
    const contents = segments.filter((s) => s.kind === 'content').map((s) => s.text);
    const specialSpellings = [...this.info.specialIds.values()];
    if (!contents.some((c) => specialSpellings.some((sp) => c.includes(sp)))) {
      const whole = this.encode(this.template.render(messages, opts));
      if (whole.length !== ids.length || whole.some((id, i) => id !== ids[i])) {
        throw new Error('encodeChat: segment-wise encoding differs from encoding the rendered template; the chat template must put a special token between template text and message text');
      }
    }
    return { ids, assistantMask };
  }
}
