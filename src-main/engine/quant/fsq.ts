// Finite scalar quantization (FSQ, Mentzer et al. 2023): the collapse-free control for the VQ
// tokenizers. Each of d bounded dims is rounded to one of L_i levels with the straight-through
// estimator; the implicit codebook has ∏ L_i codes and needs no codebook loss, EMA or restarts.
//   bound:  zb = tanh(z + shift)·h − offset,  h = (L−1)(1−ε)/2, offset = ½ for even L, shift = atanh(offset/h)
//   value:  round(zb) / ⌊L/2⌋ ∈ [−1, 1];  index: Σ_i (round(zb_i) + ⌊L_i/2⌋)·∏_{j<i} L_j
import { GraphError, type Value } from '../graph/graph.ts';
import { add, cast, div, mul, reduceSum, round, stopGradient, sub, tanh } from '../graph/ops/index.ts';

const EPS = 1e-3;

function checkLevels(levels: number[]): void {
  if (levels.length === 0 || levels.some((l) => !Number.isInteger(l) || l < 2))
    throw new GraphError(`fsq: levels must be integers >= 2, got [${levels}]`);
  if (fsqCodebookSize(levels) >= 2 ** 24) throw new GraphError(`fsq: ∏ levels = ${fsqCodebookSize(levels)} is too large for exact float32 indices (< 2^24)`);
}

/** The size of the implicit codebook, ∏ L_i. */
export function fsqCodebookSize(levels: number[]): number {
  return levels.reduce((a, b) => a * b, 1);
}

/** Mixed-radix place values ∏_{j<i} L_j. */
function basis(levels: number[]): number[] {
  const out: number[] = [];
  let p = 1;
  for (const l of levels) {
    out.push(p);
    p *= l;
  }
  return out;
}

const halfWidth = (l: number) => Math.floor(l / 2);

export interface FsqOut {
  /** Rounded values scaled to [−1, 1], straight-through gradient to z. (N, d) */
  quantized: Value;
  /** Code index in [0, ∏L), int64. (N) */
  indices: Value;
}

/** FSQ in the graph.   z (N, d) with d = levels.length */
export function fsq(z: Value, levels: number[]): FsqOut {
  checkLevels(levels);
  const d = levels.length;
  if (z.rank !== 2 || z.shape[1] !== d) throw new GraphError(`fsq: expects z (N, ${d}) for levels [${levels}], got ${z}`);
  const g = z.graph;
  const vec = (xs: number[], name: string) => g.constant({ dtype: 'float32', shape: [d], data: Float32Array.from(xs) }, name);
  const h = levels.map((l) => ((l - 1) * (1 - EPS)) / 2);
  const offset = levels.map((l) => (l % 2 === 0 ? 0.5 : 0));
  const shift = levels.map((_, i) => Math.atanh(offset[i] / h[i]));
  const zb = sub(mul(tanh(add(z, vec(shift, 'fsq.shift'))), vec(h, 'fsq.h')), vec(offset, 'fsq.offset')); // (N, d)
  const zr = add(zb, stopGradient(sub(round(zb), zb))); // (N, d) integers in value, identity in gradient
  const hw = levels.map(halfWidth);
  const quantized = div(zr, vec(hw, 'fsq.half_width')); // (N, d)
  const digits = add(stopGradient(zr), vec(hw, 'fsq.half_width')); // (N, d) in [0, L_i)
  const indices = cast(round(reduceSum(mul(digits, vec(basis(levels), 'fsq.basis')), [1])), 'int64'); // (N)
  return { quantized, indices };
}

/** Code values in [−1, 1] for code indices.   idx (N) → (N, d) */
export function fsqIndicesToCodes(idx: ArrayLike<number | bigint>, levels: number[]): Float32Array {
  checkLevels(levels);
  const d = levels.length;
  const size = fsqCodebookSize(levels);
  const out = new Float32Array(idx.length * d);
  for (let i = 0; i < idx.length; i++) {
    let rest = Number(idx[i]);
    if (!(rest >= 0 && rest < size)) throw new Error(`fsqIndicesToCodes: index ${rest} at ${i} outside [0, ${size}) for levels [${levels}]`);
    for (let j = 0; j < d; j++) {
      const digit = rest % levels[j];
      rest = Math.floor(rest / levels[j]);
      out[i * d + j] = (digit - halfWidth(levels[j])) / halfWidth(levels[j]);
    }
  }
  return out;
}

/** Code indices for code values (as produced by fsq or fsqIndicesToCodes).   codes (N, d) → (N) */
export function fsqCodesToIndices(codes: Float32Array, levels: number[]): Int32Array {
  checkLevels(levels);
  const d = levels.length;
  if (codes.length % d !== 0) throw new Error(`fsqCodesToIndices: ${codes.length} values do not form rows of ${d} dims`);
  const b = basis(levels);
  const out = new Int32Array(codes.length / d);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const hw = halfWidth(levels[j]);
      const scaled = codes[i * d + j] * hw;
      const digit = Math.round(scaled) + hw;
      if (digit < 0 || digit >= levels[j] || Math.abs(scaled - Math.round(scaled)) > 1e-4) throw new Error(`fsqCodesToIndices: value ${codes[i * d + j]} at row ${i}, dim ${j} is not one of the ${levels[j]} levels`);
      s += digit * b[j];
    }
    out[i] = s;
  }
  return out;
}
