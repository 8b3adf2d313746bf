// Discrete ops for quantizers: ArgMax (nearest code from a similarity matrix) and Round (FSQ).
// Neither has a gradient rule: ArgMax outputs int64 (autodiff stops there silently); Round's
// derivative is zero almost everywhere, so reaching it is a loud error: wrap it in a straight-through
// estimator (x + stopGradient(round(x) − x)) instead.
import { normAxis, type Value } from '../graph.ts';
import { apply, attrInt, defineOp, expectDType } from './core.ts';

/** Index of the largest entry along `axis` (first one on ties), int64. */
export const argMax = (x: Value, axis = -1, keepdims = false) => apply('ArgMax', [x], { axis, keepdims: keepdims ? 1 : 0 });
/** Round half to even (ONNX Round). */
export const round = (x: Value) => apply('Round', [x]);

defineOp({
  type: 'ArgMax',
  infer: (inputs, attrs, op) => {
    const x = inputs[0]!;
    expectDType(op, x, 'float32');
    const axis = normAxis(attrInt(attrs, 'axis', 0), x.rank, op);
    const keep = attrInt(attrs, 'keepdims', 1) === 1;
    return [{ dtype: 'int64', shape: keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis) }];
  },
  noGrad: true,
});
defineOp({
  type: 'Round',
  infer: (inputs, _a, op) => {
    expectDType(op, inputs[0]!, 'float32');
    return [{ dtype: 'float32', shape: inputs[0]!.shape }];
  },
});
