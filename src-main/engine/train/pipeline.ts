// The default model's whole recipe as one resumable pipeline (`npm run train:default`):
//   data            the emoji imagefolder (built from the npm packages when missing)
//   text-tokenizer  byte-level BPE over the captions, tags and task prompts, vocab = the LM's
//   tokenizer       VQ tokenizer pre-training (AE warm-up, k-means, EMA codes)
//   stage1-*        UniCode Stage I: rounds of LM training (decompression + captions on the current
//                   codes; its embedding table written out) alternating with tokenizer training that
//                   pulls its codebook one way toward that table every N steps
//   stage2          tokenizer frozen; instruction tuning (captions, questions, text-to-image,
//                   decompression), loss on answers only
//   tokenizer-decoder  (optional) the final tokenizer's decoder fine-tuned alone with an SSIM term:
//                   encoder and codebook fixed, so the codes the LM was trained on do not change
//   assemble        the final model folder with its card (metrics measured on the held-out style)
// Every stage runs with resume = true and is marked done in WORK/pipeline-state.json when it
// finishes, so killing the process at any moment and starting again continues where it stopped.
import { access, cp, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { buildEmojiDataset } from '../data/emoji.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { trainBpe } from '../text/bpe.ts';
import { corpusFromImagefolder } from '../text/corpus.ts';
import { writeTokenizerFiles } from '../text/files.ts';
import { CAPTION_PROMPTS, CATEGORY_PROMPT, DECOMPRESS_PROMPT, T2I_TEMPLATES } from '../data/tasks.ts';
import { parseConfigWith, RecipeConfigError, type RecipeProgress, type RecipeSample } from './recipe.ts';
import { lmRecipe, TASKS, type LmRecipeConfig } from './recipes/lm.ts';
import { evaluateReconstruction, tokenizerRecipe, type TokenizerRecipeConfig } from './tokenizer.ts';
import { loadImageTokenizer, readImageTokenizerConfig } from '../models/image-tokenizer.ts';
import { loadImageFolder } from '../data/imagefolder.ts';

export const PipelineSchema = z.object({
  data_dir: z.string().min(1),
  work_dir: z.string().min(1),
  model_dir: z.string().min(1),
  text_tokenizer: z.object({ vocab_size: z.int().min(300), min_frequency: z.int().min(1).default(2) }),
  /** Recipe files, relative to the pipeline file. */
  tokenizer: z.string().min(1),
  /** Where the pre-trained image tokenizer is kept (committed, so a later session or machine can
   *  continue from it): reused when its config matches, written when the stage trains it. */
  tokenizer_artifact: z.string().min(1).nullable().default(null),
  stage1: z.object({
    rounds: z.int().min(0),
    lm: z.string().min(1),
    lm_steps_per_round: z.int().min(1),
    tokenizer_steps_per_round: z.int().min(1),
    /** Peak learning rate of the Stage I tokenizer rounds (default: the tokenizer recipe's). */
    tokenizer_lr: z.number().positive().optional(),
    pull_lambda: z.number().min(0).max(1),
    pull_every: z.int().min(1),
  }),
  /** steps overrides the Stage II file's train.steps. `more`: further Stage II rounds, each starting
   *  from the previous round's model with its own schedule (warmup + cosine), seed and task mix. */
  stage2: z.object({
    lm: z.string().min(1),
    steps: z.int().min(1).optional(),
    more: z.array(z.object({
      steps: z.int().min(1),
      lr: z.number().positive(),
      warmup_steps: z.int().min(0).default(50),
      seed: z.int().min(0),
      mix: z.partialRecord(z.enum(TASKS), z.number().min(0)).nullable().default(null),
    })).default([]),
  }),
  /** After Stage II: fine-tune the final tokenizer's decoder alone (its encoder and codebook, so the
   *  codes the LM learned, stay fixed) with an SSIM term; null skips the stage. */
  decoder: z.object({
    steps: z.int().min(1),
    lr: z.number().positive(),
    ssim_weight: z.number().min(0),
    /** Further decoder-only rounds, each from the previous round's tokenizer. */
    more: z.array(z.object({ steps: z.int().min(1), lr: z.number().positive(), ssim_weight: z.number().min(0) })).default([]),
  }).nullable().default(null),
});
export type Pipeline = z.infer<typeof PipelineSchema>;

export interface PipelineOptions {
  threads?: number;
  signal?: AbortSignal;
  log?(line: string): void;
  onProgress?(stage: string, p: RecipeProgress): void;
  onSample?(stage: string, s: RecipeSample): void;
}

interface StageState {
  done: boolean;
  seconds: number;
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

/** The image tokenizer's reconstruction numbers on the held-out style (the test split). */
export async function tokenizerMetrics(dir: string, dataDir: string, threads = 2): Promise<Record<string, number | string>> {
  const tok = await loadImageTokenizer(dir, { threads });
  try {
    const set = await loadImageFolder(dataDir, { split: 'test', size: tok.imageSize });
    const e = await evaluateReconstruction((px, m) => tok.encodeCodes(px, m), (c, m) => tok.decodeCodes(c, m), set.images, set.rows.length, tok.imageSize, tok.codebookSize);
    return {
      tokenizer_eval_set: `test split (held-out facebook style), ${e.images} images`,
      tokenizer_psnr: e.psnr, tokenizer_ssim: e.ssim, tokenizer_usage: e.usage, tokenizer_perplexity: e.perplexity,
      tokenizer_positions_per_image: tok.positions, tokenizer_codes_per_position: tok.depth,
    };
  } finally {
    await tok.release();
  }
}

export async function runPipeline(file: string, opts: PipelineOptions = {}): Promise<'done' | 'paused'> {
  const source = resolve(file);
  const p = parseConfigWith(PipelineSchema, await readJson(source), source);
  const base = dirname(source);
  const root = process.cwd();
  const data = resolve(root, p.data_dir), work = resolve(root, p.work_dir), modelDir = resolve(root, p.model_dir);
  const log = opts.log ?? console.log;
  await mkdir(work, { recursive: true });
  const stateFile = join(work, 'pipeline-state.json');
  const state: Record<string, StageState> = (await exists(stateFile)) ? (await readJson(stateFile)) as Record<string, StageState> : {};
  const save = () => writeFileAtomic(stateFile, JSON.stringify(state, null, 1));

  /** Runs a stage unless done; returns false when it paused. A stage that runs (one added to the
   *  recipe after the model was assembled, say) makes the model folder be assembled again. */
  const stage = async (id: string, fn: () => Promise<{ paused: boolean; result?: Record<string, unknown> }>): Promise<boolean> => {
    if (state[id]?.done) return true;
    if (id !== 'assemble' && state.assemble) state.assemble.done = false;
    log(`── ${id}`);
    const t0 = performance.now();
    const r = await fn();
    const prev = state[id]?.seconds ?? 0;
    state[id] = { done: !r.paused, seconds: prev + (performance.now() - t0) / 1000, result: r.result };
    await save();
    return !r.paused;
  };
  const recipeOpts = (id: string, outDir: string) => ({
    outDir, resume: true, signal: opts.signal, threads: opts.threads,
    onProgress: (x: RecipeProgress) => opts.onProgress?.(id, x),
    onSample: (s: RecipeSample) => opts.onSample?.(id, s),
  });

  const ok = await (async () => {
    if (!(await stage('data', async () => {
      if (!(await exists(join(data, 'metadata.jsonl')))) await buildEmojiDataset({ out: data });
      return { paused: false };
    }))) return false;

    const textTok = join(work, 'text-tokenizer');
    if (!(await stage('text-tokenizer', async () => {
      const labels = await corpusFromImagefolder(data);
      const prompts = [...CAPTION_PROMPTS, CATEGORY_PROMPT, DECOMPRESS_PROMPT, ...T2I_TEMPLATES.map((t) => t('red apple'))];
      const docs = [...labels, ...Array.from({ length: 50 }, () => prompts).flat()];
      const model = trainBpe(docs, { vocabSize: p.text_tokenizer.vocab_size, minFrequency: p.text_tokenizer.min_frequency });
      writeTokenizerFiles(textTok, model, { modelMaxLength: 2048 });
      return { paused: false, result: { merges: model.merges.length } };
    }))) return false;

    const tokJson = await readJson(join(base, p.tokenizer)) as { data?: object };
    const tokCfg = tokenizerRecipe.parseConfig({ ...tokJson, data: { ...tokJson.data, dir: data }, pull: null }, join(base, p.tokenizer));
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

    const lm1Json = await readJson(join(base, p.stage1.lm)) as Record<string, unknown>;
    let lmDir: string | null = null;
    for (let r = 1; r <= p.stage1.rounds; r++) {
      const lmOut = join(work, `stage1-lm-${r}`);
      const cfg: LmRecipeConfig = lmRecipe.parseConfig({
        ...lm1Json, stage: 'stage1', data: { ...(lm1Json.data as object), dir: data }, image_tokenizer: tokDir, text_tokenizer: textTok, init_from: lmDir,
        train: { ...(lm1Json.train as object), steps: p.stage1.lm_steps_per_round },
      }, join(base, p.stage1.lm));
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
      }, join(base, p.tokenizer));
      if (!(await stage(`stage1-tok-${r}`, async () => {
        const res = await tokenizerRecipe.run(tcfg, recipeOpts(`stage1-tok-${r}`, tokOut));
        return { paused: res.status === 'paused', result: res.metrics };
      }))) return false;
      tokDir = join(tokOut, 'model');
    }

    const lm2Json = await readJson(join(base, p.stage2.lm)) as Record<string, unknown>;
    const stage2Out = join(work, 'stage2');
    const cfg2: LmRecipeConfig = lmRecipe.parseConfig({
      ...lm2Json, stage: 'stage2', data: { ...(lm2Json.data as object), dir: data }, image_tokenizer: tokDir, text_tokenizer: textTok, init_from: lmDir,
      train: { ...(lm2Json.train as object), ...(p.stage2.steps ? { steps: p.stage2.steps } : {}) },
    }, join(base, p.stage2.lm));
    if (!(await stage('stage2', async () => {
      const res = await lmRecipe.run(cfg2, recipeOpts('stage2', stage2Out));
      return { paused: res.status === 'paused', result: res.metrics };
    }))) return false;
    let lmFinal = join(stage2Out, 'model');
    const more: LmRecipeConfig[] = [];
    for (const [k, seg] of p.stage2.more.entries()) {
      const id = `stage2-more-${k + 1}`;
      const cfg: LmRecipeConfig = lmRecipe.parseConfig({
        ...cfg2, init_from: lmFinal,
        train: { ...cfg2.train, steps: seg.steps, lr: seg.lr, warmup_steps: seg.warmup_steps, seed: seg.seed, mix: seg.mix },
      }, join(base, p.stage2.lm));
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
        }, join(base, p.tokenizer));
        if (!(await stage(id, async () => {
          const res = await tokenizerRecipe.run(dcfg, recipeOpts(id, join(work, id)));
          return { paused: res.status === 'paused', result: res.metrics };
        }))) return false;
        decoderDir = join(work, id, 'model');
      }
    }

    return stage('assemble', async () => {
      const tmp = `${modelDir}.tmp-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      await cp(lmFinal, tmp, { recursive: true });
      if (decoderDir) {
        // same encoder and codebook as the tokenizer Stage II read its codes from; a better decoder
        await rm(join(tmp, 'image-tokenizer'), { recursive: true, force: true });
        await cp(decoderDir, join(tmp, 'image-tokenizer'), { recursive: true });
      }
      const cardFile = join(tmp, 'tessera.json');
      const card = JSON.parse(await readFile(cardFile, 'utf8'));
      card.training = {
        machine: 'this project\'s 2-core CPU machine (onnxruntime-node CPU)',
        ...Object.fromEntries(Object.entries(state).map(([k, v]) => [`${k}_seconds`, Math.round(v.seconds)])),
      };
      card.recipe = { pipeline: p, tokenizer: tokCfg, stage2: cfg2, ...(more.length ? { stage2_more: more } : {}) };
      card.metrics = { ...card.metrics, ...(await tokenizerMetrics(join(tmp, 'image-tokenizer'), data, opts.threads)) };
      await writeFileAtomic(cardFile, JSON.stringify(card, null, 2) + '\n');
      await rm(modelDir, { recursive: true, force: true });
      await rename(tmp, modelDir);
      log(`model folder: ${modelDir}`);
      return { paused: false };
    });
  })();
  return ok ? 'done' : 'paused';
}
