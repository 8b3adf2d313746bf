// The runtime: sessions in a worker thread give the same results as in-thread sessions and leave the
// caller's event loop free while they run; asking for a missing execution provider fails loudly.
import { describe, expect, it } from 'vitest';
import { Graph, type Tensor } from '../../src-main/engine/graph/graph.ts';
import * as op from '../../src-main/engine/graph/ops/index.ts';
import { exportOnnx, readOnnxInitializers } from '../../src-main/engine/graph/onnx.ts';
import { providerStatus, Session } from '../../src-main/engine/runtime/session.ts';
import { WorkerRuntime } from '../../src-main/engine/runtime/worker-session.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';

function model(n: number) {
  const g = new Graph('mm');
  const a = g.input('a', 'float32', [n, n]);
  let y = a;
  for (let i = 0; i < 6; i++) y = op.tanh(op.matmul(y, a));
  return exportOnnx(g, { y }).bytes;
}

describe('runtime', () => {
  it('worker sessions match in-thread sessions and keep the event loop free', async () => {
    const n = 512;
    const bytes = model(n);
    const a: Tensor = { dtype: 'float32', shape: [n, n], data: new Rng(1).fillNormal(new Float32Array(n * n), 0.05) };
    const local = await Session.create(bytes, { threads: 1 });
    const ref = (await local.run({ a })).y.data as Float32Array;
    const rt = new WorkerRuntime();
    const remote = await rt.createSession(bytes, { threads: 1 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    const res = await remote.run({ a });
    const ms = performance.now() - t0;
    clearInterval(timer);
    expect(Array.from(res.y.data as Float32Array)).toEqual(Array.from(ref));
    console.log(`worker run ${ms.toFixed(0)} ms, main-loop timer ticked ${ticks} times meanwhile`);
    expect(ticks).toBeGreaterThan(ms / 20); // a blocked loop would tick at most once
    await remote.release();
    await rt.terminate();
  });

  it('errors from the worker cross with their name and message', async () => {
    const rt = new WorkerRuntime();
    const s = await rt.createSession(model(4));
    await expect(s.run({ a: { dtype: 'float32', shape: [3, 3], data: new Float32Array(9) } })).rejects.toThrow(/Got: 3 Expected: 4|dimension/i);
    await rt.terminate();
  });

  it('refuses an unavailable provider with the reason, never falling back to the CPU', async () => {
    const missing = providerStatus().filter((p) => !p.available);
    expect(missing.length).toBeGreaterThan(0);
    for (const p of missing) {
      await expect(Session.create(model(4), { provider: p.name })).rejects.toThrow(new RegExp(`execution provider '${p.name}' is not available: .+ Available: .*cpu`));
    }
    expect(providerStatus().find((p) => p.name === 'cpu')?.available).toBe(true);
  });

  it('reads an exported model\'s baked weights back exactly, and names the file of one it cannot read', () => {
    const g = new Graph('baked');
    const x = g.input('x', 'float32', [2, 3]);
    const w = { dtype: 'float32' as const, shape: [3, 4], data: new Rng(2).fillNormal(new Float32Array(12), 1) };
    const bytes = exportOnnx(g, { y: op.matmul(x, g.constant(w, 'layer.weight')) }).bytes;
    const got = readOnnxInitializers(bytes, 'enc.onnx').get('layer.weight')!;
    expect(got.shape).toEqual([3, 4]);
    expect(Array.from(got.data)).toEqual(Array.from(w.data));
    expect(() => readOnnxInitializers(bytes.subarray(0, bytes.length - 7), 'cut.onnx')).toThrow(/^cut\.onnx: not an ONNX model \(/);
  });
});
