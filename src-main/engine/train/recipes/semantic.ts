// Recipe 'semantic': the semantic half of a dual image tokenizer (models/semantic.ts). Trains the
// encoder with a cosine classifier over the training split's labels on jittered images, then fits
// the residual codebooks by k-means over the training images' features and writes outDir/model:
//   config.json        SemanticConfig
//   model.safetensors  encoder.* and semantic.codebooks (D, K, E)
//   encoder.onnx       pixels (B,3,S,S) → codes (B, D) int64 and features (B, E), weights baked in
// Put that folder into an image tokenizer folder as `semantic/` and the codec gives every image one
// more LM position, first, holding these D codes (image-tokenizer.ts). Each batch is jittered in one
// onnxruntime run (data/jitter-graph.ts, the draws of augment.ts). Batches and jitter come from
// a data RNG saved in the checkpoints, so --resume continues exactly. The final metrics are the
// held-out split's nearest-training-image label accuracy under the features (top-1, top-5), and how
// often a held-out image's level-1 code is shared by a training image of the same label.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { loadImageFolder, type LoadedImageFolder } from '../../data/imagefolder.ts';
import { GraphJitter } from '../../data/jitter-graph.ts';
import { Graph, type Tensor } from '../../graph/graph.ts';
import { exportOnnx } from '../../graph/onnx.ts';
import { writeFileAtomic } from '../../io/atomic.ts';
import { readSafetensors, writeSafetensors } from '../../io/safetensors.ts';
import { alignCodes, nearestRowsGraph, permuteCodebooks, residualKMeans, semanticCodes, semanticFeatures, semanticInit, semanticTrainGraph, validateSemanticConfig, wordTargets, type NearestRows, type SemanticConfig } from '../../models/semantic.ts';
import { readSemanticEncoderConfig } from '../../models/image-tokenizer.ts';
import { bakedWeights, paramWeights } from '../../models/vqtok.ts';
import { Session } from '../../runtime/session.ts';
import { Rng, type RngState } from '../../util/rng.ts';
import { loadLatestCheckpoint, saveCheckpoint } from '../checkpoint.ts';
import { parseConfigWith, RecipeConfigError, type Recipe, type RecipeResult, type RecipeRunOptions } from '../recipe.ts';
import { Trainer } from '../trainer.ts';

const posInt = z.int().min(1);
export const SemanticRecipeSchema = z.object({
  data: z.object({ dir: z.string().min(1), train_split: z.string().default('train'), eval_split: z.string().default('validation'), eval_limit: posInt.default(600) }),
  model: z.object({
    image_size: posInt.default(64), input_size: posInt.default(32), width: posInt.default(32), embed_dim: posInt.default(256),
    /** D and K of the pixel tokenizer it joins, and its first token id. */
    depth: posInt.default(4), codebook_size: posInt.default(2032), first_token_id: z.int().min(0).default(16),
  }).prefault({}),
  train: z.object({
    steps: posInt.default(3000), batch: posInt.default(128), lr: z.number().positive().default(2e-3), warmup_steps: z.int().min(0).default(100),
    weight_decay: z.number().min(0).default(0.05), scale: z.number().positive().default(16), seed: z.int().default(1), checkpoint_every: posInt.default(500),
    jitter: z.object({ shift: z.number().min(0).default(4), scale: z.number().min(0).max(0.5).default(0.12), rotate: z.number().min(0).max(45).default(10), color: z.number().min(0).max(0.9).default(0.3), blur: z.number().min(0).max(4).default(1) }).prefault({}),
    kmeans_iterations: posInt.default(8),
    /**
     * Cosine cycles after the warmup, each restarting at the peak LR (optim/schedule.ts). Every cycle's
     * end but the last also writes that encoder to snapshots/K/, a member for an example memory's
     * ensemble at no extra training (Snapshot Ensembles); the last is model/ as always.
     */
    cycles: posInt.default(1),
    /** MixStyle (models/semantic.ts mixStyle): with probability p a batch's images swap part of their
     *  early feature statistics with another image's of the batch, λ ~ Beta(alpha, alpha); null: off. */
    mix_style: z.object({ p: z.number().min(0).max(1).default(0.5), alpha: z.number().positive().default(0.1) }).strict().nullable().default(null),
    /** The words classifier beside the labels' (models/semantic.ts semanticTrainGraph); weight 0 leaves it out. */
    words: z.object({ weight: z.number().min(0).default(0), min_labels: posInt.default(2), tags: z.boolean().default(true) }).strict().prefault({}),
    threads: posInt.optional(),
  }).superRefine((t, ctx) => {
    const span = t.steps - t.warmup_steps;
    if (t.cycles > 1 && (span < t.cycles || span % t.cycles !== 0))
      ctx.addIssue({ code: 'custom', path: ['cycles'], message: `${t.cycles} cycles must divide the ${span} steps after the warmup (steps ${t.steps} − warmup_steps ${t.warmup_steps}) evenly` });
  }).prefault({}),
}).strict();
export type SemanticRecipeConfig = z.infer<typeof SemanticRecipeSchema>;

/** The encoder folders a run of `cfg` in `outDir` ends with: each earlier cycle's snapshot, then model/. */
export const semanticRunModels = (outDir: string, cfg: SemanticRecipeConfig): string[] => [
  ...Array.from({ length: cfg.train.cycles - 1 }, (_, k) => join(outDir, 'snapshots', String(k + 1))),
  join(outDir, 'model'),
];

/** Export the codes-and-features encoder with baked weights (encoder.* and semantic.codebooks). */
export function exportSemanticEncoder(c: SemanticConfig, weights: Map<string, Float32Array>): Uint8Array {
  const g = new Graph('semantic_encoder');
  const w = bakedWeights(g, weights);
  const f = semanticFeatures(c, g.input('pixels', 'float32', ['B', 3, c.image_size, c.image_size]), w);
  const codes = semanticCodes(c, f, w('semantic.codebooks', [c.depth, c.codebook_size, c.embed_dim]));
  return exportOnnx(g, { codes, features: f }, { model_type: c.model_type, config: JSON.stringify(c) }).bytes;
}

/** One output of `s`, `width` values per image, over n images fed in batches of 256 (with `extra` feeds). */
async function batched<T extends Float32Array | BigInt64Array>(s: Session, extra: Record<string, Tensor>, images: Float32Array, n: number, size: number, output: string, width: number, make: (len: number) => T): Promise<T> {
  const per = 3 * size * size, out = make(n * width);
  for (let i = 0; i < n; i += 256) {
    const k = Math.min(256, n - i);
    const r = await s.run({ ...extra, pixels: { dtype: 'float32', shape: [k, 3, size, size], data: images.subarray(i * per, (i + k) * per) } });
    out.set(r[output].data as never, i * width);
  }
  return out;
}

/** NearestRows (models/semantic.ts) through an onnxruntime session of nearestRowsGraph, 4096 rows a run. */
export async function nearestRowsSession(e: number, threads: number): Promise<{ nearest: NearestRows; release(): Promise<void> }> {
  const g = new Graph('nearest_rows');
  const s = await Session.create(exportOnnx(g, { at: nearestRowsGraph(g, e) }).bytes, { threads });
  const nearest: NearestRows = async (x, n, C, k) => {
    const at = new Int32Array(n), books: Tensor = { dtype: 'float32', shape: [k, e], data: C };
    for (let i = 0; i < n; i += 4096) {
      const m = Math.min(4096, n - i);
      const r = await s.run({ x: { dtype: 'float32', shape: [m, e], data: x.subarray(i * e, (i + m) * e) }, books });
      at.set(Int32Array.from(r.at.data as BigInt64Array, Number), i);
    }
    return at;
  };
  return { nearest, release: () => s.release() };
}

/** Label accuracy of each query's nearest training images under `score(q, j)`: top-1 and top-5 distinct labels. */
function nearestLabels(truths: string[], train: LoadedImageFolder, score: (q: number, j: number) => number) {
  let top1 = 0, top5 = 0;
  for (const [q, truth] of truths.entries()) {
    const s = train.rows.map((_, j) => score(q, j));
    const order = Array.from(s.keys()).sort((a, b) => s[b] - s[a]);
    const labels: string[] = [];
    for (const j of order) {
      if (!labels.includes(train.rows[j].text)) labels.push(train.rows[j].text);
      if (labels.length === 5) break;
    }
    top1 += labels[0] === truth ? 1 : 0;
    top5 += labels.includes(truth) ? 1 : 0;
  }
  return { top1: top1 / truths.length, top5: top5 / truths.length };
}

export const semanticRecipe: Recipe<SemanticRecipeConfig> = {
  kind: 'semantic',
  parseConfig: (json, source) => parseConfigWith(SemanticRecipeSchema, json, source),

  async run(cfg: SemanticRecipeConfig, opts: RecipeRunOptions): Promise<RecipeResult> {
    const t = cfg.train;
    const c: SemanticConfig = { model_type: 'tessera-semantic', ...cfg.model };
    validateSemanticConfig(c, 'config (model)');
    const threads = opts.threads ?? t.threads ?? 2;
    const train = await loadImageFolder(cfg.data.dir, { split: cfg.data.train_split, size: c.image_size });
    const labels = [...new Set(train.rows.map((r) => r.text))];
    const classOf = new Map(labels.map((l, i) => [l, i]));
    const y = Int32Array.from(train.rows, (r) => classOf.get(r.text)!);
    const words = t.words.weight > 0 ? wordTargets(train.rows, { minLabels: t.words.min_labels, tags: t.words.tags }) : null;
    if (words && words.vocab.length === 0) throw new Error(`config field 'train.words': no word of the labels${t.words.tags ? ' or tags' : ''} is used by ${t.words.min_labels} or more labels of ${cfg.data.dir}`);
    const W = words?.vocab.length ?? 0;
    const trainer = await Trainer.create(
      { build: (g) => ({ loss: semanticTrainGraph(g, c, labels.length, t.scale, words ? { count: W, weight: t.words.weight } : undefined, { mixStyle: t.mix_style !== null }).loss }), init: semanticInit },
      { optim: { weightDecay: t.weight_decay, clipNorm: 1 }, schedule: { lr: t.lr, warmupSteps: t.warmup_steps, totalSteps: t.steps, cycles: t.cycles }, seed: t.seed, session: { threads } },
    );
    const fg = new Graph('features');
    const featSession = await Session.create(exportOnnx(fg, { features: semanticFeatures(c, fg.input('pixels', 'float32', ['B', 3, c.image_size, c.image_size]), paramWeights(fg)) }).bytes, { threads });
    const jitter = await GraphJitter.create(c.image_size, t.jitter, threads); // the draws of jitterImages, a batch per run
    const ckDir = join(opts.outDir, 'checkpoints');
    try {
      let dataRng = new Rng(t.seed ^ 0x5e3a);
      if (opts.resume) {
        const ck = await loadLatestCheckpoint(ckDir, opts.onNotice);
        if (ck) {
          trainer.setState(ck.state);
          dataRng = new Rng((ck.state.data as { rng: RngState }).rng);
        }
      }
      const save = async () => {
        trainer.data = { rng: dataRng.state };
        const path = await saveCheckpoint(ckDir, trainer.getState(), trainer.shapes, { recipe: 'semantic', config: cfg });
        opts.onCheckpoint?.({ step: trainer.step, path });
      };
      const per = 3 * c.image_size ** 2;
      let heldOut: Promise<LoadedImageFolder | null> | undefined; // loaded once, on the first model written
      /** The encoder at the trainer's current weights, its codebooks and its held-out figures, written to `modelDir`. */
      const writeModel = async (modelDir: string): Promise<Record<string, number>> => {
        // the codebooks: residual k-means over the training images' (unjittered) features
        const params: Record<string, Tensor> = {};
        for (const [n, d] of trainer.params) if (n.startsWith('encoder.')) params[n] = { dtype: 'float32', shape: trainer.shapes.get(n)!, data: d };
        const trainF = await batched(featSession, params, train.images, train.rows.length, c.image_size, 'features', c.embed_dim, (k) => new Float32Array(k));
        opts.onProgress?.({ step: trainer.step, totalSteps: t.steps, phase: 'codebooks', loss: 0, metrics: {}, etaSeconds: null });
        const near = await nearestRowsSession(c.embed_dim, threads);
        const km = await residualKMeans(trainF, train.rows.length, c.embed_dim, c.depth, c.codebook_size, t.kmeans_iterations, new Rng(t.seed ^ 0xc0de), near.nearest).finally(() => near.release());
        const weights = new Map([...trainer.params].filter(([n]) => n.startsWith('encoder.')));
        weights.set('semantic.codebooks', km.codebooks);
        const shapes = new Map([...weights.keys()].map((n) => [n, n === 'semantic.codebooks' ? [c.depth, c.codebook_size, c.embed_dim] : trainer.shapes.get(n)!]));
        await mkdir(modelDir, { recursive: true });
        const encoder = exportSemanticEncoder(c, weights);
        await writeFileAtomic(join(modelDir, 'config.json'), JSON.stringify(c, null, 2) + '\n');
        await writeSafetensors(join(modelDir, 'model.safetensors'), new Map([...weights].map(([n, d]) => [n, { dtype: 'F32' as const, shape: shapes.get(n)!, data: d }])), { format: 'pt' });
        await writeFileAtomic(join(modelDir, 'encoder.onnx'), encoder);

        // held-out figures: nearest training images by feature, and by level-1 code
        const metrics: Record<string, number> = { step: trainer.step, classes: labels.length, ...(words ? { words: W } : {}), ...Object.fromEntries(km.residual.map((r, d) => [`residual_mse_${d + 1}`, r])) };
        const held = await (heldOut ??= loadImageFolder(cfg.data.dir, { split: cfg.data.eval_split, size: c.image_size }).catch(() => null));
        if (held && held.rows.length > 0) {
          const n = Math.min(cfg.data.eval_limit, held.rows.length);
          const pick = Array.from({ length: n }, (_, i) => Math.floor((i * held.rows.length) / n));
          const sub = new Float32Array(n * per);
          pick.forEach((i, q) => sub.set(held.images.subarray(i * per, (i + 1) * per), q * per));
          const truths = pick.map((i) => held.rows[i].text);
          const heldF = await batched(featSession, params, sub, n, c.image_size, 'features', c.embed_dim, (k) => new Float32Array(k));
          const E = c.embed_dim;
          const byFeature = nearestLabels(truths, train, (q, j) => {
            let s = 0;
            for (let k = 0; k < E; k++) s += heldF[q * E + k] * trainF[j * E + k];
            return s;
          });
          const enc = await Session.create(encoder, { threads });
          const codesOf = (images: Float32Array, rows: number) => batched(enc, {}, images, rows, c.image_size, 'codes', c.depth, (k) => new BigInt64Array(k));
          const [tc, hc] = [await codesOf(train.images, train.rows.length), await codesOf(sub, n)];
          await enc.release();
          // how often the level-1 code alone says the right emoji: a training image of the same label shares it
          const codeLabels = new Map<bigint, Set<string>>();
          train.rows.forEach((r, j) => codeLabels.set(tc[j * c.depth], (codeLabels.get(tc[j * c.depth]) ?? new Set()).add(r.text)));
          const codeMatch = truths.filter((t, q) => codeLabels.get(hc[q * c.depth])?.has(t)).length / n;
          Object.assign(metrics, { eval_images: n, nn_top1: byFeature.top1, nn_top5: byFeature.top5, code_match: codeMatch, codes_used: codeLabels.size });
        }
        await writeFileAtomic(join(modelDir, 'tessera.json'), JSON.stringify({ name: 'semantic image encoder', recipe: 'semantic', kind: 'semantic-encoder', config: cfg, metrics }, null, 2) + '\n');
        return metrics;
      };
      /** With cycles, the snapshot folder of a step that ends a cycle before the last (null for other steps). */
      const snapshotAt = (step: number): string | null => {
        const len = (t.steps - t.warmup_steps) / t.cycles, k = (step - t.warmup_steps) / len;
        return Number.isInteger(k) && k >= 1 && k < t.cycles ? semanticRunModels(opts.outDir, cfg)[k - 1] : null;
      };
      /** Writes the snapshot of a cycle's end if it is missing; true when it did (and so saved a checkpoint at this step). */
      const snapshot = async (): Promise<boolean> => {
        const dir = snapshotAt(trainer.step);
        if (!dir || existsSync(join(dir, 'tessera.json'))) return false;
        await save(); // the state it comes from is on disk first, so a resume after a crash in here writes it again
        const m = await writeModel(dir); // its held-out figures, as an evaluation at this step
        const figures = Object.fromEntries(['nn_top1', 'nn_top5'].filter((k) => m[k] !== undefined).map((k) => [k, m[k]]));
        opts.onProgress?.({ step: trainer.step, totalSteps: t.steps, phase: 'eval', loss: 0, metrics: figures, etaSeconds: null });
        return true;
      };
      await snapshot(); // a resume from a cycle's end whose snapshot a crash cut short
      const t0 = performance.now(), first = trainer.step;
      while (trainer.step < t.steps) {
        if (opts.signal?.aborted) {
          await save();
          return { status: 'paused', step: trainer.step };
        }
        const idx = Array.from({ length: t.batch }, () => dataRng.int(train.rows.length));
        const raw = new Float32Array(t.batch * per);
        idx.forEach((j, i) => raw.set(train.images.subarray(j * per, (j + 1) * per), i * per));
        const pixels = await jitter.apply(raw, t.batch, dataRng);
        const feeds: Record<string, Tensor> = {
          pixels: { dtype: 'float32', shape: [t.batch, 3, c.image_size, c.image_size], data: pixels },
          labels: { dtype: 'int64', shape: [t.batch], data: BigInt64Array.from(idx, (j) => BigInt(y[j])) },
        };
        if (t.mix_style) {
          // identity and λ = 1 leave the batch as it is; the draws come from the data stream, so a resume repeats them
          const mixed = dataRng.uniform() < t.mix_style.p;
          const perm = Int32Array.from({ length: t.batch }, (_, i) => i);
          if (mixed) dataRng.shuffle(perm);
          const a = t.mix_style.alpha;
          feeds.mix_perm = { dtype: 'int64', shape: [t.batch], data: BigInt64Array.from(perm, (i) => BigInt(i)) };
          feeds.mix_lambda = { dtype: 'float32', shape: [t.batch, 1, 1, 1], data: Float32Array.from(perm, () => (mixed ? dataRng.beta(a, a) : 1)) };
        }
        if (words) {
          const wt = new Float32Array(t.batch * W);
          idx.forEach((j, i) => wt.set(words.targets.subarray(j * W, (j + 1) * W), i * W));
          feeds.word_targets = { dtype: 'float32', shape: [t.batch, W], data: wt };
        }
        const r = await trainer.trainStep([feeds]);
        const secs = (performance.now() - t0) / 1000;
        opts.onProgress?.({ step: r.step, totalSteps: t.steps, phase: 'train', loss: r.loss, metrics: { lr: r.lr, grad_norm: r.gradNorm }, etaSeconds: (secs / (r.step - first)) * (t.steps - r.step) });
        const saved = await snapshot();
        if (!saved && r.step % t.checkpoint_every === 0 && r.step < t.steps) await save();
      }
      await save();
      const modelDir = semanticRunModels(opts.outDir, cfg).at(-1)!;
      const metrics = await writeModel(modelDir);
      return { status: 'done', step: trainer.step, modelDir, metrics: { ...metrics, ...(t.cycles > 1 ? { snapshots: t.cycles - 1 } : {}) } };
    } finally {
      await jitter.release();
      await featSession.release();
      await trainer.release();
    }
  },
};

/**
 * Renumber the codes of the semantic encoder in `dir` (in place: its codebooks and encoder.onnx) to
 * agree with the encoder in `prevDir` over the images of `dataDir`'s `split` (models/semantic.ts
 * alignCodes), so a model that learned the old codes reads the new ones from the start. Returns, per
 * level, the share of those images whose new code equals their old one.
 */
export async function alignSemanticEncoder(dir: string, prevDir: string, dataDir: string, split: string, threads = 2): Promise<number[]> {
  const [c, prev] = [await readSemanticEncoderConfig(dir), await readSemanticEncoderConfig(prevDir)];
  if (prev.depth !== c.depth || prev.codebook_size !== c.codebook_size || prev.image_size !== c.image_size)
    throw new RecipeConfigError(join(prevDir, 'config.json'), 'depth/codebook_size/image_size', `${prev.depth}/${prev.codebook_size}/${prev.image_size} differ from the new encoder's ${c.depth}/${c.codebook_size}/${c.image_size}: their codes cannot be matched`);
  const set = await loadImageFolder(dataDir, { split, size: c.image_size });
  const n = set.rows.length;
  const codesOf = async (file: string) => {
    const s = await Session.create(new Uint8Array(await readFile(file)), { threads });
    try {
      return await batched(s, {}, set.images, n, c.image_size, 'codes', c.depth, (k) => new BigInt64Array(k));
    } finally {
      await s.release();
    }
  };
  const [next, old] = [await codesOf(join(dir, 'encoder.onnx')), await codesOf(join(prevDir, 'encoder.onnx'))];
  const K = c.codebook_size;
  const perm = alignCodes(next, old, n, c.depth, K);
  const file = join(dir, 'model.safetensors');
  const st = await readSafetensors(file);
  const weights = new Map([...st.tensors].map(([k, t]) => [k, t.data as Float32Array]));
  const books = weights.get('semantic.codebooks');
  if (!books || books.length !== c.depth * K * c.embed_dim) throw new RecipeConfigError(file, 'semantic.codebooks', `needs F32[${c.depth}, ${K}, ${c.embed_dim}]`);
  weights.set('semantic.codebooks', permuteCodebooks(books, perm, c.depth, K, c.embed_dim));
  const encoder = exportSemanticEncoder(c, weights);
  await writeSafetensors(`${file}.tmp-${process.pid}`, new Map([...st.tensors].map(([k, t]) => [k, { dtype: 'F32' as const, shape: [...t.shape], data: weights.get(k)! }])), { format: 'pt' });
  await writeFileAtomic(join(dir, 'encoder.onnx'), encoder);
  await rename(`${file}.tmp-${process.pid}`, file);
  return Array.from({ length: c.depth }, (_, d) => {
    let same = 0;
    for (let i = 0; i < n; i++) same += perm[d * K + Number(next[i * c.depth + d])] === Number(old[i * c.depth + d]) ? 1 : 0;
    return same / n;
  });
}
