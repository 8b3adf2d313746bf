// Vector quantization in the graph: nearest-code lookup (cosine on l2-normalised vectors, or
// Euclidean), the straight-through estimator, commitment and codebook losses, and residual (stacked)
// quantization with D levels. Follows VQ-VAE / LlamaGen (cosine codes) and RQ-VAE (residual levels).
// The lookup is MatMul + ArgMax + Gather; gradients stop at the index, and stopGradient (ops/nograd.ts)
// carries the straight-through estimator: quantized = z + sg(q − z).
import { GraphError, type Value } from '../graph/graph.ts';
import { add, argMax, div, gather, gemm, mul, reduceMean, reduceSum, sqrt, stopGradient, sub } from '../graph/ops/index.ts';

export type Metric = 'cosine' | 'euclidean';

export interface VqOptions {
  /** cosine (default): z and C are l2-normalised and the code of max cosine is picked. */
  metric?: Metric;
  /** Weight of the commitment loss β·mean((z − sg(q))²) (default 0.25). */
  beta?: number;
  /** Add the codebook loss mean((sg(z) − q)²): only when C is trained by gradient, not by EMA. */
  codebookLoss?: boolean;
}

export interface VqOut {
  /** The straight-through output z + sg(q − z): value q, gradient passed to z unchanged. (N, D) */
  quantized: Value;
  /** The selected codes q (gradient flows to the codebook through Gather). (N, D) */
  codes: Value;
  /** Nearest code per row, int64. (N) */
  indices: Value;
  /** z as it was quantized (l2-normalised for cosine): what EMA updates average. (N, D) */
  input: Value;
  /** β·mean((z − sg(q))²), a scalar. */
  commitLoss: Value;
  /** mean((sg(z) − q)²), or null when codebookLoss is off. */
  codebookLoss: Value | null;
}

/** x / √(Σx² + ε) over the last axis.   x (…, D) */
export function l2Normalize(x: Value, eps = 1e-12): Value {
  return div(x, sqrt(add(reduceSum(mul(x, x), [-1], true), eps))); // (…, D)
}

/** Index of the nearest code for each row of z.   z (N, D), C (K, D) → (N) int64 */
export function nearestCode(z: Value, C: Value, metric: Metric): Value {
  if (metric === 'cosine') return argMax(gemm(z, C, null, { transB: true }), 1); // z, C already normalised
  // argmin ‖z − c‖² = argmax (z·c − ½‖c‖²)
  const halfNorm = mul(reduceSum(mul(C, C), [-1]), 0.5); // (K)
  return argMax(sub(gemm(z, C, null, { transB: true }), halfNorm), 1); // (N, K) → (N)
}

const meanSq = (d: Value) => reduceMean(mul(d, d), []);

function checkShapes(z: Value, C: Value, what: string): void {
  if (z.rank !== 2 || C.rank !== 2) throw new GraphError(`${what}: expects z (N, D) and codebook (K, D), got ${z} and ${C}`);
  if (typeof z.shape[1] === 'number' && typeof C.shape[1] === 'number' && z.shape[1] !== C.shape[1])
    throw new GraphError(`${what}: code dim of z ${z} (${z.shape[1]}) differs from codebook ${C} (${C.shape[1]})`);
}

/** One-level vector quantizer.   z (N, D) encoder outputs, C (K, D) codebook (param or input). */
export function vectorQuantize(z: Value, C: Value, opts: VqOptions = {}): VqOut {
  checkShapes(z, C, 'vectorQuantize');
  const metric = opts.metric ?? 'cosine';
  const beta = opts.beta ?? 0.25;
  const zq = metric === 'cosine' ? l2Normalize(z) : z; // (N, D)
  const cq = metric === 'cosine' ? l2Normalize(C) : C; // (K, D)
  const indices = nearestCode(stopGradient(zq), stopGradient(cq), metric); // (N)
  const codes = gather(cq, indices, 0); // (N, D)
  const quantized = add(zq, stopGradient(sub(codes, zq))); // (N, D)
  return {
    quantized, codes, indices, input: zq,
    commitLoss: mul(meanSq(sub(zq, stopGradient(codes))), beta),
    codebookLoss: opts.codebookLoss ? meanSq(sub(stopGradient(zq), codes)) : null,
  };
}

export interface ResidualOptions {
  /** l2-normalise z before the first level (the levels then quantize the unit vector). Default false. */
  normalize?: boolean;
  beta?: number;
  codebookLoss?: boolean;
}

export interface ResidualOut {
  /** z + sg(Σ_l q_l − z). (N, D) */
  quantized: Value;
  /** Σ_l q_l, with gradient to every codebook. (N, D) */
  codes: Value;
  /** One (N) int64 index tensor per level. */
  indices: Value[];
  /** The input of each level: r_0 = z, r_{l+1} = r_l − q_l (what level l's EMA averages). (N, D) each */
  residuals: Value[];
  /** β·Σ_l mean((z − sg(Σ_{i≤l} q_i))²) (RQ-VAE's commitment over partial sums). */
  commitLoss: Value;
  /** Σ_l mean((sg(r_l) − q_l)²), or null. */
  codebookLoss: Value | null;
}

/**
 * Residual (stacked) quantization with D = codebooks.length levels and Euclidean lookup: level l
 * quantizes the residual left by levels < l; the output is the sum of the D codes.
 * z (N, D), each codebook (K_l, D).
 */
export function residualQuantize(z: Value, codebooks: Value[], opts: ResidualOptions = {}): ResidualOut {
  if (codebooks.length === 0) throw new GraphError('residualQuantize: needs at least one codebook level');
  const beta = opts.beta ?? 0.25;
  const z0 = opts.normalize ? l2Normalize(z) : z; // (N, D)
  const indices: Value[] = [];
  const residuals: Value[] = [];
  let r = z0;
  let sum: Value | null = null;
  let commit: Value | null = null;
  let cbLoss: Value | null = null;
  for (const [l, C] of codebooks.entries()) {
    checkShapes(z, C, `residualQuantize level ${l}`);
    residuals.push(r);
    const idx = nearestCode(stopGradient(r), stopGradient(C), 'euclidean'); // (N)
    const q = gather(C, idx, 0); // (N, D)
    indices.push(idx);
    sum = sum ? add(sum, q) : q; // (N, D)
    const c = meanSq(sub(z0, stopGradient(sum)));
    commit = commit ? add(commit, c) : c;
    if (opts.codebookLoss) {
      const cb = meanSq(sub(stopGradient(r), q));
      cbLoss = cbLoss ? add(cbLoss, cb) : cb;
    }
    r = sub(r, stopGradient(q)); // (N, D) the next level's input carries no codebook gradient
  }
  return {
    quantized: add(z0, stopGradient(sub(sum!, z0))),
    codes: sum!,
    indices, residuals,
    commitLoss: mul(commit!, beta),
    codebookLoss: cbLoss,
  };
}
