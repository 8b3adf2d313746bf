// The whole LLaMA-style stack built with the engine against an independent PyTorch implementation
// (scripts/fixtures/llama_tiny.py): logits, loss and the gradient of every parameter.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gradients } from '../../src-main/engine/autodiff/grad.ts';
import { Graph, type Tensor, type Value } from '../../src-main/engine/graph/graph.ts';
import { exportOnnx } from '../../src-main/engine/graph/onnx.ts';
import { readSafetensors } from '../../src-main/engine/io/safetensors.ts';
import { llamaForward, type LlamaConfig } from '../../src-main/engine/models/llama.ts';
import { crossEntropy } from '../../src-main/engine/nn/functional.ts';
import { Session } from '../../src-main/engine/runtime/session.ts';

const dir = new URL('../fixtures/', import.meta.url).pathname;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('LLaMA stack vs PyTorch reference', () => {
  it('matches logits, loss and every parameter gradient', async () => {
    const cfg = JSON.parse(readFileSync(dir + 'llama-tiny.json', 'utf8')) as LlamaConfig & { config?: LlamaConfig };
    const c = cfg.config ?? cfg;
    const fx = (await readSafetensors(dir + 'llama-tiny.safetensors')).tensors;
    const g = new Graph('llama-check');
    const ids = g.input('input_ids', 'int64', ['B', 'T']);
    const pos = g.input('position_ids', 'int64', ['T']);
    const labels = g.input('labels', 'int64', ['B', 'T']);
    const w = g.input('loss_weights', 'float32', ['B', 'T']);
    const { logits, hidden } = llamaForward(g, c, ids, pos);
    const loss = crossEntropy(logits, labels, { weights: w });
    const names = [...g.params.keys()];
    const grads = gradients(loss, names.map((n) => g.params.get(n)!.value));
    const outputs: Record<string, Value> = { logits, loss, final_hidden: hidden[hidden.length - 1] };
    names.forEach((n, i) => (outputs[`grad.${n}`] = grads[i]!));
    const s = await Session.create(exportOnnx(g, outputs).bytes, { threads: 1 });
    const feeds: Record<string, Tensor> = {};
    for (const n of names) feeds[n] = { dtype: 'float32', shape: fx.get(n)!.shape, data: fx.get(n)!.data as Float32Array };
    const T = fx.get('input_ids')!.shape[1];
    feeds.input_ids = { dtype: 'int64', shape: fx.get('input_ids')!.shape, data: fx.get('input_ids')!.data as BigInt64Array };
    feeds.labels = { dtype: 'int64', shape: fx.get('labels')!.shape, data: fx.get('labels')!.data as BigInt64Array };
    feeds.loss_weights = { dtype: 'float32', shape: fx.get('loss_weights')!.shape, data: fx.get('loss_weights')!.data as Float32Array };
    feeds.position_ids = { dtype: 'int64', shape: [T], data: BigInt64Array.from({ length: T }, (_, i) => BigInt(i)) };
    const r = await s.run(feeds);

    const dLogits = maxAbsDiff(r.logits.data as Float32Array, fx.get('expected.logits')!.data as Float32Array);
    const dHidden = maxAbsDiff(r.final_hidden.data as Float32Array, fx.get(`expected.hidden.${c.num_hidden_layers}`)!.data as Float32Array);
    const dLoss = Math.abs((r.loss.data as Float32Array)[0] - (fx.get('expected.loss')!.data as Float32Array)[0]);
    let dGrad = 0;
    let worst = '';
    for (const n of names) {
      const d = maxAbsDiff(r[`grad.${n}`].data as Float32Array, fx.get(`grad.${n}`)!.data as Float32Array);
      if (d > dGrad) [dGrad, worst] = [d, n];
    }
    console.log(`llama vs torch: maxdiff logits ${dLogits.toExponential(2)}, hidden ${dHidden.toExponential(2)}, loss ${dLoss.toExponential(2)}, grads ${dGrad.toExponential(2)} (${worst}), ${names.length} params`);
    expect(names.length).toBe(20);
    expect(dLogits).toBeLessThan(1e-4);
    expect(dLoss).toBeLessThan(1e-5);
    expect(dGrad).toBeLessThan(1e-4);
    await s.release();
  });
});
