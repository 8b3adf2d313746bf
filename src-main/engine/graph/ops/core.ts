// The op registry: each op type has a shape-inference rule and (if differentiable) a gradient rule
// that builds the backward nodes from standard ONNX ops. Op files call defineOp() beside their
// builders; apply() validates inputs, infers output shapes and appends the node.
import { GraphError, type Attrs, type DType, type Graph, type Node, type Shape, type Tensor, type Value } from '../graph.ts';

export type OutSpec = { dtype: DType; shape: Shape };
/** Given the forward node and the gradients of its outputs (null = no gradient), return input gradients. */
export type GradRule = (node: Node, gys: (Value | null)[]) => (Value | null)[];

export interface OpDef {
  type: string;
  infer(inputs: (Value | null)[], attrs: Attrs, op: string): OutSpec[];
  /** Absent: the op is not differentiable; asking for its gradient is an error naming op and node. */
  grad?: GradRule;
  /** Outputs carry no gradient (comparisons, shapes, integer ops): autodiff stops here silently. */
  noGrad?: boolean;
  /** Operator set of the op when it is not standard ONNX (e.g. 'com.microsoft', onnxruntime's contrib ops). */
  domain?: string;
}

const registry = new Map<string, OpDef>();

export function defineOp(def: OpDef): void {
  if (registry.has(def.type)) throw new GraphError(`op ${def.type} defined twice`);
  registry.set(def.type, def);
}

export function opDef(type: string): OpDef | undefined {
  return registry.get(type);
}

export function registeredOps(): string[] {
  return [...registry.keys()].sort();
}

export function graphOf(...xs: (Value | number | null | undefined)[]): Graph {
  for (const x of xs) if (x && typeof x === 'object') return x.graph;
  throw new GraphError('cannot find the graph: no tensor among the arguments');
}

/** Append an op node and return its outputs. */
export function applyMany(type: string, inputs: (Value | null)[], attrs: Attrs = {}): Value[] {
  const def = registry.get(type);
  if (!def) throw new GraphError(`unknown op '${type}'`);
  const g = graphOf(...inputs);
  const outs = def.infer(inputs, attrs, type);
  return g.addNode(type, inputs, attrs, outs, def.domain);
}

export function apply(type: string, inputs: (Value | null)[], attrs: Attrs = {}): Value {
  return applyMany(type, inputs, attrs)[0];
}

// ---- constants, cached per graph ----

const constCache = new WeakMap<Graph, Map<string, Value>>();

function cached(g: Graph, key: string, make: () => Tensor, name: string): Value {
  let m = constCache.get(g);
  if (!m) constCache.set(g, (m = new Map()));
  let v = m.get(key);
  if (!v) m.set(key, (v = g.constant(make(), name)));
  return v;
}

export function scalar(g: Graph, x: number, dtype: DType = 'float32'): Value {
  return cached(g, `s:${dtype}:${x}`, () => ({ dtype, shape: [], data: dtype === 'int64' ? BigInt64Array.of(BigInt(x)) : dtype === 'int32' ? Int32Array.of(x) : dtype === 'bool' ? Uint8Array.of(x ? 1 : 0) : Float32Array.of(x) }), 'scalar');
}

export function ints(g: Graph, xs: number[]): Value {
  return cached(g, `i64:${xs.join(',')}`, () => ({ dtype: 'int64', shape: [xs.length], data: BigInt64Array.from(xs.map((x) => BigInt(x))) }), 'ints');
}

export function constTensor(g: Graph, t: Tensor, name = 'const'): Value {
  return g.constant(t, name);
}

/** Accept a tensor or a plain number (made a scalar constant of the other operand's dtype). */
export function lift(x: Value | number, like: Value | number): Value {
  if (typeof x !== 'number') return x;
  if (typeof like === 'number') throw new GraphError('cannot build an op from two plain numbers');
  return scalar(like.graph, x, like.dtype);
}

export function expectDType(op: string, x: Value, ...allowed: DType[]): void {
  if (!allowed.includes(x.dtype)) throw new GraphError(`${op}: input ${x} must be ${allowed.join(' or ')}`);
}

export function attrInt(attrs: Attrs, name: string, dflt: number): number {
  const v = attrs[name];
  return v === undefined ? dflt : (v as number);
}

export function attrInts(attrs: Attrs, name: string, dflt: number[]): number[] {
  const v = attrs[name];
  return v === undefined ? dflt : (v as number[]);
}

/** Read a small int64 constant (a shape or axes input) at build time. */
export function constInts(v: Value | null, what: string): number[] {
  if (!v) throw new GraphError(`${what}: missing`);
  const t = v.graph.consts.get(v);
  if (!t || t.dtype !== 'int64') throw new GraphError(`${what}: must be a constant int64 tensor, got ${v}`);
  return Array.from(t.data as BigInt64Array, Number);
}
