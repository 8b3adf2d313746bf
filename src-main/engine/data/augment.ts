// Geometric jitter of training images: each image moved by up to ±shift pixels and scaled by
// 1 ± scale about its centre (bilinear, white where the source runs out — the emoji set's
// background), so the frozen image tokenizer gives the LM other codes for the same picture.
// Deterministic for a given Rng state. Images are (N, 3, H, W) in [0, 1], square.
import type { Rng } from '../util/rng.ts';

export interface JitterOptions {
  /** Largest shift in pixels, each axis. */
  shift: number;
  /** Largest relative change of size: the factor is drawn from [1 − scale, 1 + scale]. */
  scale: number;
}

export function jitterImages(images: Float32Array, n: number, size: number, o: JitterOptions, rng: Rng): Float32Array {
  const one = 3 * size * size;
  if (images.length < n * one) throw new Error(`jitterImages: ${images.length} values cannot hold ${n} images of 3×${size}×${size}`);
  const out = new Float32Array(n * one);
  for (let k = 0; k < n; k++) {
    const s = 1 + (2 * rng.uniform() - 1) * o.scale;
    const dx = (2 * rng.uniform() - 1) * o.shift;
    const dy = (2 * rng.uniform() - 1) * o.shift;
    out.set(warpImage(images.subarray(k * one, (k + 1) * one), size, s, dx, dy), k * one);
  }
  return out;
}

/**
 * One (3, size, size) image scaled by `s` about its centre, then moved by (dx, dy) pixels: output
 * pixel (x, y) samples the source at ((x − c − dx)/s + c, (y − c − dy)/s + c), bilinearly, white outside.
 */
export function warpImage(img: Float32Array, size: number, s: number, dx: number, dy: number): Float32Array {
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  const c = (size - 1) / 2;
  const at = (off: number, yy: number, xx: number) => (yy < 0 || yy >= size || xx < 0 || xx >= size ? 1 : img[off + yy * size + xx]);
  for (let y = 0; y < size; y++) {
    const sy = (y - c - dy) / s + c;
    const y0 = Math.floor(sy), fy = sy - y0;
    for (let x = 0; x < size; x++) {
      const sx = (x - c - dx) / s + c;
      const x0 = Math.floor(sx), fx = sx - x0;
      for (let off = 0; off < 3 * plane; off += plane)
        out[off + y * size + x] = (1 - fy) * ((1 - fx) * at(off, y0, x0) + fx * at(off, y0, x0 + 1)) + fy * ((1 - fx) * at(off, y0 + 1, x0) + fx * at(off, y0 + 1, x0 + 1));
    }
  }
  return out;
}
