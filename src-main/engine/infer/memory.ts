// Example memory: answers helped by the labelled examples nearest to the image (kNN-LM, Khandelwal
// et al. 2020, with the image as the key). A model folder may hold `memory/`: example images as unit
// features of an image encoder (a semantic encoder's feature half, models/semantic.ts) and their
// answers to the questions the memory knows ("What is this?" → the label, "What category is this?" →
// the category). When a conversation asks one of those questions about one image, its k nearest
// examples by cosine similarity, weighted softmax(s / τ), spread a next-token distribution over the
// tokens their answers write after the text so far; each token is chosen from
// λ·p_memory + (1 − λ)·p_LM. Where no neighbour's answer continues the text, the LM alone decides, so
// the model can still answer what no example says.
//
//   memory/memory.json           format, encoder config, k, tau, lambda, questions → field, each
//                                field's answer per entry, source (data folder, split, rows)
//   memory/features.safetensors  'features' F16 (entries, embed_dim), unit rows; with a variant prior
//                                also 'variant_weight' F32 (classes, bins³) and 'variant_bias' F32 (classes);
//                                with drawing, 'codes' I16 (entries, positions·depth): each example's
//                                LM ids as the model's image tokenizer writes them
//   memory/encoder.onnx          pixels (B, 3, S, S) in [0, 1] → features (B, embed_dim), weights baked
//
// The encoder may be an ensemble of several semantic encoders (model_type 'tessera-semantic-ensemble',
// their configs under `members`; infer/memory-build.ts): each member's unit features, concatenated
// and scaled by 1/√n, so a feature is still a unit vector and a dot product is the members' mean
// cosine similarity.
//
// Where the labels name colour variants of a base ("waving hand: medium skin tone"), the memory
// also holds a colour prior over them (infer/variant-prior.ts, memory.json 'variants'): the
// neighbours of a label question are weighted by what the image's colours say of their variants.
//
// Drawing by example (retrieval-augmented generation, as Re-Imagen, Chen et al. 2022, retrieves
// image-text pairs for its generator): when a drawing prompt names a label the memory holds examples
// of, the LM reads one of them and writes it out again through the decompression task it trained on
// (infer/unified.ts). memory.json 'drawing' says which image tokenizer wrote the codes (a digest of
// its files); a model whose tokenizer differs draws without them.
//
// Memories are built from an imagefolder split (`tessera memory build`, infer/memory-build.ts);
// `eval lm` never measures a memory on the rows it was built from (the figures would be leaked),
// wherever the data lies.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CAPTION_PROMPTS } from '../data/tasks.ts';
import type { Tensor } from '../graph/graph.ts';
import { floatArray } from '../io/half.ts';
import { readSafetensors, type SafeTensor } from '../io/safetensors.ts';
import { Session } from '../runtime/session.ts';
import { parseConfigWith } from '../train/recipe.ts';
import { VariantPrior, VariantPriorSchema, type VariantPriorConfig } from './variant-prior.ts';

export const MEMORY_DIR = 'memory';

/** How the memory's neighbours mix into an answer. */
export interface MemoryMix {
  /** Neighbours consulted. */
  k: number;
  /** Softmax temperature over their cosine similarities. */
  tau: number;
  /** Weight of the memory's distribution against the LM's (0 = the LM alone, 1 = the memory wherever it has an answer). */
  lambda: number;
}

/** The variant prior's α when a build does not say (README "Example memory"). */
export const VARIANT_ALPHA = 1;

/** k 10 and τ 0.05 from the held-out probe of README "Example memory"; λ 0.5 weighs both alike. */
export const MEMORY_DEFAULTS: MemoryMix = { k: 10, tau: 0.05, lambda: 0.5 };

export const MixSchema = z.object({ k: z.int().min(1).max(1000), tau: z.number().positive().max(10), lambda: z.number().min(0).max(1) });
const Fingerprint = z.string().regex(/^[0-9a-f]{64}$/);
const MemoryFileSchema = z.object({
  format: z.literal('tessera-memory/1'),
  encoder: z.looseObject({ model_type: z.enum(['tessera-semantic', 'tessera-semantic-ensemble']), image_size: z.int().min(1), embed_dim: z.int().min(1) }),
  entries: z.int().min(1),
  ...MixSchema.shape,
  /** Question (as asked, compared without case and extra spaces) → the field that answers it. */
  questions: z.record(z.string().min(1), z.string().min(1)),
  /** Field → its answer for each entry ('' = this entry has none). */
  answers: z.record(z.string().min(1), z.array(z.string())),
  /** Where the examples came from: the data folder as given, its split (several joined by commas),
   *  and a fingerprint of those rows (sha256 over the split's name and its rows' file names and
   *  labels) that says whether a split is this one wherever the data lies. A memory of several
   *  splits lists each as a part, with its own fingerprint. */
  source: z.object({
    data: z.string(), split: z.string(), rows: z.int().min(0), fingerprint: Fingerprint,
    parts: z.array(z.object({ split: z.string().min(1), rows: z.int().min(0), fingerprint: Fingerprint }).strict()).optional(),
  }).strict(),
  /** The colour prior over the labels' variants (infer/variant-prior.ts); absent: none. */
  variants: VariantPriorSchema.optional(),
  /** The examples' image codes for drawing by example ('codes' in features.safetensors): LM positions
   *  and codes per position, and the digest of the image tokenizer that wrote them
   *  (imageTokenizerDigest); absent: the memory does not draw. */
  drawing: z.object({ positions: z.int().min(1), depth: z.int().min(1), image_tokenizer: Fingerprint }).strict().optional(),
  built_at: z.string().optional(),
}).strict();
export type MemoryFile = z.infer<typeof MemoryFileSchema>;

export const normaliseQuestion = (q: string) => q.trim().replace(/\s+/g, ' ').toLowerCase();

export interface Neighbour {
  entry: number;
  similarity: number;
  /** softmax(similarity / τ) over the k neighbours. */
  weight: number;
}

interface Runner {
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/** Unit features (n, E) of n images (n, 3, S, S) through a feature encoder, 256 at a time. */
export async function embedImages(encoder: Runner, c: { image_size: number; embed_dim: number }, images: Float32Array, n: number, onBatch?: (k: number) => void): Promise<Float32Array> {
  const S = c.image_size, per = 3 * S * S, feats = new Float32Array(n * c.embed_dim);
  for (let i = 0; i < n; i += 256) {
    const k = Math.min(256, n - i);
    const r = await encoder.run({ pixels: { dtype: 'float32', shape: [k, 3, S, S], data: images.subarray(i * per, (i + k) * per) } });
    feats.set(r.features.data as Float32Array, i * c.embed_dim);
    onBatch?.(k);
  }
  return feats;
}

export class ExampleMemory {
  private constructor(
    readonly dir: string,
    readonly file: MemoryFile,
    /** (entries, embed_dim), unit rows. */
    readonly features: Float32Array,
    private encoder: Runner,
    /** The colour prior over the labels' variants, when the memory has one. */
    readonly variants: VariantPrior | null = null,
    /** (entries, positions·depth) LM ids of each example's image, when the memory draws. */
    private readonly codes: Int16Array | null = null,
  ) {
    this.entryClass = variants ? Int32Array.from(file.answers[variants.config.field], (a) => variants.classOf(a)) : new Int32Array(0);
  }

  /** Each entry's variant class under `variants` (−1: none); empty without a prior. */
  private readonly entryClass: Int32Array;

  get entries(): number {
    return this.file.entries;
  }
  get imageSize(): number {
    return this.file.encoder.image_size;
  }
  get mix(): MemoryMix {
    return { k: this.file.k, tau: this.file.tau, lambda: this.file.lambda };
  }

  /** Read and check a memory folder; `open` makes the encoder's session (the model's runtime). */
  static async load(dir: string, open: (bytes: Uint8Array) => Promise<Runner> = (b) => Session.create(b)): Promise<ExampleMemory> {
    const file = await readMemoryFile(dir);
    const fFile = join(dir, 'features.safetensors');
    const st = await readSafetensors(fFile); // its errors name the file
    const features = checkedTensor(st.tensors, 'features', 'F16', [file.entries, file.encoder.embed_dim], fFile, 'memory.json');
    const variants = file.variants ? readVariantPrior(file.variants, st.tensors, fFile) : null;
    const d = file.drawing;
    const codes = d ? (checkedTensor(st.tensors, 'codes', 'I16', [file.entries, d.positions * d.depth], fFile, "memory.json's drawing") as Int16Array) : null;
    const encoder = await open(await readEncoderOnnx(dir));
    return new ExampleMemory(dir, file, floatArray(features as Uint16Array), encoder, variants, codes);
  }

  /** Each label, lower case with single spaces (as drawing prompts are compared), with its entries; built on first use. */
  private labelIndex: Map<string, { label: string; entries: number[] }> | null = null;

  /**
   * The label a drawing prompt names that the memory holds examples of, with those entries: the
   * longest label found in the prompt as whole words, ignoring case ("Draw a red apple." names "red
   * apple" rather than "apple"). Null when the memory does not draw or the prompt names none.
   */
  examplesNamed(prompt: string): { label: string; entries: number[] } | null {
    const field = this.fieldFor(CAPTION_PROMPTS[0]);
    if (!this.codes || !field) return null;
    if (!this.labelIndex) {
      this.labelIndex = new Map();
      this.file.answers[field].forEach((a, e) => {
        const key = normaliseQuestion(a);
        if (key) (this.labelIndex!.get(key) ?? this.labelIndex!.set(key, { label: a.trim(), entries: [] }).get(key)!).entries.push(e);
      });
    }
    const text = normaliseQuestion(prompt), word = /[\p{L}\p{N}]/u;
    let best: { label: string; entries: number[] } | null = null, bestLen = 0;
    for (const [key, v] of this.labelIndex) {
      if (key.length <= bestLen) continue;
      for (let at = text.indexOf(key); at >= 0; at = text.indexOf(key, at + 1)) {
        if ((at > 0 && word.test(text[at - 1])) || (at + key.length < text.length && word.test(text[at + key.length]))) continue;
        [best, bestLen] = [v, key.length];
        break;
      }
    }
    return best;
  }

  /** LM ids (positions·depth) of entry `entry`'s image. */
  exampleCodes(entry: number): Int32Array {
    if (!this.codes || !this.file.drawing) throw new Error(`${this.dir}: the memory holds no image codes (rebuild it with the model: tessera memory build)`);
    const per = this.file.drawing.positions * this.file.drawing.depth;
    return Int32Array.from(this.codes.subarray(entry * per, (entry + 1) * per));
  }

  /** The field answering `question`, or null when the memory does not know that question. */
  fieldFor(question: string): string | null {
    const q = normaliseQuestion(question);
    for (const [asked, field] of Object.entries(this.file.questions)) if (normaliseQuestion(asked) === q) return field;
    return null;
  }

  /** Unit features of n images (N, 3, S, S) at the memory's image size. */
  async embed(pixels: Float32Array, n: number): Promise<Float32Array> {
    return embedImages(this.encoder, this.file.encoder, pixels, n);
  }

  /** The k entries nearest to feature `f` (cosine), most similar first, with their softmax weights. */
  neighbours(f: ArrayLike<number>, mix: Pick<MemoryMix, 'k' | 'tau'> = this.mix, exclude?: (entry: number) => boolean): Neighbour[] {
    return nearest(this.features, this.file.encoder.embed_dim, f, mix, exclude);
  }

  /**
   * The neighbours of a question answered by `field`, weighted by the variant prior when it reads
   * that field: each neighbour's weight × its variant's factor for the image `pixels` (3, S, S) at
   * the memory's image size, normalised again. Unchanged without a prior or for other fields.
   */
  weigh(neighbours: readonly Neighbour[], field: string, pixels: ArrayLike<number>): Neighbour[] {
    const v = this.variants, cls = this.entryClass;
    if (!v || v.config.field !== field || neighbours.length === 0) return [...neighbours];
    const f = v.factors(pixels);
    const w = neighbours.map((nb) => nb.weight * (cls[nb.entry] >= 0 ? f[cls[nb.entry]] : 1));
    const z = w.reduce((a, b) => a + b, 0);
    if (!(z > 0) || !Number.isFinite(z)) return [...neighbours];
    return neighbours.map((nb, i) => ({ ...nb, weight: w[i] / z }));
  }

  /** The answer of entry `entry` for `field` ('' when it has none). */
  answer(field: string, entry: number): string {
    return this.file.answers[field]?.[entry] ?? '';
  }

  async release(): Promise<void> {
    await this.encoder.release();
  }
}

/** A memory folder's encoder.onnx bytes. */
export async function readEncoderOnnx(dir: string): Promise<Uint8Array> {
  const file = join(dir, 'encoder.onnx');
  if (!existsSync(file)) throw new Error(`${file}: missing`);
  return new Uint8Array(await readFile(file));
}

/** A memory folder's memory.json, checked (errors name the file and the field). */
export async function readMemoryFile(dir: string): Promise<MemoryFile> {
  const jsonFile = join(dir, 'memory.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(jsonFile, 'utf8'));
  } catch (err) {
    throw new Error(`${jsonFile}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `not readable JSON (${(err as Error).message})`}`);
  }
  const file = parseConfigWith(MemoryFileSchema, raw, jsonFile);
  for (const [q, field] of Object.entries(file.questions))
    if (!file.answers[field]) throw new Error(`${jsonFile}: field 'questions': '${q}' is answered by '${field}', which 'answers' does not hold`);
  for (const [field, list] of Object.entries(file.answers))
    if (list.length !== file.entries) throw new Error(`${jsonFile}: field 'answers.${field}' has ${list.length} answers for ${file.entries} entries`);
  if (file.variants && !file.answers[file.variants.field]) throw new Error(`${jsonFile}: field 'variants.field': 'answers' holds no field '${file.variants.field}'`);
  if (file.variants && file.variants.size !== file.encoder.image_size) throw new Error(`${jsonFile}: field 'variants.size' is ${file.variants.size}, the encoder reads ${file.encoder.image_size}`);
  return file;
}

/** Tensor `name` of a memory's features file, of the dtype and shape `who` needs (errors name the file and tensor). */
function checkedTensor(tensors: ReadonlyMap<string, SafeTensor>, name: string, dtype: SafeTensor['dtype'], shape: number[], file: string, who: string): SafeTensor['data'] {
  const t = tensors.get(name);
  if (!t) throw new Error(`${file}: tensor '${name}' is missing (${who} needs ${dtype}[${shape}])`);
  if (t.dtype !== dtype || t.shape.join() !== shape.join()) throw new Error(`${file}: tensor '${name}' is ${t.dtype}[${t.shape}], ${who} needs ${dtype}[${shape}]`);
  return t.data;
}

/** The variant prior of memory.json's `variants` with its tensors from features.safetensors. */
function readVariantPrior(config: VariantPriorConfig, tensors: ReadonlyMap<string, SafeTensor>, file: string): VariantPrior {
  const C = config.classes.length, who = "memory.json's variant prior";
  const weight = checkedTensor(tensors, 'variant_weight', 'F32', [C, config.bins ** 3], file, who);
  return new VariantPrior(config, weight as Float32Array, checkedTensor(tensors, 'variant_bias', 'F32', [C], file, who) as Float32Array);
}

/** The k rows of `features` (N, E) nearest to `f` by dot product, with softmax(s / τ) weights. */
export function nearest(features: Float32Array, E: number, f: ArrayLike<number>, mix: Pick<MemoryMix, 'k' | 'tau'>, exclude?: (entry: number) => boolean): Neighbour[] {
  if (f.length !== E) throw new Error(`memory: a query feature has ${f.length} values, the memory's have ${E}`);
  const N = features.length / E;
  const top: { entry: number; similarity: number }[] = [];
  for (let j = 0; j < N; j++) {
    if (exclude?.(j)) continue;
    let s = 0;
    for (let e = 0, o = j * E; e < E; e++) s += features[o + e] * f[e];
    if (top.length < mix.k || s > top[top.length - 1].similarity) {
      let at = top.length < mix.k ? top.length : top.length - 1;
      while (at > 0 && top[at - 1].similarity < s) at--;
      top.splice(at, 0, { entry: j, similarity: s });
      if (top.length > mix.k) top.pop();
    }
  }
  if (top.length === 0) return [];
  const w = top.map((t) => Math.exp((t.similarity - top[0].similarity) / mix.tau));
  const z = w.reduce((a, b) => a + b, 0);
  return top.map((t, i) => ({ ...t, weight: w[i] / z }));
}

/**
 * The memory's next-token distribution: among the candidate answers (token ids through the stop
 * token, each with its neighbour weight) that continue `prefix` and have a token after it, the
 * weight each next token gets, normalised. Null when none continues the prefix.
 */
export function memoryNextToken(cands: readonly { ids: readonly number[]; weight: number }[], prefix: readonly number[]): Map<number, number> | null {
  const p = new Map<number, number>();
  let z = 0;
  for (const c of cands) {
    if (c.ids.length <= prefix.length || prefix.some((id, i) => c.ids[i] !== id)) continue;
    const t = c.ids[prefix.length];
    p.set(t, (p.get(t) ?? 0) + c.weight);
    z += c.weight;
  }
  if (z === 0) return null;
  for (const [t, w] of p) p.set(t, w / z);
  return p;
}

/** log(λ·p_memory + (1 − λ)·p_LM) from the LM's log-probabilities (normalised over the vocabulary). */
export function mixMemory(lmLogProbs: ArrayLike<number>, pMemory: ReadonlyMap<number, number>, lambda: number): Float64Array {
  const out = new Float64Array(lmLogProbs.length);
  const keep = Math.log1p(-lambda); // −Infinity at λ = 1
  for (let i = 0; i < out.length; i++) out[i] = lmLogProbs[i] + keep;
  for (const [t, p] of pMemory) {
    const a = Math.log(lambda * p), b = out[t];
    out[t] = a === -Infinity ? b : b === -Infinity ? a : Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
  }
  return out;
}

/** The examples' distinct answers with their summed weights, the `top` largest first. */
export function exampleShares(examples: readonly { answer: string; weight: number }[], top = 3): { answer: string; share: number }[] {
  const share = new Map<string, number>();
  for (const x of examples) share.set(x.answer, (share.get(x.answer) ?? 0) + x.weight);
  return [...share].sort((a, b) => b[1] - a[1]).slice(0, top).map(([answer, w]) => ({ answer, share: Math.min(1, w) }));
}

/** "waving hand 62%, raised hand 20%": exampleShares as a line. */
export const describeExamples = (examples: readonly { answer: string; weight: number }[], top = 3): string =>
  exampleShares(examples, top).map((x) => `${x.answer} ${(x.share * 100).toFixed(0)}%`).join(', ');

/** "by example: the LM rewrote example 2 of 3 of 'red apple' in its memory": a drawing's 'example' event as a line. */
export const describeDrawnFrom = (e: { label: string; example: number; of: number }): string =>
  `by example: the LM rewrote example ${e.example} of ${e.of} of '${e.label}' in its memory`;

/** sha256 over a split's name and its rows' file names and labels, in order. */
export function rowsFingerprint(split: string, rows: readonly { file_name: string; text: string }[]): string {
  const h = createHash('sha256').update(`${split}\n`);
  for (const r of rows) h.update(`${r.file_name}\t${r.text}\n`);
  return h.digest('hex');
}

/** Whether `memory` was built from exactly this split's rows, alone or as one of its parts (answers
 *  about them would be leaked). */
export function builtFrom(memory: ExampleMemory, split: string, rows: readonly { file_name: string; text: string }[]): boolean {
  const f = rowsFingerprint(split, rows), src = memory.file.source;
  return src.fingerprint === f || (src.parts ?? []).some((p) => p.fingerprint === f);
}
