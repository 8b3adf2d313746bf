// How the unified model sees an input image: fitted to its size (fitSquare), and, for answers read
// from several views (TextSampling.views), jittered copies of it whose per-token log-probabilities are
// averaged (jitteredView, meanLogSoftmax).
import { jitterImages, type JitterOptions } from '../data/augment.ts';
import { Rng } from '../util/rng.ts';
import { logSoftmax } from './sampling.ts';

/** Area-average (shrink) or nearest (grow) resize of a square CHW image to `out`×`out`. */
export function fitSquare(px: Float32Array, size: number, out: number): Float32Array {
  if (px.length !== 3 * size * size) throw new Error(`image: ${px.length} values is not 3×${size}×${size}`);
  if (size === out) return px;
  const r = new Float32Array(3 * out * out);
  const s = size / out;
  for (let ch = 0; ch < 3; ch++)
    for (let y = 0; y < out; y++)
      for (let x = 0; x < out; x++) {
        if (s <= 1) {
          r[(ch * out + y) * out + x] = px[(ch * size + Math.floor(y * s)) * size + Math.floor(x * s)];
          continue;
        }
        let acc = 0;
        for (let yy = Math.floor(y * s); yy < Math.ceil((y + 1) * s); yy++) {
          const wy = Math.min(yy + 1, (y + 1) * s) - Math.max(yy, y * s);
          for (let xx = Math.floor(x * s); xx < Math.ceil((x + 1) * s); xx++) acc += wy * (Math.min(xx + 1, (x + 1) * s) - Math.max(xx, x * s)) * px[(ch * size + yy) * size + xx];
        }
        r[(ch * out + y) * out + x] = acc / (s * s);
      }
  return r;
}

/**
 * The jitter of the extra views of an image (TextSampling.views): the style jitter the default
 * model's last Stage II rounds trained with (engine/data/augment.ts).
 */
export const VIEW_JITTER: JitterOptions = { shift: 4, scale: 0.12, rotate: 10, color: 0.3, blur: 1 };

/**
 * Views the CLI's captions and `eval lm` read images in unless told otherwise: on the default model,
 * 4 views raised held-out caption exact, category and yes/no accuracy by 1–3 points (README).
 */
export const DEFAULT_VIEWS = 4;

/** View v ≥ 1 of the k-th image of a conversation: a jittered copy (VIEW_JITTER), the same for the same v and k. */
export function jitteredView(px: Float32Array, size: number, v: number, k = 0): Float32Array {
  return jitterImages(px, 1, size, VIEW_JITTER, new Rng((0x5eed + 7919 * k + v) >>> 0));
}

/** The mean over R rows of each row's log-softmax: (R, V) logits → (V) averaged log-probabilities. */
export function meanLogSoftmax(logits: Float32Array, R: number, V: number): Float32Array {
  const out = new Float32Array(V);
  for (let r = 0; r < R; r++) {
    const lp = logSoftmax(logits.subarray(r * V, (r + 1) * V));
    for (let i = 0; i < V; i++) out[i] += lp[i] / R;
  }
  return out;
}
