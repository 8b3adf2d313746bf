// Softmax and LogSoftmax over one axis (opset 13 semantics) and their gradients:
//   softmax:     dx = y ⊙ (dy − Σ dy⊙y)        log-softmax: dx = dy − exp(y) ⊙ Σ dy
import { normAxis, type Value } from '../graph.ts';
import { apply, attrInt, defineOp, expectDType, type OpDef } from './core.ts';
import { exp, mul, sub } from './elementwise.ts';
import { reduceSum } from './reduce.ts';

export const softmax = (x: Value, axis = -1) => apply('Softmax', [x], { axis });
export const logSoftmax = (x: Value, axis = -1) => apply('LogSoftmax', [x], { axis });

const infer: OpDef['infer'] = (inputs, attrs, op) => {
  const x = inputs[0]!;
  expectDType(op, x, 'float32');
  normAxis(attrInt(attrs, 'axis', -1), x.rank, op);
  return [{ dtype: x.dtype, shape: x.shape }];
};

defineOp({
  type: 'Softmax', infer,
  grad: (n, [gy]) => {
    const y = n.outputs[0];
    const axis = normAxis(attrInt(n.attrs, 'axis', -1), y.rank, 'Softmax');
    return [mul(y, sub(gy!, reduceSum(mul(gy!, y), [axis], true)))];
  },
});
defineOp({
  type: 'LogSoftmax', infer,
  grad: (n, [gy]) => {
    const y = n.outputs[0];
    const axis = normAxis(attrInt(n.attrs, 'axis', -1), y.rank, 'LogSoftmax');
    return [sub(gy!, mul(exp(y), reduceSum(gy!, [axis], true)))];
  },
});
