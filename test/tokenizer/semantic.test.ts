// The semantic half of a dual image tokenizer (models/semantic.ts, recipe 'semantic'): residual
// k-means finds planted clusters; the exported encoder's codes equal an independent residual
// nearest-row search over its own features; a real short run on a shapes folder resumes exactly
// after a pause; and a tokenizer folder with a `semantic/` part gives every image one more leading
// position whose codes are the semantic encoder's, while the pixel positions and the decoded image
// are the pixel tokenizer's own. A semantic part that does not fit its pixel tokenizer is refused,
// naming the file and the field.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImageFolder } from '../../src-main/engine/data/imagefolder.ts';
import { readSafetensors } from '../../src-main/engine/io/safetensors.ts';
import { loadImageTokenizer } from '../../src-main/engine/models/image-tokenizer.ts';
import { alignCodes, mixStyle, nearestRowsJs, permuteCodebooks, residualKMeans, semanticInit, semanticTrainGraph, wordTargets, type SemanticConfig } from '../../src-main/engine/models/semantic.ts';
import { Graph, type Tensor } from '../../src-main/engine/graph/graph.ts';
import { exportOnnx } from '../../src-main/engine/graph/onnx.ts';
import { Session } from '../../src-main/engine/runtime/session.ts';
import { tinySemanticWeights } from '../unified/helpers.ts';
import { exportSemanticEncoder, nearestRowsSession, semanticRecipe } from '../../src-main/engine/train/recipes/semantic.ts';
import { parseTokenizerConfig, runTokenizerRecipe } from '../../src-main/engine/train/tokenizer.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';
import { tinyTokenizerConfig, writeShapesFolder } from './helpers.ts';

let tmp: string;
let data: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tessera-semantic-'));
  data = join(tmp, 'shapes');
  await writeShapesFolder(data, 48, 32);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Independent residual quantisation: at each level the row of smallest squared distance. */
function residualNearest(f: Float32Array, books: Float32Array, depth: number, k: number, e: number): number[] {
  const r = Float32Array.from(f), out: number[] = [];
  for (let d = 0; d < depth; d++) {
    let best = Infinity, at = 0;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < e; t++) s += (r[t] - books[(d * k + j) * e + t]) ** 2;
      if (s < best) [best, at] = [s, j];
    }
    out.push(at);
    for (let t = 0; t < e; t++) r[t] -= books[(d * k + at) * e + t];
  }
  return out;
}

const tinySemantic = (over: Record<string, unknown> = {}) => ({
  data: { dir: data, eval_split: 'validation', eval_limit: 8 },
  model: { image_size: 32, input_size: 16, width: 8, embed_dim: 16, depth: 4, codebook_size: 48, first_token_id: 16 },
  train: { steps: 6, batch: 8, warmup_steps: 2, checkpoint_every: 3, kmeans_iterations: 2, threads: 1 },
  ...over,
});

describe('semantic codes', () => {
  it('residual k-means recovers planted clusters and each level leaves less behind', async () => {
    const rng = new Rng(5);
    const [k, e, per] = [6, 8, 20];
    const centres = rng.fillNormal(new Float32Array(k * e), 3);
    const x = new Float32Array(k * per * e);
    for (let i = 0; i < k * per; i++) for (let t = 0; t < e; t++) x[i * e + t] = centres[(i % k) * e + t] + 0.05 * rng.normal();
    const { codebooks, residual } = await residualKMeans(x, k * per, e, 2, k, 10, new Rng(1));
    // every point's level-1 code is shared exactly by the points of its planted cluster
    const code = Array.from({ length: k * per }, (_, i) => residualNearest(x.subarray(i * e, (i + 1) * e), codebooks, 1, k, e)[0]);
    for (let i = 0; i < k * per; i++) expect(code[i]).toBe(code[i % k]);
    expect(new Set(code).size).toBe(k);
    expect(residual[0]).toBeLessThan(0.05 * 0.05 * e * 1.5);
    expect(residual[1]).toBeLessThan(residual[0]);
  });

  it('finds the nearest rows through onnxruntime as the plain loops do, first on ties, and so the same codebooks', async () => {
    const rng = new Rng(11);
    const [n, k, e] = [5000, 300, 16];
    const x = rng.fillNormal(new Float32Array(n * e), 1);
    const C = rng.fillNormal(new Float32Array(k * e), 1);
    C.copyWithin(7 * e, 3 * e, 4 * e); // row 7 = row 3: a tie, won by 3
    x.set(C.subarray(3 * e, 4 * e), 0);
    const near = await nearestRowsSession(e, 1);
    try {
      const [js, ort] = [await nearestRowsJs(x, n, C, k, e), await near.nearest(x, n, C, k, e)];
      expect(ort[0]).toBe(3);
      expect(Array.from(ort)).toEqual(Array.from(js));
      const [a, b] = [await residualKMeans(x, n, e, 2, 64, 4, new Rng(2)), await residualKMeans(x, n, e, 2, 64, 4, new Rng(2), near.nearest)];
      expect(Array.from(b.codebooks)).toEqual(Array.from(a.codebooks));
      expect(b.residual).toEqual(a.residual);
    } finally {
      await near.release();
    }
  });

  it('the exported encoder picks, level by level, the nearest row to what is left of its features', async () => {
    const c: SemanticConfig = { model_type: 'tessera-semantic', image_size: 32, input_size: 16, width: 8, embed_dim: 16, depth: 3, codebook_size: 10, first_token_id: 16 };
    const rng = new Rng(2);
    const weights = tinySemanticWeights(rng);
    const books = rng.fillNormal(new Float32Array(3 * 10 * 16), 0.3);
    weights.set('semantic.codebooks', books);
    const s = await Session.create(exportSemanticEncoder(c, weights), { threads: 1 });
    try {
      const n = 5;
      const r = await s.run({ pixels: { dtype: 'float32', shape: [n, 3, 32, 32], data: rng.fillUniform(new Float32Array(n * 3 * 32 * 32)) } });
      const f = r.features.data as Float32Array, codes = r.codes.data as BigInt64Array;
      expect(r.codes.shape).toEqual([n, 3]);
      for (let i = 0; i < n; i++) {
        let norm = 0;
        for (let t = 0; t < 16; t++) norm += f[i * 16 + t] ** 2;
        expect(norm).toBeCloseTo(1, 5);
        expect(Array.from(codes.subarray(i * 3, (i + 1) * 3), Number)).toEqual(residualNearest(f.subarray(i * 16, (i + 1) * 16), books, 3, 10, 16));
      }
    } finally {
      await s.release();
    }
  });
});

describe('matching a new encoder\'s code numbers to an old one\'s', () => {
  it('recovers a planted renumbering, keeps the most images where codes disagree, and moves codebook rows to match', () => {
    const [n, depth, k] = [600, 2, 12];
    const rng = new Rng(3);
    const old = Int32Array.from({ length: n * depth }, () => rng.int(k));
    const planted = Array.from({ length: depth }, () => rng.shuffle(Int32Array.from({ length: k }, (_, j) => j)) as Int32Array);
    // the new encoder: the old codes renumbered (new j = planted[old j]), with 10% of images moved elsewhere
    const next = old.map((b, i) => (rng.uniform() < 0.1 ? rng.int(k) : planted[i % depth][b]));
    const perm = alignCodes(next, old, n, depth, k);
    for (let d = 0; d < depth; d++) for (let b = 0; b < k; b++) expect(perm[d * k + planted[d][b]]).toBe(b);
    let kept = 0;
    for (let i = 0; i < n * depth; i++) kept += perm[(i % depth) * k + next[i]] === old[i] ? 1 : 0;
    expect(kept / (n * depth)).toBeGreaterThan(0.88);
    // a permutation per level: every index used once
    for (let d = 0; d < depth; d++) expect([...perm.subarray(d * k, (d + 1) * k)].sort((a, b) => a - b)).toEqual(Array.from({ length: k }, (_, j) => j));
    // row j of level d moves to perm[d·k + j]
    const e = 3, books = Float32Array.from({ length: depth * k * e }, (_, i) => i);
    const moved = permuteCodebooks(books, perm, depth, k, e);
    for (let d = 0; d < depth; d++) for (let j = 0; j < k; j++) expect([...moved.subarray((d * k + perm[d * k + j]) * e, (d * k + perm[d * k + j] + 1) * e)]).toEqual([...books.subarray((d * k + j) * e, (d * k + j + 1) * e)]);
    expect(() => alignCodes(next.subarray(1), old, n, depth, k)).toThrow(/alignCodes: codes of/);
  });
});

describe('the words classifier', () => {
  it('keeps the words two or more labels share and spreads each row over its own', () => {
    const rows = [
      { text: 'grinning face', tags: ['happy', 'smile'] },
      { text: 'grinning cat', tags: ['cat', 'smile'] },
      { text: 'cat face', tags: ['cat'] },
      { text: 'rocket', tags: ['space'] },
    ];
    const a = wordTargets(rows, { minLabels: 2, tags: true });
    expect(a.vocab).toEqual(['cat', 'face', 'grinning', 'smile']);
    const row = (i: number) => Array.from(a.targets.subarray(i * 4, (i + 1) * 4));
    expect(row(0)).toEqual([0, 1 / 3, 1 / 3, 1 / 3].map(Math.fround));
    expect(row(1)).toEqual([1 / 3, 0, 1 / 3, 1 / 3].map(Math.fround));
    expect(row(2)).toEqual([0.5, 0.5, 0, 0]);
    expect(row(3)).toEqual([0, 0, 0, 0]); // no shared word: left out of the words loss
    expect(wordTargets(rows, { minLabels: 2, tags: false }).vocab).toEqual(['cat', 'face', 'grinning']);
  });

  it('adds weight × the soft cross-entropy over words to the labels\' loss, as computed on the host', async () => {
    const c: SemanticConfig = { model_type: 'tessera-semantic', image_size: 32, input_size: 16, width: 8, embed_dim: 16, depth: 2, codebook_size: 8, first_token_id: 16 };
    const [B, classes, W, weight, scale] = [4, 5, 6, 0.7, 10];
    const g = new Graph('semantic_train');
    const { loss, features } = semanticTrainGraph(g, c, classes, scale, { count: W, weight });
    const s = await Session.create(exportOnnx(g, { loss, features }).bytes, { threads: 1 });
    const rng = new Rng(9);
    const feeds: Record<string, Tensor> = {};
    const value = new Map<string, Float32Array>();
    for (const [n, p] of g.params) {
      const shape = [...p.value.shape] as number[];
      value.set(n, semanticInit(n, shape, rng));
      feeds[n] = { dtype: 'float32', shape, data: value.get(n)! };
    }
    const labels = [0, 3, 4, 3];
    const targets = new Float32Array(B * W);
    [[0, 2], [5], [], [1, 3, 4]].forEach((ws, i) => ws.forEach((j) => (targets[i * W + j] = 1 / ws.length)));
    feeds.pixels = { dtype: 'float32', shape: [B, 3, 32, 32], data: rng.fillUniform(new Float32Array(B * 3 * 32 * 32)) };
    feeds.labels = { dtype: 'int64', shape: [B], data: BigInt64Array.from(labels, BigInt) };
    feeds.word_targets = { dtype: 'float32', shape: [B, W], data: targets };
    try {
      const r = await s.run(feeds);
      const f = r.features.data as Float32Array;
      // host: cosine logits against unit-length rows, log-softmax in float64
      const logp = (name: string, n: number, i: number) => {
        const m = value.get(name)!;
        const z = Array.from({ length: n }, (_, k) => {
          let dot = 0, norm = 0;
          for (let e = 0; e < 16; e++) [dot, norm] = [dot + f[i * 16 + e] * m[k * 16 + e], norm + m[k * 16 + e] ** 2];
          return (scale * dot) / Math.sqrt(norm);
        });
        const top = Math.max(...z), lz = top + Math.log(z.reduce((a, x) => a + Math.exp(x - top), 0));
        return z.map((x) => x - lz);
      };
      const ce = labels.reduce((a, y, i) => a - logp('classifier.weight', classes, i)[y], 0) / B;
      let words = 0;
      for (let i = 0; i < B; i++) logp('classifier.words', W, i).forEach((l, j) => (words -= targets[i * W + j] * l));
      const host = ce + weight * (words / 3); // three rows have words
      const got = (r.loss.data as Float32Array)[0];
      console.log(`semantic loss with words: graph ${got.toFixed(6)}, host ${host.toFixed(6)} (labels ${ce.toFixed(4)}, words ${(words / 3).toFixed(4)})`);
      expect(Math.abs(got - host)).toBeLessThan(1e-4 * Math.abs(host));
    } finally {
      await s.release();
    }
  });
});

describe('MixStyle', () => {
  it('gives each image another\'s per-channel mean and deviation by λ, as computed on the host, and leaves it alone at λ = 1', async () => {
    const [B, C, H] = [3, 2, 4], P = H * H;
    const g = new Graph('mixstyle');
    const h = g.input('h', 'float32', ['B', C, H, H]);
    const out = mixStyle(h, g.input('perm', 'int64', ['B']), g.input('lambda', 'float32', ['B', 1, 1, 1]));
    const s = await Session.create(exportOnnx(g, { out }).bytes, { threads: 1 });
    const rng = new Rng(4);
    const x = Float32Array.from({ length: B * C * P }, (_, i) => rng.normal() * (1 + (i % 3)) + (i % 5));
    const run = async (perm: number[], lambda: number[]) => (await s.run({
      h: { dtype: 'float32', shape: [B, C, H, H], data: x },
      perm: { dtype: 'int64', shape: [B], data: BigInt64Array.from(perm, BigInt) },
      lambda: { dtype: 'float32', shape: [B, 1, 1, 1], data: Float32Array.from(lambda) },
    })).out.data as Float32Array;
    // host statistics in float64: the mean and the (biased) standard deviation over the H×W plane
    const stats = (n: number, c: number) => {
      const v = Array.from(x.subarray((n * C + c) * P, (n * C + c + 1) * P));
      const mu = v.reduce((a, b) => a + b, 0) / P;
      return { v, mu, sigma: Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / P + 1e-6) };
    };
    try {
      const same = await run([1, 2, 0], [1, 1, 1]);
      same.forEach((y, i) => expect(y).toBeCloseTo(x[i], 4));
      const lambda = [0.3, 0, 0.9], perm = [1, 2, 0];
      const got = await run(perm, lambda);
      let worst = 0;
      for (let n = 0; n < B; n++)
        for (let c = 0; c < C; c++) {
          const [a, b] = [stats(n, c), stats(perm[n], c)];
          const [mu, sigma] = [lambda[n] * a.mu + (1 - lambda[n]) * b.mu, lambda[n] * a.sigma + (1 - lambda[n]) * b.sigma];
          a.v.forEach((v, k) => (worst = Math.max(worst, Math.abs(got[(n * C + c) * P + k] - ((v - a.mu) / a.sigma * sigma + mu)))));
        }
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await s.release();
    }
  });
});

describe('semantic recipe and the dual tokenizer', () => {
  it('trains, resumes exactly after a pause, and joins a pixel tokenizer as one leading position', async () => {
    const cfg = semanticRecipe.parseConfig(tinySemantic(), 'tiny-semantic.json');
    const straight = await semanticRecipe.run(cfg, { outDir: join(tmp, 'sem-a'), resume: false });
    expect(straight.status).toBe('done');
    expect(straight.metrics!.nn_top1).toBeGreaterThanOrEqual(0);
    expect(straight.metrics!.words).toBeUndefined();

    // the words classifier: the shapes' labels share no word, so it is refused naming the field, unless one label suffices
    const words = (w: object) => semanticRecipe.parseConfig(tinySemantic({ train: { ...tinySemantic().train, steps: 2, words: { weight: 1, ...w } } }), 'words.json');
    await expect(semanticRecipe.run(words({}), { outDir: join(tmp, 'sem-w0'), resume: false })).rejects.toThrow(/'train\.words'.*2 or more labels/);
    const withWords = await semanticRecipe.run(words({ min_labels: 1 }), { outDir: join(tmp, 'sem-w1'), resume: false });
    expect(withWords).toMatchObject({ status: 'done', metrics: { words: 2 } });

    const ctl = new AbortController();
    const paused = await semanticRecipe.run(cfg, { outDir: join(tmp, 'sem-b'), resume: false, signal: ctl.signal, onProgress: (p) => p.step === 3 && ctl.abort() });
    expect(paused).toMatchObject({ status: 'paused', step: 3 });
    const resumed = await semanticRecipe.run(cfg, { outDir: join(tmp, 'sem-b'), resume: true });
    expect(resumed.status).toBe('done');
    const [a, b] = [await readSafetensors(join(straight.modelDir!, 'model.safetensors')), await readSafetensors(join(resumed.modelDir!, 'model.safetensors'))];
    expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
    for (const [n, t] of a.tensors) expect(Array.from(b.tensors.get(n)!.data as Float32Array)).toEqual(Array.from(t.data as Float32Array));

    // MixStyle: its draws come from the data stream, so a paused run resumes to the same weights; they change what it learns
    const mixed = semanticRecipe.parseConfig(tinySemantic({ train: { ...tinySemantic().train, mix_style: { p: 1, alpha: 0.1 } } }), 'mixstyle.json');
    const mixedStraight = await semanticRecipe.run(mixed, { outDir: join(tmp, 'mix-a'), resume: false });
    const ctl2 = new AbortController();
    expect(await semanticRecipe.run(mixed, { outDir: join(tmp, 'mix-b'), resume: false, signal: ctl2.signal, onProgress: (p) => p.step === 3 && ctl2.abort() })).toMatchObject({ status: 'paused', step: 3 });
    const mixedResumed = await semanticRecipe.run(mixed, { outDir: join(tmp, 'mix-b'), resume: true });
    const [m1, m2] = [await readSafetensors(join(mixedStraight.modelDir!, 'model.safetensors')), await readSafetensors(join(mixedResumed.modelDir!, 'model.safetensors'))];
    for (const [n, t] of m1.tensors) expect(Array.from(m2.tensors.get(n)!.data as Float32Array)).toEqual(Array.from(t.data as Float32Array));
    expect(Array.from(m1.tensors.get('encoder.conv_in.weight')!.data as Float32Array)).not.toEqual(Array.from(a.tensors.get('encoder.conv_in.weight')!.data as Float32Array));

    // a pixel tokenizer of the same geometry (32×32, 4×4 positions × 4 codes of 48), then the pair
    const pix = await runTokenizerRecipe(parseTokenizerConfig(tinyTokenizerConfig(data, 4), 'tiny.json'), { outDir: join(tmp, 'pix'), resume: false });
    const dual = join(tmp, 'dual');
    await cp(pix.modelDir!, dual, { recursive: true });
    await cp(straight.modelDir!, join(dual, 'semantic'), { recursive: true });
    const [plain, both] = [await loadImageTokenizer(pix.modelDir!, { threads: 1 }), await loadImageTokenizer(dual, { threads: 1 })];
    const sem = await Session.create(new Uint8Array(await readFile(join(straight.modelDir!, 'encoder.onnx'))), { threads: 1 });
    try {
      expect([both.positions, both.leadingPositions, both.depth, both.dual]).toEqual([plain.positions + 1, 1, plain.depth, true]);
      const set = await loadImageFolder(data, { split: 'validation', size: 32 });
      const n = set.rows.length, D = both.depth, P = both.positions;
      const [tp, td] = [await plain.encode(set.images, n), await both.encode(set.images, n)];
      const semCodes = (await sem.run({ pixels: { dtype: 'float32', shape: [n, 3, 32, 32], data: set.images } })).codes.data as BigInt64Array;
      for (let i = 0; i < n; i++) {
        expect(Array.from(td.subarray(i * P * D, i * P * D + D))).toEqual(Array.from(semCodes.subarray(i * D, (i + 1) * D), (k) => 16 + Number(k)));
        expect(Array.from(td.subarray(i * P * D + D, (i + 1) * P * D))).toEqual(Array.from(tp.subarray(i * (P - 1) * D, (i + 1) * (P - 1) * D)));
      }
      expect(Array.from(await both.decode(td, n))).toEqual(Array.from(await plain.decode(tp, n)));
      await expect(both.decode(tp, n)).rejects.toThrow(/ids for/);
    } finally {
      await Promise.all([plain.release(), both.release(), sem.release()]);
    }

    // a semantic part that does not fit: named by file and field
    const cfgFile = join(dual, 'semantic', 'config.json');
    await writeFile(cfgFile, JSON.stringify({ ...JSON.parse(await readFile(cfgFile, 'utf8')), codebook_size: 40 }));
    await expect(loadImageTokenizer(dual, { threads: 1 })).rejects.toThrow(/semantic[/\\]config\.json: field 'codebook_size' is 40, but the pixel tokenizer beside it needs 48/);
  }, 240_000);

  it('with cycles, writes the encoder at each cycle\'s end but the last to snapshots/K, again on a resume after a crash cut one short', async () => {
    const cycled = (steps: number, cycles: number) => tinySemantic({ train: { ...tinySemantic().train, steps, warmup_steps: 2, cycles, checkpoint_every: 100 } });
    expect(() => semanticRecipe.parseConfig(cycled(9, 3), 'cycles.json')).toThrow(/cycles\.json.*train\.cycles.*3 cycles must divide the 7 steps after the warmup/);
    const cfg = semanticRecipe.parseConfig(cycled(8, 3), 'cycles.json'); // cycles end at steps 4, 6 and 8
    const lr = new Map<number, number>(), evals: number[] = [];
    const straight = await semanticRecipe.run(cfg, { outDir: join(tmp, 'cyc-a'), resume: false, onProgress: (p) => (p.phase === 'train' ? lr.set(p.step, p.metrics.lr) : p.phase === 'eval' && evals.push(p.step)) });
    expect(straight).toMatchObject({ status: 'done', metrics: { snapshots: 2, step: 8 } });
    expect(evals).toEqual([4, 6]); // each snapshot's held-out figures, reported as an evaluation at its step
    expect([lr.get(3), lr.get(5), lr.get(7)]).toEqual([cfg.train.lr, cfg.train.lr, cfg.train.lr]); // steps 2, 4 and 6 (0-based) restart at the peak
    const weights = async (dir: string) => new Map([...(await readSafetensors(join(dir, 'model.safetensors'))).tensors].map(([n, t]) => [n, Array.from(t.data as Float32Array)]));
    const ck = async (dir: string, step: number) => weights(join(dir, 'checkpoints', `step-${String(step).padStart(8, '0')}`));
    // each snapshot holds the trainer's encoder weights at its cycle's end (the checkpoint saved there), with its own codebooks and figures
    for (const [k, step] of [[1, 4], [2, 6]]) {
      const [snap, at] = [await weights(join(tmp, 'cyc-a', 'snapshots', String(k))), await ck(join(tmp, 'cyc-a'), step)];
      for (const [n, w] of snap) if (n.startsWith('encoder.')) expect(w).toEqual(at.get(n));
      expect(snap.get('semantic.codebooks')!.length).toBe(4 * 48 * 16);
      expect(JSON.parse(await readFile(join(tmp, 'cyc-a', 'snapshots', String(k), 'tessera.json'), 'utf8')).metrics).toMatchObject({ step, eval_images: 6 }); // all 6 of the validation split
    }
    expect(await weights(join(tmp, 'cyc-a', 'snapshots', '1'))).not.toEqual(await weights(join(tmp, 'cyc-a', 'snapshots', '2')));

    // paused right at the first cycle's end, its snapshot lost as if the process died while writing it: the resume writes it again
    const ctl = new AbortController();
    const out = join(tmp, 'cyc-b');
    expect(await semanticRecipe.run(cfg, { outDir: out, resume: false, signal: ctl.signal, onProgress: (p) => p.step === 4 && ctl.abort() })).toMatchObject({ status: 'paused', step: 4 });
    await rm(join(out, 'snapshots', '1'), { recursive: true });
    expect((await semanticRecipe.run(cfg, { outDir: out, resume: true })).status).toBe('done');
    for (const dir of ['snapshots/1', 'snapshots/2', 'model']) expect(await weights(join(out, dir))).toEqual(await weights(join(tmp, 'cyc-a', dir)));
  }, 240_000);
});
