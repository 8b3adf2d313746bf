// The gradcheck case table: one or more small cases per op with a gradient rule, plus the composite
// functions the models use (norms, activations, cross-entropy, attention). Inputs are chosen away
// from kinks (Relu at 0, ties in Max) so finite differences are meaningful.
import type { Value } from '../graph/graph.ts';
import * as op from '../graph/ops/index.ts';
import { crossEntropy, gelu, groupNorm, layerNorm, rmsNorm, silu } from '../nn/functional.ts';
import { l2Normalize, residualQuantize, vectorQuantize } from '../quant/vq.ts';
import type { GradCase } from './gradcheck.ts';

const f = (...shape: number[]) => ({ shape });
const pos = (...shape: number[]) => ({ shape, dist: 'positive' as const });
const away = (...shape: number[]) => ({ shape, dist: 'away' as const });
const distinct = (offset: number, ...shape: number[]) => ({ shape, dist: 'distinct' as const, offset });
/** A fixed (rows, cols) constant, deterministic and away from zero (for VQ cases). */
const fixed = (g: Value['graph'], rows: number, cols: number, phase: number) =>
  g.constant({ dtype: 'float32', shape: [rows, cols], data: Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(1.7 * i + phase) + 0.1) }, 'fixed');
const unary = (name: string, fn: (x: Value) => Value, input = f(3, 4)): GradCase => ({ name, ops: [name], inputs: [input], build: ([x]) => fn(x) });

export const gradCases: GradCase[] = [
  // elementwise, with broadcasting in both directions
  { name: 'Add', ops: ['Add'], inputs: [f(2, 3, 4), f(3, 1)], build: ([a, b]) => op.add(a, b) },
  { name: 'Sub', ops: ['Sub'], inputs: [f(4), f(2, 3, 4)], build: ([a, b]) => op.sub(a, b) },
  { name: 'Mul', ops: ['Mul'], inputs: [f(2, 1, 4), f(3, 1)], build: ([a, b]) => op.mul(a, b) },
  { name: 'Div', ops: ['Div'], inputs: [f(2, 3), pos(3)], build: ([a, b]) => op.div(a, b) },
  { name: 'Pow', ops: ['Pow'], inputs: [pos(3, 4), f(4)], build: ([a, b]) => op.pow(a, b) },
  { name: 'Pow const exponent', ops: ['Pow'], inputs: [pos(3, 4)], build: ([a]) => op.pow(a, 2.5) },
  unary('Neg', op.neg),
  unary('Exp', op.exp),
  unary('Log', op.log, pos(3, 4)),
  unary('Sqrt', op.sqrt, pos(3, 4)),
  unary('Reciprocal', op.reciprocal, pos(3, 4)),
  unary('Tanh', op.tanh),
  unary('Sigmoid', op.sigmoid),
  unary('Erf', op.erf),
  unary('Relu', op.relu, away(3, 4)),
  unary('Abs', op.abs, away(3, 4)),
  { name: 'Where', ops: ['Where'], inputs: [{ shape: [3, 4], bool: true }, f(3, 4), f(4)], build: ([c, a, b]) => op.where(c, a, b) },
  { name: 'Max', ops: ['Max'], inputs: [distinct(0, 3, 4), distinct(0.05, 3, 4)], build: ([a, b]) => op.max2(a, b) },
  { name: 'Min', ops: ['Min'], inputs: [distinct(0, 3, 4), distinct(0.05, 4)], build: ([a, b]) => op.min2(a, b) },
  { name: 'Cast float', ops: ['Cast'], inputs: [f(3)], build: ([a]) => op.mul(op.cast(op.cast(a, 'int64'), 'float32'), a) },
  // reductions and softmax
  { name: 'ReduceSum', ops: ['ReduceSum'], inputs: [f(2, 3, 4)], build: ([x]) => op.reduceSum(x, [1]) },
  { name: 'ReduceSum keepdims all', ops: ['ReduceSum'], inputs: [f(2, 3)], build: ([x]) => op.mul(op.reduceSum(x, [], true), x) },
  { name: 'ReduceMean', ops: ['ReduceMean'], inputs: [f(2, 3, 4)], build: ([x]) => op.reduceMean(x, [0, 2], true) },
  { name: 'ReduceMax', ops: ['ReduceMax'], inputs: [distinct(0, 2, 3, 4)], build: ([x]) => op.reduceMax(x, [-1]) },
  { name: 'Softmax', ops: ['Softmax'], inputs: [f(2, 5)], build: ([x]) => op.softmax(x, -1) },
  { name: 'Softmax axis 0', ops: ['Softmax'], inputs: [f(3, 2)], build: ([x]) => op.softmax(x, 0) },
  { name: 'LogSoftmax', ops: ['LogSoftmax'], inputs: [f(2, 5)], build: ([x]) => op.logSoftmax(x, -1) },
  // movement
  { name: 'Reshape', ops: ['Reshape'], inputs: [f(2, 6)], build: ([x]) => op.mul(op.reshape(x, [3, -1]), op.reshape(x, [3, 4])) },
  { name: 'Transpose', ops: ['Transpose'], inputs: [f(2, 3, 4)], build: ([x]) => op.transpose(x, [2, 0, 1]) },
  { name: 'Concat', ops: ['Concat'], inputs: [f(2, 3), f(2, 2)], build: ([a, b]) => op.concat([a, b, a], 1) },
  { name: 'Split', ops: ['Split'], inputs: [f(5, 3)], build: ([x]) => { const [a, b] = op.split(x, [2, 3], 0); return op.add(op.reduceSum(a, [0], true), b); } },
  { name: 'Split unused part', ops: ['Split'], inputs: [f(4, 3)], build: ([x]) => op.split(x, [1, 3], 0)[1] },
  { name: 'Slice', ops: ['Slice', 'Pad'], inputs: [f(4, 6)], build: ([x]) => op.slice(x, [1, -4], [3, 100], [0, 1]) },
  { name: 'Pad', ops: ['Pad'], inputs: [f(2, 3)], build: ([x]) => op.apply('Pad', [x, op.ints(x.graph, [1, 0, 0, 2])]) },
  { name: 'Unsqueeze/Squeeze', ops: ['Unsqueeze', 'Squeeze'], inputs: [f(3, 4)], build: ([x]) => op.squeeze(op.mul(op.unsqueeze(x, [0, 2]), 2), [0]) },
  { name: 'Expand', ops: ['Expand'], inputs: [f(3, 1)], build: ([x]) => op.expand(x, [2, 3, 4]) },
  { name: 'Identity', ops: ['Identity'], inputs: [f(3)], build: ([x]) => op.mul(op.identity(x), x) },
  // products
  { name: 'MatMul 2-D', ops: ['MatMul'], inputs: [f(3, 4), f(4, 5)], build: ([a, b]) => op.matmul(a, b) },
  { name: 'MatMul batched × 2-D', ops: ['MatMul', 'Gemm'], inputs: [f(2, 3, 4), f(4, 5)], build: ([a, b]) => op.matmul(a, b) },
  { name: 'MatMul batched broadcast', ops: ['MatMul'], inputs: [f(2, 1, 3, 4), f(3, 4, 2)], build: ([a, b]) => op.matmul(a, b) },
  { name: 'Gemm', ops: ['Gemm'], inputs: [f(3, 4), f(4, 5), f(5)], build: ([a, b, c]) => op.gemm(a, b, c) },
  { name: 'Gemm transB', ops: ['Gemm'], inputs: [f(3, 4), f(5, 4)], build: ([a, b]) => op.gemm(a, b, null, { transB: true }) },
  { name: 'Gemm transA', ops: ['Gemm'], inputs: [f(4, 3), f(4, 5), f(3, 1)], build: ([a, b, c]) => op.gemm(a, b, c, { transA: true }) },
  { name: 'Gemm transA transB', ops: ['Gemm'], inputs: [f(4, 3), f(5, 4)], build: ([a, b]) => op.gemm(a, b, null, { transA: true, transB: true }) },
  // indexing
  { name: 'Gather (embedding, repeated ids)', ops: ['Gather'], inputs: [f(6, 3), { shape: [2, 4], int: 6, values: [0, 5, 2, 2, 5, 5, 1, 0] }], build: ([w, i]) => op.gather(w, i, 0) },
  { name: 'GatherElements', ops: ['GatherElements'], inputs: [f(3, 5), { shape: [3, 2], int: 5, values: [0, 4, 2, 2, 1, 3] }], build: ([x, i]) => op.gatherElements(x, i, 1) },
  // convolution and upsampling
  { name: 'Conv 3×3 pad 1', ops: ['Conv'], inputs: [f(2, 3, 5, 5), f(4, 3, 3, 3), f(4)], build: ([x, w, b]) => op.conv2d(x, w, b, { pad: 1 }) },
  { name: 'Conv stride 2 groups 2', ops: ['Conv'], inputs: [f(2, 4, 6, 6), f(6, 2, 3, 3), f(6)], build: ([x, w, b]) => op.conv2d(x, w, b, { stride: 2, pad: 1, group: 2 }) },
  { name: 'Conv stride 2 odd size no pad', ops: ['Conv'], inputs: [f(1, 2, 7, 7), f(3, 2, 3, 3)], build: ([x, w]) => op.conv2d(x, w, null, { stride: 2 }) },
  // the im2col weight gradient (8+ channels); Conv is linear in each input, so a larger step only lowers float32 rounding
  { name: 'Conv 3×3 pad 1, 8 channels (im2col weight gradient)', ops: ['Conv'], eps: 0.1, inputs: [f(2, 8, 5, 5), f(3, 8, 3, 3), f(3)], build: ([x, w, b]) => op.conv2d(x, w, b, { pad: 1 }) },
  { name: 'Conv stride 2 odd size no pad, 8 channels (im2col)', ops: ['Conv'], eps: 0.1, inputs: [f(2, 8, 7, 7), f(3, 8, 3, 3)], build: ([x, w]) => op.conv2d(x, w, null, { stride: 2 }) },
  { name: 'Conv 1×1, 8 channels (im2col)', ops: ['Conv'], eps: 0.1, inputs: [f(2, 8, 3, 4), f(5, 8, 1, 1), f(5)], build: ([x, w, b]) => op.conv2d(x, w, b) },
  { name: 'Conv depthwise', ops: ['Conv'], inputs: [f(2, 3, 4, 4), f(3, 1, 3, 3)], build: ([x, w]) => op.conv2d(x, w, null, { pad: 1, group: 3 }) },
  { name: 'Resize nearest ×2', ops: ['Resize'], inputs: [f(2, 3, 3, 4)], build: ([x]) => op.upsampleNearest(x, 2) },
  // composites used by the models
  { name: 'RMSNorm', ops: ['RMSNorm'], inputs: [f(2, 3, 8), f(8)], build: ([x, w]) => rmsNorm(x, w) },
  { name: 'LayerNorm', ops: ['LayerNorm'], inputs: [f(3, 8), f(8), f(8)], build: ([x, w, b]) => layerNorm(x, w, b) },
  { name: 'GroupNorm', ops: ['GroupNorm'], inputs: [f(2, 4, 3, 3), f(4), f(4)], build: ([x, w, b]) => groupNorm(x, 2, w, b) },
  unary('SiLU', silu),
  unary('GELU', gelu),
  {
    name: 'CrossEntropy (ignore index, token weights)',
    ops: ['CrossEntropy'],
    inputs: [f(2, 3, 7), { shape: [2, 3], int: 7, values: [1, -100, 6, 0, 3, -100] }, pos(2, 3)],
    build: ([logits, t, w]) => crossEntropy(logits, t, { weights: w }),
  },
  {
    name: 'Causal attention',
    ops: ['Attention'],
    inputs: [f(1, 2, 4, 3), f(1, 2, 4, 3), f(1, 2, 4, 3)],
    build: ([q, k, v]) => {
      const mask = q.graph.constant({ dtype: 'float32', shape: [4, 4], data: Float32Array.from({ length: 16 }, (_, i) => (i % 4 > Math.floor(i / 4) ? -1e9 : 0)) }, 'mask');
      const s = op.add(op.div(op.matmul(q, op.transpose(k, [0, 1, 3, 2])), Math.sqrt(3)), mask);
      return op.matmul(op.softmax(s, -1), v);
    },
  },
  // vector quantizers (engine/quant/vq.ts): the l2 norm, and each VQ loss along its gradient path
  // (the code index is locally constant, so finite differences see the same function)
  unary('l2Normalize', (x) => l2Normalize(x)),
  {
    name: 'VQ codebook loss (cosine)', ops: ['VQ codebook loss'], inputs: [f(4, 3)], eps: 1e-3,
    build: ([C]) => vectorQuantize(fixed(C.graph, 6, 3, 0.7), C, { codebookLoss: true }).codebookLoss!,
  },
  {
    name: 'VQ commitment loss (cosine)', ops: ['VQ commitment loss'], inputs: [f(6, 3)], eps: 1e-3,
    build: ([z]) => vectorQuantize(z, fixed(z.graph, 4, 3, 2.3)).commitLoss,
  },
  {
    // (the codebook loss is left out: its sg(residual) deliberately hides level 2's dependence on level 1)
    name: 'Residual VQ codes (2 levels)', ops: ['Residual VQ codes'], inputs: [f(4, 3), f(3, 3)], eps: 1e-3,
    build: ([c1, c2]) => residualQuantize(fixed(c1.graph, 6, 3, 0.4), [c1, c2]).codes,
  },
];
