// Gradient checking: for each case, builds out = f(inputs), loss = Σ out ⊙ R (R random), exports the
// analytic gradients and the forward loss as ONNX, and compares against central finite differences
// on sampled elements of every float input, run through onnxruntime. Also checks that every op with
// a gradient rule is covered by some case.
import { Graph, type Tensor, type Value } from '../graph/graph.ts';
import { mul, opDef, reduceSum, registeredOps } from '../graph/ops/index.ts';
import { exportOnnx } from '../graph/onnx.ts';
import { Session } from '../runtime/session.ts';
import { Rng } from '../util/rng.ts';
import { gradients } from './grad.ts';

export type InputSpec =
  | { shape: number[]; dist?: 'normal' | 'positive' | 'distinct' | 'away'; offset?: number }
  | { shape: number[]; int: number; values?: number[] }
  | { shape: number[]; bool: true };

export interface GradCase {
  name: string;
  /** Op types (or composite names) this case exercises. */
  ops: string[];
  inputs: InputSpec[];
  build(xs: Value[]): Value;
  eps?: number;
  tol?: number;
}

export interface CaseResult {
  name: string;
  ops: string[];
  maxRelErr: number;
  checked: number;
  ok: boolean;
  error?: string;
}

export interface GradcheckReport {
  ops: number;
  failed: string[];
  max_rel_err: number;
  cases: CaseResult[];
}

function makeInput(spec: InputSpec, rng: Rng): Tensor {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  if ('bool' in spec) return { dtype: 'bool', shape: spec.shape, data: Uint8Array.from({ length: n }, () => (rng.uniform() < 0.5 ? 1 : 0)) };
  if ('int' in spec) {
    const vals = spec.values ?? Array.from({ length: n }, () => rng.int(spec.int));
    return { dtype: 'int64', shape: spec.shape, data: BigInt64Array.from(vals.map(BigInt)) };
  }
  const d = new Float32Array(n);
  const dist = spec.dist ?? 'normal';
  if (dist === 'normal') rng.fillNormal(d);
  else if (dist === 'positive') rng.fillUniform(d, 0.5, 2);
  else if (dist === 'away') for (let i = 0; i < n; i++) d[i] = (rng.uniform() < 0.5 ? -1 : 1) * (0.2 + Math.abs(rng.normal()));
  else {
    // distinct: a shuffled ramp with gaps of 0.1, so max/min ties never flip under ±eps
    const idx = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    for (let i = 0; i < n; i++) d[i] = (idx[i] - n / 2) * 0.1 + (spec.offset ?? 0);
  }
  return { dtype: 'float32', shape: spec.shape, data: d };
}

const isFloat = (s: InputSpec) => !('int' in s) && !('bool' in s);

export async function checkCase(c: GradCase, seed = 0): Promise<CaseResult> {
  const rng = new Rng(seed);
  const eps = c.eps ?? 1e-2;
  const tol = c.tol ?? 1e-2;
  try {
    const g = new Graph(c.name);
    const xs = c.inputs.map((s, i) => g.input(`x${i}`, 'bool' in s ? 'bool' : 'int' in s ? 'int64' : 'float32', s.shape));
    const out = c.build(xs);
    const rShape = out.shape as number[];
    const r = g.constant({ dtype: 'float32', shape: rShape, data: rng.fillNormal(new Float32Array(rShape.reduce((a, b) => a * b, 1))) }, 'R');
    const loss = reduceSum(mul(out, r), []);
    const wrt = xs.filter((_, i) => isFloat(c.inputs[i]));
    const grads = gradients(loss, wrt);
    const outputs: Record<string, Value> = { loss };
    grads.forEach((gv, i) => {
      if (!gv) throw new Error(`no gradient reaches input ${wrt[i].name}`);
      outputs[`g${i}`] = gv;
    });
    const full = await Session.create(exportOnnx(g, outputs).bytes, { threads: 1 });
    const fwd = await Session.create(exportOnnx(g, { loss }).bytes, { threads: 1 });
    const feeds: Record<string, Tensor> = {};
    c.inputs.forEach((s, i) => (feeds[xs[i].name] = makeInput(s, rng)));
    const analytic = await full.run(feeds);
    const lossAt = async () => ((await fwd.run(feeds)).loss.data as Float32Array)[0];
    let maxRel = 0;
    let checked = 0;
    for (let k = 0; k < wrt.length; k++) {
      const x = feeds[wrt[k].name].data as Float32Array;
      const ga = analytic[`g${k}`].data as Float32Array;
      const picks = x.length <= 8 ? x.map((_, i) => i) : Array.from({ length: 8 }, () => rng.int(x.length));
      for (const i of picks) {
        const x0 = x[i];
        x[i] = x0 + eps;
        const lp = await lossAt();
        x[i] = x0 - eps;
        const lm = await lossAt();
        x[i] = x0;
        const fd = (lp - lm) / (2 * eps);
        const rel = Math.abs(ga[i] - fd) / Math.max(Math.abs(ga[i]), Math.abs(fd), 0.05);
        maxRel = Math.max(maxRel, rel);
        checked++;
      }
    }
    await full.release();
    await fwd.release();
    return { name: c.name, ops: c.ops, maxRelErr: maxRel, checked, ok: maxRel <= tol };
  } catch (err) {
    return { name: c.name, ops: c.ops, maxRelErr: Infinity, checked: 0, ok: false, error: (err as Error).message };
  }
}

export async function runGradcheck(cases: GradCase[], onCase?: (r: CaseResult) => void): Promise<GradcheckReport> {
  const results: CaseResult[] = [];
  for (const [i, c] of cases.entries()) {
    const r = await checkCase(c, 1000 + i);
    results.push(r);
    onCase?.(r);
  }
  const covered = new Set(results.flatMap((r) => r.ops));
  const failed = results.filter((r) => !r.ok).map((r) => (r.error ? `${r.name}: ${r.error}` : `${r.name} (rel err ${r.maxRelErr.toExponential(2)})`));
  for (const op of registeredOps()) if (opDef(op)?.grad && !covered.has(op)) failed.push(`${op}: has a gradient rule but no gradcheck case`);
  return {
    ops: covered.size,
    failed,
    max_rel_err: Math.max(0, ...results.map((r) => r.maxRelErr)),
    cases: results,
  };
}
