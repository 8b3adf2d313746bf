// Composite functions built from primitive ops; they need no gradient rules of their own.
// Norms, activations, and the cross-entropy loss with ignore-index and per-token weights.
import { GraphError, type Value } from '../graph/graph.ts';
import {
  add, cast, div, equal, erf, gatherElements, logSoftmax, max2, mul, neg, not, reduceMean, reduceSum, reshape,
  sigmoid, sqrt, squeeze, sub, unsqueeze, where,
} from '../graph/ops/index.ts';

export const silu = (x: Value) => mul(x, sigmoid(x));
/** Exact GELU: x·Φ(x) = ½x(1 + erf(x/√2)). */
export const gelu = (x: Value) => mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));

/** RMSNorm over the last axis: x / √(mean(x²) + ε) · w.   x (…, C), w (C) */
export function rmsNorm(x: Value, w: Value, eps = 1e-5): Value {
  const ms = reduceMean(mul(x, x), [-1], true); // (…, 1)
  return mul(div(x, sqrt(add(ms, eps))), w);
}

/** LayerNorm over the last axis.   x (…, C), w (C), b (C) */
export function layerNorm(x: Value, w: Value, b: Value | null, eps = 1e-5): Value {
  const xc = sub(x, reduceMean(x, [-1], true));
  const y = mul(div(xc, sqrt(add(reduceMean(mul(xc, xc), [-1], true), eps))), w);
  return b ? add(y, b) : y;
}

/** GroupNorm over (C/G, H, W) per group.   x (N, C, H, W), w (C), b (C) */
export function groupNorm(x: Value, groups: number, w: Value, b: Value, eps = 1e-5): Value {
  const [, c, h, wd] = x.shape;
  if (typeof c !== 'number' || typeof h !== 'number' || typeof wd !== 'number' || c % groups !== 0)
    throw new GraphError(`groupNorm: ${x} needs static C, H, W with C divisible by ${groups} groups`);
  const xg = reshape(x, [0, groups, -1]); // (N, G, C/G·H·W)
  const xc = sub(xg, reduceMean(xg, [-1], true));
  const yn = div(xc, sqrt(add(reduceMean(mul(xc, xc), [-1], true), eps)));
  const y = reshape(yn, [0, c, h, wd]);
  return add(mul(y, reshape(w, [c, 1, 1])), reshape(b, [c, 1, 1]));
}

export interface CrossEntropyOpts {
  /** Targets equal to this are ignored (default -100). */
  ignoreIndex?: number;
  /** Per-token weights, shaped like the targets. */
  weights?: Value | null;
}

/**
 * Mean cross-entropy Σ wᵢ·ceᵢ / Σ wᵢ over non-ignored positions, ceᵢ = −log softmax(logitsᵢ)[tᵢ].
 * logits (…, V) float, targets (…) int64, weights (…) float.
 */
export function crossEntropy(logits: Value, targets: Value, opts: CrossEntropyOpts = {}): Value {
  if (targets.dtype !== 'int64') throw new GraphError(`crossEntropy: targets must be int64, got ${targets}`);
  if (targets.rank !== logits.rank - 1) throw new GraphError(`crossEntropy: targets ${targets} must have one axis less than logits ${logits}`);
  const ignore = opts.ignoreIndex ?? -100;
  const logp = logSoftmax(logits, -1); // (…, V)
  const ignored = equal(targets, ignore);
  const safe = where(ignored, 0, targets); // ignored positions read class 0, then get weight 0
  const picked = squeeze(gatherElements(logp, unsqueeze(safe, [-1]), -1), [-1]); // (…)
  let w = cast(not(ignored), 'float32');
  if (opts.weights) w = mul(w, opts.weights);
  const total = reduceSum(w, []);
  return div(neg(reduceSum(mul(picked, w), [])), max2(total, 1e-12));
}

/**
 * Cross-entropy against soft targets: −Σ tᵢ·log softmax(logitsᵢ) / Σ tᵢ, over rows whose targets
 * each sum to 1 (a row of zeros is left out). logits (…, V), targets (…, V) float.
 */
export function softCrossEntropy(logits: Value, targets: Value): Value {
  if (targets.dtype !== 'float32') throw new GraphError(`softCrossEntropy: targets must be float32, got ${targets}`);
  if (targets.rank !== logits.rank) throw new GraphError(`softCrossEntropy: targets ${targets} must have the shape of logits ${logits}`);
  return div(neg(reduceSum(mul(logSoftmax(logits, -1), targets), [])), max2(reduceSum(targets, []), 1e-12));
}
