// Token sampling as pure functions over one row of logits: an allowed id range (constrained
// decoding), repetition penalty (CTRL, Keskar et al. 2019: positive logits ÷ θ, negative × θ),
// temperature, top-k, top-p (nucleus, Holtzman et al. 2020), classifier-free guidance on
// log-probabilities, and a seeded draw. Temperature 0 is greedy (first maximum on ties).
import type { Rng } from '../util/rng.ts';

export interface SamplingOptions {
  /** 0 = greedy. Default 1. */
  temperature?: number;
  /** Keep the k most likely ids (0 or absent = all). */
  topK?: number;
  /** Keep the smallest set of most likely ids whose probability reaches p (1 or absent = all). */
  topP?: number;
  /** θ > 1 discourages ids already generated (1 or absent = off). */
  repetitionPenalty?: number;
}

/** Ids [lo, hi) that may be sampled; everything else gets probability 0. */
export interface IdRange {
  lo: number;
  hi: number;
}

export function validateSampling(o: SamplingOptions, where = 'sampling'): void {
  const bad = (f: string, v: unknown, want: string) => new Error(`${where}: ${f} must be ${want}, got ${v}`);
  if (o.temperature !== undefined && !(o.temperature >= 0 && Number.isFinite(o.temperature))) throw bad('temperature', o.temperature, 'a finite number ≥ 0');
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) throw bad('topK', o.topK, 'an integer ≥ 0');
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw bad('topP', o.topP, 'in (0, 1]');
  if (o.repetitionPenalty !== undefined && !(o.repetitionPenalty > 0 && Number.isFinite(o.repetitionPenalty))) throw bad('repetitionPenalty', o.repetitionPenalty, 'a finite number > 0');
}

/** A copy of `logits` with the CTRL repetition penalty applied once to each id in `previous`. */
export function applyRepetitionPenalty(logits: Float32Array, previous: Iterable<number>, penalty: number): Float32Array {
  const out = Float32Array.from(logits);
  if (penalty === 1) return out;
  for (const id of new Set(previous)) if (id >= 0 && id < out.length) out[id] = out[id] > 0 ? out[id] / penalty : out[id] * penalty;
  return out;
}

/** log softmax over [lo, hi) (−Infinity outside), in float64. */
export function logSoftmax(logits: ArrayLike<number>, range?: IdRange): Float64Array {
  const lo = range?.lo ?? 0, hi = range?.hi ?? logits.length;
  if (!(lo >= 0 && hi <= logits.length && lo < hi)) throw new Error(`logSoftmax: range [${lo}, ${hi}) is empty or outside ${logits.length} logits`);
  const out = new Float64Array(logits.length).fill(-Infinity);
  let m = -Infinity;
  for (let i = lo; i < hi; i++) m = Math.max(m, logits[i]);
  let z = 0;
  for (let i = lo; i < hi; i++) z += Math.exp(logits[i] - m);
  const lz = m + Math.log(z);
  for (let i = lo; i < hi; i++) out[i] = logits[i] - lz;
  return out;
}

/**
 * Classifier-free guidance: log p_u + s·(log p_c − log p_u) over the allowed range (Ho & Salimans
 * 2022, as used for autoregressive image tokens). s = 1 returns the conditional log-probabilities.
 */
export function cfgCombine(cond: ArrayLike<number>, uncond: ArrayLike<number>, scale: number, range?: IdRange): Float64Array {
  const lc = logSoftmax(cond, range), lu = logSoftmax(uncond, range);
  const out = new Float64Array(cond.length).fill(-Infinity);
  for (let i = 0; i < out.length; i++) if (Number.isFinite(lc[i])) out[i] = lu[i] + scale * (lc[i] - lu[i]);
  return out;
}

/**
 * The distribution sampling draws from: restricted to `range`, divided by the temperature, then
 * top-k, then top-p, renormalised. Temperature 0 puts all mass on the first maximum.
 */
export function distribution(logits: ArrayLike<number>, o: SamplingOptions = {}, range?: IdRange): Float64Array {
  validateSampling(o);
  const lo = range?.lo ?? 0, hi = range?.hi ?? logits.length;
  const n = logits.length;
  const p = new Float64Array(n);
  const temp = o.temperature ?? 1;
  if (temp === 0) {
    let best = lo;
    for (let i = lo; i < hi; i++) if (logits[i] > logits[best]) best = i;
    p[best] = 1;
    return p;
  }
  const scaled = new Float64Array(n);
  for (let i = lo; i < hi; i++) scaled[i] = logits[i] / temp;
  const lp = logSoftmax(scaled, { lo, hi });
  if (!(o.topK && o.topK > 0) && !(o.topP !== undefined && o.topP < 1)) {
    for (let i = lo; i < hi; i++) p[i] = Math.exp(lp[i]); // no truncation: no sort needed
    return p;
  }
  if (o.topK && o.topK > 0 && o.topK < hi - lo && !(o.topP !== undefined && o.topP < 1)) {
    // top-k alone: the k-th largest value by a native numeric sort, then one pass (ties: lowest ids first)
    const thr = lp.slice(lo, hi).sort()[hi - lo - o.topK];
    let room = o.topK;
    for (let i = lo; i < hi; i++) if (lp[i] > thr) room--;
    let z = 0;
    for (let i = lo; i < hi; i++) if (lp[i] > thr || (lp[i] === thr && room-- > 0)) z += p[i] = Math.exp(lp[i]);
    for (let i = lo; i < hi; i++) p[i] /= z;
    return p;
  }
  let candidates = Array.from({ length: hi - lo }, (_, i) => lo + i).filter((i) => Number.isFinite(lp[i]));
  if (o.topK && o.topK > 0 && o.topK < candidates.length) {
    // only the k largest need ordering: find the k-th largest value with a native numeric sort first
    const vals = Float64Array.from(candidates, (i) => lp[i]).sort();
    const thr = vals[vals.length - o.topK];
    candidates = candidates.filter((i) => lp[i] >= thr);
  }
  const order = candidates.sort((a, b) => lp[b] - lp[a] || a - b);
  let keep = order.length;
  if (o.topK && o.topK > 0) keep = Math.min(keep, o.topK);
  if (o.topP !== undefined && o.topP < 1) {
    let cum = 0;
    for (let j = 0; j < keep; j++) {
      cum += Math.exp(lp[order[j]]);
      if (cum >= o.topP - 1e-12) {
        keep = j + 1;
        break;
      }
    }
  }
  let z = 0;
  for (let j = 0; j < keep; j++) z += (p[order[j]] = Math.exp(lp[order[j]]));
  for (let j = 0; j < keep; j++) p[order[j]] /= z;
  return p;
}

/** One draw from a distribution (inverse CDF with one uniform). */
export function draw(p: Float64Array, rng: Rng): number {
  const u = rng.uniform();
  let cum = 0, last = -1;
  for (let i = 0; i < p.length; i++) {
    if (p[i] <= 0) continue;
    cum += p[i];
    last = i;
    if (u < cum) return i;
  }
  if (last < 0) throw new Error('draw: the distribution has no mass');
  return last;
}

/** Next token id: penalty over `previous`, then distribution(), then a draw (or the argmax when greedy). */
export function sampleToken(logits: Float32Array, o: SamplingOptions, rng: Rng, previous: Iterable<number> = [], range?: IdRange): number {
  const l = o.repetitionPenalty && o.repetitionPenalty !== 1 ? applyRepetitionPenalty(logits, previous, o.repetitionPenalty) : logits;
  const p = distribution(l, o, range);
  return (o.temperature ?? 1) === 0 ? p.indexOf(1) : draw(p, rng);
}
