// The text tokenizer's special tokens. They take ids 0..k-1 at the START of the vocabulary so
// their ids never move when the BPE part is retrained, and they are HF "added tokens" with
// `special: true`: matched whole before pre-tokenization, never merged with text.
// (UniCode: the LM vocabulary is shared with the image codebook; nothing here assumes a size.)

/** Role of each fixed special token, in id order. */
export const SPECIAL_TOKENS = {
  pad: '<|pad|>',
  bos: '<|bos|>',
  eos: '<|eos|>',
  system: '<|system|>',
  user: '<|user|>',
  assistant: '<|assistant|>',
  end: '<|end|>',
  imgStart: '<img>',
  imgEnd: '</img>',
} as const;

export type SpecialRole = keyof typeof SPECIAL_TOKENS;

/** How many `<|reserved_i|>` tokens follow the named ones by default. */
export const DEFAULT_RESERVED = 7;

export function reservedToken(i: number): string {
  return `<|reserved_${i}|>`;
}

/** The special token strings in id order: named roles, then `reserved` placeholders. */
export function specialTokenList(reserved = DEFAULT_RESERVED): string[] {
  if (!Number.isInteger(reserved) || reserved < 0) throw new Error(`reserved special count must be an integer >= 0, got ${reserved}`);
  return [...Object.values(SPECIAL_TOKENS), ...Array.from({ length: reserved }, (_, i) => reservedToken(i))];
}

/** Ids of the named specials, resolved against a token -> id lookup. */
export type SpecialIds = Record<SpecialRole, number>;
