// onnxruntime contrib ops (graph/ops/contrib.ts): SkipSimplifiedLayerNormalization against a plain
// TypeScript residual add + RMSNorm, the com.microsoft opset import in the exported model, and the
// loud error when autodiff meets an op that has no gradient rule.
import { describe, expect, it } from 'vitest';
import { gradients } from '../../src-main/engine/autodiff/grad.ts';
import { Graph, numel, type Tensor } from '../../src-main/engine/graph/graph.ts';
import { exportOnnx } from '../../src-main/engine/graph/onnx.ts';
import * as op from '../../src-main/engine/graph/ops/index.ts';
import { Session } from '../../src-main/engine/runtime/session.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';

/** s = x + skip; y = s / √(mean(s²) + ε) · w over the last axis of (N, C). */
function reference(x: Float32Array, skip: Float32Array, w: Float32Array, eps: number) {
  const C = w.length;
  const s = x.map((v, i) => v + skip[i]);
  const y = new Float32Array(s.length);
  for (let r = 0; r < s.length / C; r++) {
    let ms = 0;
    for (let j = 0; j < C; j++) ms += s[r * C + j] ** 2 / C;
    for (let j = 0; j < C; j++) y[r * C + j] = (s[r * C + j] / Math.sqrt(ms + eps)) * w[j];
  }
  return { y, s };
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('contrib ops', () => {
  it.each([[[3, 40]], [[2, 3, 40]]])('SkipSimplifiedLayerNormalization %j matches add + RMSNorm', async (shape) => {
    const rng = new Rng(5);
    const t = (s: number[]): Tensor => ({ dtype: 'float32', shape: s, data: rng.fillNormal(new Float32Array(numel(s))) });
    const [x, skip, w] = [t(shape), t(shape), t([shape[shape.length - 1]])];
    const g = new Graph('skipnorm');
    const r = op.skipRmsNorm(g.input('x', 'float32', shape), g.input('skip', 'float32', shape), g.input('w', 'float32', w.shape), 1e-5);
    const bytes = exportOnnx(g, { y: r.normed, s: r.sum }).bytes;
    expect(new TextDecoder('latin1').decode(bytes)).toContain('com.microsoft'); // the opset import
    const s = await Session.create(bytes, { threads: 1 });
    const out = await s.run({ x, skip, w });
    await s.release();
    const ref = reference(x.data as Float32Array, skip.data as Float32Array, w.data as Float32Array, 1e-5);
    const [dy, ds] = [maxDiff(out.y.data as Float32Array, ref.y), maxDiff(out.s.data as Float32Array, ref.s)];
    console.log(`SkipSimplifiedLayerNormalization ${JSON.stringify(shape)}: maxdiff normed ${dy.toExponential(2)}, sum ${ds.toExponential(2)}`);
    expect(dy).toBeLessThan(1e-5);
    expect(ds).toBeLessThan(1e-6);
  });

  it('has no gradient rule: autodiff through it fails naming the op', () => {
    const g = new Graph('nograd');
    const x = g.param('x', [2, 8]);
    const r = op.skipRmsNorm(x, x, g.param('w', [8]), 1e-5);
    expect(() => gradients(op.reduceSum(r.normed, []), [x])).toThrow(/no gradient rule for op SkipSimplifiedLayerNormalization/);
  });
});
