// MatMul (batched, numpy semantics) and Gemm (2-D, optional transposes and bias) with their
// gradients. A batched activation times a 2-D weight gets its weight gradient as one Gemm over the
// flattened batch instead of a batched product followed by a reduction.
import { broadcastShapes, GraphError, fmtShape, type Value } from '../graph.ts';
import { apply, attrInt, defineOp, expectDType } from './core.ts';
import { sumTo } from './reduce.ts';
import { reshape, transpose } from './shape.ts';

export const matmul = (a: Value, b: Value) => apply('MatMul', [a, b]);

/** Y = op(A)·op(B) (+ C): op transposes when the flag is set. */
export function gemm(a: Value, b: Value, c: Value | null = null, opts: { transA?: boolean; transB?: boolean } = {}): Value {
  return apply('Gemm', c ? [a, b, c] : [a, b], { transA: opts.transA ? 1 : 0, transB: opts.transB ? 1 : 0 });
}

const swapLast = (x: Value) => transpose(x, x.shape.map((_, i) => (i === x.rank - 2 ? x.rank - 1 : i === x.rank - 1 ? x.rank - 2 : i)));

defineOp({
  type: 'MatMul',
  infer: (inputs, _a, op) => {
    const [a, b] = inputs as Value[];
    expectDType(op, a, 'float32');
    expectDType(op, b, 'float32');
    if (a.rank < 2 || b.rank < 2) throw new GraphError(`${op}: inputs must have rank >= 2, got ${a} and ${b}`);
    const k1 = a.shape[a.rank - 1];
    const k2 = b.shape[b.rank - 2];
    if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2)
      throw new GraphError(`${op}: inner dims differ: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)} (${k1} vs ${k2})`);
    const batch = broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2));
    return [{ dtype: 'float32', shape: [...batch, a.shape[a.rank - 2], b.shape[b.rank - 1]] }];
  },
  grad: (n, [gy]) => {
    const [a, b] = n.inputs as Value[];
    const ga = sumTo(matmul(gy!, swapLast(b)), a.shape);
    let gb: Value;
    if (b.rank === 2 && a.rank > 2) {
      const k = a.shape[a.rank - 1] as number;
      const nOut = b.shape[1] as number;
      gb = gemm(reshape(a, [-1, k]), reshape(gy!, [-1, nOut]), null, { transA: true }); // (K, N)
    } else gb = sumTo(matmul(swapLast(a), gy!), b.shape);
    return [ga, gb];
  },
});

defineOp({
  type: 'Gemm',
  infer: (inputs, attrs, op) => {
    const [a, b, c] = inputs;
    if (!a || !b || a.rank !== 2 || b.rank !== 2) throw new GraphError(`${op}: A and B must be 2-D, got ${a} and ${b}`);
    if ((attrs.alpha ?? 1) !== 1 || (attrs.beta ?? 1) !== 1) throw new GraphError(`${op}: only alpha = beta = 1 is supported`);
    const ta = attrInt(attrs, 'transA', 0) === 1;
    const tb = attrInt(attrs, 'transB', 0) === 1;
    const [m, k1] = ta ? [a.shape[1], a.shape[0]] : a.shape;
    const [k2, nn] = tb ? [b.shape[1], b.shape[0]] : b.shape;
    if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2)
      throw new GraphError(`${op}: inner dims differ: A${fmtShape(a.shape)}${ta ? 'ᵀ' : ''} · B${fmtShape(b.shape)}${tb ? 'ᵀ' : ''} (${k1} vs ${k2})`);
    const shape = c ? broadcastShapes(op, [m, nn], c.shape) : [m, nn];
    return [{ dtype: 'float32', shape }];
  },
  grad: (n, [gy]) => {
    const [a, b, c] = n.inputs;
    const ta = attrInt(n.attrs, 'transA', 0) === 1;
    const tb = attrInt(n.attrs, 'transB', 0) === 1;
    const g = gy!;
    let ga: Value;
    let gb: Value;
    if (!ta && !tb) [ga, gb] = [gemm(g, b!, null, { transB: true }), gemm(a!, g, null, { transA: true })];
    else if (!ta && tb) [ga, gb] = [gemm(g, b!), gemm(g, a!, null, { transA: true })];
    else if (ta && !tb) [ga, gb] = [gemm(b!, g, null, { transB: true }), gemm(a!, g)];
    else [ga, gb] = [gemm(b!, g, null, { transA: true, transB: true }), gemm(g, a!, null, { transA: true, transB: true })];
    return [ga, gb, c ? sumTo(g, c.shape) : null];
  },
});
