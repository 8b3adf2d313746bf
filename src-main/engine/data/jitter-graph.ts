// The jitter of augment.ts for a whole batch in one onnxruntime run, with the same draws from the
// same Rng (drawJitters), so a recipe that switches to it keeps its data order and its resumes:
//   warp  GridSample (bilinear, align_corners) of 1 − x at each output pixel's source point, zeros
//         outside, then 1 − that: white where the source runs out, as warpImage;
//   tone  grey = Rec. 601 luma; x ← clip(grey + saturation·(x − grey)); x ← clip(1 − ink·(1 − x^gamma));
//   blur  two products with each image's (S, S) matrix of Gaussian taps, edges clamped into it:
//         rows X·M, then columns Mᵀ·X.
// It computes in float32 where augment.ts computes in float64, so values agree to about 1e-6
// (test/data/augment.test.ts). The semantic recipe uses it: 128 images of 64×64 take ≈ 35 ms here
// against ≈ 120 ms in JavaScript, and a training step waits for its batch.
import { Graph, type Tensor, type Value } from '../graph/graph.ts';
import * as op from '../graph/ops/index.ts';
import { exportOnnx } from '../graph/onnx.ts';
import { Session } from '../runtime/session.ts';
import type { Rng } from '../util/rng.ts';
import { drawJitters, gaussianTaps, type Jitter, type JitterOptions } from './augment.ts';

const clip01 = (v: Value) => op.max2(op.min2(v, 1), 0);

function jitterGraph(size: number, o: JitterOptions): Uint8Array {
  const g = new Graph('jitter');
  const x = g.input('pixels', 'float32', ['B', 3, size, size]);
  const grid = g.input('grid', 'float32', ['B', size, size, 2]);
  let y = op.sub(1, op.gridSample(op.sub(1, x), grid)); // zeros outside: white once turned back
  if (o.color) {
    const [gamma, ink, saturation] = ['gamma', 'ink', 'saturation'].map((n) => g.input(n, 'float32', ['B', 1, 1, 1]));
    const luma = g.constant({ dtype: 'float32', shape: [1, 3, 1, 1], data: Float32Array.of(0.299, 0.587, 0.114) }, 'luma');
    const grey = op.reduceSum(op.mul(y, luma), [1], true); // (B, 1, S, S)
    const saturated = clip01(op.add(grey, op.mul(saturation, op.sub(y, grey))));
    y = clip01(op.sub(1, op.mul(ink, op.sub(1, op.pow(saturated, gamma)))));
  }
  if (o.blur) {
    const m = g.input('blur', 'float32', ['B', 1, size, size]); // M[src, dst]: X·M blurs each row
    y = op.matmul(op.transpose(m, [0, 1, 3, 2]), op.matmul(y, m));
  }
  return exportOnnx(g, { jittered: y }).bytes;
}

/** Each image's (size, size) blur matrix, the taps clamped at the edges as blurImage clamps them; the identity without blur. */
function blurMatrices(js: Jitter[], size: number): Float32Array {
  const out = new Float32Array(js.length * size * size);
  js.forEach((j, b) => {
    const base = b * size * size;
    const k = gaussianTaps(j.sigma ?? 0);
    if (!k) {
      for (let i = 0; i < size; i++) out[base + i * size + i] = 1;
      return;
    }
    const r = (k.length - 1) / 2;
    for (let dst = 0; dst < size; dst++)
      for (let t = 0; t < k.length; t++) out[base + Math.min(size - 1, Math.max(0, dst + t - r)) * size + dst] += k[t];
  });
  return out;
}

/** Each output pixel's source point, as warpImage computes it, in GridSample's [−1, 1] (align_corners). */
function sourceGrid(js: Jitter[], size: number): Float32Array {
  const out = new Float32Array(js.length * size * size * 2);
  const c = (size - 1) / 2, norm = 2 / (size - 1);
  js.forEach((j, b) => {
    const cos = Math.cos(j.theta) / j.scale, sin = Math.sin(j.theta) / j.scale;
    for (let y = 0, at = b * size * size * 2; y < size; y++) {
      const v = y - c - j.dy;
      for (let x = 0; x < size; x++, at += 2) {
        const u = x - c - j.dx;
        out[at] = (cos * u + sin * v + c) * norm - 1;
        out[at + 1] = (-sin * u + cos * v + c) * norm - 1;
      }
    }
  });
  return out;
}

export class GraphJitter {
  private constructor(
    private readonly session: Session,
    readonly size: number,
    readonly options: JitterOptions,
  ) {}

  static async create(size: number, o: JitterOptions, threads?: number): Promise<GraphJitter> {
    return new GraphJitter(await Session.create(jitterGraph(size, o), { threads }), size, o);
  }

  /** jitterImages(images, n, size, options, rng) computed by onnxruntime: the same draws, the same Rng afterwards. */
  async apply(images: Float32Array, n: number, rng: Rng): Promise<Float32Array> {
    const S = this.size, one = 3 * S * S;
    if (images.length < n * one) throw new Error(`GraphJitter: ${images.length} values cannot hold ${n} images of 3×${S}×${S}`);
    const js = drawJitters(n, this.options, rng);
    const feeds: Record<string, Tensor> = {
      pixels: { dtype: 'float32', shape: [n, 3, S, S], data: images.subarray(0, n * one) },
      grid: { dtype: 'float32', shape: [n, S, S, 2], data: sourceGrid(js, S) },
    };
    if (this.options.color)
      for (const k of ['gamma', 'ink', 'saturation'] as const) feeds[k] = { dtype: 'float32', shape: [n, 1, 1, 1], data: Float32Array.from(js, (j) => j.tone![k]) };
    if (this.options.blur) feeds.blur = { dtype: 'float32', shape: [n, 1, S, S], data: blurMatrices(js, S) };
    return (await this.session.run(feeds)).jittered.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
