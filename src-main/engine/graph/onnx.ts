// ONNX export: the part of a Graph needed for the requested outputs becomes a ModelProto (opset 17,
// IR 8), encoded with protobufjs from a schema of the onnx.proto messages we use (field numbers
// from the ONNX spec). Parameters and data are graph inputs; constants become initializers.
// Nodes of another domain (onnxruntime's contrib ops, ops/contrib.ts) add that domain's opset import.
import protobuf from 'protobufjs';
import { GraphError, type AttrValue, type DType, type Graph, type Node, type Tensor, type Value } from './graph.ts';

export const OPSET = 17;
/** Versions of the non-standard operator sets an exported node may use. */
const DOMAIN_OPSETS: Record<string, number> = { 'com.microsoft': 1 };
const IR_VERSION = 8;
const ELEM: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9 };
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'epsilon', 'extrapolation_value', 'cubic_coeff_a', 'momentum', 'lambd', 'bias', 'gamma', 'seed']);

const f = (id: number, type: string, rule?: 'repeated') => ({ id, type, ...(rule ? { rule } : {}) });
const schema = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: { fields: { key: f(1, 'string'), value: f(2, 'string') } },
        OperatorSetIdProto: { fields: { domain: f(1, 'string'), version: f(2, 'int64') } },
        TensorProto: {
          fields: { dims: f(1, 'int64', 'repeated'), dataType: f(2, 'int32'), name: f(8, 'string'), rawData: f(9, 'bytes') },
        },
        AttributeProto: {
          fields: {
            name: f(1, 'string'), f: f(2, 'float'), i: f(3, 'int64'), s: f(4, 'bytes'), t: f(5, 'TensorProto'),
            floats: f(7, 'float', 'repeated'), ints: f(8, 'int64', 'repeated'), strings: f(9, 'bytes', 'repeated'), type: f(20, 'int32'),
          },
        },
        NodeProto: {
          fields: {
            input: f(1, 'string', 'repeated'), output: f(2, 'string', 'repeated'), name: f(3, 'string'), opType: f(4, 'string'),
            attribute: f(5, 'AttributeProto', 'repeated'), domain: f(7, 'string'),
          },
        },
        Dimension: { fields: { dimValue: f(1, 'int64'), dimParam: f(2, 'string') } },
        TensorShapeProto: { fields: { dim: f(1, 'Dimension', 'repeated') } },
        TensorTypeProto: { fields: { elemType: f(1, 'int32'), shape: f(2, 'TensorShapeProto') } },
        TypeProto: { fields: { tensorType: f(1, 'TensorTypeProto') } },
        ValueInfoProto: { fields: { name: f(1, 'string'), type: f(2, 'TypeProto') } },
        GraphProto: {
          fields: {
            node: f(1, 'NodeProto', 'repeated'), name: f(2, 'string'), initializer: f(5, 'TensorProto', 'repeated'),
            input: f(11, 'ValueInfoProto', 'repeated'), output: f(12, 'ValueInfoProto', 'repeated'),
          },
        },
        ModelProto: {
          fields: {
            irVersion: f(1, 'int64'), producerName: f(2, 'string'), producerVersion: f(3, 'string'), graph: f(7, 'GraphProto'),
            opsetImport: f(8, 'OperatorSetIdProto', 'repeated'), metadataProps: f(14, 'StringStringEntryProto', 'repeated'),
          },
        },
      },
    },
  },
});
const ModelProto = schema.lookupType('onnx.ModelProto');

function bytesOf(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function tensorProto(t: Tensor, name: string) {
  return { dims: t.shape, dataType: ELEM[t.dtype], name, rawData: bytesOf(t) };
}

function attrProto(name: string, v: AttrValue) {
  if (typeof v === 'string') return { name, s: new TextEncoder().encode(v), type: 3 };
  if (typeof v === 'number') return FLOAT_ATTRS.has(name) ? { name, f: v, type: 1 } : { name, i: v, type: 2 };
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'string') return { name, strings: (v as string[]).map((s) => new TextEncoder().encode(s)), type: 8 };
    return FLOAT_ATTRS.has(name) ? { name, floats: v, type: 6 } : { name, ints: v, type: 7 };
  }
  return { name, t: tensorProto(v, name), type: 4 };
}

function valueInfo(v: Value, name = v.name) {
  const dim = v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: ELEM[v.dtype], shape: { dim } } } };
}

export interface ExportedModel {
  bytes: Uint8Array;
  /** Graph inputs the model needs, in declaration order (params included). */
  inputs: Value[];
  outputNames: string[];
}

/** The nodes needed to compute `targets`, in graph (topological) order. */
export function liveNodes(g: Graph, targets: Value[]): Node[] {
  const need = new Set<Node>();
  const stack = targets.map((t) => t.producer).filter((n): n is Node => n !== null);
  while (stack.length) {
    const n = stack.pop()!;
    if (need.has(n)) continue;
    need.add(n);
    for (const x of n.inputs) if (x?.producer && !need.has(x.producer)) stack.push(x.producer);
  }
  return g.nodes.filter((n) => need.has(n));
}

export function exportOnnx(g: Graph, outputs: Record<string, Value>, meta: Record<string, string> = {}): ExportedModel {
  const targets = Object.values(outputs);
  for (const [name, v] of Object.entries(outputs)) if (v.graph !== g) throw new GraphError(`output '${name}' belongs to another graph`);
  const nodes = liveNodes(g, targets);
  const used = new Set<Value>(targets);
  for (const n of nodes) for (const x of n.inputs) if (x) used.add(x);
  const inputs = g.inputs.filter((v) => used.has(v));
  const initializers = [...g.consts].filter(([v]) => used.has(v)).map(([v, t]) => tensorProto(t, v.name));

  const nodeProtos = nodes.map((n) => ({
    input: n.inputs.map((x) => (x ? x.name : '')),
    output: n.outputs.map((o) => o.name),
    name: n.name,
    opType: n.op,
    domain: n.domain ?? '',
    attribute: Object.entries(n.attrs).map(([k, v]) => attrProto(k, v)),
  }));
  const outs = Object.entries(outputs).map(([name, v]) => {
    if (v.name !== name) nodeProtos.push({ input: [v.name], output: [name], name: `out/${name}`, opType: 'Identity', domain: '', attribute: [] });
    return valueInfo(v, name);
  });
  const domains = [...new Set(nodes.map((n) => n.domain ?? '').filter((d) => d !== ''))];
  for (const d of domains) if (!(d in DOMAIN_OPSETS)) throw new GraphError(`ONNX export: no opset version known for domain '${d}' (known: ${Object.keys(DOMAIN_OPSETS).join(', ')})`);
  const model = {
    irVersion: IR_VERSION,
    producerName: 'tessera',
    producerVersion: '0.1',
    opsetImport: [{ domain: '', version: OPSET }, ...domains.map((domain) => ({ domain, version: DOMAIN_OPSETS[domain] }))],
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
    graph: { name: g.name, node: nodeProtos, initializer: initializers, input: inputs.map((v) => valueInfo(v)), output: outs },
  };
  const err = ModelProto.verify(model);
  if (err) throw new GraphError(`ONNX export: ${err}`);
  return { bytes: ModelProto.encode(ModelProto.create(model)).finish(), inputs, outputNames: Object.keys(outputs) };
}

/**
 * The float32 initializers of an ONNX model (name → shape and values): the weights an exported model
 * holds baked in (e.g. a memory's encoder.onnx). Errors name `file`.
 */
export function readOnnxInitializers(bytes: Uint8Array, file: string): Map<string, { shape: number[]; data: Float32Array }> {
  let model: { graph?: { initializer?: { name?: string; dims?: (number | { toNumber(): number })[]; dataType?: number; rawData?: Uint8Array }[] } };
  try {
    model = ModelProto.decode(bytes) as typeof model;
  } catch (err) {
    throw new GraphError(`${file}: not an ONNX model (${(err as Error).message})`);
  }
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataType !== ELEM.float32 || !t.name) continue;
    const shape = (t.dims ?? []).map((d) => (typeof d === 'number' ? d : d.toNumber()));
    const raw = t.rawData ?? new Uint8Array(0);
    const n = shape.reduce((a, b) => a * b, 1);
    if (raw.byteLength !== n * 4) throw new GraphError(`${file}: initializer '${t.name}' has ${raw.byteLength} bytes of data, its shape [${shape}] needs ${n * 4}`);
    out.set(t.name, { shape, data: new Float32Array(new Uint8Array(raw).buffer) }); // a copy (protobufjs may hand a view of `bytes`): aligned
  }
  return out;
}
