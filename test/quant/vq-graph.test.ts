// The quantizers as graphs run through onnxruntime: cosine and Euclidean lookups against a
// brute-force search written here, the straight-through gradient and stop-gradient paths, residual
// levels reducing the error, and FSQ values/indices against hand values and the host conversions.
import { describe, expect, it } from 'vitest';
import { gradients } from '../../src-main/engine/autodiff/grad.ts';
import { Graph, type Tensor, type Value } from '../../src-main/engine/graph/graph.ts';
import { exportOnnx } from '../../src-main/engine/graph/onnx.ts';
import * as op from '../../src-main/engine/graph/ops/index.ts';
import { Session } from '../../src-main/engine/runtime/session.ts';
import { kmeansInit, nearestCodes } from '../../src-main/engine/quant/codebook.ts';
import { fsq, fsqCodebookSize, fsqCodesToIndices, fsqIndicesToCodes } from '../../src-main/engine/quant/fsq.ts';
import { residualQuantize, vectorQuantize } from '../../src-main/engine/quant/vq.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';

async function run(g: Graph, outputs: Record<string, Value>, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const s = await Session.create(exportOnnx(g, outputs).bytes, { threads: 1 });
  const r = await s.run(feeds);
  await s.release();
  return r;
}
const f32 = (shape: number[], data: Float32Array): Tensor => ({ dtype: 'float32', shape, data });
const F = (t: Tensor) => t.data as Float32Array;
const I = (t: Tensor) => Array.from(t.data as BigInt64Array, Number);
const maxdiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(0, ...Array.from(a, (x, i) => Math.abs(x - b[i])));

/** Brute-force scores in float64: cosine, or −‖z − c‖².   z (N, D), C (K, D) → N rows of K */
function scores(z: Float32Array, C: Float32Array, d: number, metric: 'cosine' | 'euclidean'): number[][] {
  const rows = (x: Float32Array) => Array.from({ length: x.length / d }, (_, i) => Array.from(x.subarray(i * d, i * d + d)));
  const norm = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + b * b, 0));
  return rows(z).map((zi) => rows(C).map((c) =>
    metric === 'cosine' ? zi.reduce((a, x, j) => a + x * c[j], 0) / (norm(zi) * norm(c)) : -zi.reduce((a, x, j) => a + (x - c[j]) ** 2, 0)));
}

/** Graph indices equal the brute-force argmax, except on near-ties (gap < tol), which are counted. */
function expectSameIndices(got: number[], s: number[][], tol = 1e-5): number {
  let ties = 0;
  got.forEach((k, i) => {
    const best = s[i].indexOf(Math.max(...s[i]));
    if (k === best) return;
    expect(s[i][best] - s[i][k], `row ${i}: graph picked ${k}, brute force ${best}`).toBeLessThan(tol);
    ties++;
  });
  return ties;
}

describe('VQ lookup in the graph', () => {
  for (const metric of ['cosine', 'euclidean'] as const) {
    it(`picks the same ${metric} nearest codes as a brute-force search, and gathers them`, async () => {
      const [n, k, d] = [200, 64, 16];
      const rng = new Rng(metric === 'cosine' ? 1 : 2);
      const zData = rng.fillNormal(new Float32Array(n * d));
      const cData = rng.fillNormal(new Float32Array(k * d));
      const g = new Graph();
      const z = g.input('z', 'float32', ['N', d]);
      const C = g.input('C', 'float32', [k, d]);
      const vq = vectorQuantize(z, C, { metric });
      const r = await run(g, { idx: vq.indices, q: vq.quantized, codes: vq.codes }, { z: f32([n, d], zData), C: f32([k, d], cData) });
      const idx = I(r.idx);
      const ties = expectSameIndices(idx, scores(zData, cData, d, metric));
      expect(ties).toBeLessThanOrEqual(1);
      // the output is the (normalised) code row, and the STE output equals it in value
      const norm = (i: number) => (metric === 'cosine' ? Math.hypot(...cData.subarray(i * d, i * d + d)) : 1);
      const want = idx.flatMap((c) => Array.from(cData.subarray(c * d, c * d + d), (x) => x / norm(c)));
      console.log(`${metric} VQ: ${n}×${k} lookups, ${ties} near-ties, gathered maxdiff ${maxdiff(F(r.codes), want).toExponential(2)}`);
      expect(maxdiff(F(r.codes), want)).toBeLessThan(1e-6);
      expect(maxdiff(F(r.q), want)).toBeLessThan(1e-6);
      // the host search used by k-means and eval agrees too
      expect(expectSameIndices(Array.from(nearestCodes(zData, cData, d, metric)), scores(zData, cData, d, metric))).toBeLessThanOrEqual(1);
    });
  }
});

describe('straight-through estimator', () => {
  it('passes the gradient at q to z unchanged, and none to the codebook', async () => {
    const [n, k, d] = [12, 8, 4];
    const rng = new Rng(4);
    const zData = rng.fillNormal(new Float32Array(n * d));
    const rData = rng.fillNormal(new Float32Array(n * d));
    const g = new Graph();
    const z = g.input('z', 'float32', [n, d]);
    const C = g.param('codebook', [k, d]);
    const R = g.constant({ dtype: 'float32', shape: [n, d], data: rData }, 'R');
    const vq = vectorQuantize(z, C, { codebookLoss: true });
    const loss = op.reduceSum(op.mul(op.mul(vq.quantized, vq.quantized), R), []); // Σ q²·R: dL/dq = 2q·R
    const [gIn, gQ, gZ, gC] = gradients(loss, [vq.input, vq.quantized, z, C]);
    expect(gC, 'the STE output must give the codebook no gradient').toBeNull();
    expect(gradients(vq.commitLoss, [C])[0], 'the commitment loss must give the codebook no gradient').toBeNull();
    expect(gradients(vq.codebookLoss!, [z])[0], 'the codebook loss must give the encoder no gradient').toBeNull();
    const [gCb] = gradients(vq.codebookLoss!, [C]);
    const cData = rng.fillNormal(new Float32Array(k * d));
    const r = await run(g, { q: vq.quantized, zn: vq.input, gIn: gIn!, gQ: gQ!, gZ: gZ!, gCb: gCb! }, { z: f32([n, d], zData), codebook: f32([k, d], cData) });
    const q = F(r.q);
    const want = Array.from(q, (x, i) => 2 * x * rData[i]);
    expect(maxdiff(F(r.gQ), want)).toBeLessThan(1e-5);
    expect(maxdiff(F(r.gIn), want), 'd loss / d z_normalised must equal d loss / d q').toBeLessThan(1e-5);
    // through the l2 norm: dz = (g − ẑ(ẑ·g)) / ‖z‖
    const zn = F(r.zn);
    const wantZ = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const row = (a: ArrayLike<number>) => Array.from({ length: d }, (_, j) => a[i * d + j]);
      const [gi, zi, zhat] = [row(want), row(zData), row(zn)];
      const dot = gi.reduce((a, x, j) => a + x * zhat[j], 0);
      const len = Math.hypot(...zi);
      for (let j = 0; j < d; j++) wantZ[i * d + j] = (gi[j] - zhat[j] * dot) / len;
    }
    console.log(`STE: dL/dz_n vs dL/dq maxdiff ${maxdiff(F(r.gIn), want).toExponential(2)}, dL/dz vs hand ${maxdiff(F(r.gZ), wantZ).toExponential(2)}`);
    expect(maxdiff(F(r.gZ), wantZ)).toBeLessThan(1e-5);
    expect(Math.max(...Array.from(F(r.gCb), Math.abs)), 'the codebook loss must reach the codebook').toBeGreaterThan(1e-3);
  });
});

describe('residual quantization', () => {
  it('reduces the error with every level, matching a host computation', async () => {
    const [d, k, levels] = [8, 32, 4];
    const rng = new Rng(6);
    const train = rng.fillNormal(new Float32Array(3000 * d));
    const evalZ = rng.fillNormal(new Float32Array(500 * d));
    // fit each level by Euclidean k-means on the residual the previous levels leave
    const books: Float32Array[] = [];
    let res = train;
    for (let l = 0; l < levels; l++) {
      const C = kmeansInit(res, d, k, new Rng(l), { metric: 'euclidean', iters: 10 });
      const idx = nearestCodes(res, C, d, 'euclidean');
      res = res.map((x, i) => x - C[idx[Math.floor(i / d)] * d + (i % d)]);
      books.push(C);
    }
    const g = new Graph();
    const z = g.input('z', 'float32', ['N', d]);
    const Cs = books.map((b, l) => g.constant({ dtype: 'float32', shape: [k, d], data: b }, `C${l}`));
    const rq = residualQuantize(z, Cs);
    const outs: Record<string, Value> = { sum: rq.codes, out: rq.quantized };
    rq.indices.forEach((v, l) => (outs[`idx${l}`] = v));
    rq.residuals.forEach((v, l) => (outs[`res${l}`] = v));
    const r = await run(g, outs, { z: f32([500, d], evalZ) });
    // error after level l = mean ‖r_{l+1}‖², the last one ‖z − Σq‖²
    const sumSq = (a: Float32Array) => a.reduce((s, x) => s + x * x, 0) / 500;
    const finalRes = evalZ.map((x, i) => x - F(r.sum)[i]);
    const errs = [...Array.from({ length: levels - 1 }, (_, l) => sumSq(F(r[`res${l + 1}`]))), sumSq(finalRes)];
    console.log(`residual VQ error by level: ${errs.map((e) => e.toFixed(3)).join(' → ')} (input ${sumSq(evalZ).toFixed(3)})`);
    expect(errs[0]).toBeLessThan(sumSq(evalZ));
    for (let l = 1; l < levels; l++) expect(errs[l]).toBeLessThan(errs[l - 1]);
    expect(errs[levels - 1]).toBeLessThan(0.6 * errs[0]);
    expect(maxdiff(F(r.out), F(r.sum))).toBeLessThan(1e-5);
    // each level's indices agree with the host search on the graph's own residuals
    for (let l = 0; l < levels; l++)
      expectSameIndices(I(r[`idx${l}`]), scores(F(r[`res${l}`]), books[l], d, 'euclidean'));
  });
});

describe('FSQ', () => {
  const levels = [8, 5, 5, 5];
  it('gives the hand values at 0 and at saturation, and round-trips indices and codes', async () => {
    const n = 256;
    const rng = new Rng(9);
    const zData = rng.fillNormal(new Float32Array(n * 4), 2);
    zData.set([0, 0, 0, 0, 50, 50, 50, 50, -50, -50, -50, -50], 0);
    const g = new Graph();
    const z = g.input('z', 'float32', ['N', 4]);
    const out = fsq(z, levels);
    const r = await run(g, { q: out.quantized, idx: out.indices }, { z: f32([n, 4], zData) });
    const q = F(r.q);
    const idx = I(r.idx);
    // 0 → the middle level of every dim: digits (4, 2, 2, 2) → 4 + 2·8 + 2·40 + 2·200 = 500
    expect(Array.from(q.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(idx[0]).toBe(500);
    expect(Array.from(q.subarray(4, 8))).toEqual([0.75, 1, 1, 1]);
    expect(idx[1]).toBe(7 + 4 * 8 + 4 * 40 + 4 * 200);
    expect(Array.from(q.subarray(8, 12))).toEqual([-1, -1, -1, -1]);
    expect(idx[2]).toBe(0);
    expect(Array.from(fsqIndicesToCodes(idx, levels))).toEqual(Array.from(q));
    expect(Array.from(fsqCodesToIndices(q, levels))).toEqual(idx);
    const all = Array.from({ length: fsqCodebookSize(levels) }, (_, i) => i);
    expect(Array.from(fsqCodesToIndices(fsqIndicesToCodes(all, levels), levels))).toEqual(all);
    expect(() => fsqCodesToIndices(Float32Array.from([0.1, 0, 0, 0]), levels)).toThrow(/value 0.1.* dim 0 is not one of the 8 levels/);
    expect(() => fsqCodesToIndices(Float32Array.from([0, 0, 1.5, 0]), levels)).toThrow(/dim 2 is not one of the 5 levels/);
  });

  it('passes the gradient straight through the rounding', async () => {
    const n = 16;
    const rng = new Rng(10);
    const zData = rng.fillNormal(new Float32Array(n * 4));
    const rData = rng.fillNormal(new Float32Array(n * 4));
    const g = new Graph();
    const z = g.input('z', 'float32', [n, 4]);
    const loss = op.reduceSum(op.mul(fsq(z, levels).quantized, g.constant({ dtype: 'float32', shape: [n, 4], data: rData }, 'R')), []);
    const r = await run(g, { gz: gradients(loss, [z])[0]! }, { z: f32([n, 4], zData) });
    // d/dz [tanh(z + shift)·h − offset] / ⌊L/2⌋ = h·(1 − tanh²(z + shift)) / ⌊L/2⌋
    const want = Array.from(zData, (x, i) => {
      const L = levels[i % 4];
      const h = ((L - 1) * (1 - 1e-3)) / 2;
      const shift = Math.atanh((L % 2 === 0 ? 0.5 : 0) / h);
      return (rData[i] * h * (1 - Math.tanh(x + shift) ** 2)) / Math.floor(L / 2);
    });
    expect(maxdiff(F(r.gz), want)).toBeLessThan(1e-5);
    // without the estimator, reaching Round is a loud error rather than a silent zero gradient
    expect(() => gradients(op.reduceSum(op.round(z), []), [z])).toThrow(/no gradient rule for op Round/);
  });
});
