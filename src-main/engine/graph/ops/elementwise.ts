// Elementwise ops with numpy broadcasting, and their gradient rules (one line each where possible).
// Gradients of broadcast inputs are summed back to the input's shape (sumTo in reduce.ts).
import { broadcastShapes, GraphError, type DType, type Value } from '../graph.ts';
import { apply, defineOp, expectDType, lift, scalar, type OpDef } from './core.ts';
import { sumTo } from './reduce.ts';

type X = Value | number;

const binaryInfer = (outDType?: DType): OpDef['infer'] => (inputs, _attrs, op) => {
  const [a, b] = inputs as Value[];
  if (a.dtype !== b.dtype) throw new GraphError(`${op}: dtypes differ: ${a} vs ${b}`);
  return [{ dtype: outDType ?? a.dtype, shape: broadcastShapes(op, a.shape, b.shape) }];
};
const unaryInfer: OpDef['infer'] = (inputs, _attrs, op) => {
  const x = inputs[0]!;
  if (op !== 'Neg' && op !== 'Relu' && op !== 'Abs') expectDType(op, x, 'float32');
  return [{ dtype: x.dtype, shape: x.shape }];
};

export const add = (a: X, b: X) => apply('Add', [lift(a, b), lift(b, a)]);
export const sub = (a: X, b: X) => apply('Sub', [lift(a, b), lift(b, a)]);
export const mul = (a: X, b: X) => apply('Mul', [lift(a, b), lift(b, a)]);
export const div = (a: X, b: X) => apply('Div', [lift(a, b), lift(b, a)]);
export const pow = (a: X, b: X) => apply('Pow', [lift(a, b), lift(b, a)]);
export const neg = (x: Value) => apply('Neg', [x]);
export const exp = (x: Value) => apply('Exp', [x]);
export const log = (x: Value) => apply('Log', [x]);
export const sqrt = (x: Value) => apply('Sqrt', [x]);
export const tanh = (x: Value) => apply('Tanh', [x]);
export const sigmoid = (x: Value) => apply('Sigmoid', [x]);
export const erf = (x: Value) => apply('Erf', [x]);
export const relu = (x: Value) => apply('Relu', [x]);
export const abs = (x: Value) => apply('Abs', [x]);
export const reciprocal = (x: Value) => apply('Reciprocal', [x]);
export const where = (c: Value, a: X, b: X) => apply('Where', [c, lift(a, b), lift(b, a)]);
export const equal = (a: X, b: X) => apply('Equal', [lift(a, b), lift(b, a)]);
export const less = (a: X, b: X) => apply('Less', [lift(a, b), lift(b, a)]);
export const greater = (a: X, b: X) => apply('Greater', [lift(a, b), lift(b, a)]);
export const not = (x: Value) => apply('Not', [x]);
export const and = (a: Value, b: Value) => apply('And', [a, b]);
export const min2 = (a: X, b: X) => apply('Min', [lift(a, b), lift(b, a)]);
export const max2 = (a: X, b: X) => apply('Max', [lift(a, b), lift(b, a)]);
export const cast = (x: Value, to: DType) => (x.dtype === to ? x : apply('Cast', [x], { to: DTYPE_CODE[to] }));

export const DTYPE_CODE: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9 };
const CODE_DTYPE = Object.fromEntries(Object.entries(DTYPE_CODE).map(([k, v]) => [v, k])) as Record<number, DType>;

const [x0, x1] = [0, 1];
const unbroadcast = (node: { inputs: (Value | null)[] }, i: number, g: Value) => sumTo(g, node.inputs[i]!.shape);

defineOp({
  type: 'Add', infer: binaryInfer(),
  grad: (n, [gy]) => [unbroadcast(n, x0, gy!), unbroadcast(n, x1, gy!)],
});
defineOp({
  type: 'Sub', infer: binaryInfer(),
  grad: (n, [gy]) => [unbroadcast(n, x0, gy!), unbroadcast(n, x1, neg(gy!))],
});
defineOp({
  type: 'Mul', infer: binaryInfer(),
  grad: (n, [gy]) => [unbroadcast(n, x0, mul(gy!, n.inputs[1]!)), unbroadcast(n, x1, mul(gy!, n.inputs[0]!))],
});
defineOp({
  type: 'Div', infer: binaryInfer(),
  // d(a/b) = g/b, -g·a/b² = -g·y/b
  grad: (n, [gy]) => [unbroadcast(n, x0, div(gy!, n.inputs[1]!)), unbroadcast(n, x1, neg(div(mul(gy!, n.outputs[0]), n.inputs[1]!)))],
});
defineOp({
  type: 'Pow', infer: binaryInfer(),
  // d(a^b)/da = b·a^(b-1);  d/db = y·ln(a)  (only where a > 0; the exponent is usually a constant)
  grad: (n, [gy]) => {
    const [a, b] = n.inputs as Value[];
    const ga = unbroadcast(n, x0, mul(gy!, mul(b, pow(a, sub(b, 1)))));
    const gb = a.graph.consts.has(b) ? null : unbroadcast(n, x1, mul(gy!, mul(n.outputs[0], log(a))));
    return [ga, gb];
  },
});
defineOp({ type: 'Neg', infer: unaryInfer, grad: (_n, [gy]) => [neg(gy!)] });
defineOp({ type: 'Exp', infer: unaryInfer, grad: (n, [gy]) => [mul(gy!, n.outputs[0])] });
defineOp({ type: 'Log', infer: unaryInfer, grad: (n, [gy]) => [div(gy!, n.inputs[0]!)] });
defineOp({ type: 'Sqrt', infer: unaryInfer, grad: (n, [gy]) => [div(mul(gy!, 0.5), n.outputs[0])] });
defineOp({ type: 'Reciprocal', infer: unaryInfer, grad: (n, [gy]) => [neg(mul(gy!, mul(n.outputs[0], n.outputs[0])))] });
defineOp({ type: 'Tanh', infer: unaryInfer, grad: (n, [gy]) => [mul(gy!, sub(1, mul(n.outputs[0], n.outputs[0])))] });
defineOp({ type: 'Sigmoid', infer: unaryInfer, grad: (n, [gy]) => [mul(gy!, mul(n.outputs[0], sub(1, n.outputs[0])))] });
defineOp({
  type: 'Erf', infer: unaryInfer,
  // d erf(x) = 2/√π · exp(-x²)
  grad: (n, [gy]) => { const x = n.inputs[0]!; return [mul(gy!, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))]; },
});
defineOp({ type: 'Relu', infer: unaryInfer, grad: (n, [gy]) => [where(greater(n.inputs[0]!, 0), gy!, 0)] });
defineOp({ type: 'Abs', infer: unaryInfer, grad: (n, [gy]) => [mul(gy!, apply('Sign', [n.inputs[0]!]))] });
defineOp({ type: 'Sign', infer: unaryInfer, noGrad: true });
defineOp({
  type: 'Where',
  infer: (inputs, _a, op) => {
    const [c, a, b] = inputs as Value[];
    expectDType(op, c, 'bool');
    if (a.dtype !== b.dtype) throw new GraphError(`${op}: branch dtypes differ: ${a} vs ${b}`);
    return [{ dtype: a.dtype, shape: broadcastShapes(op, c.shape, a.shape, b.shape) }];
  },
  grad: (n, [gy]) => [null, unbroadcast(n, 1, where(n.inputs[0]!, gy!, 0)), unbroadcast(n, 2, where(n.inputs[0]!, 0, gy!))],
});
// Min/Max: the gradient goes to the selected input (ties to the first).
defineOp({
  type: 'Max', infer: binaryInfer(),
  grad: (n, [gy]) => { const pick = apply('GreaterOrEqual', [n.inputs[0]!, n.inputs[1]!]); return [unbroadcast(n, 0, where(pick, gy!, 0)), unbroadcast(n, 1, where(pick, 0, gy!))]; },
});
defineOp({
  type: 'Min', infer: binaryInfer(),
  grad: (n, [gy]) => { const pick = apply('LessOrEqual', [n.inputs[0]!, n.inputs[1]!]); return [unbroadcast(n, 0, where(pick, gy!, 0)), unbroadcast(n, 1, where(pick, 0, gy!))]; },
});
for (const type of ['Equal', 'Less', 'Greater', 'GreaterOrEqual', 'LessOrEqual']) defineOp({ type, infer: binaryInfer('bool'), noGrad: true });
defineOp({ type: 'And', infer: binaryInfer('bool'), noGrad: true });
defineOp({ type: 'Not', infer: (i) => [{ dtype: 'bool', shape: i[0]!.shape }], noGrad: true });
defineOp({
  type: 'Cast',
  infer: (inputs, attrs, op) => {
    const to = CODE_DTYPE[attrs.to as number];
    if (!to) throw new GraphError(`${op}: unsupported target type code ${attrs.to}`);
    return [{ dtype: to, shape: inputs[0]!.shape }];
  },
  grad: (n, [gy]) => [n.inputs[0]!.dtype === 'float32' && n.outputs[0].dtype === 'float32' ? gy : null],
});

export { scalar };
