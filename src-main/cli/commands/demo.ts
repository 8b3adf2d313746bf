// `tessera demo`: until the default unified model ships, the demo shows the engine learning: a small
// conv net trained from scratch on Fashion-MNIST through onnxruntime (forward, backward and AdamW
// in one ONNX graph per step), with the loss falling, held-out accuracy, and a checkpoint on disk.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fashionBatch, loadFashionMnist, FASHION_MNIST_CLASSES } from '../../engine/data/fashion-mnist.ts';
import { Graph, type Tensor } from '../../engine/graph/graph.ts';
import { exportOnnx } from '../../engine/graph/onnx.ts';
import { classifierInit, classifierLogits, classifierTrainGraph, type ClassifierConfig } from '../../engine/models/classifier.ts';
import { Session } from '../../engine/runtime/session.ts';
import { saveCheckpoint } from '../../engine/train/checkpoint.ts';
import { Trainer } from '../../engine/train/trainer.ts';
import { Rng } from '../../engine/util/rng.ts';
import { intFlag, parseFlags, type Command } from '../command.ts';

const cfg: ClassifierConfig = { channels: 1, height: 28, width: 28, classes: 10 };


export const demo: Command = {
  name: 'demo',
  summary: 'train a small conv net through the engine and show it learning (until the default model ships)',
  usage: 'demo [--steps N] [--out DIR]',
  async run(argv) {
    const { values } = parseFlags(argv, { steps: { type: 'string' }, out: { type: 'string' } });
    const steps = intFlag('steps', values.steps, 1, 300);
    const out = resolve(values.out ?? join('runs', 'demo'));
    console.log('Tessera demo: the unified default model is not trained yet, so this shows the engine training');
    console.log('a conv net from scratch on Fashion-MNIST (forward + backward + AdamW as one ONNX graph per step).\n');
    const train = await loadFashionMnist('train');
    const test = await loadFashionMnist('test', { limit: 2000 });
    const trainer = await Trainer.create(
      { build: (g) => ({ loss: classifierTrainGraph(g, cfg).loss }), init: classifierInit },
      { optim: { weightDecay: 0.01, clipNorm: 1 }, schedule: { lr: 4e-3, warmupSteps: 20, totalSteps: steps }, seed: 1, session: { threads: 2 } },
    );
    const rng = new Rng(1);
    const t0 = performance.now();
    let window = 0;
    for (let s = 1; s <= steps; s++) {
      const r = await trainer.trainStep([fashionBatch(train.images, train.labels, Array.from({ length: 64 }, () => rng.int(train.n)))]);
      window += r.loss;
      if (s % 25 === 0 || s === 1) {
        const secs = (performance.now() - t0) / 1000;
        console.log(`step ${String(s).padStart(4)}  loss ${(window / (s === 1 ? 1 : 25)).toFixed(3)}  lr ${r.lr.toExponential(2)}  ${(s / secs).toFixed(1)} steps/s`);
        window = 0;
      }
    }
    const g = new Graph('eval');
    const logits = classifierLogits(g, cfg, g.input('pixels', 'float32', ['B', 1, 28, 28]));
    const session = await Session.create(exportOnnx(g, { logits }).bytes, { threads: 2 });
    const feeds: Record<string, Tensor> = { pixels: fashionBatch(test.images, test.labels, Array.from({ length: test.n }, (_, i) => i)).pixels };
    for (const [n, d] of trainer.params) feeds[n] = { dtype: 'float32', shape: trainer.shapes.get(n)!, data: d };
    const lg = (await session.run(feeds)).logits.data as Float32Array;
    const preds = Array.from({ length: test.n }, (_, i) => {
      const row = lg.subarray(i * 10, i * 10 + 10);
      return row.indexOf(Math.max(...row));
    });
    const acc = preds.filter((p, i) => p === test.labels[i]).length / test.n;
    console.log(`\nheld-out accuracy: ${(acc * 100).toFixed(1)}% on ${test.n} test images (chance: 10%)`);
    for (let i = 0; i < 5; i++) console.log(`  test image ${i}: predicted ${FASHION_MNIST_CLASSES[preds[i]].padEnd(12)} true ${FASHION_MNIST_CLASSES[test.labels[i]]}`);
    await mkdir(out, { recursive: true });
    const ck = await saveCheckpoint(join(out, 'checkpoints'), trainer.getState(), trainer.shapes, { model: 'classifier', config: cfg, accuracy: acc });
    console.log(`\ncheckpoint (weights, AdamW moments, RNG, step): ${ck}`);
    await session.release();
    await trainer.release();
  },
};
