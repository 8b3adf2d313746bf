// Host-side quantizer maths: the EMA update against a hand computation, dead-code restart from
// encoder outputs, k-means vs random initialisation, usage and perplexity on known histograms, and
// the UniCode one-way pull (C_L untouched, C moved by the formula).
import { describe, expect, it } from 'vitest';
import { EmaCodebook, kmeansInit, l2NormalizeRows, nearestCodes, quantizationError, sampleInit } from '../../src-main/engine/quant/codebook.ts';
import { codeHistogram, codePerplexity, codeUsage } from '../../src-main/engine/quant/metrics.ts';
import { pullCodebook, pullDue } from '../../src-main/engine/quant/pull.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';

const close = (got: ArrayLike<number>, want: number[], tol = 1e-6) => {
  expect(got.length).toBe(want.length);
  const diff = Math.max(...want.map((w, i) => Math.abs(got[i] - w)));
  expect(diff, `maxdiff ${diff} (got [${Array.from(got)}], want [${want}])`).toBeLessThan(tol);
};

/** N points around `centers` (unit directions), l2-normalised.   → (N, D) */
function clusters(rng: Rng, centers: number[][], n: number, noise: number): Float32Array {
  const d = centers[0].length;
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = centers[rng.int(centers.length)];
    for (let j = 0; j < d; j++) out[i * d + j] = c[j] + noise * rng.normal();
  }
  return l2NormalizeRows(out, d);
}

function randomDirections(rng: Rng, k: number, d: number): number[][] {
  const m = l2NormalizeRows(rng.fillNormal(new Float32Array(k * d)), d);
  return Array.from({ length: k }, (_, i) => Array.from(m.subarray(i * d, i * d + d)));
}

describe('EMA codebook', () => {
  it('matches a hand computation of counts, sums and the Laplace-smoothed codebook', () => {
    const ema = new EmaCodebook(Float32Array.from([1, 0, 0, 1]), 2, { decay: 0.9, eps: 0.1, deadThreshold: 0 });
    const z = Float32Array.from([2, 0, 0, 4, 4, 2]);
    expect(ema.update(z, [0, 1, 0], new Rng(0))).toEqual([]);
    // n = [2, 1]; s0 = (2,0)+(4,2) = (6,2); s1 = (0,4)
    close(ema.counts, [0.9 * 1 + 0.1 * 2, 0.9 * 1 + 0.1 * 1]);
    close(ema.sums, [0.9 * 1 + 0.1 * 6, 0.9 * 0 + 0.1 * 2, 0.9 * 0 + 0.1 * 0, 0.9 * 1 + 0.1 * 4]);
    const total = 1.1 + 1.0;
    const sm0 = ((1.1 + 0.1) / (total + 2 * 0.1)) * total;
    const sm1 = ((1.0 + 0.1) / (total + 2 * 0.1)) * total;
    close(ema.codebook, [1.5 / sm0, 0.2 / sm0, 0 / sm1, 1.3 / sm1]);
    // a second step with only code 1 used: code 0 decays
    ema.update(Float32Array.from([0, 2]), [1n], new Rng(0));
    close(ema.counts, [0.9 * 1.1, 0.9 * 1.0 + 0.1]);
  });

  it('restarts dead codes from rows of the current encoder outputs, and only those', () => {
    const rng = new Rng(3);
    const d = 3;
    const ema = new EmaCodebook(Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, -1, 0, 0]), d, { decay: 0.5, deadThreshold: 0.3 });
    const batch = () => clusters(rng, [[1, 0, 0], [0, 1, 0]], 8, 0.05);
    const z1 = batch();
    expect(ema.update(z1, nearestCodes(z1, ema.codebook, d), rng)).toEqual([]); // counts of 2, 3: 0.5
    const z2 = batch();
    const restarted = ema.update(z2, nearestCodes(z2, ema.codebook, d), rng); // 0.25 < 0.3
    expect(restarted).toEqual([2, 3]);
    const rowOf = (c: number) => {
      for (let r = 0; r < 8; r++) if ([0, 1, 2].every((j) => ema.codebook[c * d + j] === z2[r * d + j])) return r;
      return -1;
    };
    const rows = restarted.map(rowOf);
    expect(rows.every((r) => r >= 0), `restarted codes must be rows of the batch, got rows ${rows}`).toBe(true);
    expect(rows[0]).not.toBe(rows[1]);
    close(ema.counts.subarray(2), [1, 1]);
    expect(Math.min(ema.counts[0], ema.counts[1])).toBeGreaterThan(0.3);
  });

  it('revives a collapsed codebook: usage goes from 1 code to all of them', () => {
    const rng = new Rng(11);
    const d = 8;
    const centers = randomDirections(rng, 6, d).map((c) => c.map(Math.abs)); // data in the positive orthant
    const evalSet = clusters(new Rng(99), centers, 600, 0.1);
    // a collapse: code 0 points into the data's orthant, codes 1–5 into the opposite one
    const init = new Float32Array(6 * d);
    for (let c = 0; c < 6; c++) for (let j = 0; j < d; j++) init[c * d + j] = (c === 0 ? 1 : -1) * (1 + 0.1 * rng.normal());
    const ema = new EmaCodebook(init, d, { decay: 0.9, deadThreshold: 0.5 });
    const control = new EmaCodebook(init, d, { decay: 0.9, deadThreshold: 0 }); // EMA without restarts
    const usage0 = codeUsage(nearestCodes(evalSet, ema.codebook, d), 6);
    const err0 = quantizationError(evalSet, ema.codebook, d);
    let restarts = 0;
    for (let step = 0; step < 60; step++) {
      const z = clusters(rng, centers, 64, 0.1);
      restarts += ema.update(z, nearestCodes(z, ema.codebook, d), rng).length;
      expect(control.update(z, nearestCodes(z, control.codebook, d), rng)).toEqual([]);
    }
    expect(codeUsage(nearestCodes(evalSet, control.codebook, d), 6)).toBe(1 / 6); // still collapsed
    const usage = codeUsage(nearestCodes(evalSet, ema.codebook, d), 6);
    const err = quantizationError(evalSet, ema.codebook, d);
    console.log(`EMA + restart: usage ${usage0.toFixed(2)} → ${usage.toFixed(2)}, error ${err0.toFixed(3)} → ${err.toFixed(3)}, ${restarts} restarts`);
    expect(usage0).toBe(1 / 6);
    expect(restarts).toBeGreaterThan(0);
    expect(usage).toBe(1);
    expect(err).toBeLessThan(err0 / 4);
  });

  it('setCodebook keeps counts and makes the sums follow the new codebook', () => {
    const ema = new EmaCodebook(Float32Array.from([1, 0, 0, 1]), 2, { decay: 0.9, eps: 0.1, deadThreshold: 0 });
    ema.update(Float32Array.from([2, 0, 0, 4, 4, 2]), [0, 1, 0], new Rng(0));
    const counts = Float32Array.from(ema.counts);
    ema.setCodebook(Float32Array.from([3, 1, -1, 2]));
    close(ema.codebook, [3, 1, -1, 2]);
    close(ema.counts, Array.from(counts));
    // sums = C·smoothed count, so the next EMA step starts from C
    const total = counts[0] + counts[1];
    const sm0 = ((counts[0] + 0.1) / (total + 0.2)) * total;
    close(ema.sums.subarray(0, 2), [3 * sm0, 1 * sm0], 1e-5);
  });
});

describe('initialisation', () => {
  it('k-means init quantizes held-out data better than random and data-sample init', () => {
    const rng = new Rng(5);
    const d = 16;
    const k = 24;
    const centers = randomDirections(rng, k, d);
    const sample = clusters(rng, centers, 2000, 0.15);
    const heldOut = clusters(rng, centers, 1000, 0.15);
    const random = rng.fillNormal(new Float32Array(k * d));
    const data = sampleInit(sample, d, k, new Rng(1));
    const km = kmeansInit(sample, d, k, new Rng(1), { iters: 15 });
    const [eR, eS, eK] = [random, data, km].map((C) => quantizationError(heldOut, C, d));
    const uK = codeUsage(nearestCodes(heldOut, km, d), k);
    console.log(`quantization error: random ${eR.toFixed(3)}, data-sample ${eS.toFixed(3)}, k-means ${eK.toFixed(3)} (usage ${uK.toFixed(2)})`);
    expect(eK).toBeLessThan(eR / 3);
    expect(eK).toBeLessThan(eS);
    // spherical k-means centres are unit vectors
    for (let c = 0; c < k; c++) expect(Math.hypot(...km.subarray(c * d, c * d + d))).toBeCloseTo(1, 5);
  });

  it('data-sample init takes distinct rows and refuses too small a sample', () => {
    const x = Float32Array.from({ length: 20 }, (_, i) => i);
    const C = sampleInit(x, 2, 10, new Rng(2));
    const firsts = Array.from({ length: 10 }, (_, c) => C[2 * c]);
    expect(new Set(firsts).size).toBe(10);
    expect(() => sampleInit(x, 2, 11, new Rng(2))).toThrow(/11 codes need at least 11 sample rows, got 10/);
  });
});

describe('usage and perplexity', () => {
  it('give the known values on known histograms', () => {
    expect(Array.from(codeHistogram([0, 2, 2, 3n], 4))).toEqual([1, 0, 2, 1]);
    expect(codeUsage([0, 0, 1, 1], 4)).toBe(0.5);
    expect(codePerplexity([0, 0, 1, 1], 4)).toBeCloseTo(2, 10);
    const uniform = Array.from({ length: 64 }, (_, i) => i % 16);
    expect(codeUsage(uniform, 16)).toBe(1);
    expect(codePerplexity(uniform, 16)).toBeCloseTo(16, 10);
    expect(codePerplexity([5, 5, 5], 8)).toBeCloseTo(1, 12);
    expect(codeUsage([5, 5, 5], 8)).toBe(1 / 8);
    // p = (3/4, 1/4): exp(−(¾ ln ¾ + ¼ ln ¼)) = 4 / 3^¾
    expect(codePerplexity([0, 0, 0, 1], 2)).toBeCloseTo(4 / 3 ** 0.75, 10);
    expect(codePerplexity([], 4)).toBe(0);
    expect(() => codeUsage([0, 4], 4)).toThrow(/index 4 at 1 is outside \[0, 4\)/);
  });
});

describe('UniCode one-way pull', () => {
  it('moves C by C′ = λC + (1−λ)C_L and never modifies C_L (equal dims)', () => {
    const rng = new Rng(8);
    const C = { data: rng.fillNormal(new Float32Array(4 * 3)), rows: 4, cols: 3 };
    const CL = { data: rng.fillNormal(new Float32Array(10 * 3)), rows: 10, cols: 3 };
    const [c0, cl0] = [Float32Array.from(C.data), Float32Array.from(CL.data)];
    const out = pullCodebook(C, CL, 0.9);
    expect(Array.from(CL.data)).toEqual(Array.from(cl0));
    expect(Array.from(C.data)).toEqual(Array.from(c0));
    close(out.data, Array.from(c0, (x, i) => 0.9 * x + 0.1 * cl0[i]));
    close(pullCodebook(C, CL, 1).data, Array.from(c0));
    close(pullCodebook(C, CL, 0).data, Array.from(cl0.subarray(0, 12)));
    // repeated pulls converge to C_L
    let cur = C;
    for (let i = 0; i < 200; i++) cur = pullCodebook(cur, CL, 0.9);
    close(cur.data, Array.from(cl0.subarray(0, 12)), 1e-6);
    expect(Array.from(CL.data)).toEqual(Array.from(cl0));
  });

  it('projects LM rows to the code dim and follows the token-id map (hand computation)', () => {
    const C = { data: Float32Array.from([1, 2, 3, 4]), rows: 2, cols: 2 };
    const CL = { data: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 2]), rows: 3, cols: 3 };
    const P = { data: Float32Array.from([1, 1, 0, 2, 3, 0]), rows: 3, cols: 2 }; // (D_L=3, D=2)
    // code 0 → token 2: row (0,0,2)·P = (6, 0); code 1 → token 1: row (0,1,0)·P = (0, 2)
    const out = pullCodebook(C, CL, 0.75, { proj: P, tokenIds: [2, 1] });
    close(out.data, [0.75 * 1 + 0.25 * 6, 0.75 * 2 + 0, 0.75 * 3 + 0, 0.75 * 4 + 0.25 * 2]);
    expect(() => pullCodebook(C, CL, 0.5)).toThrow(/LM dim 3 differs from code dim 2; pass a \(3, 2\) projection/);
    expect(() => pullCodebook(C, CL, 0.5, { proj: P, tokenIds: [0, 3] })).toThrow(/code 1 maps to token 3, outside the LM table's 3 rows/);
    expect(() => pullCodebook(C, CL, 1.5, { proj: P })).toThrow(/λ must be in \[0, 1\]/);
  });

  it('is due every N steps, never at step 0', () => {
    expect([0, 1, 4, 5, 8, 10].map((s) => pullDue(s, 4))).toEqual([false, false, true, false, true, false]);
    expect(() => pullDue(3, 0)).toThrow(/positive integer/);
  });
});
