// Reconstruction quality of images (N, 3, H, W) in [0, 1]: PSNR and SSIM.
// SSIM follows Wang et al. 2004: an 11×11 Gaussian window with σ = 1.5, C1 = (0.01·L)², C2 = (0.03·L)²,
// L = 1, computed per channel over the valid region (no padding) and averaged over channels and pixels.

/** Mean squared error per image. */
export function mseOf(a: Float32Array, b: Float32Array, n: number): Float64Array {
  if (a.length !== b.length || a.length % n !== 0) throw new Error(`mseOf: ${a.length} and ${b.length} values for ${n} images`);
  const per = a.length / n;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * per; j < (i + 1) * per; j++) s += (a[j] - b[j]) ** 2;
    out[i] = s / per;
  }
  return out;
}

/** PSNR in dB of one MSE (peak 1); capped at 100 dB for identical images. */
export const psnrOf = (mse: number) => (mse <= 1e-10 ? 100 : -10 * Math.log10(mse));

const WINDOW = 11;
const SIGMA = 1.5;

function gaussian(): Float64Array {
  const w = new Float64Array(WINDOW);
  const c = (WINDOW - 1) / 2;
  let s = 0;
  for (let i = 0; i < WINDOW; i++) s += (w[i] = Math.exp(-((i - c) ** 2) / (2 * SIGMA * SIGMA)));
  return w.map((v) => v / s);
}

/** Separable valid filtering of an h×w plane: (h−10)×(w−10). */
function filter(x: Float64Array, h: number, w: number, k: Float64Array): Float64Array {
  const oh = h - WINDOW + 1, ow = w - WINDOW + 1;
  const tmp = new Float64Array(h * ow);
  for (let y = 0; y < h; y++)
    for (let xo = 0; xo < ow; xo++) {
      let s = 0;
      for (let t = 0; t < WINDOW; t++) s += k[t] * x[y * w + xo + t];
      tmp[y * ow + xo] = s;
    }
  const out = new Float64Array(oh * ow);
  for (let yo = 0; yo < oh; yo++)
    for (let xo = 0; xo < ow; xo++) {
      let s = 0;
      for (let t = 0; t < WINDOW; t++) s += k[t] * tmp[(yo + t) * ow + xo];
      out[yo * ow + xo] = s;
    }
  return out;
}

/** Mean SSIM per image.   a, b (N, C, H, W) in [0, 1] */
export function ssimOf(a: Float32Array, b: Float32Array, n: number, c: number, h: number, w: number): Float64Array {
  if (a.length !== n * c * h * w || b.length !== a.length) throw new Error(`ssimOf: expected ${n * c * h * w} values, got ${a.length} and ${b.length}`);
  if (h < WINDOW || w < WINDOW) throw new Error(`ssimOf: images must be at least ${WINDOW}×${WINDOW}, got ${w}×${h}`);
  const k = gaussian();
  const C1 = 0.01 ** 2, C2 = 0.03 ** 2;
  const plane = h * w;
  const out = new Float64Array(n);
  const x = new Float64Array(plane), y = new Float64Array(plane), xx = new Float64Array(plane), yy = new Float64Array(plane), xy = new Float64Array(plane);
  for (let i = 0; i < n; i++) {
    let total = 0;
    let count = 0;
    for (let ch = 0; ch < c; ch++) {
      const off = (i * c + ch) * plane;
      for (let j = 0; j < plane; j++) {
        const u = a[off + j], v = b[off + j];
        x[j] = u; y[j] = v; xx[j] = u * u; yy[j] = v * v; xy[j] = u * v;
      }
      const mx = filter(x, h, w, k), my = filter(y, h, w, k), sxx = filter(xx, h, w, k), syy = filter(yy, h, w, k), sxy = filter(xy, h, w, k);
      for (let j = 0; j < mx.length; j++) {
        const vx = sxx[j] - mx[j] * mx[j], vy = syy[j] - my[j] * my[j], cxy = sxy[j] - mx[j] * my[j];
        total += ((2 * mx[j] * my[j] + C1) * (2 * cxy + C2)) / ((mx[j] * mx[j] + my[j] * my[j] + C1) * (vx + vy + C2));
        count++;
      }
    }
    out[i] = total / count;
  }
  return out;
}
