// The graph IR: values (symbolic tensors), nodes (one ONNX op each) and the Graph that owns them.
// Model code builds a Graph through the op functions in ops/; autodiff appends the backward pass to
// the same Graph; onnx.ts exports the part needed for the requested outputs as an ONNX ModelProto.
// Shapes are static numbers or symbolic names ('B', 'T', 'B*T'); ops infer their output shapes.

export type DType = 'float32' | 'int64' | 'int32' | 'bool';
export type Dim = number | string;
export type Shape = Dim[];
export type AttrValue = number | string | number[] | string[] | Tensor;
export type Attrs = Record<string, AttrValue>;

/** Host-side tensor data: what goes in and out of sessions and into constants. */
export type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array;
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export class GraphError extends Error {
  override name = 'GraphError';
}

export class Value {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    public name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly producer: Node | null,
    readonly kind: 'input' | 'param' | 'const' | 'node',
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  toString(): string {
    return `${this.name}:${this.dtype}[${this.shape.join(',')}]`;
  }
}

export interface Node {
  id: number;
  op: string;
  name: string;
  inputs: (Value | null)[];
  outputs: Value[];
  attrs: Attrs;
  domain?: string;
}

export interface ParamInfo {
  value: Value;
  /** Frozen parameters are graph inputs that receive no gradient. */
  trainable: boolean;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly params = new Map<string, ParamInfo>();
  readonly consts = new Map<Value, Tensor>();
  private nextId = 0;
  private names = new Set<string>();
  private scope: string[] = [];

  constructor(readonly name = 'tessera') {}

  private uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Prefix node names inside fn with `prefix/` (for readable graphs and error messages). */
  withScope<T>(prefix: string, fn: () => T): T {
    this.scope.push(prefix);
    try {
      return fn();
    } finally {
      this.scope.pop();
    }
  }

  input(name: string, dtype: DType, shape: Shape): Value {
    if (this.names.has(name)) throw new GraphError(`graph input '${name}' is declared twice`);
    const v = new Value(this, this.nextId++, this.uniqueName(name), dtype, [...shape], null, 'input');
    this.inputs.push(v);
    return v;
  }

  /** A parameter: a float32 graph input named by its checkpoint key. Declaring it again returns it. */
  param(name: string, shape: number[], trainable = true): Value {
    const existing = this.params.get(name);
    if (existing) {
      if (existing.value.shape.join(',') !== shape.join(','))
        throw new GraphError(`parameter '${name}' declared with shape [${shape}] but exists as [${existing.value.shape}]`);
      return existing.value;
    }
    if (this.names.has(name)) throw new GraphError(`parameter name '${name}' collides with another value`);
    const v = new Value(this, this.nextId++, this.uniqueName(name), 'float32', [...shape], null, 'param');
    this.params.set(name, { value: v, trainable });
    this.inputs.push(v);
    return v;
  }

  constant(t: Tensor, name = 'const'): Value {
    const v = new Value(this, this.nextId++, this.uniqueName(name), t.dtype, [...t.shape], null, 'const');
    this.consts.set(v, t);
    return v;
  }

  /** Append a node; output shapes come from the op's inference (see registry.ts). */
  addNode(op: string, inputs: (Value | null)[], attrs: Attrs, outs: { dtype: DType; shape: Shape }[], domain?: string): Value[] {
    for (const x of inputs) if (x && x.graph !== this) throw new GraphError(`${op}: input ${x} belongs to another graph`);
    const id = this.nextId++;
    const name = this.uniqueName([...this.scope, op].join('/'));
    const node: Node = { id, op, name, inputs, outputs: [], attrs, domain };
    node.outputs = outs.map((o, i) => new Value(this, this.nextId++, this.uniqueName(`${name}:${i}`), o.dtype, o.shape, node, 'node'));
    this.nodes.push(node);
    return node.outputs;
  }
}

// ---- shape helpers shared by ops and autodiff ----

export function fmtShape(s: Shape): string {
  return `[${s.join(',')}]`;
}

export function isStatic(s: Shape): s is number[] {
  return s.every((d) => typeof d === 'number');
}

export function staticShape(v: Value, what: string): number[] {
  if (!isStatic(v.shape)) throw new GraphError(`${what}: needs a static shape, got ${v} `);
  return v.shape;
}

export function numel(s: number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

/** Symbolic product of dims: numbers multiply, names join with '*' (sorted, so B*T == T*B). */
export function dimProduct(dims: Dim[]): Dim {
  let n = 1;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else syms.push(...d.split('*').filter((s) => s !== '1'));
  }
  if (syms.length === 0) return n;
  syms.sort();
  return n === 1 ? syms.join('*') : [String(n), ...syms].join('*');
}

/** Divide a symbolic product by another; returns null when it cannot be expressed. */
export function dimDivide(num: Dim, den: Dim): Dim | null {
  const split = (d: Dim): [number, string[]] => {
    if (typeof d === 'number') return [d, []];
    let n = 1;
    const s: string[] = [];
    for (const f of d.split('*')) if (/^\d+$/.test(f)) n *= Number(f); else s.push(f);
    return [n, s];
  };
  const [nn, ns] = split(num);
  const [dn, ds] = split(den);
  if (nn % dn !== 0) return null;
  const rest = [...ns];
  for (const s of ds) {
    const i = rest.indexOf(s);
    if (i < 0) return null;
    rest.splice(i, 1);
  }
  return dimProduct([nn / dn, ...rest]);
}

/** Numpy-style broadcast of shapes; throws naming the op and both shapes on a mismatch. */
export function broadcastShapes(op: string, ...shapes: Shape[]): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const e = s[s.length - rank + i] ?? 1;
      if (e === 1) continue;
      if (d === 1) d = e;
      else if (d !== e) {
        if (typeof d === 'number' && typeof e === 'number')
          throw new GraphError(`${op}: shapes ${shapes.map(fmtShape).join(' and ')} do not broadcast (axis ${i}: ${d} vs ${e})`);
        if (typeof d === 'string' && typeof e === 'number') d = e; // a name meets a number: trust the number
      }
    }
    out.push(d);
  }
  return out;
}

export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new GraphError(`${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}
