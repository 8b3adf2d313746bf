// Jitter of training images, so the frozen image tokenizer gives the LM other codes for the same
// picture and the LM learns what survives a change of drawing style:
//   geometric: a shift of up to ±shift pixels, a scale of 1 ± scale about the centre, a rotation of
//     up to ±rotate degrees (bilinear, white where the source runs out — the emoji set's background);
//   tone (`color`): gamma, ink strength and saturation each drawn from [1 − color, 1 + color]; all
//     three keep white white and leave hue alone, so colour questions stay true;
//   blur: a Gaussian of σ drawn from [0, blur] pixels, which removes the fine shading a style adds.
// Deterministic for a given Rng state; an option left at 0 draws nothing, so adding an option
// does not change the draws of the others. Images are (N, 3, H, W) in [0, 1], square.
import type { Rng } from '../util/rng.ts';

export interface JitterOptions {
  /** Largest shift in pixels, each axis. */
  shift: number;
  /** Largest relative change of size: the factor is drawn from [1 − scale, 1 + scale]. */
  scale: number;
  /** Largest rotation in degrees, either way. */
  rotate?: number;
  /** Largest relative change of gamma, ink strength and saturation. */
  color?: number;
  /** Largest Gaussian blur σ in pixels. */
  blur?: number;
}

/** One image's draws: its geometry, and its tone and blur σ where those options are on. */
export interface Jitter {
  scale: number;
  dx: number;
  dy: number;
  /** Radians. */
  theta: number;
  tone?: Tone;
  sigma?: number;
}

/** The draws of n images, in the order jitterImages has always made them (image by image). */
export function drawJitters(n: number, o: JitterOptions, rng: Rng): Jitter[] {
  const sym = (r: number) => (2 * rng.uniform() - 1) * r;
  return Array.from({ length: n }, () => {
    const j: Jitter = { scale: 1 + sym(o.scale), dx: sym(o.shift), dy: sym(o.shift), theta: o.rotate ? (sym(o.rotate) * Math.PI) / 180 : 0 };
    if (o.color) j.tone = { gamma: 1 + sym(o.color), ink: 1 + sym(o.color), saturation: 1 + sym(o.color) };
    if (o.blur) j.sigma = rng.uniform() * o.blur;
    return j;
  });
}

export function jitterImages(images: Float32Array, n: number, size: number, o: JitterOptions, rng: Rng): Float32Array {
  const one = 3 * size * size;
  if (images.length < n * one) throw new Error(`jitterImages: ${images.length} values cannot hold ${n} images of 3×${size}×${size}`);
  const out = new Float32Array(n * one);
  drawJitters(n, o, rng).forEach((j, k) => {
    let img = warpImage(images.subarray(k * one, (k + 1) * one), size, j.scale, j.dx, j.dy, j.theta);
    if (j.tone) img = toneImage(img, size, j.tone);
    if (j.sigma !== undefined) img = blurImage(img, size, j.sigma);
    out.set(img, k * one);
  });
  return out;
}

/**
 * One (3, size, size) image rotated by `theta` radians and scaled by `s` about its centre, then
 * moved by (dx, dy) pixels: output pixel (x, y) samples the source at R(−θ)·((x, y) − c − d)/s + c,
 * bilinearly, white outside.
 */
export function warpImage(img: Float32Array, size: number, s: number, dx: number, dy: number, theta = 0): Float32Array {
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  const c = (size - 1) / 2;
  const [cos, sin] = [Math.cos(theta) / s, Math.sin(theta) / s];
  const at = (off: number, yy: number, xx: number) => (yy < 0 || yy >= size || xx < 0 || xx >= size ? 1 : img[off + yy * size + xx]);
  for (let y = 0; y < size; y++) {
    const v = y - c - dy;
    for (let x = 0; x < size; x++) {
      const u = x - c - dx;
      const sx = cos * u + sin * v + c, sy = -sin * u + cos * v + c;
      const x0 = Math.floor(sx), fx = sx - x0, y0 = Math.floor(sy), fy = sy - y0;
      for (let off = 0; off < 3 * plane; off += plane)
        out[off + y * size + x] = (1 - fy) * ((1 - fx) * at(off, y0, x0) + fx * at(off, y0, x0 + 1)) + fy * ((1 - fx) * at(off, y0 + 1, x0) + fx * at(off, y0 + 1, x0 + 1));
    }
  }
  return out;
}

export interface Tone {
  /** x → x^gamma per channel: 0 and 1 stay, mid-tones move. */
  gamma: number;
  /** The distance from white scaled: x → 1 − ink·(1 − x), clipped to [0, 1]. */
  ink: number;
  /** Each channel moved away from (> 1) or toward (< 1) the pixel's grey (Rec. 601 luma). */
  saturation: number;
}

/** Tone changes of one (3, size, size) image that keep white white and leave hue alone. */
export function toneImage(img: Float32Array, size: number, t: Tone): Float32Array {
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  const clip = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
  for (let p = 0; p < plane; p++) {
    const [r, g, b] = [img[p], img[plane + p], img[2 * plane + p]];
    const grey = 0.299 * r + 0.587 * g + 0.114 * b;
    for (let ch = 0; ch < 3; ch++) {
      const x = clip(grey + t.saturation * (img[ch * plane + p] - grey));
      out[ch * plane + p] = clip(1 - t.ink * (1 - x ** t.gamma));
    }
  }
  return out;
}

/** The normalised taps of a Gaussian of σ pixels, radius ⌈3σ⌉; null below σ = 0.05 (no blur). */
export function gaussianTaps(sigma: number): number[] | null {
  if (sigma < 0.05) return null;
  const r = Math.ceil(3 * sigma);
  const w = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / sum);
}

/** A separable Gaussian blur of σ pixels (kernel radius ⌈3σ⌉, edges clamped); σ < 0.05 is the identity. */
export function blurImage(img: Float32Array, size: number, sigma: number): Float32Array {
  const k = gaussianTaps(sigma);
  if (!k) return Float32Array.from(img);
  const r = (k.length - 1) / 2;
  const plane = size * size;
  // one 1-D pass along x (step 1) or y (step size) of every channel, edges clamped
  const pass = (src: Float32Array, step: number) => {
    const dst = new Float32Array(3 * plane);
    for (let off = 0; off < 3 * plane; off += plane)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const [at, line] = step === 1 ? [x, off + y * size] : [y, off + x];
          let a = 0;
          for (let j = -r; j <= r; j++) a += k[j + r] * src[line + Math.min(size - 1, Math.max(0, at + j)) * step];
          dst[off + y * size + x] = a;
        }
    return dst;
  };
  return pass(pass(img, 1), size);
}
