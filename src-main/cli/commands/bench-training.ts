// `tessera bench training`: optimizer steps per second of the two convolutional training graphs the
// default recipe runs longest, from random pixels (no data loading or jitter, which the recipes add):
//   tokenizer  the image tokenizer (DEFAULT_VQTOK, the default recipe's), batch 32, VQ + SSIM loss;
//   semantic   a semantic / memory encoder (recipes/semantic-memory.json's model: 3,639 label and
//              1,733 word classes), batch 128.
// Each figure is the median of --rounds timed steps after two warm-up steps: a benchmark, not a test.
import { DEFAULT_SEMANTIC, semanticInit, semanticTrainGraph, type SemanticConfig } from '../../engine/models/semantic.ts';
import { DEFAULT_VQTOK, vqtokInit, vqtokTrainGraph } from '../../engine/models/vqtok.ts';
import type { Tensor } from '../../engine/graph/graph.ts';
import { Trainer, type TrainSpec } from '../../engine/train/trainer.ts';
import { Rng } from '../../engine/util/rng.ts';
import { intFlag, parseFlags, type Command } from '../command.ts';

// the semantic encoder of the default tokenizer's images: DEFAULT_SEMANTIC at its size, depth and codes
const SEMANTIC: SemanticConfig = { ...DEFAULT_SEMANTIC, image_size: DEFAULT_VQTOK.image_size, depth: 4, codebook_size: DEFAULT_VQTOK.codebook_size, first_token_id: DEFAULT_VQTOK.first_token_id };
const [LABELS, WORDS] = [3639, 1733];

/** Median milliseconds of `rounds` steps of `spec` on the same feeds, after two warm-up steps. */
async function stepMs(spec: TrainSpec, feeds: Record<string, Tensor>, threads: number, rounds: number): Promise<number> {
  const trainer = await Trainer.create(spec, { optim: { weightDecay: 0.01, clipNorm: 1 }, schedule: { lr: 1e-4, warmupSteps: 0, totalSteps: rounds + 2 }, seed: 1, session: { threads } });
  try {
    const ms: number[] = [];
    for (let i = 0; i < rounds + 2; i++) {
      const t0 = performance.now();
      await trainer.trainStep([feeds]);
      if (i >= 2) ms.push(performance.now() - t0);
    }
    return ms.sort((a, b) => a - b)[ms.length >> 1];
  } finally {
    await trainer.release();
  }
}

export const benchTraining: Command = {
  name: 'bench training',
  summary: 'training steps per second of the image tokenizer and of a semantic encoder',
  usage: 'bench training [--json] [--threads 2] [--rounds 8]',
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: 'boolean' }, threads: { type: 'string' }, rounds: { type: 'string' } });
    const threads = intFlag('threads', values.threads, 1, 2);
    const rounds = intFlag('rounds', values.rounds, 1, 8);
    const rng = new Rng(3);
    const pixels = (n: number, size: number): Tensor => ({ dtype: 'float32', shape: [n, 3, size, size], data: rng.fillUniform(new Float32Array(n * 3 * size * size)) });

    const c = DEFAULT_VQTOK;
    const tokBatch = 32;
    const tokMs = await stepMs(
      { build: (g) => ({ loss: vqtokTrainGraph(g, c, { beta: 0.25, ssim: 1 }).loss }), init: vqtokInit },
      { pixels: pixels(tokBatch, c.image_size), codebook: { dtype: 'float32', shape: [c.codebook_size, c.code_dim], data: rng.fillNormal(new Float32Array(c.codebook_size * c.code_dim)) }, vq_mix: { dtype: 'float32', shape: [], data: Float32Array.of(1) } },
      threads, rounds,
    );
    const semBatch = 128;
    const words = new Float32Array(semBatch * WORDS);
    for (let i = 0; i < semBatch; i++) words[i * WORDS + rng.int(WORDS)] = 1;
    const semMs = await stepMs(
      { build: (g) => ({ loss: semanticTrainGraph(g, SEMANTIC, LABELS, 16, { count: WORDS, weight: 1 }).loss }), init: semanticInit },
      { pixels: pixels(semBatch, SEMANTIC.image_size), labels: { dtype: 'int64', shape: [semBatch], data: BigInt64Array.from({ length: semBatch }, () => BigInt(rng.int(LABELS))) }, word_targets: { dtype: 'float32', shape: [semBatch, WORDS], data: words } },
      threads, rounds,
    );
    const r = {
      tokenizer_step_ms: +tokMs.toFixed(1), tokenizer_images_per_s: Math.round((tokBatch * 1000) / tokMs), tokenizer_batch: tokBatch,
      semantic_step_ms: +semMs.toFixed(1), semantic_images_per_s: Math.round((semBatch * 1000) / semMs), semantic_batch: semBatch,
      threads, rounds,
    };
    console.log(values.json ? JSON.stringify(r) : `image tokenizer: ${r.tokenizer_step_ms} ms per step of ${tokBatch} (${r.tokenizer_images_per_s} images/s); semantic encoder: ${r.semantic_step_ms} ms per step of ${semBatch} (${r.semantic_images_per_s} images/s); ${threads} threads, median of ${rounds}`);
  },
};
