// The training step: AdamW against an independent JS implementation (clipping, decoupled decay,
// bias correction, warmup), accumulation equal to a big batch, frozen groups untouched, and exact
// resume from a checkpoint on disk.
import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Graph, Tensor } from '../../src-main/engine/graph/graph.ts';
import * as op from '../../src-main/engine/graph/ops/index.ts';
import { lrAt } from '../../src-main/engine/optim/schedule.ts';
import { loadLatestCheckpoint, saveCheckpoint } from '../../src-main/engine/train/checkpoint.ts';
import { Trainer, type TrainConfig, type TrainSpec } from '../../src-main/engine/train/trainer.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tessera-trainer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// A tiny regression model: y = tanh(x·W1ᵀ)·W2ᵀ, mean squared error.
const spec: TrainSpec = {
  build(g: Graph) {
    const x = g.input('x', 'float32', ['B', 4]);
    const y = g.input('y', 'float32', ['B', 2]);
    const h = op.tanh(op.gemm(x, g.param('l1.weight', [8, 4]), null, { transB: true }));
    const p = op.gemm(h, g.param('l2.weight', [2, 8]), g.param('l2.bias', [2]), { transB: true });
    const d = op.sub(p, y);
    return { loss: op.reduceMean(op.mul(d, d), [0, 1]), metrics: { abs_err: op.reduceMean(op.abs(d), [0, 1]) } };
  },
  init: (_n, shape, rng) => rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), 0.5),
};

function batch(rng: Rng, n: number): Record<string, Tensor> {
  const x = rng.fillNormal(new Float32Array(n * 4));
  const y = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    y[2 * i] = Math.sin(x[4 * i]) + 0.5 * x[4 * i + 1];
    y[2 * i + 1] = x[4 * i + 2] * x[4 * i + 3];
  }
  return { x: { dtype: 'float32', shape: [n, 4], data: x }, y: { dtype: 'float32', shape: [n, 2], data: y } };
}

const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  optim: { betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.1, clipNorm: 1.0 },
  schedule: { lr: 0.05, warmupSteps: 2, totalSteps: 20, minRatio: 0.1 },
  seed: 7,
  session: { threads: 1 },
  ...over,
});

describe('learning-rate schedule', () => {
  it('warms up linearly, then decays by a cosine to minRatio·peak, once or in cycles that restart at the peak', () => {
    const s = { lr: 2, warmupSteps: 2, totalSteps: 14, minRatio: 0.1 };
    const cosine = (t: number) => 0.2 + 0.9 * (1 + Math.cos(Math.PI * t)); // from the peak 2 at t = 0 to 0.2 at t = 1
    expect([lrAt(s, 0), lrAt(s, 1)]).toEqual([1, 2]);
    for (let k = 2; k < 14; k++) expect(lrAt(s, k)).toBeCloseTo(cosine((k - 2) / 12), 12);
    expect(lrAt(s, 14)).toBeCloseTo(0.2, 12);
    expect(lrAt(s, 99)).toBeCloseTo(0.2, 12);
    for (let k = 0; k < 16; k++) expect(lrAt({ ...s, cycles: 1 }, k)).toBe(lrAt(s, k));
    const c = { ...s, cycles: 3 }; // the 12 steps after the warmup: three cycles of 4
    expect([lrAt(c, 0), lrAt(c, 1)]).toEqual([1, 2]);
    for (let k = 2; k < 14; k++) expect(lrAt(c, k)).toBeCloseTo(cosine(((k - 2) % 4) / 4), 12);
    expect([2, 6, 10].map((k) => lrAt(c, k))).toEqual([2, 2, 2]); // each cycle starts at the peak
    expect([5, 9, 13].map((k) => lrAt(c, k))).toEqual([5, 5, 5].map(() => lrAt(s, 2 + 9))); // and ends where one long cycle is at its 3/4
    expect(lrAt(c, 14)).toBeCloseTo(0.2, 12);
  });
});

describe('random draws', () => {
  it('Gamma and Beta draws have their distributions\' means and variances', () => {
    const rng = new Rng(11), n = 40_000;
    const moments = (draw: () => number) => {
      const xs = Array.from({ length: n }, draw);
      const mean = xs.reduce((a, b) => a + b, 0) / n;
      return { mean, variance: xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n, min: Math.min(...xs), max: Math.max(...xs) };
    };
    for (const k of [0.1, 0.5, 1, 3.5]) {
      const m = moments(() => rng.gamma(k)); // mean k, variance k
      expect(Math.abs(m.mean - k)).toBeLessThan(4 * Math.sqrt(k / n));
      expect(Math.abs(m.variance / k - 1)).toBeLessThan(0.1);
    }
    for (const [a, b] of [[0.1, 0.1], [2, 5]]) {
      const m = moments(() => rng.beta(a, b));
      const mean = a / (a + b), variance = (a * b) / ((a + b) ** 2 * (a + b + 1));
      expect(Math.abs(m.mean - mean)).toBeLessThan(4 * Math.sqrt(variance / n));
      expect(Math.abs(m.variance / variance - 1)).toBeLessThan(0.05);
      expect(m.min).toBeGreaterThanOrEqual(0);
      expect(m.max).toBeLessThanOrEqual(1);
    }
    expect(() => rng.gamma(0)).toThrow(/gamma: shape must be > 0, got 0/);
  });
});

describe('AdamW step', () => {
  it('matches an independent implementation on a quadratic', async () => {
    // loss = Σ (w − t)² / 2 → grad = w − t; reference AdamW written out longhand below.
    const target = Float32Array.from([3, -2, 0.5, 8]);
    const quad: TrainSpec = {
      build(g) {
        const w = g.param('w', [4]);
        const t = g.constant({ dtype: 'float32', shape: [4], data: target });
        const d = op.sub(w, t);
        return { loss: op.mul(op.reduceSum(op.mul(d, d), []), 0.5) };
      },
      init: () => Float32Array.from([0, 0, 0, 0]),
    };
    const c = cfg();
    const tr = await Trainer.create(quad, c);
    const w = [0, 0, 0, 0];
    const m = [0, 0, 0, 0];
    const v = [0, 0, 0, 0];
    const [b1, b2] = c.optim.betas!;
    for (let step = 0; step < 8; step++) {
      const r = await tr.trainStep([{}]);
      let g = w.map((wi, i) => wi - target[i]);
      const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
      expect(r.gradNorm).toBeCloseTo(norm, 4);
      g = g.map((x) => x * Math.min(1, c.optim.clipNorm! / norm));
      const lr = lrAt(c.schedule, step);
      for (let i = 0; i < 4; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        const mh = m[i] / (1 - b1 ** (step + 1));
        const vh = v[i] / (1 - b2 ** (step + 1));
        w[i] -= lr * (mh / (Math.sqrt(vh) + c.optim.eps!) + c.optim.weightDecay! * w[i]);
      }
    }
    const got = tr.params.get('w')!;
    const diff = Math.max(...w.map((x, i) => Math.abs(x - got[i])));
    console.log(`adamw vs reference: maxdiff ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-5);
    await tr.release();
  });

  it('accumulates micro-batches like one large batch', async () => {
    const rng = new Rng(1);
    const [a, b] = [batch(rng, 8), batch(rng, 8)];
    const both: Record<string, Tensor> = {};
    for (const k of ['x', 'y']) {
      const d = new Float32Array(a[k].data.length * 2);
      d.set(a[k].data as Float32Array);
      d.set(b[k].data as Float32Array, a[k].data.length);
      both[k] = { dtype: 'float32', shape: [16, a[k].shape[1]], data: d };
    }
    const t1 = await Trainer.create(spec, cfg());
    const t2 = await Trainer.create(spec, cfg({ accumulate: 2 }));
    for (let i = 0; i < 3; i++) {
      const r1 = await t1.trainStep([both]);
      const r2 = await t2.trainStep([a, b]);
      expect(r2.loss).toBeCloseTo(r1.loss, 5);
      expect(r2.gradNorm).toBeCloseTo(r1.gradNorm, 4);
    }
    const d = Math.max(...Array.from(t1.params.get('l1.weight')!, (x, i) => Math.abs(x - t2.params.get('l1.weight')![i])));
    expect(d).toBeLessThan(1e-5);
  });

  it('leaves frozen groups untouched and trains the rest', async () => {
    const t = await Trainer.create(spec, cfg({ groups: [{ match: /^l1\./, frozen: true }] }));
    const before = Float32Array.from(t.params.get('l1.weight')!);
    const b2 = Float32Array.from(t.params.get('l2.weight')!);
    const rng = new Rng(2);
    for (let i = 0; i < 3; i++) await t.trainStep([batch(rng, 8)]);
    expect(Array.from(t.params.get('l1.weight')!)).toEqual(Array.from(before));
    expect(Array.from(t.params.get('l2.weight')!)).not.toEqual(Array.from(b2));
    expect(t.trainable).toEqual(['l2.weight', 'l2.bias']);
  });
});

describe('exact resume', () => {
  it('a run resumed from a checkpoint reproduces the uninterrupted losses and weights bit for bit', async () => {
    const run = async (t: Trainer, steps: number) => {
      const losses: number[] = [];
      for (let i = 0; i < steps; i++) {
        const seed = t.rng.nextU32(); // the data order comes from the trainer's RNG, which is saved
        t.data = { batchesSeen: ((t.data as { batchesSeen: number } | null)?.batchesSeen ?? 0) + 1 };
        losses.push((await t.trainStep([batch(new Rng(seed), 8)])).loss);
      }
      return losses;
    };
    const full = await Trainer.create(spec, cfg());
    const straight = await run(full, 8);

    const first = await Trainer.create(spec, cfg());
    const head = await run(first, 5);
    await saveCheckpoint(join(tmp, 'ck'), first.getState(), first.shapes, { note: 'test' });
    await first.release();

    const second = await Trainer.create(spec, cfg());
    const ck = await loadLatestCheckpoint(join(tmp, 'ck'));
    expect(ck?.state.step).toBe(5);
    second.setState(ck!.state);
    expect(second.data).toEqual({ batchesSeen: 5 });
    const tail = await run(second, 3);
    expect([...head, ...tail]).toEqual(straight);
    for (const [n, w] of full.params) expect(Array.from(second.params.get(n)!)).toEqual(Array.from(w));
  });

  it('passes over a newest checkpoint that cannot be read, saying which and why, and refuses when none can', async () => {
    const t = await Trainer.create(spec, cfg());
    const dir = join(tmp, 'ck-broken');
    await saveCheckpoint(dir, t.getState(), t.shapes);
    await t.trainStep([batch(new Rng(3), 8)]);
    const newest = await saveCheckpoint(dir, t.getState(), t.shapes);
    await t.release();
    const model = join(newest, 'model.safetensors');
    truncateSync(model, 20); // a crash mid-write of a file the atomic save would never leave; a bad disk can
    const notices: string[] = [];
    const ck = await loadLatestCheckpoint(dir, (m) => notices.push(m));
    expect(ck?.state.step).toBe(0);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(`passed over a checkpoint that cannot be read (${model}: `);
    expect(notices[0]).toMatch(/; resuming from step 0 \(.*step-00000000\)$/);
    truncateSync(join(dir, 'step-00000000', 'state.json'), 3);
    await expect(loadLatestCheckpoint(dir)).rejects.toThrow(new RegExp(`no usable checkpoint in ${dir}:\\n  .*model\\.safetensors: .*\\n  .*state\\.json: cannot read checkpoint state`));
  });

  it('rejects a checkpoint of another model with the name and shapes', async () => {
    const t = await Trainer.create(spec, cfg());
    const s = t.getState();
    const bad = { ...s, params: new Map(s.params), m: s.m, v: s.v };
    bad.params.set('l1.weight', new Float32Array(3));
    expect(() => t.setState(bad)).toThrow(/'l1.weight' has 3 values, the model needs 32 \(shape \[8,4\]\)/);
  });
});
