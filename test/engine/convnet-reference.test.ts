// Convolution stack (conv with bias, GroupNorm, SiLU, grouped strided conv, GELU, nearest upsample,
// 1×1 conv, MSE) against an independent PyTorch implementation (scripts/fixtures/convnet_tiny.py).
import { describe, expect, it } from 'vitest';
import { gradients } from '../../src-main/engine/autodiff/grad.ts';
import { Graph, type Tensor, type Value } from '../../src-main/engine/graph/graph.ts';
import * as op from '../../src-main/engine/graph/ops/index.ts';
import { exportOnnx } from '../../src-main/engine/graph/onnx.ts';
import { readSafetensors } from '../../src-main/engine/io/safetensors.ts';
import { gelu, groupNorm, silu } from '../../src-main/engine/nn/functional.ts';
import { Session } from '../../src-main/engine/runtime/session.ts';

describe('conv stack vs PyTorch reference', () => {
  it('matches output, loss and all gradients', async () => {
    const fx = (await readSafetensors(new URL('../fixtures/convnet-tiny.safetensors', import.meta.url).pathname)).tensors;
    const g = new Graph('conv-check');
    const x = g.input('x', 'float32', ['N', 3, 8, 8]);
    const target = g.input('target', 'float32', ['N', 3, 8, 8]);
    const p = (n: string) => g.param(n, fx.get(n)!.shape);
    let h = op.conv2d(x, p('conv1.weight'), p('conv1.bias'), { pad: 1 });
    h = silu(groupNorm(h, 2, p('norm1.weight'), p('norm1.bias')));
    h = gelu(op.conv2d(h, p('conv2.weight'), p('conv2.bias'), { stride: 2, pad: 1, group: 2 }));
    const y = op.conv2d(op.upsampleNearest(h, 2), p('conv3.weight'), p('conv3.bias'));
    const d = op.sub(y, target);
    const loss = op.reduceMean(op.mul(d, d), [0, 1, 2, 3]);
    const names = [...g.params.keys()];
    const grads = gradients(loss, [x, ...names.map((n) => g.params.get(n)!.value)]);
    const outputs: Record<string, Value> = { y, loss, 'grad.x': grads[0]! };
    names.forEach((n, i) => (outputs[`grad.${n}`] = grads[i + 1]!));
    const s = await Session.create(exportOnnx(g, outputs).bytes, { threads: 1 });
    const feeds: Record<string, Tensor> = {};
    for (const n of [...names, 'x', 'target']) feeds[n] = { dtype: 'float32', shape: fx.get(n)!.shape, data: fx.get(n)!.data as Float32Array };
    const r = await s.run(feeds);
    const diff = (k: string, ref: string) => {
      const a = r[k].data as Float32Array;
      const b = fx.get(ref)!.data as Float32Array;
      expect(a.length).toBe(b.length);
      return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
    };
    const dy = diff('y', 'expected.y');
    const dl = diff('loss', 'expected.loss');
    const dg = Math.max(...['x', ...names].map((n) => diff(`grad.${n}`, `grad.${n}`)));
    console.log(`convnet vs torch: maxdiff y ${dy.toExponential(2)}, loss ${dl.toExponential(2)}, grads ${dg.toExponential(2)}`);
    expect(dy).toBeLessThan(1e-5);
    expect(dl).toBeLessThan(1e-5);
    expect(dg).toBeLessThan(1e-5);
  });
});
