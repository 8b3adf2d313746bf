// Exact area-averaging resize for shrinking images: each output pixel is the mean of the source area
// it covers, with fractional weights at the edges (a box filter on the true footprint). Separable:
// rows first, then columns. Used by image.ts; libvips' kernels are tents/cubics, not boxes.

export interface Rect { x0: number; y0: number; x1: number; y1: number }

/** For n outputs over the source interval [a, b): per output, the first source index and weights. */
function weights1d(a: number, b: number, n: number, limit: number): { start: Int32Array; w: Float32Array[] } {
  const step = (b - a) / n;
  const start = new Int32Array(n);
  const w: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const lo = a + i * step, hi = a + (i + 1) * step;
    const j0 = Math.max(0, Math.floor(lo)), j1 = Math.min(limit, Math.ceil(hi));
    const row = new Float32Array(Math.max(1, j1 - j0));
    let sum = 0;
    for (let j = j0; j < j1; j++) {
      const cover = Math.min(hi, j + 1) - Math.max(lo, j);
      row[j - j0] = cover > 0 ? cover : 0;
      sum += row[j - j0];
    }
    if (sum > 0) for (let k = 0; k < row.length; k++) row[k] /= sum;
    else row[0] = 1;
    start[i] = Math.min(j0, limit - 1);
    w.push(row);
  }
  return { start, w };
}

/** Interleaved 8-bit pixels (h, w, channels) -> float (3, H, W) in [0,1], averaging the source
 *  rectangle `crop` (pixel units, may be fractional). Works on the bytes directly, so shrinking a
 *  large photo never materialises a full-size float copy. 1-channel input is replicated to RGB. */
export function areaResize(src: Uint8Array, h: number, w: number, channels: number, crop: Rect, H: number, W: number): Float32Array {
  if (src.length !== h * w * channels) throw new RangeError(`areaResize: ${src.length} bytes, expected ${h}×${w}×${channels}`);
  const xs = weights1d(crop.x0, crop.x1, W, w);
  const ys = weights1d(crop.y0, crop.y1, H, h);
  const tmp = new Float32Array(3 * h * W); // (3, h, W): rows resized
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < W; x++) {
      const wx = xs.w[x], s0 = (y * w + xs.start[x]) * channels;
      for (let c = 0; c < 3; c++) {
        const cc = channels < 3 ? 0 : c;
        let acc = 0;
        for (let k = 0; k < wx.length; k++) acc += wx[k] * src[s0 + k * channels + cc];
        tmp[c * h * W + y * W + x] = acc / 255;
      }
    }
  }
  const out = new Float32Array(3 * H * W); // (3, H, W)
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < H; y++) {
      const wy = ys.w[y], y0 = ys.start[y];
      const dst = c * H * W + y * W;
      for (let k = 0; k < wy.length; k++) {
        const wk = wy[k], srow = c * h * W + (y0 + k) * W;
        for (let x = 0; x < W; x++) out[dst + x] += wk * tmp[srow + x];
      }
    }
  }
  return out;
}
