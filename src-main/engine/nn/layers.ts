// Layers as graph functions: each declares its parameters under HF-style names and applies them.
// Weights follow the checkpoint conventions: Linear (out, in) with y = x·Wᵀ + b, Conv2d (out, in/g, k, k).
import type { Graph, Value } from '../graph/graph.ts';
import { conv2d, gather, gemm, reshape, unflattenLike } from '../graph/ops/index.ts';

/** y = x·Wᵀ (+ b) over the last axis.   x (…, in) → (…, out) */
export function linear(g: Graph, name: string, x: Value, inF: number, outF: number, bias = false): Value {
  const w = g.param(`${name}.weight`, [outF, inF]);
  const b = bias ? g.param(`${name}.bias`, [outF]) : null;
  const y2 = gemm(reshape(x, [-1, inF]), w, b, { transB: true }); // (N, out)
  return unflattenLike(y2, x);
}

/** Token embedding lookup.   ids (…) int64 → (…, dim) */
export function embedding(g: Graph, name: string, ids: Value, vocab: number, dim: number): Value {
  return gather(g.param(`${name}.weight`, [vocab, dim]), ids, 0);
}

export function conv(g: Graph, name: string, x: Value, inC: number, outC: number, k: number, opts: { stride?: number; pad?: number; group?: number; bias?: boolean } = {}): Value {
  const w = g.param(`${name}.weight`, [outC, inC / (opts.group ?? 1), k, k]);
  const b = opts.bias === false ? null : g.param(`${name}.bias`, [outC]);
  return conv2d(x, w, b, { stride: opts.stride, pad: opts.pad ?? Math.floor(k / 2), group: opts.group });
}
