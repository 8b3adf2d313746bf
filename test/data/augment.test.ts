// Jitter for LM training images (data/augment.ts): warps checked against hand-computed pixels (an
// integer shift is a roll with white fill; a 2× zoom interpolates halfway; a quarter turn is a
// transpose and flip), tone changes against their formulas (white stays white, greys stay grey),
// the blur against a direct 2-D Gaussian sum, and the per-image draws are deterministic, leave a
// white image white, and do not move when another option is added at 0; the batch version run by
// onnxruntime (data/jitter-graph.ts) equals this JavaScript one on the same draws.
import { describe, expect, it } from 'vitest';
import { blurImage, jitterImages, toneImage, warpImage } from '../../src-main/engine/data/augment.ts';
import { GraphJitter } from '../../src-main/engine/data/jitter-graph.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';

const size = 8;
const plane = size * size;
const random = (seed: number, n = 1) => new Rng(seed).fillUniform(new Float32Array(n * 3 * plane), 0, 1);

describe('geometric jitter', () => {
  it('an integer shift moves every pixel and fills the uncovered edge with white', () => {
    const img = random(1);
    const out = warpImage(img, size, 1, 2, -1);
    for (let ch = 0; ch < 3; ch++)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const [sy, sx] = [y + 1, x - 2];
          const want = sy < size && sx >= 0 ? img[ch * plane + sy * size + sx] : 1;
          expect(out[ch * plane + y * size + x]).toBeCloseTo(want, 6);
        }
  });

  it('a 2× zoom about the centre samples halfway between source pixels', () => {
    const img = random(2);
    const out = warpImage(img, size, 2, 0, 0);
    const c = (size - 1) / 2; // 3.5: output x samples the source at (x − 3.5)/2 + 3.5
    const src = (ch: number, y: number, x: number) => img[ch * plane + y * size + x];
    // x = 7 → 5.25, y = 0 → 1.75: bilinear between rows 1, 2 and columns 5, 6
    const [sx, sy] = [(7 - c) / 2 + c, (0 - c) / 2 + c];
    const [fx, fy] = [sx - 5, sy - 1];
    for (let ch = 0; ch < 3; ch++) {
      const want = (1 - fy) * ((1 - fx) * src(ch, 1, 5) + fx * src(ch, 1, 6)) + fy * ((1 - fx) * src(ch, 2, 5) + fx * src(ch, 2, 6));
      expect(out[ch * plane + 0 * size + 7]).toBeCloseTo(want, 6);
    }
  });

  it('is deterministic per seed, the identity without jitter, and keeps white white', () => {
    const imgs = random(3, 4);
    const o = { shift: 3, scale: 0.1 };
    expect(jitterImages(imgs, 4, size, o, new Rng(5))).toEqual(jitterImages(imgs, 4, size, o, new Rng(5)));
    expect(jitterImages(imgs, 4, size, o, new Rng(6))).not.toEqual(jitterImages(imgs, 4, size, o, new Rng(5)));
    const same = jitterImages(imgs, 4, size, { shift: 0, scale: 0 }, new Rng(7));
    for (let i = 0; i < imgs.length; i++) expect(same[i]).toBeCloseTo(imgs[i], 6);
    const white = jitterImages(new Float32Array(2 * 3 * plane).fill(1), 2, size, o, new Rng(8));
    expect(white.every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
    expect(() => jitterImages(imgs, 5, size, o, new Rng(9))).toThrow(/cannot hold 5 images/);
  });

  it('a quarter turn about the centre maps (x, y) to the source at (y, size − 1 − x)', () => {
    const img = random(4);
    const out = warpImage(img, size, 1, 0, 0, Math.PI / 2);
    // output (x, y) samples R(−90°)·(u, v) + c = (v, −u) + c: source x = y, source y = size − 1 − x
    for (let ch = 0; ch < 3; ch++)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) expect(out[ch * plane + y * size + x]).toBeCloseTo(img[ch * plane + (size - 1 - x) * size + y], 5);
  });

  it('tone changes follow their formulas, keep white white and greys grey', () => {
    const img = random(5);
    const t = { gamma: 1.3, ink: 0.8, saturation: 1.2 };
    const out = toneImage(img, size, t);
    const clip = (v: number) => Math.min(1, Math.max(0, v));
    for (const p of [0, 9, 63]) {
      const [r, g, b] = [img[p], img[plane + p], img[2 * plane + p]];
      const grey = 0.299 * r + 0.587 * g + 0.114 * b;
      [r, g, b].forEach((x, ch) => expect(out[ch * plane + p]).toBeCloseTo(clip(1 - 0.8 * (1 - clip(grey + 1.2 * (x - grey)) ** 1.3)), 5));
    }
    const flat = new Float32Array(3 * plane);
    for (let p = 0; p < plane; p++) [0, 1, 2].forEach((ch) => (flat[ch * plane + p] = p % 2 ? 1 : 0.4));
    const toned = toneImage(flat, size, t);
    for (let p = 0; p < plane; p++) {
      expect(toned[p]).toBeCloseTo(toned[plane + p], 6); // grey stays grey: the three channels agree
      expect(toned[p]).toBeCloseTo(toned[2 * plane + p], 6);
      if (p % 2) expect(toned[p]).toBe(1);
      else expect(toned[p]).toBeCloseTo(1 - 0.8 * (1 - 0.4 ** 1.3), 5);
    }
  });

  it('the separable blur equals a direct 2-D Gaussian sum with clamped edges', () => {
    const img = random(6);
    const sigma = 0.9, r = Math.ceil(3 * sigma);
    const out = blurImage(img, size, sigma);
    const clamp = (i: number) => Math.min(size - 1, Math.max(0, i));
    for (const [y, x] of [[0, 0], [3, 4], [7, 2]]) {
      let num = 0, den = 0;
      for (let j = -r; j <= r; j++)
        for (let i = -r; i <= r; i++) {
          const w = Math.exp(-(i * i + j * j) / (2 * sigma * sigma));
          num += w * img[plane + clamp(y + j) * size + clamp(x + i)];
          den += w;
        }
      expect(out[plane + y * size + x]).toBeCloseTo(num / den, 5);
    }
    expect(blurImage(img, size, 0)).toEqual(img);
  });

  it('an option added at 0 leaves the draws of the others as they were; all options keep white white', () => {
    const imgs = random(7, 3);
    const geo = { shift: 3, scale: 0.1 };
    expect(jitterImages(imgs, 3, size, { ...geo, rotate: 0, color: 0, blur: 0 }, new Rng(11))).toEqual(jitterImages(imgs, 3, size, geo, new Rng(11)));
    const all = { ...geo, rotate: 15, color: 0.3, blur: 1 };
    expect(jitterImages(imgs, 3, size, all, new Rng(11))).not.toEqual(jitterImages(imgs, 3, size, geo, new Rng(11)));
    const white = jitterImages(new Float32Array(2 * 3 * plane).fill(1), 2, size, all, new Rng(12));
    expect(white.every((v) => Math.abs(v - 1) < 1e-5)).toBe(true);
  });
});

describe('the jitter in one onnxruntime run (data/jitter-graph.ts)', () => {
  it('equals jitterImages on the same draws, for every mix of options, and leaves the Rng where jitterImages does', async () => {
    const n = 5, imgs = random(21, n);
    // a blur of at most 0.04 px is always below 0.05: the identity matrix
    const mixes = [{ shift: 3, scale: 0.2 }, { shift: 3, scale: 0.2, rotate: 20 }, { shift: 2, scale: 0.1, rotate: 10, color: 0.3 }, { shift: 2, scale: 0.1, color: 0.3, blur: 1.5 }, { shift: 1, scale: 0.1, blur: 0.04 }];
    for (const o of mixes) {
      const jitter = await GraphJitter.create(size, o, 1);
      try {
        const [ra, rb] = [new Rng(31), new Rng(31)];
        const want = jitterImages(imgs, n, size, o, ra);
        const got = await jitter.apply(imgs, n, rb);
        expect(got.length).toBe(want.length);
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        expect(worst, JSON.stringify(o)).toBeLessThan(2e-5);
        expect(rb.state).toEqual(ra.state);
      } finally {
        await jitter.release();
      }
    }
  });

  it('names a batch its pixels cannot hold', async () => {
    const jitter = await GraphJitter.create(size, { shift: 1, scale: 0 }, 1);
    try {
      await expect(jitter.apply(random(3, 2), 3, new Rng(1))).rejects.toThrow(/cannot hold 3 images of 3×8×8/);
    } finally {
      await jitter.release();
    }
  });
});
