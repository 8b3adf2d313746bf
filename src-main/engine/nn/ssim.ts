// SSIM as a differentiable graph, the same definition as quant/image-metrics.ts's ssimOf (Wang et al.
// 2004: 11×11 Gaussian window, σ = 1.5, C1 = 0.01², C2 = 0.03², valid region, averaged over
// channels and pixels). The five local statistics (μx, μy, E[x²], E[y²], E[xy]) of every channel are
// one depthwise separable convolution over a stack of 5·C planes.
import type { Value } from '../graph/graph.ts';
import * as op from '../graph/ops/index.ts';

const WINDOW = 11;
const SIGMA = 1.5;
const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;

function gaussianTaps(): Float32Array {
  const c = (WINDOW - 1) / 2;
  const w = Array.from({ length: WINDOW }, (_, i) => Math.exp(-((i - c) ** 2) / (2 * SIGMA * SIGMA)));
  const s = w.reduce((a, b) => a + b, 0);
  return Float32Array.from(w, (v) => v / s);
}

/**
 * Mean SSIM over the batch of a (B, C, H, W) and b (B, C, H, W), both in [0, 1]: a scalar.
 * Gradients flow to both inputs.
 */
export function ssim(a: Value, b: Value, channels: number): Value {
  const g = a.graph;
  const planes = 5 * channels;
  const taps = gaussianTaps();
  const rep = (shape: number[]) => {
    const data = new Float32Array(planes * WINDOW);
    for (let p = 0; p < planes; p++) data.set(taps, p * WINDOW);
    return g.constant({ dtype: 'float32', shape, data }, 'ssim_window');
  };
  const stack = op.concat([a, b, op.mul(a, a), op.mul(b, b), op.mul(a, b)], 1); // (B, 5C, H, W)
  const rows = op.conv2d(stack, rep([planes, 1, 1, WINDOW]), null, { group: planes });
  const stats = op.conv2d(rows, rep([planes, 1, WINDOW, 1]), null, { group: planes }); // (B, 5C, H−10, W−10)
  const [mx, my, exx, eyy, exy] = op.split(stats, [channels, channels, channels, channels, channels], 1);
  const mxy = op.mul(mx, my);
  const mx2 = op.mul(mx, mx);
  const my2 = op.mul(my, my);
  const num = op.mul(op.add(op.mul(mxy, 2), C1), op.add(op.mul(op.sub(exy, mxy), 2), C2));
  const den = op.mul(op.add(op.add(mx2, my2), C1), op.add(op.add(op.sub(exx, mx2), op.sub(eyy, my2)), C2));
  return op.reduceMean(op.div(num, den), []);
}
