// Recipe 'classifier': trains the small conv net (models/classifier.ts) on Fashion-MNIST. The
// smallest real recipe: the app's demo training and the job runner's test subject. Batches are drawn
// by a data RNG whose state rides in the checkpoint, so a resumed run's losses equal an
// uninterrupted run's exactly. Pause (signal aborted) saves a checkpoint at the step reached.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { fashionBatch, loadFashionMnist, FASHION_MNIST_CLASSES, type FashionMnist } from '../../data/fashion-mnist.ts';
import { Graph, type Tensor } from '../../graph/graph.ts';
import { exportOnnx } from '../../graph/onnx.ts';
import { writeSafetensors } from '../../io/safetensors.ts';
import { classifierInit, classifierLogits, classifierTrainGraph, type ClassifierConfig } from '../../models/classifier.ts';
import { Session } from '../../runtime/session.ts';
import { Rng, type RngState } from '../../util/rng.ts';
import { loadLatestCheckpoint, saveCheckpoint } from '../checkpoint.ts';
import { RecipeConfigError, type Recipe, type RecipeResult, type RecipeRunOptions } from '../recipe.ts';
import { Trainer } from '../trainer.ts';

export const ClassifierRecipeConfig = z.object({
  steps: z.int().min(1).max(100_000).default(300),
  batchSize: z.int().min(1).max(1024).default(64),
  lr: z.number().gt(0).max(1).default(4e-3),
  warmupSteps: z.int().min(0).default(20),
  weightDecay: z.number().min(0).default(0.01),
  /** Save a checkpoint every this many steps (and at pause and at the end). */
  checkpointEvery: z.int().min(1).default(50),
  /** Show predictions on held-out images every this many steps (0 = only at the end). */
  sampleEvery: z.int().min(0).default(100),
  /** Use only the first N training images (small runs, tests). */
  trainLimit: z.int().min(1).max(60_000).default(60_000),
  /** Held-out images for the accuracy measured at samples and at the end. */
  evalImages: z.int().min(1).max(10_000).default(1000),
  widthMult: z.int().min(1).max(8).default(1),
  seed: z.int().min(0).default(1),
  /** Folder with Fashion-MNIST's IDX files (default: Debian's). */
  dataDir: z.string().optional(),
}).strict();
export type ClassifierRecipeConfig = z.output<typeof ClassifierRecipeConfig>;

interface DataCursor { rng: RngState }

async function accuracy(session: Session, params: Map<string, Float32Array>, shapes: Map<string, number[]>, test: FashionMnist) {
  const feeds: Record<string, Tensor> = { pixels: fashionBatch(test.images, test.labels, Array.from({ length: test.n }, (_, i) => i)).pixels };
  for (const [n, d] of params) feeds[n] = { dtype: 'float32', shape: shapes.get(n)!, data: d };
  const lg = (await session.run(feeds)).logits.data as Float32Array; // (N, 10)
  const preds = Array.from({ length: test.n }, (_, i) => {
    const row = lg.subarray(i * 10, i * 10 + 10);
    return row.indexOf(Math.max(...row));
  });
  return { acc: preds.filter((p, i) => p === test.labels[i]).length / test.n, preds };
}

export const classifierRecipe: Recipe<ClassifierRecipeConfig> = {
  kind: 'classifier',
  parseConfig(json, source) {
    const r = ClassifierRecipeConfig.safeParse(json ?? {});
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    const field = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys[0] : issue.path.join('.') || '(config)';
    throw new RecipeConfigError(source, field, issue.code === 'unrecognized_keys' ? 'unknown setting for the classifier recipe' : issue.message);
  },

  async run(c: ClassifierRecipeConfig, opts: RecipeRunOptions): Promise<RecipeResult> {
    const mc: ClassifierConfig = { channels: 1, height: 28, width: 28, classes: 10, width_mult: c.widthMult };
    const threads = opts.threads ?? 2;
    const train = await loadFashionMnist('train', { limit: c.trainLimit, dir: c.dataDir });
    const test = await loadFashionMnist('test', { limit: c.evalImages, dir: c.dataDir });
    const ckDir = join(opts.outDir, 'checkpoints');
    const trainer = await Trainer.create(
      { build: (g) => ({ loss: classifierTrainGraph(g, mc).loss }), init: classifierInit },
      { optim: { weightDecay: c.weightDecay, clipNorm: 1 }, schedule: { lr: c.lr, warmupSteps: c.warmupSteps, totalSteps: c.steps }, seed: c.seed, session: { threads } },
    );
    const eg = new Graph('eval');
    const evalSession = await Session.create(exportOnnx(eg, { logits: classifierLogits(eg, mc, eg.input('pixels', 'float32', ['B', 1, 28, 28])) }).bytes, { threads });
    try {
      let dataRng = new Rng(c.seed ^ 0xda7a);
      if (opts.resume) {
        const ck = await loadLatestCheckpoint(ckDir, opts.onNotice);
        if (ck) {
          trainer.setState(ck.state);
          dataRng = new Rng((ck.state.data as DataCursor).rng);
        }
      }
      const save = async () => {
        trainer.data = { rng: dataRng.state } satisfies DataCursor;
        const path = await saveCheckpoint(ckDir, trainer.getState(), trainer.shapes, { recipe: 'classifier', config: c });
        opts.onCheckpoint?.({ step: trainer.step, path });
      };
      const sample = async () => {
        const { acc, preds } = await accuracy(evalSession, trainer.params, trainer.shapes, test);
        const shown = [0, 1, 2, 3].filter((i) => i < test.n).map((i) => `${FASHION_MNIST_CLASSES[preds[i]]}${preds[i] === test.labels[i] ? '' : ` (is ${FASHION_MNIST_CLASSES[test.labels[i]]})`}`);
        opts.onSample?.({ step: trainer.step, kind: 'text', value: `held-out accuracy ${(acc * 100).toFixed(1)}% on ${test.n} images; first test images: ${shown.join(', ')}` });
        return acc;
      };
      const t0 = performance.now();
      const first = trainer.step;
      while (trainer.step < c.steps) {
        if (opts.signal?.aborted) {
          await save();
          return { status: 'paused', step: trainer.step };
        }
        const idx = Array.from({ length: c.batchSize }, () => dataRng.int(train.n));
        const r = await trainer.trainStep([fashionBatch(train.images, train.labels, idx)]);
        const secs = (performance.now() - t0) / 1000;
        const eta = (secs / (r.step - first)) * (c.steps - r.step);
        opts.onProgress?.({ step: r.step, totalSteps: c.steps, phase: 'train', loss: r.loss, metrics: { lr: r.lr, grad_norm: r.gradNorm }, etaSeconds: eta });
        if (r.step % c.checkpointEvery === 0 && r.step < c.steps) await save();
        if (c.sampleEvery > 0 && r.step % c.sampleEvery === 0 && r.step < c.steps) await sample();
      }
      await save();
      const acc = await sample();
      const modelDir = join(opts.outDir, 'model');
      await mkdir(modelDir, { recursive: true });
      await writeSafetensors(join(modelDir, 'model.safetensors'), new Map([...trainer.params].map(([n, d]) => [n, { dtype: 'F32' as const, shape: trainer.shapes.get(n)!, data: d }])), { format: 'pt' });
      await writeFile(join(modelDir, 'config.json'), JSON.stringify({ model_type: 'tessera-classifier', ...mc }, null, 1));
      const metrics = { accuracy: acc, eval_images: test.n };
      await writeFile(join(modelDir, 'tessera.json'), JSON.stringify({ name: 'fashion-mnist classifier', recipe: 'classifier', kind: 'classifier', config: c, metrics }, null, 1));
      return { status: 'done', step: trainer.step, modelDir, metrics };
    } finally {
      await evalSession.release();
      await trainer.release();
    }
  },
};
