// Sampling against hand-computed distributions: temperature, top-k, top-p, their order, the
// allowed range of constrained decoding, the CTRL repetition penalty, CFG on log-probabilities,
// greedy ties, and seeded draws whose frequencies match the distribution.
import { describe, expect, it } from 'vitest';
import { applyRepetitionPenalty, cfgCombine, distribution, draw, sampleToken } from '../../src-main/engine/infer/sampling.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';

const logits = Float32Array.from([0.1, 0.2, 0.3, 0.4].map(Math.log)); // softmax = [0.1, 0.2, 0.3, 0.4]
const close = (a: ArrayLike<number>, b: number[], eps = 1e-9) => b.forEach((x, i) => expect(Math.abs(a[i] - x)).toBeLessThan(eps));

describe('distribution', () => {
  it('temperature 1 is the softmax; temperature 0.5 squares and renormalises', () => {
    close(distribution(logits), [0.1, 0.2, 0.3, 0.4], 1e-6);
    const z = 0.01 + 0.04 + 0.09 + 0.16;
    close(distribution(logits, { temperature: 0.5 }), [0.01 / z, 0.04 / z, 0.09 / z, 0.16 / z], 1e-6);
  });

  it('top-k keeps the k largest; top-p the smallest prefix reaching p; k applies before p', () => {
    close(distribution(logits, { topK: 2 }), [0, 0, 3 / 7, 4 / 7], 1e-6);
    close(distribution(logits, { topP: 0.7 }), [0, 0, 3 / 7, 4 / 7], 1e-6); // 0.4 + 0.3 = 0.7 reaches p
    close(distribution(logits, { topP: 0.71 }), [0, 2 / 9, 3 / 9, 4 / 9], 1e-6);
    close(distribution(logits, { topP: 0.3 }), [0, 0, 0, 1], 1e-6);
    close(distribution(logits, { topK: 3, topP: 0.5 }), [0, 0, 3 / 7, 4 / 7], 1e-6); // top-3 = [.2,.3,.4]/.9 → .444+.333 ≥ .5
  });

  it('an allowed range zeroes everything outside it (constrained decoding)', () => {
    close(distribution(logits, {}, { lo: 0, hi: 2 }), [1 / 3, 2 / 3, 0, 0], 1e-6);
    close(distribution(logits, { temperature: 0 }, { lo: 0, hi: 3 }), [0, 0, 1, 0]);
  });

  it('greedy takes the first maximum on ties', () => {
    expect(sampleToken(Float32Array.from([1, 5, 5, 2]), { temperature: 0 }, new Rng(1))).toBe(1);
  });

  it('rejects bad options naming the field', () => {
    expect(() => distribution(logits, { topP: 0 })).toThrow(/topP/);
    expect(() => distribution(logits, { temperature: -1 })).toThrow(/temperature/);
  });
});

describe('repetition penalty and CFG', () => {
  it('divides positive and multiplies negative logits of seen ids, once each', () => {
    const out = applyRepetitionPenalty(Float32Array.from([2, -2, 1, 0.5]), [0, 1, 1, 3], 2);
    close(out, [1, -4, 1, 0.25]);
  });

  it('CFG is log p_u + s(log p_c − log p_u); s = 1 gives the conditional', () => {
    const cond = Float32Array.from([0.5, 0.25, 0.25].map(Math.log)), uncond = Float32Array.from([0.25, 0.25, 0.5].map(Math.log));
    close(cfgCombine(cond, uncond, 1), [0.5, 0.25, 0.25].map(Math.log), 1e-6);
    // s = 3: log(.25) + 3·log2, log(.25), log(.5) − 3·log2 → ∝ [2, 0.25, 0.0625]
    const p = distribution(cfgCombine(cond, uncond, 3));
    const z = 2 + 0.25 + 0.0625;
    close(p, [2 / z, 0.25 / z, 0.0625 / z], 1e-6);
  });
});

describe('seeded draws', () => {
  it('match the distribution and repeat with the same seed', () => {
    const p = Float64Array.from([0.1, 0.2, 0.3, 0.4]);
    const rng = new Rng(7);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[draw(p, rng)]++;
    counts.forEach((c, i) => expect(Math.abs(c / 20000 - p[i])).toBeLessThan(0.015));
    const seq = (s: number) => Array.from({ length: 20 }, ((r) => () => sampleToken(logits, { topK: 3 }, r))(new Rng(s)));
    expect(seq(3)).toEqual(seq(3));
    expect(seq(3)).not.toEqual(seq(4));
    expect(seq(3).every((id) => id > 0)).toBe(true);
  });
});
