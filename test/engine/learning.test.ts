// End-to-end learning through the engine: a small conv net trained on real Fashion-MNIST images
// (Debian's dataset-fashion-mnist) must beat chance (10%) by a wide margin on held-out test images.
import { describe, expect, it } from 'vitest';
import { Graph, type Tensor } from '../../src-main/engine/graph/graph.ts';
import { exportOnnx } from '../../src-main/engine/graph/onnx.ts';
import { fashionBatch, loadFashionMnist } from '../../src-main/engine/data/fashion-mnist.ts';
import { classifierInit, classifierLogits, classifierTrainGraph, type ClassifierConfig } from '../../src-main/engine/models/classifier.ts';
import { Session } from '../../src-main/engine/runtime/session.ts';
import { Trainer } from '../../src-main/engine/train/trainer.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';

const cfg: ClassifierConfig = { channels: 1, height: 28, width: 28, classes: 10, width_mult: 0.5 };


describe('learning end to end', () => {
  it('a conv net trained through the engine classifies held-out Fashion-MNIST', async () => {
    const train = await loadFashionMnist('train', { limit: 6000 });
    const test = await loadFashionMnist('test', { limit: 1000 });
    const steps = 400;
    const trainer = await Trainer.create(
      { build: (g) => ({ loss: classifierTrainGraph(g, cfg).loss }), init: classifierInit },
      { optim: { weightDecay: 0.01, clipNorm: 1 }, schedule: { lr: 5e-3, warmupSteps: 20, totalSteps: steps }, seed: 1, session: { threads: 2 } },
    );
    const rng = new Rng(3);
    const first: number[] = [];
    const last: number[] = [];
    for (let s = 0; s < steps; s++) {
      const idx = Array.from({ length: 64 }, () => rng.int(train.n));
      const r = await trainer.trainStep([fashionBatch(train.images, train.labels, idx)]);
      if (s < 10) first.push(r.loss);
      if (s >= steps - 10) last.push(r.loss);
    }
    const g = new Graph('eval');
    const x = g.input('pixels', 'float32', ['B', 1, 28, 28]);
    const logits = classifierLogits(g, cfg, x);
    const s = await Session.create(exportOnnx(g, { logits }).bytes, { threads: 2 });
    const feeds: Record<string, Tensor> = { pixels: fashionBatch(test.images, test.labels, Array.from({ length: test.n }, (_, i) => i)).pixels };
    for (const [n, d] of trainer.params) feeds[n] = { dtype: 'float32', shape: trainer.shapes.get(n)!, data: d };
    const out = (await s.run(feeds)).logits.data as Float32Array;
    let correct = 0;
    for (let i = 0; i < test.n; i++) {
      const row = out.subarray(i * 10, i * 10 + 10);
      if (row.indexOf(Math.max(...row)) === test.labels[i]) correct++;
    }
    const acc = correct / test.n;
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    console.log(`fashion-mnist: loss ${mean(first).toFixed(3)} → ${mean(last).toFixed(3)} over ${steps} steps; test accuracy ${(acc * 100).toFixed(1)}% on ${test.n} images`);
    expect(mean(last)).toBeLessThan(mean(first) * 0.6);
    expect(acc).toBeGreaterThan(0.7);
  });
});
