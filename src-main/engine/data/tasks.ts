// Training sequences for the unified LM from an imagefolder and its cached image codes: captioning,
// questions (category, colour, balanced yes/no), text-to-image (with caption dropout for
// classifier-free guidance) and in-context image decompression, as multi-turn chats rendered by the
// chat template (TextTokenizer.encodeChat), then laid out as model feeds (see models/unicode.ts):
// aggregated image positions between <img> and </img>, next-token labels, depth-head rows.
// Deterministic: a batch is a pure function of (seed, cursor), so resuming reproduces the stream.
import type { Tensor } from '../graph/graph.ts';
import type { UnifiedConfig } from '../models/unicode.ts';
import type { ChatMessage, ContentPart } from '../text/chat.ts';
import type { TextTokenizer } from '../text/tokenizer.ts';
import { Rng } from '../util/rng.ts';
import type { MetadataRow } from './imagefolder.ts';

/** How an image sits in a sequence: aggregated positions (depth-head targets) or unfolded single codes. */
export type ImageForm = 'aggregate' | 'unfolded';
export interface ImageSpec {
  /** (P, D) LM token ids of one image. */
  codes: Int32Array;
  form: ImageForm;
  /** Aggregated positions shown, from the first (default all): the rest are read as blanks (zero
   *  vectors, never loss targets), so 1 shows a dual tokenizer's semantic position alone. */
  visible?: number;
}

/** One LM position: 1 id (text, unfolded code), D ids (aggregated image position) or none (a blank: a zero vector). */
interface Position {
  ids: ArrayLike<number>;
  loss: number;
  /** Predicted by the depth head (an aggregated image position) rather than the main head. */
  depth: boolean;
  /** An image code (aggregated or unfolded), not text. */
  code: boolean;
  /** The first aggregated position of an image, right after <img>: what the semantic read reads (models/unicode.ts). */
  semantic?: boolean;
}

export interface LaidOut {
  positions: Position[];
}

export type TaskKind = 'caption' | 'question' | 't2i' | 'decompress';

export interface Example {
  kind: TaskKind;
  messages: ChatMessage[];
  images: ImageSpec[];
  /** The reference answer (eval). */
  answer?: string;
}

/**
 * Lay a chat out as positions: encodeChat's ids with each `<img></img>` pair filled with its image.
 * Loss weights: `answerOnly` uses the assistant mask (Stage II), otherwise every token counts (Stage I).
 */
export function layoutChat(tok: TextTokenizer, c: UnifiedConfig, ex: { messages: ChatMessage[]; images: ImageSpec[] }, answerOnly: boolean, opts: { imageWeight?: number; generationPrompt?: boolean } = {}): LaidOut {
  const { ids, assistantMask } = tok.encodeChat(ex.messages, { addGenerationPrompt: opts.generationPrompt ?? false });
  const [s, e] = [tok.specials.imgStart, tok.specials.imgEnd];
  const P = c.image_positions, D = c.image_depth;
  const iw = opts.imageWeight ?? 1;
  const out: Position[] = [];
  let img = 0;
  for (let i = 0; i < ids.length; i++) {
    const w = answerOnly ? assistantMask[i] : 1;
    out.push({ ids: [ids[i]], loss: w, depth: false, code: false });
    if (ids[i] === s && ids[i + 1] === e) {
      const spec = ex.images[img++];
      if (!spec) throw new Error(`layoutChat: the chat has more image parts than the ${ex.images.length} images given`);
      if (spec.codes.length !== P * D) throw new Error(`layoutChat: image ${img - 1} has ${spec.codes.length} codes, the model needs ${P}×${D}`);
      const wImg = (answerOnly ? assistantMask[i + 1] : 1) * iw; // the image belongs to the turn of its </img>
      const shown = spec.visible ?? P;
      if (shown < P && (spec.form !== 'aggregate' || shown < 1)) throw new Error(`layoutChat: image ${img - 1}: only aggregated images can hide positions, and not the first (visible ${shown})`);
      if (spec.form === 'aggregate') for (let p = 0; p < P; p++) {
        out.push(p < shown ? { ids: spec.codes.subarray(p * D, (p + 1) * D), loss: wImg, depth: true, code: true, ...(p === 0 ? { semantic: true } : {}) } : { ids: [], loss: 0, depth: false, code: true });
      }
      else for (let k = 0; k < P * D; k++) out.push({ ids: [spec.codes[k]], loss: wImg, depth: false, code: true });
    }
  }
  if (img !== ex.images.length) throw new Error(`layoutChat: ${ex.images.length} images given, the chat has ${img} image parts`);
  return { positions: out };
}

/** Batch laid-out sequences into the feeds of models/unicode.ts `declareBatchInputs`, right-padded. */
export function collate(c: UnifiedConfig, seqs: LaidOut[], padId: number, multiple = 16): Record<string, Tensor> {
  const D = c.image_depth;
  const longest = Math.max(...seqs.map((q) => q.positions.length));
  if (longest > c.max_position_embeddings) throw new Error(`collate: a sequence has ${longest} positions, max_position_embeddings is ${c.max_position_embeddings}`);
  const T = Math.min(c.max_position_embeddings, Math.ceil(longest / multiple) * multiple);
  const B = seqs.length;
  const ids = new BigInt64Array(B * T * D).fill(BigInt(padId)); // (B, T, D)
  const idW = new Float32Array(B * T * D); // (B, T, D)
  const labels = new BigInt64Array(B * T).fill(-100n); // (B, T)
  const labelW = new Float32Array(B * T);
  const isCode = new Float32Array(B * T);
  const semantic = new Float32Array(B * T);
  const src: number[] = [], dcodes: number[] = [], dw: number[] = [];
  seqs.forEach((q, b) => {
    const ps = q.positions;
    for (let t = 0; t < ps.length; t++) {
      const p = ps[t];
      if (p.semantic) semantic[b * T + t] = 1;
      if (p.ids.length === 0) {
        // a blank: every slot weighted 0, so the position's input is a zero vector
      } else if (p.ids.length === 1) {
        ids[(b * T + t) * D] = BigInt(p.ids[0]);
        idW[(b * T + t) * D] = 1;
      } else for (let d = 0; d < D; d++) [ids[(b * T + t) * D + d], idW[(b * T + t) * D + d]] = [BigInt(p.ids[d]), 1];
      const next = ps[t + 1];
      if (!next || next.loss === 0) continue;
      if (next.depth) {
        src.push(b * T + t);
        for (let d = 0; d < D; d++) [dcodes[dcodes.length], dw[dw.length]] = [next.ids[d], next.loss];
      } else [labels[b * T + t], labelW[b * T + t], isCode[b * T + t]] = [BigInt(next.ids[0]), next.loss, next.code ? 1 : 0];
    }
    for (let t = ps.length; t < T; t++) idW[(b * T + t) * D] = 1; // padding reads <|pad|>, after every real token
  });
  const lsrc: number[] = [];
  for (let i = 0; i < B * T; i++) if (labels[i] !== -100n && labelW[i] > 0) lsrc.push(i);
  if (lsrc.length === 0) lsrc.push(0); // keeps the graph's shapes non-empty; position 0 has weight 0
  if (src.length === 0) {
    // no depth-head target in this batch: one zero-weight row keeps the graph's shapes non-empty
    src.push(0);
    for (let d = 0; d < D; d++) [dcodes[d], dw[d]] = [c.image_token_offset, 0];
  }
  const N = src.length;
  return {
    input_ids: { dtype: 'int64', shape: [B, T, D], data: ids },
    input_weights: { dtype: 'float32', shape: [B, T, D], data: idW },
    position_ids: { dtype: 'int64', shape: [T], data: BigInt64Array.from({ length: T }, (_, t) => BigInt(t)) },
    labels: { dtype: 'int64', shape: [B, T], data: labels },
    label_weights: { dtype: 'float32', shape: [B, T], data: labelW },
    label_is_code: { dtype: 'float32', shape: [B, T], data: isCode },
    label_src: { dtype: 'int64', shape: [lsrc.length], data: BigInt64Array.from(lsrc, BigInt) },
    depth_src: { dtype: 'int64', shape: [N], data: BigInt64Array.from(src, BigInt) },
    depth_codes: { dtype: 'int64', shape: [N, D], data: BigInt64Array.from(dcodes, BigInt) },
    depth_weights: { dtype: 'float32', shape: [N, D], data: Float32Array.from(dw) },
    ...((c.semantic_read_dim ?? 0) > 0 ? { semantic_mask: { dtype: 'float32', shape: [B, T], data: semantic } as Tensor } : {}),
  };
}

// ---- the tasks ----

export const CAPTION_PROMPTS = ['What is this?', 'Describe the image.', 'What does this emoji show?', 'Caption this image.'];
export const CATEGORY_PROMPT = 'What category is this?';
const COLOUR_PROMPT = 'What colour is it?';
export const DECOMPRESS_PROMPT = 'Decompress the image.';
const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'brown', 'black', 'white', 'pink', 'grey', 'gray', 'gold', 'silver'];
/** A yes/no question per category (emoji's top-level groups); unknown categories get a generic one. */
const CATEGORY_QUESTION: Record<string, string> = {
  'Smileys & Emotion': 'Is this a smiley?', 'People & Body': 'Is this a person or a body part?', 'Animals & Nature': 'Is this an animal or a plant?',
  'Food & Drink': 'Is this food or drink?', 'Travel & Places': 'Is this a place or a vehicle?', Activities: 'Is this an activity?',
  Objects: 'Is this an object?', Symbols: 'Is this a symbol?', Flags: 'Is this a flag?', Component: 'Is this a component?',
};
export const categoryQuestion = (cat: string) => CATEGORY_QUESTION[cat] ?? `Is this in the category ${cat}?`;

const article = (label: string) => (/^[aeiou]/i.test(label) ? 'an' : 'a');
export const T2I_TEMPLATES = [(l: string) => `Draw ${article(l)} ${l}.`, (l: string) => `Draw ${l}.`, (l: string) => `Make an image of ${article(l)} ${l}.`, (l: string) => `Show me ${article(l)} ${l}.`, (l: string) => l];

/** The one colour a row names (label first, then tags), or null when none or several. */
export function colourOf(row: MetadataRow): string | null {
  const words = (s: string) => s.toLowerCase().split(/[^a-z]+/);
  for (const source of [words(row.text), (row.tags ?? []).flatMap(words)]) {
    const found = [...new Set(source.filter((w) => COLOURS.includes(w)).map((w) => (w === 'gray' ? 'grey' : w)))];
    if (found.length === 1) return found[0];
    if (found.length > 1) return null;
  }
  return null;
}

const text = (t: string): ContentPart => ({ type: 'text', text: t });
const image: ContentPart = { type: 'image' };

export interface TaskOptions {
  stage: 'stage1' | 'stage2';
  /** Probability that a text-to-image prompt is emptied (classifier-free guidance). */
  cfgDropout: number;
  /** Form of images the model writes: 'aggregate' with the depth head, 'unfolded' otherwise. */
  outputForm: ImageForm;
  /** Probability that a caption or question example shows its image by the semantic position alone
   *  (the pixel positions blank), so the LM learns to name what the semantic codes say (needs a dual tokenizer). */
  semanticOnly?: number;
}

const distinctCache = new WeakMap<MetadataRow[], { cats: string[]; labels: string[] }>();
function distinct(rows: MetadataRow[]) {
  let d = distinctCache.get(rows);
  if (!d) distinctCache.set(rows, (d = { cats: [...new Set(rows.map((x) => x.category).filter((x): x is string => !!x))], labels: [...new Set(rows.map((x) => x.text))] }));
  return d;
}

/**
 * The codes of row i's image, as the model reads it ('read': an example may show a jittered copy,
 * data augmentation) or as it must draw it ('draw': the image itself, never a jittered copy).
 */
export type CodesOf = (i: number, use: 'read' | 'draw') => Int32Array;

/** One example about row i, its kind chosen by the caller. Images are the row's codes. */
export function makeExample(kind: TaskKind, i: number, rows: MetadataRow[], codesOf: CodesOf, o: TaskOptions, rng: Rng): Example {
  const row = rows[i];
  const pick = <T>(xs: T[]) => xs[rng.int(xs.length)];
  if (kind === 't2i') {
    const prompt = rng.uniform() < o.cfgDropout ? '' : pick(T2I_TEMPLATES)(row.text);
    return { kind, messages: [{ role: 'user', content: prompt }, { role: 'assistant', content: [image] }], images: [{ codes: codesOf(i, 'draw'), form: o.outputForm }] };
  }
  // every other task reads the (possibly jittered) copy; decompression copies it, so both its sides are that copy
  const codes = codesOf(i, 'read');
  if (kind === 'decompress') {
    const other: ImageForm = o.outputForm === 'aggregate' ? 'unfolded' : 'aggregate';
    return {
      kind, messages: [{ role: 'user', content: [image, text(DECOMPRESS_PROMPT)] }, { role: 'assistant', content: [image] }],
      images: [{ codes, form: 'aggregate' }, { codes, form: other }],
    };
  }
  // caption / question: a conversation about one image; the first turn is the asked kind, then 0–2 more
  const turns: [string, string][] = [];
  const qa = (k: 'caption' | 'question'): [string, string] => {
    if (k === 'caption') return [pick(CAPTION_PROMPTS), row.text];
    const colour = colourOf(row);
    const r = rng.int(colour ? 4 : 3); // 0 category, 1 yes/no category, 2 yes/no label, 3 colour
    if (r === 0 && row.category) return [CATEGORY_PROMPT, row.category];
    if (r === 3 && colour) return [COLOUR_PROMPT, colour];
    const { cats, labels } = distinct(rows);
    const yes = rng.uniform() < 0.5;
    if (r === 1 && row.category && cats.length >= 2) {
      // "Is this an animal or a plant?" about its own category or another one, half each
      const cat = yes ? row.category : pick(cats.filter((x) => x !== row.category));
      return [categoryQuestion(cat), yes ? 'Yes.' : 'No.'];
    }
    // "Is this a red apple?": its own label or another emoji's, half each
    const others = yes ? [] : labels.filter((t) => t !== row.text);
    const label = yes || others.length === 0 ? row.text : pick(others);
    return [`Is this ${article(label)} ${label}?`, label === row.text ? 'Yes.' : 'No.'];
  };
  turns.push(qa(kind));
  const more = o.stage === 'stage2' ? rng.int(3) : 0;
  for (let k = 0; k < more; k++) turns.push(qa(rng.uniform() < 0.3 ? 'caption' : 'question'));
  const messages: ChatMessage[] = [];
  turns.forEach(([q, a], k) => {
    messages.push({ role: 'user', content: k === 0 ? [image, text(q)] : q });
    messages.push({ role: 'assistant', content: a });
  });
  // drawn only when asked for, so streams without it stay as they were
  const semanticOnly = (o.semanticOnly ?? 0) > 0 && rng.uniform() < o.semanticOnly!;
  return { kind, messages, images: [{ codes, form: 'aggregate', ...(semanticOnly ? { visible: 1 } : {}) }], answer: turns[0][1] };
}

/** Task mix per stage (probabilities). Stage I: decompression and captions (both directions). */
export const MIX: Record<TaskOptions['stage'], Partial<Record<TaskKind, number>>> = {
  stage1: { decompress: 0.3, caption: 0.35, t2i: 0.35 },
  stage2: { caption: 0.25, question: 0.3, t2i: 0.35, decompress: 0.1 },
};

export interface DataCursor {
  epoch: number;
  index: number;
}

/**
 * An endless, resumable stream of batches over `rows`: a seeded permutation per epoch, one example
 * per row visit. Decompression sequences are ~4× longer, so each batch is either all
 * decompression or none (chosen by the batch's own seed), which keeps padding small.
 */
export class TaskStream {
  cursor: DataCursor = { epoch: 0, index: 0 };
  private perm: Int32Array | null = null;
  private permEpoch = -1;

  constructor(
    private readonly rows: MetadataRow[],
    private readonly codesOf: CodesOf,
    private readonly opts: TaskOptions & { seed: number; mix?: Partial<Record<TaskKind, number>> },
  ) {
    if (rows.length === 0) throw new Error('TaskStream: no rows');
  }

  private order(epoch: number): Int32Array {
    if (this.permEpoch !== epoch) {
      this.perm = new Rng((this.opts.seed * 1000003 + epoch) >>> 0).shuffle(Int32Array.from({ length: this.rows.length }, (_, i) => i)) as Int32Array;
      this.permEpoch = epoch;
    }
    return this.perm!;
  }

  /** The next batch of `size` examples; advances the cursor. */
  nextBatch(size: number): Example[] {
    const mix = this.opts.mix ?? MIX[this.opts.stage];
    const batchRng = new Rng(hash3(this.opts.seed, this.cursor.epoch, this.cursor.index));
    const decomp = mix.decompress ?? 0;
    const long = batchRng.uniform() < decomp;
    const kinds = (Object.entries(mix) as [TaskKind, number][]).filter(([k, p]) => k !== 'decompress' && p > 0);
    const totalShort = kinds.reduce((a, [, p]) => a + p, 0);
    const out: Example[] = [];
    for (let j = 0; j < size; j++) {
      const { epoch, index } = this.cursor;
      const row = this.order(epoch)[index];
      const rng = new Rng(hash3(this.opts.seed ^ 0x7a5c, epoch, index));
      let kind: TaskKind = 'decompress';
      if (!long) {
        let u = rng.uniform() * totalShort;
        kind = kinds[kinds.length - 1][0];
        for (const [k, p] of kinds) if ((u -= p) < 0) { kind = k; break; }
      }
      out.push(makeExample(kind, row, this.rows, this.codesOf, this.opts, rng));
      this.cursor = index + 1 >= this.rows.length ? { epoch: epoch + 1, index: 0 } : { epoch, index: index + 1 };
    }
    return out;
  }
}

function hash3(a: number, b: number, c: number): number {
  let h = 0x811c9dc5;
  for (const x of [a, b, c]) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h;
}
