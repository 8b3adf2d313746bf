// Geometric jitter for LM training images (data/augment.ts): warps checked against hand-computed
// pixels (an integer shift is a roll with white fill; a 2× zoom interpolates halfway), and the
// per-image draws are deterministic and leave a white image white.
import { describe, expect, it } from 'vitest';
import { jitterImages, warpImage } from '../../src-main/engine/data/augment.ts';
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
});
