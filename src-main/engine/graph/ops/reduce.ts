// Reductions (ReduceSum/Mean/Max) and sumTo, which folds a broadcast gradient back to an input's
// shape. Gradients of reductions expand the output gradient back over the reduced axes.
import { GraphError, isStatic, normAxis, numel, type Shape, type Value } from '../graph.ts';
import { apply, attrInt, attrInts, constInts, defineOp, expectDType, ints, type OpDef } from './core.ts';
import { cast, div, equal, mul } from './elementwise.ts';
import { expand, shapeOf, squeeze, unsqueeze } from './shape.ts';

function reducedShape(x: Value, axes: number[], keep: boolean): Shape {
  const all = axes.length === 0 ? x.shape.map((_, i) => i) : axes.map((a) => normAxis(a, x.rank, 'reduce'));
  const out: Shape = [];
  x.shape.forEach((d, i) => {
    if (!all.includes(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return out;
}

function axesOf(node: { op: string; inputs: (Value | null)[]; attrs: Record<string, unknown> }): number[] {
  const x = node.inputs[0]!;
  const raw = node.op === 'ReduceSum' ? (node.inputs[1] ? constInts(node.inputs[1], 'ReduceSum axes') : []) : attrInts(node.attrs as never, 'axes', []);
  return raw.length === 0 ? x.shape.map((_, i) => i) : raw.map((a) => normAxis(a, x.rank, node.op));
}

const reduceInfer: OpDef['infer'] = (inputs, attrs, op) => {
  const x = inputs[0]!;
  expectDType(op, x, 'float32');
  const node = { op, inputs, attrs };
  return [{ dtype: x.dtype, shape: reducedShape(x, axesOf(node), attrInt(attrs, 'keepdims', 1) === 1) }];
};

export function reduceSum(x: Value, axes: number[], keepdims = false): Value {
  return apply('ReduceSum', [x, axes.length ? ints(x.graph, axes) : null], { keepdims: keepdims ? 1 : 0 });
}
export function reduceMean(x: Value, axes: number[], keepdims = false): Value {
  return apply('ReduceMean', [x], { axes, keepdims: keepdims ? 1 : 0 });
}
export function reduceMax(x: Value, axes: number[], keepdims = false): Value {
  return apply('ReduceMax', [x], { axes, keepdims: keepdims ? 1 : 0 });
}

/** Sum a broadcast gradient back to `shape` (leading axes dropped, size-1 axes kept). */
export function sumTo(g: Value, shape: Shape): Value {
  const lead = g.rank - shape.length;
  if (lead < 0) throw new GraphError(`sumTo: gradient ${g} has lower rank than target [${shape}]`);
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  if (axes.length === 0) return g;
  let r = reduceSum(g, axes, true);
  if (lead > 0) r = squeeze(r, Array.from({ length: lead }, (_, i) => i));
  return r;
}

/** The gradient of a reduction, brought back to the input's rank (size-1 on reduced axes). */
function keepDims(node: { inputs: (Value | null)[]; attrs: Record<string, unknown> }, gy: Value, axes: number[]): Value {
  return attrInt(node.attrs as never, 'keepdims', 1) === 1 ? gy : unsqueeze(gy, axes);
}

/** Elements per reduced group: static when the axes are, else Size(x) / Size(y) at run time. */
function reducedCount(x: Value, y: Value, axes: number[]): Value | number {
  const dims = axes.map((a) => x.shape[a]);
  if (isStatic(dims)) return numel(dims);
  return div(cast(apply('Size', [x]), 'float32'), cast(apply('Size', [y]), 'float32'));
}

defineOp({
  type: 'ReduceSum', infer: reduceInfer,
  grad: (n, [gy]) => [expand(keepDims(n, gy!, axesOf(n)), shapeOf(n.inputs[0]!)), null],
});
defineOp({
  type: 'ReduceMean', infer: reduceInfer,
  grad: (n, [gy]) => {
    const x = n.inputs[0]!;
    const axes = axesOf(n);
    return [expand(div(keepDims(n, gy!, axes), reducedCount(x, n.outputs[0], axes)), shapeOf(x))];
  },
});
defineOp({
  type: 'ReduceMax', infer: reduceInfer,
  // The gradient is shared equally among the elements that attain the max.
  grad: (n, [gy]) => {
    const x = n.inputs[0]!;
    const axes = axesOf(n);
    const ymax = keepDims(n, n.outputs[0], axes);
    const mask = cast(equal(x, ymax), 'float32');
    const count = reduceSum(mask, axes, true);
    return [mul(mask, div(keepDims(n, gy!, axes), count))];
  },
});
