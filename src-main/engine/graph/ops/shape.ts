// Movement ops: Reshape, Transpose, Concat, Split, Slice, Squeeze/Unsqueeze, Expand, and the shape
// helpers Shape/ConstantOfShape/Identity. Shape inputs are int64 constants or Shape(x) outputs, so
// inference stays symbolic (a batch of 'B' stays 'B') and gradients reuse Shape(x) at run time.
import { dimDivide, dimProduct, GraphError, fmtShape, isStatic, normAxis, staticShape, type Dim, type Shape, type Value } from '../graph.ts';
import { apply, applyMany, attrInt, constInts, defineOp, ints, type OpDef } from './core.ts';
import { sumTo } from './reduce.ts';

const shapeCache = new WeakMap<Value, Value>();

/** Shape(x) as a graph value (one node per x). */
export function shapeOf(x: Value): Value {
  let s = shapeCache.get(x);
  if (!s) shapeCache.set(x, (s = apply('Shape', [x])));
  return s;
}

/** The dims a shape-valued input stands for, known at build time. */
export function shapeDims(v: Value, what: string): Shape {
  const p = v.producer;
  if (p?.op === 'Shape') return [...p.inputs[0]!.shape];
  if (p?.op === 'Concat') return p.inputs.flatMap((x) => shapeDims(x!, what));
  if (p?.op === 'Slice') {
    const dims = shapeDims(p.inputs[0]!, what);
    const [s, e] = [constInts(p.inputs[1], what)[0], constInts(p.inputs[2], what)[0]];
    const norm = (i: number) => Math.max(0, Math.min(dims.length, i < 0 ? i + dims.length : i));
    return dims.slice(norm(s), norm(e));
  }
  return constInts(v, what);
}

/** Reshape a 2-D (N, K) result back to x's leading dims: (…x.shape[:-1], K). */
export function unflattenLike(y2: Value, x: Value): Value {
  if (x.rank === 2) return y2;
  const lead = slice(shapeOf(x), [0], [x.rank - 1], [0]);
  return reshape(y2, concat([lead, ints(x.graph, [y2.shape[1] as number])], 0));
}

export function reshape(x: Value, shape: number[] | Value): Value {
  return apply('Reshape', [x, Array.isArray(shape) ? ints(x.graph, shape) : shape]);
}
export const transpose = (x: Value, perm: number[]) => apply('Transpose', [x], { perm });
export const concat = (xs: Value[], axis: number) => apply('Concat', xs, { axis });
export function split(x: Value, sizes: number[], axis: number): Value[] {
  return applyMany('Split', [x, ints(x.graph, sizes)], { axis });
}
/** Slice with constant starts/ends on the given axes (step 1 unless steps given). */
export function slice(x: Value, starts: number[], ends: number[], axes: number[], steps?: number[]): Value {
  const g = x.graph;
  return apply('Slice', [x, ints(g, starts), ints(g, ends), ints(g, axes), ...(steps ? [ints(g, steps)] : [])]);
}
export const unsqueeze = (x: Value, axes: number[]) => apply('Unsqueeze', [x, ints(x.graph, axes)]);
export const squeeze = (x: Value, axes: number[]) => apply('Squeeze', [x, ints(x.graph, axes)]);
export function expand(x: Value, shape: number[] | Value): Value {
  return apply('Expand', [x, Array.isArray(shape) ? ints(x.graph, shape) : shape]);
}
export const identity = (x: Value) => apply('Identity', [x]);
/** A float tensor of zeros shaped like x (or like the given shape value). */
export function zerosLike(x: Value): Value {
  return apply('ConstantOfShape', [shapeOf(x)], { value: { dtype: 'float32', shape: [1], data: Float32Array.of(0) } });
}
export function zeros(like: Value, shape: number[]): Value {
  return apply('ConstantOfShape', [ints(like.graph, shape)], { value: { dtype: 'float32', shape: [1], data: Float32Array.of(0) } });
}

function reshapeInfer(x: Value, target: Shape, op: string): Shape {
  const out: Dim[] = target.map((d, i) => (d === 0 ? x.shape[i] : d));
  const minus = out.indexOf(-1);
  if (out.filter((d) => d === -1).length > 1) throw new GraphError(`${op}: more than one -1 in target ${fmtShape(target)}`);
  const total = dimProduct(x.shape);
  if (minus >= 0) {
    const known = dimProduct(out.filter((_, i) => i !== minus));
    const rest = dimDivide(total, known);
    if (rest === null) throw new GraphError(`${op}: cannot reshape ${fmtShape(x.shape)} to ${fmtShape(target)}`);
    out[minus] = rest;
  } else if (isStatic(x.shape) && isStatic(out) && dimProduct(out) !== total) {
    throw new GraphError(`${op}: cannot reshape ${fmtShape(x.shape)} (${total} elements) to ${fmtShape(target)}`);
  }
  return out;
}

const same: OpDef['infer'] = (inputs) => [{ dtype: inputs[0]!.dtype, shape: inputs[0]!.shape }];

defineOp({
  type: 'Reshape',
  infer: (inputs, _a, op) => [{ dtype: inputs[0]!.dtype, shape: reshapeInfer(inputs[0]!, shapeDims(inputs[1]!, `${op} shape`), op) }],
  grad: (n, [gy]) => [reshape(gy!, shapeOf(n.inputs[0]!)), null],
});
defineOp({
  type: 'Transpose',
  infer: (inputs, attrs, op) => {
    const x = inputs[0]!;
    const perm = (attrs.perm as number[]) ?? x.shape.map((_, i) => x.rank - 1 - i);
    if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) throw new GraphError(`${op}: perm [${perm}] does not fit ${x}`);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
  },
  grad: (n, [gy]) => {
    const perm = n.attrs.perm as number[];
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [transpose(gy!, inv)];
  },
});
defineOp({
  type: 'Concat',
  infer: (inputs, attrs, op) => {
    const xs = inputs as Value[];
    const axis = normAxis(attrInt(attrs, 'axis', 0), xs[0].rank, op);
    for (const x of xs) {
      if (x.rank !== xs[0].rank || x.dtype !== xs[0].dtype || x.shape.some((d, i) => i !== axis && d !== xs[0].shape[i] && typeof d === 'number' && typeof xs[0].shape[i] === 'number'))
        throw new GraphError(`${op}: inputs ${xs.join(', ')} do not match outside axis ${axis}`);
    }
    const shape = [...xs[0].shape];
    const parts = xs.map((x) => x.shape[axis]);
    shape[axis] = isStatic(parts) ? parts.reduce((a, b) => a + b, 0) : parts.join('+');
    return [{ dtype: xs[0].dtype, shape }];
  },
  grad: (n, [gy]) => {
    const xs = n.inputs as Value[];
    const axis = normAxis(n.attrs.axis as number, xs[0].rank, 'Concat');
    const sizes = xs.map((x) => x.shape[axis]);
    if (!isStatic(sizes)) throw new GraphError(`Concat gradient needs static sizes on axis ${axis}, got [${sizes}] (node ${n.name})`);
    return split(gy!, sizes, axis);
  },
});
defineOp({
  type: 'Split',
  infer: (inputs, attrs, op) => {
    const x = inputs[0]!;
    const axis = normAxis(attrInt(attrs, 'axis', 0), x.rank, op);
    const sizes = constInts(inputs[1]!, `${op} split`);
    const d = x.shape[axis];
    if (typeof d === 'number' && sizes.reduce((a, b) => a + b, 0) !== d) throw new GraphError(`${op}: sizes [${sizes}] do not sum to ${d} on axis ${axis} of ${x}`);
    return sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((e, i) => (i === axis ? s : e)) }));
  },
  grad: (n, gys) => {
    const filled = gys.map((gy, i) => gy ?? zeros(n.inputs[0]!, staticShape(n.outputs[i], 'Split gradient')));
    return [concat(filled, n.attrs.axis as number), null];
  },
});

function sliceSpec(inputs: (Value | null)[], op: string) {
  const x = inputs[0]!;
  const starts = constInts(inputs[1]!, `${op} starts`);
  const ends = constInts(inputs[2]!, `${op} ends`);
  const axes = inputs[3] ? constInts(inputs[3], `${op} axes`).map((a) => normAxis(a, x.rank, op)) : starts.map((_, i) => i);
  const steps = inputs[4] ? constInts(inputs[4], `${op} steps`) : starts.map(() => 1);
  return { x, starts, ends, axes, steps };
}

defineOp({
  type: 'Slice',
  infer: (inputs, _a, op) => {
    const { x, starts, ends, axes, steps } = sliceSpec(inputs, op);
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      const d = x.shape[a];
      if (typeof d === 'number') {
        const clamp = (v: number) => Math.max(0, Math.min(d, v < 0 ? v + d : v));
        shape[a] = Math.max(0, Math.ceil((clamp(ends[i]) - clamp(starts[i])) / steps[i]));
      } else if (starts[i] >= 0 && ends[i] >= 0 && ends[i] < 2 ** 31 - 1 && steps[i] === 1) shape[a] = ends[i] - starts[i];
      else shape[a] = `${d}[${starts[i]}:${ends[i]}]`;
    });
    return [{ dtype: x.dtype, shape }];
  },
  grad: (n, [gy]) => {
    // Pad the gradient with zeros back to the input's extent (static dims, step 1).
    const { x, starts, ends, axes, steps } = sliceSpec(n.inputs, 'Slice');
    const xs = staticShape(x, `Slice gradient (node ${n.name})`);
    const pads = new Array(2 * x.rank).fill(0);
    axes.forEach((a, i) => {
      if (steps[i] !== 1) throw new GraphError(`Slice gradient supports step 1 only (node ${n.name})`);
      const d = xs[a];
      const clamp = (v: number) => Math.max(0, Math.min(d, v < 0 ? v + d : v));
      pads[a] = clamp(starts[i]);
      pads[a + x.rank] = d - clamp(ends[i]);
    });
    return [apply('Pad', [gy!, ints(x.graph, pads)]), null, null, null, null];
  },
});
defineOp({
  type: 'Pad',
  infer: (inputs, _a, op) => {
    const x = inputs[0]!;
    const pads = constInts(inputs[1]!, `${op} pads`);
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (typeof d === 'number' ? d + pads[i] + pads[i + x.rank] : d)) }];
  },
  grad: (n, [gy]) => {
    const x = n.inputs[0]!;
    const pads = constInts(n.inputs[1]!, 'Pad pads');
    if (n.attrs.mode && n.attrs.mode !== 'constant') throw new GraphError(`Pad gradient supports constant mode only (node ${n.name})`);
    const axes = x.shape.map((_, i) => i);
    return [slice(gy!, axes.map((i) => pads[i]), axes.map((i) => -pads[i + x.rank] || 2 ** 62), axes), null];
  },
});
defineOp({
  type: 'Unsqueeze',
  infer: (inputs, _a, op) => {
    const x = inputs[0]!;
    const rank = x.rank + constInts(inputs[1]!, `${op} axes`).length;
    const axes = constInts(inputs[1]!, `${op} axes`).map((a) => normAxis(a, rank, op));
    const shape: Shape = [];
    let j = 0;
    for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : x.shape[j++]);
    return [{ dtype: x.dtype, shape }];
  },
  grad: (n, [gy]) => [reshape(gy!, shapeOf(n.inputs[0]!)), null],
});
defineOp({
  type: 'Squeeze',
  infer: (inputs, _a, op) => {
    const x = inputs[0]!;
    const axes = constInts(inputs[1]!, `${op} axes`).map((a) => normAxis(a, x.rank, op));
    for (const a of axes) if (x.shape[a] !== 1) throw new GraphError(`${op}: axis ${a} of ${x} is not 1`);
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
  },
  grad: (n, [gy]) => [reshape(gy!, shapeOf(n.inputs[0]!)), null],
});
defineOp({
  type: 'Expand',
  infer: (inputs, _a, op) => {
    const x = inputs[0]!;
    const target = shapeDims(inputs[1]!, `${op} shape`);
    const rank = Math.max(x.rank, target.length);
    const shape: Shape = [];
    for (let i = 0; i < rank; i++) {
      const a = x.shape[x.rank - rank + i] ?? 1;
      const b = target[target.length - rank + i] ?? 1;
      if (a !== 1 && b !== 1 && a !== b && typeof a === 'number' && typeof b === 'number')
        throw new GraphError(`${op}: cannot expand ${x} to ${fmtShape(target)}`);
      shape.push(a === 1 ? b : a);
    }
    return [{ dtype: x.dtype, shape }];
  },
  grad: (n, [gy]) => [sumTo(gy!, n.inputs[0]!.shape), null],
});
defineOp({ type: 'Identity', infer: same, grad: (_n, [gy]) => [gy] });
defineOp({ type: 'Shape', infer: (inputs) => [{ dtype: 'int64', shape: [inputs[0]!.rank] }], noGrad: true });
defineOp({ type: 'Size', infer: () => [{ dtype: 'int64', shape: [] }], noGrad: true });
defineOp({
  type: 'ConstantOfShape',
  infer: (inputs, attrs, op) => [{ dtype: (attrs.value as { dtype?: 'float32' })?.dtype ?? 'float32', shape: shapeDims(inputs[0]!, `${op} shape`) }],
  noGrad: true,
});
