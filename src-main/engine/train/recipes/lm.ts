// The unified LM recipe (kind 'lm', UniCode's two stages on the LM side):
//   stage1: decompression + captions in both directions, every token weighted;
//   stage2: instruction tuning on all tasks (data/tasks.ts), loss on answer tokens only.
// The image tokenizer is frozen here: every image of the data folder is encoded once into a codes
// cache keyed by the tokenizer's files and the split (never per step). At each checkpoint the LM's
// embedding table is also written to outDir/lm-embeddings.safetensors (key model.embed_tokens.weight)
// for the tokenizer recipe's one-way pull. Checkpoints hold weights, moments, RNG and the data
// cursor, so `resume` reproduces an uninterrupted run's losses. The model folder goes to outDir/model.
//
// Measurements behind the defaults (test/unified/bench-lm.ts, this 2-core machine shared with other
// jobs at load 3–15, so CPU seconds per step are the figure to trust; B = 16, 64 positions × 4 codes):
//   image head (d=128, 2 layers, text-to-image only, 40 steps, real emoji codes, held-out facebook):
//     depth head 1.59 s/step, held-out code NLL 3.270 nats; unfolded 4.31 s/step, 3.438 nats
//     → the depth head writes images; unfolded images remain the decompression task.
//   size (CPU s/step, short batches T≈132 | decompression T≈352): d=256×4 layers 1.17–1.23 | 2.90;
//     d=256×6 1.68 | 4.12; d=320×4 1.56 | 3.65 → d=256, 4 layers, GQA 4/2, SwiGLU 704: ≈ 0.7 s per
//     short step with 2 threads on an idle machine (≈ 1,700–1,900 padded tokens per CPU-second), so
//     Stage I 1,200 + Stage II 2,500 steps (recipes/lm-stage*.json) fit about an hour.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readMetadata, rowSplit, loadImageFolder, type MetadataRow } from '../../data/imagefolder.ts';
import { jitterImages } from '../../data/augment.ts';
import { collate, layoutChat, TaskStream, type TaskKind } from '../../data/tasks.ts';
import type { Tensor } from '../../graph/graph.ts';
import { MEMORY_DEFAULTS, MEMORY_DIR, VARIANT_ALPHA } from '../../infer/memory.ts';
import { buildMemory, MemoryEncoders, memorySplits, MemorySplit, readFeatureEncoder } from '../../infer/memory-build.ts';
import { saveModelFolder } from '../../infer/model-folder.ts';
import { writeFileAtomic } from '../../io/atomic.ts';
import { readSafetensors, writeSafetensors } from '../../io/safetensors.ts';
import { GrowError, grownConfig, grownParam } from '../../models/grow.ts';
import type { ImageCodec } from '../../models/image-codec.ts';
import { loadImageTokenizer } from '../../models/image-tokenizer.ts';
import { codecToLm, declareBatchInputs, imageIdRange, initUnifiedParam, parseUnifiedConfig, unifiedLoss, validateUnifiedConfig, type UnifiedConfig } from '../../models/unicode.ts';
import { fitProjection, pullCodebook } from '../../quant/pull.ts';
import { TextTokenizer } from '../../text/tokenizer.ts';
import { Rng } from '../../util/rng.ts';
import { loadLatestCheckpoint, saveCheckpoint } from '../checkpoint.ts';
import { parseConfigWith, RecipeConfigError, type Recipe, type RecipeResult, type RecipeRunOptions } from '../recipe.ts';
import { Trainer } from '../trainer.ts';
import { lmSamples } from './lm-samples.ts';

const posInt = z.int().min(1);
export const TASKS = ['caption', 'question', 't2i', 'decompress'] as const;

/** Image jitter (data/augment.ts): `variants` extra encodings of every training image, one of the 1 + variants codes picked per use. */
export const AugmentSchema = z.object({
  variants: posInt.max(16),
  shift: z.number().min(0).max(16).default(4),
  scale: z.number().min(0).max(0.5).default(0.1),
  /** degrees, either way */
  rotate: z.number().min(0).max(45).default(0),
  /** relative change of gamma, ink strength and saturation */
  color: z.number().min(0).max(0.9).default(0),
  /** largest Gaussian σ in pixels */
  blur: z.number().min(0).max(4).default(0),
});

/** The codes-cache name of jitter variant v; options at 0 leave the name as it was before they existed. */
function augmentKey(a: z.infer<typeof AugmentSchema>, v: number): string {
  const extra = a.rotate || a.color || a.blur ? `r${a.rotate}c${a.color}b${a.blur}` : '';
  return `jitter${a.shift}x${a.scale}${extra}v${v}`;
}

export const LmRecipeSchema = z.object({
  model: z.object({
    hidden_size: posInt.default(256),
    num_hidden_layers: posInt.default(4),
    num_attention_heads: posInt.default(4),
    num_key_value_heads: posInt.default(2),
    intermediate_size: posInt.default(704),
    max_position_embeddings: posInt.default(384),
    rope_theta: z.number().positive().default(10000),
    rms_norm_eps: z.number().positive().default(1e-5),
    tie_word_embeddings: z.boolean().default(true),
    image_head: z.enum(['depth', 'unfolded']).default('depth'),
    codebook_mode: z.enum(['unified', 'separate', 'frozen', 'two-way']).default('unified'),
    depth_head_layers: posInt.default(1),
    depth_head_heads: posInt.default(4),
    depth_head_intermediate_size: posInt.default(512),
  }).prefault({}),
  data: z.object({
    dir: z.string().min(1), train_split: z.string().default('train'), eval_split: z.string().default('validation'),
    augment: AugmentSchema.nullable().default(null),
  }),
  /** The image tokenizer folder (config.json + model.safetensors + encoder/decoder.onnx). */
  image_tokenizer: z.string().min(1),
  /** The folder holding tokenizer.json + tokenizer_config.json. */
  text_tokenizer: z.string().min(1),
  stage: z.enum(['stage1', 'stage2']),
  /** A model folder (e.g. stage1's outDir/model) whose weights, and architecture (its config.json), start this run. */
  init_from: z.string().nullable().default(null),
  /** With init_from: start from a larger model holding the base's function (models/grow.ts): more
   *  layers, interleaved with the base's, and/or a wider SwiGLU; new blocks add nothing until trained. */
  grow: z.object({ num_hidden_layers: posInt, intermediate_size: posInt.optional() }).nullable().default(null),
  /** Turn on the semantic read (models/unicode.ts `semantic_read_dim`): needs an image tokenizer with a
   *  `semantic/` part, whose codebooks the LM reads. A base model that reads already keeps reading. */
  semantic_read: z.boolean().default(false),
  /** Probability that a caption or question shows its image by the semantic position alone (data/tasks.ts
   *  `semanticOnly`): the LM must name images from the semantic codes. Needs a tokenizer with `semantic/`. */
  semantic_only: z.number().min(0).max(1).default(0),
  name: z.string().default('tessera-unicode'),
  /** Give the new model folder an example memory (infer/memory.ts) of data.dir's `split` (or several
   *  joined by commas: train,validation), with the
   *  features of `encoder`: a semantic encoder folder, or a model's memory/ whose encoder is reused,
   *  or several semantic encoder folders (an ensemble). */
  memory: z.object({
    encoder: MemoryEncoders,
    split: MemorySplit.default('train'),
    k: posInt.default(MEMORY_DEFAULTS.k),
    tau: z.number().positive().default(MEMORY_DEFAULTS.tau),
    lambda: z.number().min(0).max(1).default(MEMORY_DEFAULTS.lambda),
    /** α of the colour prior over the labels' variants (infer/variant-prior.ts); 0: none. */
    variant_alpha: z.number().min(0).max(10).default(VARIANT_ALPHA),
    /** Store each example's image codes so the model can draw by example (infer/memory.ts). */
    drawing: z.boolean().default(true),
  }).strict().nullable().default(null),
  train: z.object({
    steps: posInt,
    batch: posInt.default(16),
    lr: z.number().positive().default(3e-3),
    warmup_steps: z.int().min(0).default(50),
    min_lr_ratio: z.number().min(0).max(1).default(0.1),
    weight_decay: z.number().min(0).default(0.01),
    clip_norm: z.number().positive().nullable().default(1),
    seed: z.int().default(1),
    checkpoint_every: posInt.default(100),
    eval_every: z.int().min(0).default(0),
    eval_batches: posInt.default(4),
    cfg_dropout: z.number().min(0).max(1).default(0.1),
    image_weight: z.number().min(0).default(1),
    mix: z.partialRecord(z.enum(TASKS), z.number().min(0)).nullable().default(null),
    threads: posInt.optional(),
  }),
  /** two-way only: every `every` steps, E[image ids] ← λ·E + (1−λ)·C_tok·Q (Q: least squares code → LM dim). */
  two_way: z.object({ lambda: z.number().min(0).max(1).default(0.9), every: posInt.default(100) }).prefault({}),
});
export type LmRecipeConfig = z.infer<typeof LmRecipeSchema>;

export function parseLmConfig(json: unknown, source: string): LmRecipeConfig {
  return parseConfigWith(LmRecipeSchema, json, source);
}

/** The model config from the recipe's dims, the text vocabulary and the image tokenizer's geometry. */
export function unifiedConfigFor(m: LmRecipeConfig['model'], textVocab: number, codec: Pick<ImageCodec, 'positions' | 'depth' | 'firstTokenId' | 'codebookSize'>): UnifiedConfig {
  const separate = m.codebook_mode === 'separate';
  const c: UnifiedConfig = {
    model_type: 'tessera_unicode', ...m, vocab_size: separate ? textVocab + codec.codebookSize : textVocab,
    image_positions: codec.positions, image_depth: codec.depth, image_first_token_id: codec.firstTokenId, image_codebook_size: codec.codebookSize,
    image_token_offset: separate ? textVocab : codec.firstTokenId,
  };
  if (!separate && codec.firstTokenId + codec.codebookSize > textVocab)
    throw new RecipeConfigError('config', 'image_tokenizer', `codes use ids [${codec.firstTokenId}, ${codec.firstTokenId + codec.codebookSize}) but the text vocabulary has ${textVocab} ids; UniCode shares the vocabulary (train the text tokenizer to ≥ ${codec.firstTokenId + codec.codebookSize}, or use codebook_mode 'separate')`);
  validateUnifiedConfig(c, 'config (model)');
  const P = c.image_positions, need = P + (c.image_head === 'depth' ? P * c.image_depth : P) + 48;
  if (c.max_position_embeddings < need)
    throw new RecipeConfigError('config', 'model.max_position_embeddings', `${c.max_position_embeddings} is too short: a decompression example needs about ${need} positions (${P} image positions × depth ${c.image_depth})`);
  return c;
}

/** Rows of one split in metadata order (the order loadImageFolder uses). */
async function splitRows(dir: string, split: string): Promise<MetadataRow[]> {
  return (await readMetadata(dir)).map((r) => r.row).filter((r) => rowSplit(r) === split);
}

/** Hash of the tokenizer folder's files and the split's rows: the key of the codes cache. */
async function cacheKey(tokDir: string, rows: MetadataRow[]): Promise<string> {
  const h = createHash('sha256');
  const hashFiles = async (dir: string, prefix: string) => {
    for (const f of (await readdir(dir)).sort()) if ((await stat(join(dir, f))).isFile()) h.update(prefix + f).update(await readFile(join(dir, f)));
  };
  await hashFiles(tokDir, '');
  // a dual tokenizer's semantic part (a folder without one keeps its old key)
  if (await stat(join(tokDir, 'semantic')).then((s) => s.isDirectory(), () => false)) await hashFiles(join(tokDir, 'semantic'), 'semantic/');
  h.update(JSON.stringify(rows.map((r) => r.file_name)));
  return h.digest('hex').slice(0, 16);
}

/**
 * Codec token ids (N, P, D) for every row of a split, from outDir/cache when the tokenizer and rows
 * are unchanged, else encoded once (batches of 64) and cached.
 */
export async function cachedCodes(
  codec: ImageCodec, tokDir: string, dataDir: string, split: string, cacheDir: string,
  /** Applied to the decoded images before encoding; `key` names it in the cache file. */
  transform?: { key: string; apply(images: Float32Array, n: number, size: number): Float32Array },
): Promise<{ rows: MetadataRow[]; codes: Int32Array; encoded: boolean }> {
  const rows = await splitRows(dataDir, split);
  if (rows.length === 0) throw new RecipeConfigError('config', 'data', `${dataDir} has no rows in split '${split}'`);
  const per = codec.positions * codec.depth;
  const file = join(cacheDir, `codes-${split.replace(/[^A-Za-z0-9_-]/g, '_')}-${await cacheKey(tokDir, rows)}${transform ? `-${transform.key}` : ''}.i32`);
  try {
    const buf = await readFile(file);
    if (buf.length === rows.length * per * 4) return { rows, codes: new Int32Array(buf.buffer, buf.byteOffset, rows.length * per).slice(), encoded: false };
  } catch {
    // not cached yet
  }
  const folder = await loadImageFolder(dataDir, { split, size: codec.imageSize });
  if (folder.rows.length !== rows.length || folder.rows.some((r, i) => r.file_name !== rows[i].file_name)) throw new Error(`${dataDir}: rows of split '${split}' changed while loading`);
  const px = 3 * codec.imageSize ** 2;
  const images = transform ? transform.apply(folder.images, rows.length, codec.imageSize) : folder.images;
  const codes = new Int32Array(rows.length * per);
  for (let s = 0; s < rows.length; s += 64) {
    const m = Math.min(64, rows.length - s);
    codes.set(await codec.encode(images.subarray(s * px, (s + m) * px), m), s * per);
  }
  await mkdir(cacheDir, { recursive: true });
  await writeFile(`${file}.tmp-${process.pid}`, new Uint8Array(codes.buffer));
  await rename(`${file}.tmp-${process.pid}`, file);
  return { rows, codes, encoded: true };
}

/**
 * Fine-tuning (init_from): the architecture is the base model's config.json, not the recipe's model
 * section; its image geometry must match the image tokenizer in use.
 */
async function baseConfig(dir: string, textVocab: number, codec: ImageCodec): Promise<UnifiedConfig> {
  const file = join(dir, 'config.json');
  let c: UnifiedConfig;
  try {
    c = parseUnifiedConfig(JSON.parse(await readFile(file, 'utf8')), file);
  } catch (err) {
    throw new RecipeConfigError('config', 'init_from', (err as Error).message);
  }
  const derived = unifiedConfigFor({ ...c }, textVocab, codec);
  // positions are not weights (RoPE), so a model may go on with one more leading position per image:
  // the semantic position of a dual tokenizer added to the pixel tokenizer it was trained with
  if (derived.image_positions === c.image_positions + 1 && codec.leadingPositions === 1) c = { ...c, image_positions: derived.image_positions };
  for (const k of ['vocab_size', 'image_positions', 'image_depth', 'image_first_token_id', 'image_codebook_size', 'image_token_offset'] as const)
    if (derived[k] !== c[k]) throw new RecipeConfigError('config', 'init_from', `${file}: ${k} is ${c[k]}, but the text/image tokenizers in use give ${derived[k]}`);
  return c;
}

/** A grow error as the recipe's config error: `grow.<field>`, or `grow` with `where` for a base tensor. */
function growing<T>(f: () => T, where?: string): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof GrowError) throw new RecipeConfigError('config', where ? 'grow' : `grow.${err.field}`, where ? `${where}: ${err.message}` : err.message);
    throw err;
  }
}

const SEMANTIC_PARAMS = ['model.semantic_codebooks', 'model.semantic_proj.weight'];

/** The semantic encoder's codebooks (D, K, E) from the image tokenizer's `semantic/` part, checked against the LM's image geometry. */
async function semanticCodebooks(tokDir: string, c: UnifiedConfig, codec: ImageCodec): Promise<{ data: Float32Array; dim: number }> {
  const file = join(tokDir, 'semantic', 'model.safetensors');
  if (codec.leadingPositions !== 1) throw new RecipeConfigError('config', 'semantic_read', `the image tokenizer ${tokDir} has no semantic/ part (no semantic position to read)`);
  const t = (await readSafetensors(file)).tensors.get('semantic.codebooks');
  const [D, K] = [c.image_depth, c.image_codebook_size];
  if (!t || t.dtype !== 'F32' || t.shape.length !== 3 || t.shape[0] !== D || t.shape[1] !== K)
    throw new RecipeConfigError('config', 'semantic_read', `${file}: needs 'semantic.codebooks' F32[${D}, ${K}, dim], found ${t ? `${t.dtype}[${t.shape}]` : 'none'}`);
  return { data: Float32Array.from(t.data as Float32Array), dim: t.shape[2] };
}

export interface LmRecipeDeps {
  /** Opens the image tokenizer folder (default: the VQ tokenizer of models/image-tokenizer.ts). */
  loadCodec(dir: string, threads: number): Promise<ImageCodec>;
}
const defaultDeps: LmRecipeDeps = { loadCodec: (dir, threads) => loadImageTokenizer(dir, { threads }) };

/** The memory a run will build at its end can be built: its encoder reads and its splits have rows. */
async function checkMemory(memory: NonNullable<LmRecipeConfig['memory']>, dataDir: string): Promise<void> {
  await readFeatureEncoder(memory.encoder).catch((err: Error) => {
    throw new RecipeConfigError('config', 'memory.encoder', err.message);
  });
  const have = new Set((await readMetadata(dataDir)).map(({ row }) => rowSplit(row)));
  const missing = memorySplits(memory.split).find((x) => !have.has(x));
  if (missing) throw new RecipeConfigError('config', 'memory.split', `${dataDir} has no rows for split '${missing}' (splits: ${[...have].join(', ')})`);
}

export async function runLmRecipe(cfg: LmRecipeConfig, opts: RecipeRunOptions, deps: LmRecipeDeps = defaultDeps): Promise<RecipeResult> {
  const t = cfg.train;
  const threads = opts.threads ?? t.threads ?? 2;
  if (cfg.memory) await checkMemory(cfg.memory, cfg.data.dir); // before training, not after it
  const tok = await TextTokenizer.load(cfg.text_tokenizer);
  const codec = await deps.loadCodec(cfg.image_tokenizer, threads);
  const base = cfg.init_from ? await baseConfig(cfg.init_from, tok.vocabSize, codec) : null;
  if (cfg.grow && !base) throw new RecipeConfigError('config', 'grow', 'needs init_from: the model to grow');
  const grow = cfg.grow;
  let c = base ? (grow ? growing(() => grownConfig(base, grow)) : base) : unifiedConfigFor(cfg.model, tok.vocabSize, codec);
  const semBooks = cfg.semantic_read || (c.semantic_read_dim ?? 0) > 0 ? await semanticCodebooks(cfg.image_tokenizer, c, codec) : null;
  if (semBooks) c = { ...c, semantic_read_dim: semBooks.dim };
  const cacheDir = join(opts.outDir, 'cache');
  const train = await cachedCodes(codec, cfg.image_tokenizer, cfg.data.dir, cfg.data.train_split, cacheDir);
  const aug = cfg.data.augment;
  const jittered: Int32Array[] = [];
  for (let v = 1; aug && v <= aug.variants; v++) {
    const key = augmentKey(aug, v);
    jittered.push((await cachedCodes(codec, cfg.image_tokenizer, cfg.data.dir, cfg.data.train_split, cacheDir, { key, apply: (im, n, size) => jitterImages(im, n, size, aug, new Rng(7919 * v)) })).codes);
  }
  const held = await cachedCodes(codec, cfg.image_tokenizer, cfg.data.dir, cfg.data.eval_split, cacheDir).catch(() => null);
  await codec.release();
  const per = c.image_positions * c.image_depth;
  const lmCodes = (codes: Int32Array) => codecToLm(c, codes);
  const [trainCodes, heldCodes] = [lmCodes(train.codes), held ? lmCodes(held.codes) : null];
  const variants = [trainCodes, ...jittered.map(lmCodes)];
  // which encoding of image i a step uses: a hash of (i, step), so a resumed run picks the same ones
  let stepNow = 0;
  const variantOf = (i: number) => {
    let h = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(stepNow + 1, 0x85ebca77);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    return ((h ^ (h >>> 13)) >>> 0) % variants.length;
  };

  if (cfg.semantic_only > 0 && cfg.stage !== 'stage2') throw new RecipeConfigError('config', 'semantic_only', 'applies to stage2 (Stage I trains on every image position, so none can be hidden)');
  if (cfg.semantic_only > 0 && codec.leadingPositions !== 1) throw new RecipeConfigError('config', 'semantic_only', `the image tokenizer ${cfg.image_tokenizer} has no semantic/ part (no semantic position to show alone)`);
  if (cfg.semantic_only > 0 && c.image_head !== 'depth') throw new RecipeConfigError('config', 'semantic_only', 'needs image_head \'depth\' (images read as aggregated positions)');
  const taskOpts = {
    stage: cfg.stage, cfgDropout: t.cfg_dropout, outputForm: c.image_head === 'depth' ? 'aggregate' as const : 'unfolded' as const, semanticOnly: cfg.semantic_only,
    mix: (t.mix ?? undefined) as Partial<Record<TaskKind, number>> | undefined,
  };
  // jitter is for reading: what the model learns to draw is always the image itself
  const stream = new TaskStream(train.rows, (i, use) => (use === 'draw' ? trainCodes : variants[variantOf(i)]).subarray(i * per, (i + 1) * per), { ...taskOpts, seed: t.seed });
  const answerOnly = cfg.stage === 'stage2';
  const toFeeds = (s: TaskStream, n: number) => {
    const seqs = s.nextBatch(n).map((e) => layoutChat(tok, c, e, answerOnly, { imageWeight: t.image_weight }));
    // a rare long conversation (long labels, three turns) that does not fit the context is left out
    const fit = seqs.filter((q) => q.positions.length <= c.max_position_embeddings);
    return collate(c, fit.length ? fit : seqs, tok.specials.pad);
  };
  // held-out batches: a fixed stream over the eval split (same tasks and weighting)
  const evalFeeds: Record<string, Tensor>[] = [];
  if (held && heldCodes) {
    const es = new TaskStream(held.rows, (i) => heldCodes.subarray(i * per, (i + 1) * per), { ...taskOpts, cfgDropout: 0, seed: 12345 });
    for (let k = 0; k < t.eval_batches; k++) evalFeeds.push(toFeeds(es, t.batch));
  }

  const trainer = await Trainer.create(
    { build: (g) => unifiedLoss(g, c, declareBatchInputs(g, c)), init: (n, s, rng) => initUnifiedParam(c, n, s, rng) },
    {
      optim: { weightDecay: t.weight_decay, clipNorm: t.clip_norm ?? undefined, betas: [0.9, 0.95] },
      schedule: { lr: t.lr, warmupSteps: t.warmup_steps, totalSteps: t.steps, minRatio: t.min_lr_ratio },
      groups: [
        ...(c.codebook_mode === 'frozen' ? [{ match: /^model\.embed_tokens\.weight$/, frozen: true }] : []),
        { match: /^model\.semantic_codebooks$/, frozen: true },
        { match: /norm(_in)?\.weight$|layernorm\.weight$|pos_embed$/, weightDecay: 0 },
      ],
      seed: t.seed, session: { threads },
    },
  );
  if (cfg.init_from && base) {
    const file = join(cfg.init_from, 'model.safetensors');
    const f = await readSafetensors(file);
    const baseTensor = (n: string) => {
      const x = f.tensors.get(n);
      if (x && x.dtype !== 'F32') throw new RecipeConfigError('config', 'init_from', `${file}: '${n}' is ${x.dtype}, not F32`);
      return x ? { shape: x.shape, data: x.data as Float32Array } : undefined;
    };
    const rng = new Rng(t.seed ^ 0x6a09e667);
    for (const [n, shape] of trainer.shapes) {
      if (SEMANTIC_PARAMS.includes(n) && !f.tensors.has(n)) {
        // the read is new: the codebooks are set below, the map starts silent
        if (n === 'model.semantic_proj.weight') trainer.params.set(n, new Float32Array(c.hidden_size * semBooks!.dim));
        continue;
      }
      if (cfg.grow) {
        trainer.params.set(n, growing(() => grownParam(base, c, n, shape, baseTensor, () => initUnifiedParam(c, n, shape, rng)), file));
        continue;
      }
      const x = baseTensor(n);
      if (!x || x.shape.join() !== shape.join()) throw new RecipeConfigError('config', 'init_from', `${file}: '${n}' is missing or not F32[${shape}]`);
      trainer.params.set(n, Float32Array.from(x.data));
    }
  }
  // the codebooks are always the tokenizer's: they give the codes their meaning
  if (semBooks) trainer.params.set('model.semantic_codebooks', semBooks.data);
  const ckDir = join(opts.outDir, 'checkpoints');
  if (opts.resume) {
    const ck = await loadLatestCheckpoint(ckDir, opts.onNotice);
    if (ck) {
      trainer.setState(ck.state);
      stream.cursor = (ck.state.data as { cursor: typeof stream.cursor }).cursor;
    }
  }

  const E = () => trainer.params.get('model.embed_tokens.weight')!;
  const exportEmbeddings = async () => {
    const file = join(opts.outDir, 'lm-embeddings.safetensors');
    await writeSafetensors(`${file}.tmp-${process.pid}`, { 'model.embed_tokens.weight': { dtype: 'F32', shape: [c.vocab_size, c.hidden_size], data: E() } }, { format: 'pt' });
    await rename(`${file}.tmp-${process.pid}`, file);
  };
  const twoWay = async () => {
    // the reverse of the tokenizer's pull (UniCode's "dual" ablation): the image rows of the LM table move toward the codebook
    const f = await readSafetensors(join(cfg.image_tokenizer, 'model.safetensors'));
    const cb = f.tensors.get('quantizer.codebook');
    if (!cb || cb.dtype !== 'F32' || cb.shape[0] !== c.image_codebook_size) throw new RecipeConfigError('config', 'image_tokenizer', `${join(cfg.image_tokenizer, 'model.safetensors')}: needs 'quantizer.codebook' F32[${c.image_codebook_size}, d] for codebook_mode 'two-way'`);
    const [lo, hi] = imageIdRange(c);
    const C = c.hidden_size;
    const rows = { data: E().subarray(lo * C, hi * C), rows: hi - lo, cols: C };
    const code = { data: cb.data as Float32Array, rows: cb.shape[0], cols: cb.shape[1] };
    const ids = Array.from({ length: hi - lo }, (_, k) => k);
    const next = pullCodebook(rows, code, cfg.two_way.lambda, { proj: fitProjection(rows, code, ids), tokenIds: ids });
    const e = Float32Array.from(E());
    e.set(next.data, lo * C);
    trainer.params.set('model.embed_tokens.weight', e);
  };
  const checkpoint = async () => {
    trainer.data = { cursor: stream.cursor };
    const path = await saveCheckpoint(ckDir, trainer.getState(), trainer.shapes, { recipe: 'lm', config: cfg });
    await exportEmbeddings();
    opts.onCheckpoint?.({ step: trainer.step, path });
  };
  const evaluate = async () => {
    const sums = { loss: 0, text_loss: 0, image_loss: 0 };
    for (const f of evalFeeds) {
      const r = await trainer.evaluate(f);
      sums.loss += r.loss / evalFeeds.length;
      sums.text_loss += r.metrics.text_loss / evalFeeds.length;
      sums.image_loss += r.metrics.image_loss / evalFeeds.length;
    }
    return { eval_loss: sums.loss, eval_text_loss: sums.text_loss, eval_image_loss: sums.image_loss };
  };

  /** A caption and a drawing from the current weights, for whoever watches (the app's Training view). */
  let sampledAt = -1;
  const samples = async () => {
    if (!opts.onSample || !held || sampledAt === trainer.step) return; // the last step may already have had its eval
    sampledAt = trainer.step;
    const out = await lmSamples({
      outDir: opts.outDir, step: trainer.step, config: c, weights: trainer.params, textTokenizerDir: cfg.text_tokenizer,
      imageTokenizerDir: cfg.image_tokenizer, dataDir: cfg.data.dir, split: cfg.data.eval_split, threads,
    });
    for (const s of out) opts.onSample(s);
  };

  const t0 = performance.now();
  const startStep = trainer.step;
  let tokens = 0;
  try {
    while (trainer.step < t.steps) {
      if (opts.signal?.aborted) {
        await checkpoint();
        return { status: 'paused', step: trainer.step };
      }
      stepNow = trainer.step;
      const feeds = toFeeds(stream, t.batch);
      const ts = performance.now();
      const r = await trainer.trainStep([feeds]);
      const stepTokens = (feeds.input_weights.data as Float32Array).reduce((a, w, i) => a + (i % c.image_depth === 0 ? 1 : 0) * (w > 0 ? 1 : 0), 0);
      tokens += stepTokens;
      if (c.codebook_mode === 'two-way' && trainer.step % cfg.two_way.every === 0) await twoWay();
      const done = trainer.step - startStep;
      const secs = (performance.now() - t0) / 1000;
      opts.onProgress?.({
        step: trainer.step, totalSteps: t.steps, phase: cfg.stage, loss: r.loss,
        metrics: { lr: r.lr, grad_norm: r.gradNorm, text_loss: r.metrics.text_loss, image_loss: r.metrics.image_loss, tokens_per_s: stepTokens / ((performance.now() - ts) / 1000), seq_len: feeds.labels.shape[1] },
        etaSeconds: done > 0 ? (secs / done) * (t.steps - trainer.step) : null,
      });
      if (t.eval_every > 0 && trainer.step % t.eval_every === 0 && evalFeeds.length) {
        opts.onProgress?.({ step: trainer.step, totalSteps: t.steps, phase: 'eval', loss: r.loss, metrics: await evaluate(), etaSeconds: null });
        await samples();
      }
      if (trainer.step % t.checkpoint_every === 0 || trainer.step === t.steps) await checkpoint();
    }
    const metrics = evalFeeds.length ? await evaluate() : {};
    await samples();
    const modelDir = join(opts.outDir, 'model');
    await saveModelFolder(modelDir, {
      config: c, weights: trainer.params, textTokenizerDir: cfg.text_tokenizer, imageTokenizerDir: cfg.image_tokenizer,
      card: {
        name: cfg.name, recipe: { kind: 'lm', ...cfg },
        metrics: { ...metrics, measured_on: `${cfg.data.eval_split} split, ${evalFeeds.length} batches of ${t.batch}` },
        training: { steps: trainer.step, seconds_this_run: Math.round((performance.now() - t0) / 1000), tokens_this_run: tokens },
      },
    });
    if (cfg.memory) {
      const { encoder, split, variant_alpha: variantAlpha, drawing, ...mix } = cfg.memory;
      const drawCodec = drawing ? await deps.loadCodec(cfg.image_tokenizer, threads) : undefined; // the examples' codes, for drawing by example
      let f;
      try {
        f = await buildMemory({ encoderDir: encoder, dataDir: cfg.data.dir, split, out: join(modelDir, MEMORY_DIR), mix, variantAlpha, threads, ...(drawCodec ? { model: modelDir, codec: drawCodec } : {}) });
      } finally {
        await drawCodec?.release();
      }
      const cardFile = join(modelDir, 'tessera.json');
      const card = JSON.parse(await readFile(cardFile, 'utf8')) as { metrics: Record<string, unknown> };
      card.metrics = { ...card.metrics, memory_entries: f.entries, memory_split: split };
      await writeFileAtomic(cardFile, JSON.stringify(card, null, 2) + '\n');
    }
    return { status: 'done', step: trainer.step, modelDir, metrics };
  } finally {
    await trainer.release();
  }
}

export const lmRecipe: Recipe<LmRecipeConfig> = { kind: 'lm', parseConfig: parseLmConfig, run: (c, o) => runLmRecipe(c, o) };
