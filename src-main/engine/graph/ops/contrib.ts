// onnxruntime contrib ops (domain com.microsoft) that its CPU provider implements, for inference
// graphs only (the decode step of models/llama.ts): they have no gradient rule, so autodiff through
// one is the usual loud error. Semantics follow onnxruntime's docs/ContribOperators.md.
//   SkipSimplifiedLayerNormalization: s = x + skip; y = s / √(mean(s²) + ε) · γ; outputs y and s
//   (outputs 1 and 2, mean and inverse std, are declared by the op and go unused).
import { GraphError, fmtShape, type Value } from '../graph.ts';
import { applyMany, defineOp, expectDType } from './core.ts';

const MS = 'com.microsoft';

function sameShape(op: string, a: Value, b: Value, what: string) {
  if (fmtShape(a.shape) !== fmtShape(b.shape)) throw new GraphError(`${op}: ${what} must match the input ${a}, got ${b}`);
}

defineOp({
  type: 'SkipSimplifiedLayerNormalization',
  domain: MS,
  infer: (inputs, _attrs, op) => {
    const [x, skip, gamma] = inputs;
    if (!x || !skip || !gamma) throw new GraphError(`${op}: needs input, skip and gamma`);
    for (const v of [x, skip, gamma]) expectDType(op, v, 'float32');
    if (x.rank !== 2 && x.rank !== 3) throw new GraphError(`${op}: input must be (B, C) or (B, T, C), got ${x}`);
    sameShape(op, x, skip, 'skip');
    if (gamma.rank !== 1 || gamma.shape[0] !== x.shape[x.rank - 1]) throw new GraphError(`${op}: gamma must be (${x.shape[x.rank - 1]}), got ${gamma}`);
    const stat = { dtype: 'float32' as const, shape: [...x.shape.slice(0, -1), 1] };
    return [{ dtype: 'float32', shape: x.shape }, stat, stat, { dtype: 'float32', shape: x.shape }];
  },
});

/** Residual add and RMSNorm in one kernel.   x, skip (…, C), w (C) → normed (…, C), sum = x + skip (…, C) */
export function skipRmsNorm(x: Value, skip: Value, w: Value, eps: number): { normed: Value; sum: Value } {
  const [normed, , , sum] = applyMany('SkipSimplifiedLayerNormalization', [x, skip, w], { epsilon: eps });
  return { normed, sum };
}
