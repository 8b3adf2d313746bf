// The default model's whole recipe as one resumable pipeline (`npm run train:default`):
//   data            the emoji imagefolder (built from the npm packages when missing)
//   text-tokenizer  byte-level BPE over the captions, tags and task prompts, vocab = the LM's
//   tokenizer       VQ tokenizer pre-training (AE warm-up, k-means, EMA codes)
//   stage1-*        UniCode Stage I: rounds of LM training (decompression + captions on the current
//                   codes; its embedding table written out) alternating with tokenizer training that
//                   pulls its codebook one way toward that table every N steps
//   semantic        (optional) the semantic image encoder and its codebooks (DualToken; recipe
//                   'semantic'): Stage II rounds marked `semantic` read and write every image with
//                   one more leading position of its semantic codes (the tokenizer folder + semantic/)
//   semantic-more-K (optional) a new semantic encoder for Stage II round K and the rounds after it
//   stage2          tokenizer frozen; instruction tuning (captions, questions, text-to-image,
//                   decompression), loss on answers only
//   tokenizer-decoder  (optional) the final tokenizer's decoder fine-tuned alone with an SSIM term:
//                   encoder and codebook fixed, so the codes the LM was trained on do not change
//   memory-encoder  (optional) the example memory's own semantic encoder (recipe 'semantic'); with
//                   several recipes, an ensemble: memory-encoder-2, -3, ... after it; a recipe
//                   with train.cycles adds its cycles' snapshots to the ensemble too; with
//                   memory.beside they train in a second lane (a worker thread, train/recipe-thread.ts)
//                   from the start, beside the stages above, each lane with half the threads; the
//                   main lane, its stages done, takes the encoders the second has not started, and
//                   goes on with all the threads from the step it reached once the second is done
//   assemble        the final model folder with its card (metrics measured on the held-out style),
//                   and its example memory (infer/memory.ts) when the pipeline asks for one
// Every stage runs with resume = true and is marked done in WORK/pipeline-state.json when it
// finishes, so killing the process at any moment and starting again continues where it stopped.
// `pipelineRecipe` is the same pipeline as a Recipe (the app's one-click "unified model" training on
// a dataset): recipes given inline, the job's folder as the work dir, one progress bar over all stages.
import { access, cp, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { buildEmojiDataset } from '../data/emoji.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { trainBpe } from '../text/bpe.ts';
import { corpusFromImagefolder } from '../text/corpus.ts';
import { writeTokenizerFiles } from '../text/files.ts';
import { CAPTION_PROMPTS, CATEGORY_PROMPT, DECOMPRESS_PROMPT, T2I_TEMPLATES } from '../data/tasks.ts';
import { parseConfigWith, RecipeConfigError, type Recipe, type RecipeProgress, type RecipeSample } from './recipe.ts';
import { runRecipeInThread } from './recipe-thread.ts';
import { AugmentSchema, lmRecipe, TASKS, type LmRecipeConfig } from './recipes/lm.ts';
import { alignSemanticEncoder, semanticRecipe, semanticRunModels, type SemanticRecipeConfig } from './recipes/semantic.ts';
import { evaluateReconstruction, tokenizerRecipe, type TokenizerRecipeConfig } from './tokenizer.ts';
import { loadImageTokenizer, readImageTokenizerConfig } from '../models/image-tokenizer.ts';
import { loadImageFolder } from '../data/imagefolder.ts';
import { MEMORY_DEFAULTS, MEMORY_DIR, VARIANT_ALPHA } from '../infer/memory.ts';
import { buildMemory, MemorySplit } from '../infer/memory-build.ts';

/** A stage's recipe: a JSON file (relative to the pipeline file) or the config inline. */
const RecipeRef = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);

export const PipelineSchema = z.object({
  data_dir: z.string().min(1),
  work_dir: z.string().min(1),
  model_dir: z.string().min(1),
  text_tokenizer: z.object({ vocab_size: z.int().min(300), min_frequency: z.int().min(1).default(2) }),
  tokenizer: RecipeRef,
  /** Where the pre-trained image tokenizer is kept (committed, so a later session or machine can
   *  continue from it): reused when its config matches, written when the stage trains it. */
  tokenizer_artifact: z.string().min(1).nullable().default(null),
  stage1: z.object({
    rounds: z.int().min(0),
    lm: RecipeRef,
    lm_steps_per_round: z.int().min(1),
    tokenizer_steps_per_round: z.int().min(1),
    /** Peak learning rate of the Stage I tokenizer rounds (default: the tokenizer recipe's). */
    tokenizer_lr: z.number().positive().optional(),
    pull_lambda: z.number().min(0).max(1),
    pull_every: z.int().min(1),
  }),
  /** steps overrides the Stage II file's train.steps. `more`: further Stage II rounds, each starting
   *  from the previous round's model with its own schedule (warmup + cosine), seed, task mix and
   *  image jitter (the LM recipe's data.augment). */
  stage2: z.object({
    lm: RecipeRef,
    steps: z.int().min(1).optional(),
    more: z.array(z.object({
      steps: z.int().min(1),
      lr: z.number().positive(),
      warmup_steps: z.int().min(0).default(50),
      seed: z.int().min(0),
      mix: z.partialRecord(z.enum(TASKS), z.number().min(0)).nullable().default(null),
      augment: AugmentSchema.nullable().default(null),
      /** Read and write images with the semantic position too (needs `semantic`); every later round must as well. */
      semantic: z.boolean().default(false),
      /** Start this round from a grown copy of the previous model (the LM recipe's `grow`). */
      grow: z.object({ num_hidden_layers: z.int().min(1), intermediate_size: z.int().min(1).optional() }).nullable().default(null),
      /** Turn on the semantic read from this round (the LM recipe's `semantic_read`; needs `semantic: true`). */
      semantic_read: z.boolean().default(false),
      /** A new semantic encoder (recipe 'semantic'), trained before this round: this round and the later
       *  ones read and write its codes instead of the previous encoder's (needs `semantic: true`). Its
       *  code numbers are matched to the previous encoder's (alignSemanticEncoder), so what the LM
       *  learned of the old codes carries over where the two encoders group images alike. */
      semantic_encoder: RecipeRef.nullable().default(null),
      /** The LM recipe's `semantic_only`: the share of captions and questions that show the image by its semantic position alone. */
      semantic_only: z.number().min(0).max(1).default(0),
    })).default([]),
  }),
  /** The semantic encoder's recipe (recipe 'semantic'), trained before Stage II; null: none. */
  semantic: RecipeRef.nullable().default(null),
  /** After Stage II: fine-tune the final tokenizer's decoder alone (its encoder and codebook, so the
   *  codes the LM learned, stay fixed) with an SSIM term; null skips the stage. */
  decoder: z.object({
    steps: z.int().min(1),
    lr: z.number().positive(),
    ssim_weight: z.number().min(0),
    /** Further decoder-only rounds, each from the previous round's tokenizer. */
    more: z.array(z.object({ steps: z.int().min(1), lr: z.number().positive(), ssim_weight: z.number().min(0) })).default([]),
  }).nullable().default(null),
  /** The model folder's example memory (infer/memory.ts), built from a split of the data at assembly
   *  (or several joined by commas: train,validation);
   *  null: none. `encoder`: its semantic encoder's recipe, trained as stage 'memory-encoder', or a
   *  list of recipes, an ensemble (stages 'memory-encoder', 'memory-encoder-2', ...), each with
   *  train.cycles > 1 also giving its snapshots as members; null: the encoder of the model's own
   *  semantic position. `with_semantic`: that encoder also joins the listed ones, as the first
   *  member (one encoder trained for both roles). */
  memory: z.object({
    encoder: z.union([z.array(RecipeRef).min(1), RecipeRef]).nullable().default(null),
    with_semantic: z.boolean().default(false),
    /** Train the listed encoders in a second lane, a worker thread beside the other stages from the
     *  start, each lane with half the threads (all of them again once the other lane is done); the
     *  main lane, its own stages done, takes the encoders the second lane has not started. */
    beside: z.boolean().default(false),
    split: MemorySplit.default('train'),
    k: z.int().min(1).default(MEMORY_DEFAULTS.k),
    tau: z.number().positive().default(MEMORY_DEFAULTS.tau),
    lambda: z.number().min(0).max(1).default(MEMORY_DEFAULTS.lambda),
    /** α of the colour prior over the labels' variants (infer/variant-prior.ts); 0: none. */
    variant_alpha: z.number().min(0).max(10).default(VARIANT_ALPHA),
    /** Store each example's image codes so the model can draw by example (infer/memory.ts). */
    drawing: z.boolean().default(true),
  }).strict().nullable().default(null),
});
export type Pipeline = z.infer<typeof PipelineSchema>;

export interface PipelineOptions {
  threads?: number;
  signal?: AbortSignal;
  log?(line: string): void;
  /** A stage's own progress, and the optimizer steps of the whole pipeline done and planned. */
  onProgress?(stage: string, p: RecipeProgress, all: { step: number; total: number }): void;
  onSample?(stage: string, s: RecipeSample): void;
  onCheckpoint?(stage: string, c: { step: number; path: string }): void;
}

interface StageState {
  done: boolean;
  seconds: number;
  /** The intra-op threads it last ran with (fewer while the other lane runs). */
  threads?: number;
  /** When it ran: [start, end] in ms since the epoch, one span per run of it. */
  spans?: [number, number][];
  result?: Record<string, unknown>;
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new RecipeConfigError(file, '(file)', `cannot read JSON (${(err as Error).message})`);
  }
}

const exists = (p: string) => access(p).then(() => true, () => false);

/** A stage's recipe config and the name its errors carry: the file it was read from, or the pipeline field. */
async function readRef(ref: z.infer<typeof RecipeRef>, base: string, field: string): Promise<{ json: Record<string, unknown>; source: string }> {
  if (typeof ref !== 'string') return { json: ref, source: `pipeline ${field}` };
  const file = join(base, ref);
  return { json: await readJson(file) as Record<string, unknown>, source: file };
}

/** The image tokenizer's reconstruction numbers on the held-out style (the test split). */
export async function tokenizerMetrics(dir: string, dataDir: string, threads = 2): Promise<Record<string, number | string>> {
  const tok = await loadImageTokenizer(dir, { threads });
  try {
    const set = await loadImageFolder(dataDir, { split: 'test', size: tok.imageSize });
    const e = await evaluateReconstruction((px, m) => tok.encodeCodes(px, m), (c, m) => tok.decodeCodes(c, m), set.images, set.rows.length, tok.imageSize, tok.codebookSize);
    const styles = [...new Set(set.rows.map((r) => r.style))];
    return {
      tokenizer_eval_set: `test split${styles.length === 1 && styles[0] ? ` (held-out ${styles[0]} style)` : ''}, ${e.images} images`,
      tokenizer_psnr: e.psnr, tokenizer_ssim: e.ssim, tokenizer_usage: e.usage, tokenizer_perplexity: e.perplexity,
      tokenizer_positions_per_image: tok.positions, tokenizer_codes_per_position: tok.depth,
    };
  } finally {
    await tok.release();
  }
}

/** Runs the pipeline in `file` (its recipe files are relative to it; its folders to the working directory). */
export async function runPipeline(file: string, opts: PipelineOptions = {}): Promise<'done' | 'paused'> {
  const source = resolve(file);
  return runPipelineConfig(parseConfigWith(PipelineSchema, await readJson(source), source), dirname(source), opts);
}

export async function runPipelineConfig(p: Pipeline, base: string, opts: PipelineOptions = {}): Promise<'done' | 'paused'> {
  const root = process.cwd();
  const data = resolve(root, p.data_dir), work = resolve(root, p.work_dir), modelDir = resolve(root, p.model_dir);
  const log = opts.log ?? console.log;
  await mkdir(work, { recursive: true });
  const stateFile = join(work, 'pipeline-state.json');
  const state: Record<string, StageState> = (await exists(stateFile)) ? (await readJson(stateFile)) as Record<string, StageState> : {};
  // saves in order, each of the state as it is then: two lanes' saves never leave an older one last
  let saving: Promise<void> = Promise.resolve();
  const save = () => (saving = saving.then(() => writeFileAtomic(stateFile, JSON.stringify(state, null, 1))));

  /** Runs a stage unless done; returns false when it paused. A stage that runs (one added to the
   *  recipe after the model was assembled, say) makes the model folder be assembled again. */
  const stage = async (id: string, fn: () => Promise<{ paused: boolean; result?: Record<string, unknown> }>): Promise<boolean> => {
    if (state[id]?.done) return true;
    if (id !== 'assemble' && state.assemble) state.assemble.done = false;
    log(`── ${id}`);
    const t0 = performance.now(), start = Date.now();
    const r = await fn();
    const prev = state[id];
    state[id] = {
      done: !r.paused, seconds: (prev?.seconds ?? 0) + (performance.now() - t0) / 1000, ...(threadsOf.has(id) ? { threads: threadsOf.get(id) } : {}),
      spans: [...(prev?.spans ?? []), [start, Date.now()]], result: r.result,
    };
    await save();
    return !r.paused;
  };
  // the stages that train, in order, with their optimizer steps: one progress count over all of them
  const tokRef = await readRef(p.tokenizer, base, 'tokenizer');
  const tokCfg = tokenizerRecipe.parseConfig({ ...tokRef.json, data: { ...(tokRef.json.data as object), dir: data }, pull: null }, tokRef.source);
  const lm1 = await readRef(p.stage1.lm, base, 'stage1.lm');
  const lm2 = await readRef(p.stage2.lm, base, 'stage2.lm');
  // both LM recipes validated now, not hours later when their stage starts (paths are filled in then)
  const early = (r: typeof lm1) => lmRecipe.parseConfig({ ...r.json, data: { ...(r.json.data as object), dir: data }, image_tokenizer: '-', text_tokenizer: '-' }, r.source);
  early(lm1);
  const stage2Steps = p.stage2.steps ?? early(lm2).train.steps;
  const semanticConfig = async (ref: z.infer<typeof RecipeRef>, field: string) => {
    const r = await readRef(ref, base, field);
    return semanticRecipe.parseConfig({ ...r.json, data: { ...(r.json.data as object), dir: data } }, r.source);
  };
  const semCfg = p.semantic ? await semanticConfig(p.semantic, 'semantic') : null;
  // later encoders, by the index of the round that first reads them
  const laterSem = new Map<number, SemanticRecipeConfig>();
  for (const [i, m] of p.stage2.more.entries()) if (m.semantic_encoder) laterSem.set(i, await semanticConfig(m.semantic_encoder, `stage2.more[${i}].semantic_encoder`));
  const withoutSemantic = p.stage2.more.findIndex((m) => (m.semantic_encoder || m.semantic_only > 0) && !m.semantic);
  if (withoutSemantic >= 0) throw new RecipeConfigError('pipeline', `stage2.more[${withoutSemantic}].${p.stage2.more[withoutSemantic].semantic_encoder ? 'semantic_encoder' : 'semantic_only'}`, 'needs `semantic: true` in the same round: it is about the semantic position');
  const firstSemantic = p.stage2.more.findIndex((m) => m.semantic);
  if (firstSemantic >= 0 && !semCfg) throw new RecipeConfigError('pipeline', `stage2.more[${firstSemantic}].semantic`, 'a semantic round needs the pipeline\'s `semantic` recipe');
  const backToPixels = p.stage2.more.findIndex((m, i) => firstSemantic >= 0 && i > firstSemantic && !m.semantic);
  const readsAlone = p.stage2.more.findIndex((m) => m.semantic_read && !m.semantic);
  if (readsAlone >= 0) throw new RecipeConfigError('pipeline', `stage2.more[${readsAlone}].semantic_read`, 'needs `semantic: true` in the same round: the read is of the semantic position');
  const memListed = Array.isArray(p.memory?.encoder); // a list of recipes: an ensemble
  const memRefs = p.memory?.encoder ? [p.memory.encoder].flat() : [];
  const memCfgs: SemanticRecipeConfig[] = [];
  for (const [i, ref] of memRefs.entries()) memCfgs.push(await semanticConfig(ref, memListed ? `memory.encoder[${i}]` : 'memory.encoder'));
  const memId = (i: number) => (i === 0 ? 'memory-encoder' : `memory-encoder-${i + 1}`);
  if (p.memory && !memCfgs.length && firstSemantic < 0) throw new RecipeConfigError('pipeline', 'memory.encoder', 'is needed: the model reads no semantic position whose encoder the memory could use');
  if (p.memory?.with_semantic && firstSemantic < 0) throw new RecipeConfigError('pipeline', 'memory.with_semantic', 'needs a Stage II round that reads the semantic position (`semantic: true`): its encoder is the member it adds');
  if (backToPixels >= 0) throw new RecipeConfigError('pipeline', `stage2.more[${backToPixels}].semantic`, 'must be true: an earlier round already reads images with the semantic position');
  if (tokCfg.model.first_token_id + tokCfg.model.codebook_size > p.text_tokenizer.vocab_size)
    throw new RecipeConfigError(tokRef.source, 'text_tokenizer.vocab_size', `${p.text_tokenizer.vocab_size} is too small: the image codes use token ids [${tokCfg.model.first_token_id}, ${tokCfg.model.first_token_id + tokCfg.model.codebook_size}) of the shared vocabulary`);
  const plan: [string, number][] = [
    ['tokenizer', tokCfg.train.steps],
    ...Array.from({ length: p.stage1.rounds }, (_, i) => [[`stage1-lm-${i + 1}`, p.stage1.lm_steps_per_round], [`stage1-tok-${i + 1}`, p.stage1.tokenizer_steps_per_round]] as [string, number][]).flat(),
    ...(semCfg ? [['semantic', semCfg.train.steps] as [string, number]] : []),
    ['stage2', stage2Steps],
    ...p.stage2.more.flatMap((m, i): [string, number][] => [
      ...(laterSem.has(i) ? [[`semantic-more-${i + 1}`, laterSem.get(i)!.train.steps] as [string, number]] : []),
      [`stage2-more-${i + 1}`, m.steps],
    ]),
    ...(p.decoder ? [p.decoder, ...p.decoder.more].map((m, i): [string, number] => [i === 0 ? 'tokenizer-decoder' : `tokenizer-decoder-${i + 1}`, m.steps]) : []),
    ...memCfgs.map((c, i): [string, number] => [memId(i), c.train.steps]),
  ];
  const total = plan.reduce((a, [, n]) => a + n, 0);
  /** Steps of the stages running now; with those done, the whole pipeline's (lanes run side by side). */
  const running = new Map<string, number>();
  const stepsDone = () => plan.reduce((a, [k, n]) => a + (state[k]?.done ? n : Math.min(running.get(k) ?? 0, n)), 0);
  // both lanes pause when the caller pauses, and the other lane too when one fails
  const halt = new AbortController();
  const halted = () => halt.abort();
  if (opts.signal?.aborted) halted();
  else opts.signal?.addEventListener('abort', halted, { once: true });
  const beside = Boolean(p.memory?.beside && memCfgs.length);
  /** The lanes running now: the main one, and the memory's beside it. */
  const lanes = { main: true, memory: false };
  /** A lane's share of the threads as a stage starts: half while both run, all once the other is done. */
  const threadsNow = () => (lanes.main && lanes.memory ? Math.max(1, Math.floor((opts.threads ?? availableParallelism()) / 2)) : opts.threads);
  const threadsOf = new Map<string, number | undefined>();
  const recipeOpts = (id: string, outDir: string, signal = halt.signal) => {
    const threads = threadsNow();
    threadsOf.set(id, threads);
    return {
      outDir, resume: true, signal, threads,
      onProgress: (x: RecipeProgress) => {
        running.set(id, x.step);
        opts.onProgress?.(id, x, { step: stepsDone(), total });
      },
      onSample: opts.onSample && ((s: RecipeSample) => opts.onSample!(id, s)),
      onCheckpoint: (c: { step: number; path: string }) => opts.onCheckpoint?.(id, c),
      onNotice: (m: string) => opts.log?.(`${id}: warning: ${m}`),
    };
  };

  // the memory is built at assembly: a change to its section alone (an ensemble member more, k, λ) assembles again
  const memoryKey = JSON.stringify(p.memory);
  if (state.assemble?.done && JSON.stringify(state.assemble.result?.memory ?? null) !== memoryKey) state.assemble.done = false;

  /** The memory's encoders no lane has taken yet start here: a lane that is free takes the next. */
  let nextEncoder = 0;
  /** Set while the main lane trains an encoder with half the threads beside the second lane: that
   *  lane, once done, aborts it (it checkpoints), and it goes on from there with all the threads. */
  let regain: AbortController | null = null;
  /** The memory's encoders, each the next not taken, until none is left; `inThread`: each in a
   *  worker thread (the second lane), else in this one (the main lane once its stages are done). */
  const memoryEncoders = async (inThread: boolean): Promise<boolean> => {
    for (let i = nextEncoder++; i < memCfgs.length; i = nextEncoder++) {
      const c = memCfgs[i];
      for (;;) {
        const more = !inThread && lanes.memory ? new AbortController() : null;
        if (!inThread) regain = more;
        const done = await stage(memId(i), async () => {
          const o = recipeOpts(memId(i), join(work, memId(i)), more ? AbortSignal.any([halt.signal, more.signal]) : halt.signal);
          const res = inThread ? await runRecipeInThread('semantic', c, o) : await semanticRecipe.run(c, o);
          return { paused: res.status === 'paused', result: res.metrics };
        });
        if (!inThread) regain = null;
        if (done) break;
        if (!more?.signal.aborted || halt.signal.aborted) return false;
        log(`${memId(i)}: the second lane is done; going on with all the threads`);
      }
    }
    return true;
  };
  let lane: Promise<boolean> | null = null;
  let laneError: Error | null = null;

  const main = async () => {
    if (!(await stage('data', async () => {
      if (!(await exists(join(data, 'metadata.jsonl')))) await buildEmojiDataset({ out: data });
      return { paused: false };
    }))) return false;
    // a second lane only while the main one has stages of its own left (a run resumed after them
    // trains the encoders left here, with all the threads)
    const memIds = new Set(memCfgs.map((_, i) => memId(i)));
    if (beside && memCfgs.some((_, i) => !state[memId(i)]?.done) && plan.some(([k]) => !memIds.has(k) && !state[k]?.done)) {
      lanes.memory = true;
      lane = memoryEncoders(true).then(
        (done) => done,
        (e: unknown) => {
          laneError = e as Error;
          halted(); // the main lane pauses at its next step, then the error is thrown
          return false;
        },
      ).finally(() => {
        lanes.memory = false;
        regain?.abort();
      });
    }

    const textTok = join(work, 'text-tokenizer');
    if (!(await stage('text-tokenizer', async () => {
      const labels = await corpusFromImagefolder(data);
      const prompts = [...CAPTION_PROMPTS, CATEGORY_PROMPT, DECOMPRESS_PROMPT, ...T2I_TEMPLATES.map((t) => t('red apple'))];
      const docs = [...labels, ...Array.from({ length: 50 }, () => prompts).flat()];
      const model = trainBpe(docs, { vocabSize: p.text_tokenizer.vocab_size, minFrequency: p.text_tokenizer.min_frequency });
      writeTokenizerFiles(textTok, model, { modelMaxLength: 2048 });
      return { paused: false, result: { merges: model.merges.length } };
    }))) return false;

    let tokDir = join(work, 'tokenizer', 'model');
    const artifact = p.tokenizer_artifact ? resolve(root, p.tokenizer_artifact) : null;
    if (!(await stage('tokenizer', async () => {
      if (artifact && (await exists(join(artifact, 'encoder.onnx')))) {
        const have = await readImageTokenizerConfig(artifact);
        if (JSON.stringify(have) === JSON.stringify(tokCfg.model)) {
          log(`using the pre-trained image tokenizer in ${artifact}`);
          await rm(tokDir, { recursive: true, force: true });
          await cp(artifact, tokDir, { recursive: true });
          return { paused: false, result: { reused: artifact } };
        }
        log(`${artifact} was trained with another model config; training a new one`);
      }
      const r = await tokenizerRecipe.run(tokCfg, recipeOpts('tokenizer', join(work, 'tokenizer')));
      if (r.status === 'done' && artifact) {
        await rm(artifact, { recursive: true, force: true });
        await cp(tokDir, artifact, { recursive: true });
      }
      return { paused: r.status === 'paused', result: r.metrics };
    }))) return false;

    let lmDir: string | null = null;
    for (let r = 1; r <= p.stage1.rounds; r++) {
      const lmOut = join(work, `stage1-lm-${r}`);
      const cfg: LmRecipeConfig = lmRecipe.parseConfig({
        ...lm1.json, stage: 'stage1', data: { ...(lm1.json.data as object), dir: data }, image_tokenizer: tokDir, text_tokenizer: textTok, init_from: lmDir,
        train: { ...(lm1.json.train as object), steps: p.stage1.lm_steps_per_round },
      }, lm1.source);
      if (!(await stage(`stage1-lm-${r}`, async () => {
        const res = await lmRecipe.run(cfg, recipeOpts(`stage1-lm-${r}`, lmOut));
        return { paused: res.status === 'paused', result: res.metrics };
      }))) return false;
      lmDir = join(lmOut, 'model');
      const tokOut = join(work, `stage1-tok-${r}`);
      const tcfg: TokenizerRecipeConfig = tokenizerRecipe.parseConfig({
        ...tokCfg, init_from: tokDir,
        train: { ...tokCfg.train, steps: p.stage1.tokenizer_steps_per_round, warmup_steps: 0, ae_warmup_steps: 0, eval_every: 0, ...(p.stage1.tokenizer_lr ? { lr: p.stage1.tokenizer_lr } : {}) },
        pull: { from: join(lmOut, 'lm-embeddings.safetensors'), key: 'model.embed_tokens.weight', lambda: p.stage1.pull_lambda, every: p.stage1.pull_every },
      }, tokRef.source);
      if (!(await stage(`stage1-tok-${r}`, async () => {
        const res = await tokenizerRecipe.run(tcfg, recipeOpts(`stage1-tok-${r}`, tokOut));
        return { paused: res.status === 'paused', result: res.metrics };
      }))) return false;
      tokDir = join(tokOut, 'model');
    }

    // a semantic encoder, and the tokenizer folder the semantic rounds read: the pixel one + semantic/
    const semanticStage = async (id: string, cfg: SemanticRecipeConfig, dual: string, alignTo?: string) => {
      if (!(await stage(id, async () => {
        const res = await semanticRecipe.run(cfg, recipeOpts(id, join(work, id)));
        if (res.status === 'paused' || !alignTo) return { paused: res.status === 'paused', result: res.metrics };
        const kept = await alignSemanticEncoder(join(work, id, 'model'), alignTo, data, cfg.data.train_split, threadsNow());
        log(`${id}: code numbers matched to ${alignTo}; images keeping their code, per level: ${kept.map((x) => x.toFixed(3)).join(' ')}`);
        return { paused: false, result: { ...res.metrics, ...Object.fromEntries(kept.map((x, d) => [`aligned_${d + 1}`, x])) } };
      }))) return false;
      await rm(dual, { recursive: true, force: true });
      await cp(tokDir, dual, { recursive: true });
      await cp(join(work, id, 'model'), join(dual, 'semantic'), { recursive: true });
      return true;
    };
    let semId = 'semantic', dualDir = join(work, 'tokenizer-dual');
    if (semCfg && !(await semanticStage(semId, semCfg, dualDir))) return false;

    const stage2Out = join(work, 'stage2');
    const cfg2: LmRecipeConfig = lmRecipe.parseConfig({
      ...lm2.json, stage: 'stage2', data: { ...(lm2.json.data as object), dir: data }, image_tokenizer: tokDir, text_tokenizer: textTok, init_from: lmDir,
      train: { ...(lm2.json.train as object), ...(p.stage2.steps ? { steps: p.stage2.steps } : {}) },
    }, lm2.source);
    if (!(await stage('stage2', async () => {
      const res = await lmRecipe.run(cfg2, recipeOpts('stage2', stage2Out));
      return { paused: res.status === 'paused', result: res.metrics };
    }))) return false;
    let lmFinal = join(stage2Out, 'model');
    const more: LmRecipeConfig[] = [];
    for (const [k, seg] of p.stage2.more.entries()) {
      const id = `stage2-more-${k + 1}`;
      const later = laterSem.get(k);
      if (later) {
        const prev = semId;
        semId = `semantic-more-${k + 1}`;
        dualDir = join(work, `tokenizer-dual-${k + 1}`);
        if (!(await semanticStage(semId, later, dualDir, join(work, prev, 'model')))) return false;
      }
      const cfg: LmRecipeConfig = lmRecipe.parseConfig({
        ...cfg2, init_from: lmFinal, grow: seg.grow, semantic_read: seg.semantic_read, semantic_only: seg.semantic_only, data: { ...cfg2.data, augment: seg.augment }, image_tokenizer: seg.semantic ? dualDir : tokDir,
        train: { ...cfg2.train, steps: seg.steps, lr: seg.lr, warmup_steps: seg.warmup_steps, seed: seg.seed, mix: seg.mix },
      }, lm2.source);
      more.push(cfg);
      if (!(await stage(id, async () => {
        const res = await lmRecipe.run(cfg, recipeOpts(id, join(work, id)));
        return { paused: res.status === 'paused', result: res.metrics };
      }))) return false;
      lmFinal = join(work, id, 'model');
    }

    let decoderDir: string | null = null;
    if (p.decoder) {
      const rounds = [p.decoder, ...p.decoder.more];
      for (const [k, seg] of rounds.entries()) {
        const id = k === 0 ? 'tokenizer-decoder' : `tokenizer-decoder-${k + 1}`;
        const dcfg: TokenizerRecipeConfig = tokenizerRecipe.parseConfig({
          ...tokCfg, init_from: decoderDir ?? tokDir, pull: null,
          train: { ...tokCfg.train, steps: seg.steps, lr: seg.lr, ssim_weight: seg.ssim_weight, decoder_only: true, warmup_steps: Math.min(50, seg.steps), ae_warmup_steps: 0, eval_every: 0 },
        }, tokRef.source);
        if (!(await stage(id, async () => {
          const res = await tokenizerRecipe.run(dcfg, recipeOpts(id, join(work, id)));
          return { paused: res.status === 'paused', result: res.metrics };
        }))) return false;
        decoderDir = join(work, id, 'model');
      }
    }

    // the encoders the second lane has not started, here; then the one it is on, there
    if (!(await memoryEncoders(false))) return false;
    if (lane) {
      lanes.main = false;
      const laneDone = await lane;
      lanes.main = true;
      if (laneError) throw laneError;
      if (!laneDone) return false;
    }

    return stage('assemble', async () => {
      const assembleStart = Date.now();
      const tmp = `${modelDir}.tmp-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      await cp(lmFinal, tmp, { recursive: true });
      if (decoderDir) {
        // same encoder and codebook as the tokenizer Stage II read its codes from; a better decoder
        await rm(join(tmp, 'image-tokenizer'), { recursive: true, force: true });
        await cp(decoderDir, join(tmp, 'image-tokenizer'), { recursive: true });
        if (firstSemantic >= 0) await cp(join(work, semId, 'model'), join(tmp, 'image-tokenizer', 'semantic'), { recursive: true });
      }
      const cardFile = join(tmp, 'tessera.json');
      const card = JSON.parse(await readFile(cardFile, 'utf8'));
      card.training = {
        machine: 'this project\'s 2-core CPU machine (onnxruntime-node CPU)',
        ...Object.fromEntries(Object.entries(state).map(([k, v]) => [`${k}_seconds`, Math.round(v.seconds)])),
        // the time some stage was running, up to now: the lanes' overlap and the pauses between runs left out
        wall_seconds: Math.round(busySeconds([...Object.values(state).flatMap((v) => v.spans ?? []), [assembleStart, Date.now()]])),
      };
      card.recipe = {
        pipeline: p, tokenizer: tokCfg, stage2: cfg2, ...(more.length ? { stage2_more: more } : {}), ...(semCfg && firstSemantic >= 0 ? { semantic: semCfg } : {}),
        ...(laterSem.size ? { semantic_more: Object.fromEntries([...laterSem].map(([i, c]) => [`stage2.more[${i}]`, c])) } : {}),
      };
      card.metrics = { ...card.metrics, ...(await tokenizerMetrics(join(tmp, 'image-tokenizer'), data, opts.threads)) };
      if (p.memory) {
        const { encoder: _, with_semantic: withSemantic, split, variant_alpha: variantAlpha, drawing, ...mix } = p.memory;
        // each memory encoder stage gives its model and, with cycles, its snapshots (recipes/semantic.ts);
        // the model's own semantic encoder first when it joins them, or alone when none is listed
        const own = join(tmp, 'image-tokenizer', 'semantic');
        const listed = memCfgs.flatMap((c, i) => semanticRunModels(join(work, memId(i)), c));
        const encoderDir = listed.length ? [...(withSemantic ? [own] : []), ...listed] : own;
        const f = await buildMemory({ encoderDir, dataDir: data, split, out: join(tmp, MEMORY_DIR), mix, variantAlpha, threads: opts.threads, ...(drawing ? { model: tmp } : {}) });
        card.recipe.memory = { ...p.memory, ...(memCfgs.length ? { encoder: memListed ? memCfgs : memCfgs[0] } : {}) };
        // memory_encoder_* for the first encoder, memory_encoder_2_* for the second, ...
        const encoderMetrics = memCfgs.flatMap((_, i) => Object.entries(state[memId(i)]?.result ?? {}).map(([k, v]) => [`${memId(i).replace(/-/g, '_')}_${k}`, v]));
        card.metrics = { ...card.metrics, memory_entries: f.entries, memory_split: split, ...Object.fromEntries(encoderMetrics) };
        log(`memory: ${f.entries} examples of split '${split}'`);
      }
      // the metrics of the encoder the final model reads
      if (firstSemantic >= 0) card.metrics = { ...card.metrics, ...Object.fromEntries(Object.entries(state[semId]?.result ?? {}).map(([k, v]) => [`semantic_${k}`, v])) };
      await writeFileAtomic(cardFile, JSON.stringify(card, null, 2) + '\n');
      await rm(modelDir, { recursive: true, force: true });
      await rename(tmp, modelDir);
      log(`model folder: ${modelDir}`);
      return { paused: false, result: { memory: p.memory } };
    });
  };
  let ok: boolean;
  try {
    ok = await main();
  } catch (e) {
    halted(); // the second lane checkpoints and stops before the error goes on
    await lane;
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', halted);
  }
  if (!ok && lane) {
    halted();
    await lane;
    if (laneError) throw laneError;
  }
  await saving;
  return ok ? 'done' : 'paused';
}

/** Seconds covered by the union of time spans [start, end] (ms). */
export function busySeconds(spans: readonly (readonly [number, number])[]): number {
  let total = 0, end = -Infinity;
  for (const [a, b] of [...spans].sort((x, y) => x[0] - y[0])) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total / 1000;
}

/**
 * The pipeline as a recipe: a new unified model trained from scratch on a dataset (an imagefolder
 * with train/validation/test splits), in the job's folder (`outDir`: stage folders, pipeline-state.json,
 * and `outDir/model`). Recipes are inline; the image tokenizer is always trained, never shared.
 */
export const pipelineRecipe: Recipe<Pipeline> = {
  kind: 'unified',
  parseConfig: (json, source) => parseConfigWith(PipelineSchema, json, source),
  async run(cfg, o) {
    const modelDir = join(o.outDir, 'model');
    let step = 0;
    const r = await runPipelineConfig({ ...cfg, work_dir: o.outDir, model_dir: modelDir, tokenizer_artifact: null }, process.cwd(), {
      threads: o.threads, signal: o.signal, log: () => {},
      onProgress: (stage, q, all) => {
        step = all.step;
        // this stage's pace applied to what is left of the whole pipeline
        const left = q.totalSteps - q.step;
        const eta = q.etaSeconds !== null && left > 0 ? (q.etaSeconds * (all.total - all.step)) / left : null;
        o.onProgress?.({ ...q, phase: `${stage} ${q.phase}`, step: all.step, totalSteps: all.total, etaSeconds: eta });
      },
      onSample: o.onSample && ((_stage, x) => o.onSample!(x)),
      onCheckpoint: (_stage, c) => o.onCheckpoint?.({ step, path: c.path }),
    });
    if (r === 'paused') return { status: 'paused', step };
    const card = JSON.parse(await readFile(join(modelDir, 'tessera.json'), 'utf8')) as { metrics?: Record<string, unknown> };
    const metrics = Object.fromEntries(Object.entries(card.metrics ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number'));
    return { status: 'done', step, modelDir, metrics };
  },
};
