// Indexing: Gather (embedding lookup), GatherElements (pick one entry per row, e.g. the target's
// log-probability) and the scatters their gradients use (ScatterND / ScatterElements with
// reduction 'add', so repeated indices accumulate).
import { GraphError, normAxis, type Value } from '../graph.ts';
import { apply, attrInt, defineOp, expectDType } from './core.ts';
import { unsqueeze, zerosLike } from './shape.ts';

export const gather = (data: Value, indices: Value, axis = 0) => apply('Gather', [data, indices], { axis });
export const gatherElements = (data: Value, indices: Value, axis: number) => apply('GatherElements', [data, indices], { axis });

defineOp({
  type: 'Gather',
  infer: (inputs, attrs, op) => {
    const [data, idx] = inputs as Value[];
    expectDType(op, idx, 'int64', 'int32');
    const axis = normAxis(attrInt(attrs, 'axis', 0), data.rank, op);
    return [{ dtype: data.dtype, shape: [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)] }];
  },
  grad: (n, [gy]) => {
    const [data, idx] = n.inputs as Value[];
    if (attrInt(n.attrs, 'axis', 0) !== 0) throw new GraphError(`Gather gradient supports axis 0 only (node ${n.name})`);
    // dW[idx[i]] += dy[i]: ScatterND over the leading axis.
    return [apply('ScatterND', [zerosLike(data), unsqueeze(idx, [-1]), gy!], { reduction: 'add' }), null];
  },
});
defineOp({
  type: 'GatherElements',
  infer: (inputs, attrs, op) => {
    const [data, idx] = inputs as Value[];
    expectDType(op, idx, 'int64', 'int32');
    if (data.rank !== idx.rank) throw new GraphError(`${op}: data ${data} and indices ${idx} must have the same rank`);
    normAxis(attrInt(attrs, 'axis', 0), data.rank, op);
    return [{ dtype: data.dtype, shape: idx.shape }];
  },
  grad: (n, [gy]) => {
    const [data, idx] = n.inputs as Value[];
    return [apply('ScatterElements', [zerosLike(data), idx, gy!], { axis: attrInt(n.attrs, 'axis', 0), reduction: 'add' }), null];
  },
});
defineOp({ type: 'ScatterND', infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }] });
defineOp({ type: 'ScatterElements', infer: (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }] });
