// The image tokenizer recipe (kind 'tokenizer'): trains the VQ autoencoder of models/vqtok.ts on an
// imagefolder split.
//   1. autoencoder warm-up: `ae_warmup_steps` steps with quantization off (vq_mix = 0);
//   2. codebook init: spherical k-means on encoder outputs of a fixed sample of training images;
//   3. VQ training: cosine lookup, straight-through estimator, commitment loss; the codebook follows
//      EMA averages of its assigned encoder outputs with dead-code restart (quant/codebook.ts);
//   4. optional UniCode pull every `pull.every` steps: C' = λ·C + (1−λ)·E[ids]·P toward the LM's
//      embedding table read from a safetensors file (one way: the LM file is only read).
// Everything that decides the next step — weights, AdamW moments, EMA state, RNG, data cursor, the
// k-means flag — is in each checkpoint, so `resume` reproduces an uninterrupted run's losses.
import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { loadImageFolder } from '../data/imagefolder.ts';
import { Graph, type Tensor } from '../graph/graph.ts';
import { exportOnnx } from '../graph/onnx.ts';
import { encodePng } from '../io/image.ts';
import { readSafetensors } from '../io/safetensors.ts';
import { tileImages } from '../models/image-grid.ts';
import { readImageTokenizerConfig, readImageTokenizerWeights, saveImageTokenizer } from '../models/image-tokenizer.ts';
import { paramWeights, validateVqTokConfig, vqtokDecoderGraph, vqtokEncoderGraph, vqtokGeometry, vqtokInit, vqtokLatentGraph, vqtokTrainGraph, DEFAULT_VQTOK, type VqTokConfig } from '../models/vqtok.ts';
import { EmaCodebook, kmeansInit } from '../quant/codebook.ts';
import { mseOf, psnrOf, ssimOf } from '../quant/image-metrics.ts';
import { codePerplexity, codeUsage } from '../quant/metrics.ts';
import { fitProjection, pullCodebook, pullDue } from '../quant/pull.ts';
import { Session } from '../runtime/session.ts';
import { Rng } from '../util/rng.ts';
import { loadLatestCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { parseConfigWith, RecipeConfigError, type Recipe, type RecipeResult, type RecipeRunOptions } from './recipe.ts';
import { Trainer } from './trainer.ts';

const posInt = z.int().min(1);
const ModelSchema = z.object({
  model_type: z.literal('tessera-vqtok').default('tessera-vqtok'),
  image_size: posInt.default(DEFAULT_VQTOK.image_size),
  channels: z.array(posInt).min(1).default(DEFAULT_VQTOK.channels),
  enc_blocks: z.array(z.int().min(0)).default(DEFAULT_VQTOK.enc_blocks),
  dec_blocks: z.array(z.int().min(0)).default(DEFAULT_VQTOK.dec_blocks),
  dec_out_channels: posInt.optional(),
  code_dim: posInt.default(DEFAULT_VQTOK.code_dim),
  codebook_size: posInt.default(DEFAULT_VQTOK.codebook_size),
  first_token_id: z.int().min(0).default(DEFAULT_VQTOK.first_token_id),
  fold: posInt.default(DEFAULT_VQTOK.fold),
  norm_groups: posInt.default(DEFAULT_VQTOK.norm_groups),
});

export const TokenizerRecipeSchema = z.object({
  model: ModelSchema.default(ModelSchema.parse({})),
  data: z.object({
    dir: z.string().min(1),
    train_split: z.string().default('train'),
    eval_split: z.string().default('validation'),
    /** Evaluate on at most this many images of eval_split. */
    eval_images: posInt.default(256),
  }),
  train: z.object({
    steps: posInt,
    batch: posInt.default(32),
    lr: z.number().positive().default(2e-3),
    warmup_steps: z.int().min(0).default(100),
    min_lr_ratio: z.number().min(0).max(1).default(0.05),
    weight_decay: z.number().min(0).default(0),
    clip_norm: z.number().positive().nullable().default(1),
    /** Steps of plain autoencoder training before quantization switches on. */
    ae_warmup_steps: z.int().min(0).default(200),
    beta: z.number().min(0).default(0.25),
    /** Weight of (1 − SSIM) in the loss (0 = MSE only). */
    ssim_weight: z.number().min(0).default(0),
    /** Train only the decoder (needs init_from): the encoder and codebook stay as they are, so every
     *  image keeps its codes and an LM trained on them stays valid. */
    decoder_only: z.boolean().default(false),
    /** Random horizontal flips of training images. */
    flip: z.boolean().default(true),
    seed: z.int().default(1),
    checkpoint_every: posInt.default(100),
    eval_every: z.int().min(0).default(0),
    threads: posInt.optional(),
  }),
  codebook: z.object({
    init_samples: posInt.default(512),
    kmeans_iters: posInt.default(8),
    ema_decay: z.number().gt(0).lt(1).default(0.99),
    dead_threshold: z.number().min(0).default(0.03),
  }).default({ init_samples: 512, kmeans_iters: 8, ema_decay: 0.99, dead_threshold: 0.03 }),
  /** Start from a trained tokenizer folder (Stage I rounds): its weights and codebook, quantization on from step 0. */
  init_from: z.string().min(1).nullable().default(null),
  pull: z.object({
    /** safetensors file holding the LM embedding table (written by the LM recipe); absent file = no pull yet. */
    from: z.string().min(1),
    key: z.string().default('model.embed_tokens.weight'),
    lambda: z.number().min(0).max(1).default(0.9),
    every: posInt.default(100),
    ridge: z.number().positive().default(1e-3),
  }).nullable().default(null),
});
export type TokenizerRecipeConfig = z.infer<typeof TokenizerRecipeSchema>;

export function parseTokenizerConfig(json: unknown, source: string): TokenizerRecipeConfig {
  const cfg = parseConfigWith(TokenizerRecipeSchema, json, source);
  try {
    validateVqTokConfig(cfg.model as VqTokConfig, `${source} (model)`);
  } catch (err) {
    throw new RecipeConfigError(source, 'model', (err as Error).message);
  }
  if (cfg.train.decoder_only && !cfg.init_from) throw new RecipeConfigError(source, 'train.decoder_only', 'needs init_from: the trained tokenizer whose decoder is fine-tuned');
  if (cfg.train.decoder_only && cfg.pull) throw new RecipeConfigError(source, 'pull', 'must be null with train.decoder_only (the codebook is frozen)');
  return cfg;
}

interface Cursor {
  epoch: number;
  pos: number;
  kmeansDone: boolean;
}

const f32 = (shape: number[], data: Float32Array): Tensor => ({ dtype: 'float32', shape, data });

/** The permutation of `n` training images for an epoch: a function of (seed, epoch) only. */
function epochOrder(seed: number, epoch: number, n: number): number[] {
  return new Rng((seed * 7919 + epoch * 104729) >>> 0).shuffle(Array.from({ length: n }, (_, i) => i)) as number[];
}

/** Quality of the current weights on a set of images. */
export interface TokenizerEval {
  psnr: number;
  ssim: number;
  usage: number;
  perplexity: number;
  images: number;
}

/** Reconstructs `images` through encoder → codes → decoder sessions and scores them. */
export async function evaluateReconstruction(
  encode: (px: Float32Array, n: number) => Promise<BigInt64Array>,
  decode: (codes: BigInt64Array, n: number) => Promise<Float32Array>,
  images: Float32Array, n: number, size: number, codebookSize: number, batch = 64,
): Promise<TokenizerEval & { codes: BigInt64Array; recon: Float32Array }> {
  const per = 3 * size * size;
  const recon = new Float32Array(n * per);
  const chunks: BigInt64Array[] = [];
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const px = images.subarray(s * per, (s + m) * per);
    const codes = await encode(px, m);
    chunks.push(codes);
    recon.set(await decode(codes, m), s * per);
  }
  const codes = new BigInt64Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    codes.set(c, o);
    o += c.length;
  }
  const mse = mseOf(images.subarray(0, n * per), recon, n);
  const ssim = ssimOf(images.subarray(0, n * per), recon, n, 3, size, size);
  const mean = (a: Float64Array) => a.reduce((x, y) => x + y, 0) / a.length;
  return {
    psnr: mean(mse.map(psnrOf)), ssim: mean(ssim), usage: codeUsage(codes, codebookSize), perplexity: codePerplexity(codes, codebookSize), images: n,
    codes, recon,
  };
}

export async function runTokenizerRecipe(cfg: TokenizerRecipeConfig, opts: RecipeRunOptions): Promise<RecipeResult> {
  const c = cfg.model as VqTokConfig;
  const t = cfg.train;
  const threads = opts.threads ?? t.threads ?? 2;
  const S = c.image_size;
  const per = 3 * S * S;
  const { grid } = vqtokGeometry(c);
  const train = await loadImageFolder(cfg.data.dir, { split: cfg.data.train_split, size: S });
  const n = train.rows.length;
  if (n < t.batch) throw new RecipeConfigError('config', 'train.batch', `${t.batch} is larger than the ${n} training images`);

  const trainer = await Trainer.create(
    { build: (g) => { const r = vqtokTrainGraph(g, c, { beta: t.beta, ssim: t.ssim_weight }); return { loss: r.loss, metrics: r.metrics, outputs: { z: r.z, idx: r.indices } }; }, init: vqtokInit },
    {
      optim: { weightDecay: t.weight_decay, clipNorm: t.clip_norm },
      schedule: { lr: t.lr, warmupSteps: t.warmup_steps, totalSteps: t.steps, minRatio: t.min_lr_ratio },
      groups: t.decoder_only ? [{ match: /^encoder\./, frozen: true }] : undefined,
      seed: t.seed, session: { threads },
    },
  );
  const ckDir = join(opts.outDir, 'checkpoints');
  const initCb = new Rng(t.seed ^ 0xc0de).fillNormal(new Float32Array(c.codebook_size * c.code_dim), 1);
  let ema = new EmaCodebook(initCb, c.code_dim, { decay: cfg.codebook.ema_decay, deadThreshold: cfg.codebook.dead_threshold });
  let cursor: Cursor = { epoch: 0, pos: 0, kmeansDone: false };
  let resumed = false;
  if (opts.resume) {
    const ck = await loadLatestCheckpoint(ckDir, opts.onNotice);
    if (ck) {
      trainer.setState(ck.state);
      ema.codebook = ck.state.params.get('ema.codebook')!;
      ema.counts = ck.state.params.get('ema.counts')!;
      ema.sums = ck.state.params.get('ema.sums')!;
      cursor = ck.state.data as Cursor;
      resumed = true;
    }
  }
  if (cfg.init_from && !resumed) {
    const from = await readImageTokenizerConfig(cfg.init_from);
    const keys = ['image_size', 'channels', 'enc_blocks', 'dec_blocks', 'dec_out_channels', 'code_dim', 'codebook_size', 'first_token_id', 'fold', 'norm_groups'] as const;
    const differs = keys.filter((k) => JSON.stringify(from[k] ?? null) !== JSON.stringify(c[k] ?? null));
    if (differs.length) throw new RecipeConfigError('config', 'init_from', `${cfg.init_from} differs from this recipe's model in ${differs.join(', ')}`);
    const w = await readImageTokenizerWeights(cfg.init_from);
    for (const name of trainer.shapes.keys()) {
      const d = w.get(name);
      if (!d) throw new RecipeConfigError('config', 'init_from', `${cfg.init_from}/model.safetensors lacks '${name}'`);
      trainer.params.set(name, d);
    }
    ema = new EmaCodebook(w.get('quantizer.codebook')!, c.code_dim, { decay: cfg.codebook.ema_decay, deadThreshold: cfg.codebook.dead_threshold });
    cursor = { ...cursor, kmeansDone: true };
  }
  const vqFrom = cfg.init_from ? 0 : t.ae_warmup_steps;

  const latent = await (async () => {
    const g = new Graph('latent');
    return Session.create(exportOnnx(g, vqtokLatentGraph(g, c, paramWeights(g))).bytes, { threads });
  })();
  const paramFeeds = () => Object.fromEntries([...trainer.params].map(([k, d]) => [k, f32(trainer.shapes.get(k)!, d)]));

  const initCodebook = async () => {
    const m = Math.min(cfg.codebook.init_samples, n);
    const pick = new Rng(t.seed ^ 0x1417).shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, m) as number[];
    const zs: Float32Array[] = [];
    for (let s = 0; s < m; s += 64) {
      const idx = pick.slice(s, s + 64);
      const px = new Float32Array(idx.length * per);
      idx.forEach((j, i) => px.set(train.images.subarray(j * per, (j + 1) * per), i * per));
      zs.push((await latent.run({ ...paramFeeds(), pixels: f32([idx.length, 3, S, S], px) })).z.data as Float32Array);
    }
    const all = new Float32Array(zs.reduce((a, z) => a + z.length, 0));
    let o = 0;
    for (const z of zs) {
      all.set(z, o);
      o += z.length;
    }
    const C = kmeansInit(all, c.code_dim, c.codebook_size, trainer.rng, { iters: cfg.codebook.kmeans_iters });
    ema = new EmaCodebook(C, c.code_dim, { decay: cfg.codebook.ema_decay, deadThreshold: cfg.codebook.dead_threshold });
  };

  const tokenIds = Array.from({ length: c.codebook_size }, (_, k) => c.first_token_id + k);
  const pull = async (): Promise<boolean> => {
    const p = cfg.pull;
    if (!p) return false;
    try {
      await access(p.from);
    } catch {
      return false; // the LM has not written its table yet
    }
    const f = await readSafetensors(p.from);
    const E = f.tensors.get(p.key);
    if (!E || E.dtype !== 'F32' || E.shape.length !== 2) throw new RecipeConfigError(p.from, p.key, 'needs a 2-D F32 LM embedding table');
    const CL = { data: E.data as Float32Array, rows: E.shape[0], cols: E.shape[1] };
    const C = { data: ema.codebook, rows: c.codebook_size, cols: c.code_dim };
    const proj = CL.cols === c.code_dim ? undefined : fitProjection(C, CL, tokenIds, p.ridge);
    ema.setCodebook(pullCodebook(C, CL, p.lambda, { proj, tokenIds }).data);
    return true;
  };

  const evalSessions = async () => {
    const ge = new Graph('enc');
    const gd = new Graph('dec');
    return {
      enc: await Session.create(exportOnnx(ge, vqtokEncoderGraph(ge, c, paramWeights(ge))).bytes, { threads }),
      dec: await Session.create(exportOnnx(gd, vqtokDecoderGraph(gd, c, paramWeights(gd))).bytes, { threads }),
    };
  };
  const evaluate = async (images: Float32Array, count: number) => {
    const { enc, dec } = await evalSessions();
    const weights = () => ({ ...paramFeeds(), 'quantizer.codebook': f32([c.codebook_size, c.code_dim], ema.codebook) });
    try {
      return await evaluateReconstruction(
        async (px, m) => (await enc.run({ ...weights(), pixels: f32([m, 3, S, S], px) })).codes.data as BigInt64Array,
        async (codes, m) => (await dec.run({ ...weights(), codes: { dtype: 'int64', shape: [m, grid * grid], data: codes } })).pixels.data as Float32Array,
        images, count, S, c.codebook_size);
    } finally {
      await Promise.all([enc.release(), dec.release()]);
    }
  };
  const evalSet = await loadImageFolder(cfg.data.dir, { split: cfg.data.eval_split, size: S, limit: cfg.data.eval_images });
  /** A sample to watch: the first eval images above their reconstructions, as a PNG under outDir/samples. */
  let sampledAt = -1;
  const sampleGrid = async (recon: Float32Array) => {
    if (!opts.onSample || sampledAt === trainer.step) return; // the last step may already have had its eval
    sampledAt = trainer.step;
    const k = Math.min(8, evalSet.rows.length);
    const file = join(opts.outDir, 'samples', `step-${String(trainer.step).padStart(6, '0')}.png`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, await encodePng(tileImages([evalSet.images.subarray(0, k * per), recon.subarray(0, k * per)], k, S), { Description: 'top: originals, bottom: reconstructions' }));
    opts.onSample({ step: trainer.step, kind: 'image', value: file, prompt: `${cfg.data.eval_split} images (top) and their reconstructions (bottom)` });
  };

  const checkpoint = async () => {
    trainer.data = cursor;
    const st = trainer.getState();
    const params = new Map(st.params);
    const shapes = new Map(trainer.shapes);
    params.set('ema.codebook', ema.codebook).set('ema.counts', ema.counts).set('ema.sums', ema.sums);
    shapes.set('ema.codebook', [c.codebook_size, c.code_dim]).set('ema.counts', [c.codebook_size]).set('ema.sums', [c.codebook_size, c.code_dim]);
    const path = await saveCheckpoint(ckDir, { ...st, params }, shapes, { recipe: 'tokenizer', config: cfg });
    opts.onCheckpoint?.({ step: trainer.step, path });
  };

  const t0 = performance.now();
  const startStep = trainer.step;
  const px = new Float32Array(t.batch * per);
  let order = { epoch: -1, idx: [] as number[] }; // this epoch's permutation, drawn once per epoch
  try {
    while (trainer.step < t.steps) {
      if (opts.signal?.aborted) {
        await checkpoint();
        return { status: 'paused', step: trainer.step };
      }
      const vq = trainer.step >= vqFrom;
      if (vq && !cursor.kmeansDone) {
        await initCodebook();
        cursor = { ...cursor, kmeansDone: true };
      }
      // the batch: the next images of this epoch's order, each flipped with probability ½
      for (let b = 0; b < t.batch; b++) {
        if (cursor.pos >= n) cursor = { ...cursor, epoch: cursor.epoch + 1, pos: 0 };
        if (order.epoch !== cursor.epoch) order = { epoch: cursor.epoch, idx: epochOrder(t.seed, cursor.epoch, n) };
        const j = order.idx[cursor.pos];
        const src = train.images.subarray(j * per, (j + 1) * per);
        cursor = { ...cursor, pos: cursor.pos + 1 };
        const dst = b * per;
        if (t.flip && trainer.rng.uniform() < 0.5) {
          for (let ch = 0; ch < 3; ch++)
            for (let y = 0; y < S; y++)
              for (let x = 0; x < S; x++) px[dst + (ch * S + y) * S + x] = src[(ch * S + y) * S + (S - 1 - x)];
        } else px.set(src, dst);
      }
      const r = await trainer.trainStep([{
        pixels: f32([t.batch, 3, S, S], px),
        codebook: f32([c.codebook_size, c.code_dim], ema.codebook),
        vq_mix: f32([], Float32Array.of(vq ? 1 : 0)),
      }]);
      const idx = r.outputs.idx.data as BigInt64Array;
      let restarted = 0;
      if (vq && !t.decoder_only) restarted = ema.update(r.outputs.z.data as Float32Array, idx, trainer.rng).length;
      let pulled = false;
      if (vq && cfg.pull && pullDue(trainer.step, cfg.pull.every)) pulled = await pull();
      const done = trainer.step - startStep;
      const secs = (performance.now() - t0) / 1000;
      opts.onProgress?.({
        step: trainer.step, totalSteps: t.steps, phase: vq ? 'vq' : 'autoencoder', loss: r.loss,
        metrics: {
          lr: r.lr, grad_norm: r.gradNorm, mse: r.metrics.mse, psnr: psnrOf(r.metrics.mse), ssim: r.metrics.ssim, commit: r.metrics.commit,
          usage: vq ? codeUsage(idx, c.codebook_size) : 0, perplexity: vq ? codePerplexity(idx, c.codebook_size) : 0,
          restarted, pulled: pulled ? 1 : 0,
        },
        etaSeconds: done > 0 ? (secs / done) * (t.steps - trainer.step) : null,
      });
      if (t.eval_every > 0 && vq && trainer.step % t.eval_every === 0 ) {
        const e = await evaluate(evalSet.images, evalSet.rows.length);
        opts.onProgress?.({ step: trainer.step, totalSteps: t.steps, phase: 'eval', loss: r.loss, metrics: { eval_psnr: e.psnr, eval_ssim: e.ssim, eval_usage: e.usage, eval_perplexity: e.perplexity }, etaSeconds: null });
        await sampleGrid(e.recon);
      }
      if (trainer.step % t.checkpoint_every === 0 || trainer.step === t.steps) await checkpoint();
    }

    // the finished tokenizer folder, scored on the eval split
    if (!cursor.kmeansDone) await initCodebook();
    const modelDir = join(opts.outDir, 'model');
    await mkdir(modelDir, { recursive: true });
    const weights = new Map(trainer.params).set('quantizer.codebook', ema.codebook);
    const shapes = new Map(trainer.shapes).set('quantizer.codebook', [c.codebook_size, c.code_dim]);
    await saveImageTokenizer(modelDir, c, weights, shapes);
    const e = await evaluate(evalSet.images, evalSet.rows.length);
    await sampleGrid(e.recon);
    const metrics = { psnr: e.psnr, ssim: e.ssim, usage: e.usage, perplexity: e.perplexity, images: e.images };
    return { status: 'done', step: trainer.step, modelDir, metrics };
  } finally {
    await Promise.all([trainer.release(), latent.release()]);
  }
}

export const tokenizerRecipe: Recipe<TokenizerRecipeConfig> = {
  kind: 'tokenizer',
  parseConfig: parseTokenizerConfig,
  run: runTokenizerRecipe,
};
