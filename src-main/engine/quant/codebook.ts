// Host-side codebook maths on Float32Arrays (row-major (rows, D)): brute-force nearest codes and
// quantization error, data-sample and k-means (spherical for cosine codes) initialisation, and the
// EMA codebook update with Laplace smoothing and dead-code restart from current encoder outputs
// (VQ-VAE-2 / Sonnet EMA; restart as in Jukebox and DualToken). Random choices use the seeded Rng.
import type { Rng } from '../util/rng.ts';
import type { Metric } from './vq.ts';

function rowsOf(x: Float32Array, d: number, what: string): number {
  if (d <= 0 || x.length % d !== 0) throw new Error(`${what}: ${x.length} values do not form rows of dim ${d}`);
  return x.length / d;
}

/** Each row divided by its l2 norm (zero rows stay zero).   x (N, D) → (N, D) */
export function l2NormalizeRows(x: Float32Array, d: number): Float32Array {
  const n = rowsOf(x, d, 'l2NormalizeRows');
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j] * inv;
  }
  return out;
}

/** Nearest code per row (max cosine, or min Euclidean distance; first on ties).   x (N, D), C (K, D) → (N) */
export function nearestCodes(x: Float32Array, C: Float32Array, d: number, metric: Metric = 'cosine'): Int32Array {
  const n = rowsOf(x, d, 'nearestCodes x');
  const k = rowsOf(C, d, 'nearestCodes codebook');
  const xs = metric === 'cosine' ? l2NormalizeRows(x, d) : x;
  const cs = metric === 'cosine' ? l2NormalizeRows(C, d) : C;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let c = 0; c < k; c++) {
      let dot = 0;
      let cc = 0;
      for (let j = 0; j < d; j++) {
        dot += xs[i * d + j] * cs[c * d + j];
        cc += cs[c * d + j] ** 2;
      }
      const score = metric === 'cosine' ? dot : dot - cc / 2;
      if (score > best) [best, out[i]] = [score, c];
    }
  }
  return out;
}

/** Mean over rows of ‖x − c‖² to the nearest code (both l2-normalised for cosine). */
export function quantizationError(x: Float32Array, C: Float32Array, d: number, metric: Metric = 'cosine'): number {
  const xs = metric === 'cosine' ? l2NormalizeRows(x, d) : x;
  const cs = metric === 'cosine' ? l2NormalizeRows(C, d) : C;
  const idx = nearestCodes(xs, cs, d, metric);
  let s = 0;
  for (let i = 0; i < idx.length; i++) for (let j = 0; j < d; j++) s += (xs[i * d + j] - cs[idx[i] * d + j]) ** 2;
  return s / idx.length;
}

/** K distinct rows of x drawn with rng (data-sample initialisation).   x (N, D) → (K, D) */
export function sampleInit(x: Float32Array, d: number, k: number, rng: Rng): Float32Array {
  const n = rowsOf(x, d, 'sampleInit');
  if (n < k) throw new Error(`sampleInit: ${k} codes need at least ${k} sample rows, got ${n}; encode more data first`);
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i)) as number[];
  const out = new Float32Array(k * d);
  for (let c = 0; c < k; c++) out.set(x.subarray(order[c] * d, order[c] * d + d), c * d);
  return out;
}

export interface KmeansOptions {
  /** Lloyd iterations (default 10). */
  iters?: number;
  /** cosine (default): spherical k-means on l2-normalised rows, unit-norm centres. */
  metric?: Metric;
}

/** k-means initialisation from a data sample: data-sample init, then Lloyd iterations.   x (N, D) → (K, D) */
export function kmeansInit(x: Float32Array, d: number, k: number, rng: Rng, opts: KmeansOptions = {}): Float32Array {
  const metric = opts.metric ?? 'cosine';
  const xs = metric === 'cosine' ? l2NormalizeRows(x, d) : x;
  const n = rowsOf(xs, d, 'kmeansInit');
  let C = sampleInit(xs, d, k, rng);
  for (let it = 0; it < (opts.iters ?? 10); it++) {
    const idx = nearestCodes(xs, C, d, metric);
    const sums = new Float64Array(k * d);
    const counts = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      counts[idx[i]]++;
      for (let j = 0; j < d; j++) sums[idx[i] * d + j] += xs[i * d + j];
    }
    const next = new Float32Array(k * d);
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        const r = rng.int(n); // an empty cluster restarts from a random sample
        next.set(xs.subarray(r * d, r * d + d), c * d);
      } else for (let j = 0; j < d; j++) next[c * d + j] = sums[c * d + j] / counts[c];
    }
    C = metric === 'cosine' ? l2NormalizeRows(next, d) : next;
  }
  return C;
}

export interface EmaOptions {
  /** EMA decay of counts and sums (default 0.99). */
  decay?: number;
  /** Laplace smoothing ε (default 1e-5). */
  eps?: number;
  /** Codes whose EMA count (assignments per batch) falls below this are restarted (default 0.01). */
  deadThreshold?: number;
  /** The EMA count a restarted code starts with (default 1). */
  restartCount?: number;
}

/**
 * A codebook trained by exponential moving averages instead of gradients. Per batch of quantized
 * inputs z (N, D) with assigned codes idx (N):
 *   nₖ = #{i: idxᵢ = k},  sₖ = Σ_{idxᵢ=k} zᵢ
 *   countsₖ ← γ·countsₖ + (1−γ)·nₖ,   sumsₖ ← γ·sumsₖ + (1−γ)·sₖ
 *   Cₖ = sumsₖ / ((countsₖ + ε) / (n + K·ε) · n),  n = Σₖ countsₖ   (Laplace smoothing)
 * then every code with countsₖ < deadThreshold restarts from a random row of this batch's z:
 *   Cₖ = z_r, sumsₖ = restartCount·z_r, countsₖ = restartCount.
 * Counts start at 1 and sums at the initial codebook, so C is unchanged until data arrives.
 */
export class EmaCodebook {
  readonly k: number;
  codebook: Float32Array;
  counts: Float32Array;
  sums: Float32Array;
  readonly decay: number;
  readonly eps: number;
  readonly deadThreshold: number;
  readonly restartCount: number;

  constructor(init: Float32Array, readonly d: number, opts: EmaOptions = {}) {
    this.k = rowsOf(init, d, 'EmaCodebook');
    this.codebook = Float32Array.from(init);
    this.counts = new Float32Array(this.k).fill(1);
    this.sums = Float32Array.from(init);
    this.decay = opts.decay ?? 0.99;
    this.eps = opts.eps ?? 1e-5;
    this.deadThreshold = opts.deadThreshold ?? 0.01;
    this.restartCount = opts.restartCount ?? 1;
  }

  /** One EMA step; returns the codes that were restarted.   z (N, D), idx (N) */
  update(z: Float32Array, idx: ArrayLike<number | bigint>, rng: Rng): number[] {
    const { k, d, decay: g } = this;
    const n = rowsOf(z, d, 'EmaCodebook.update');
    if (idx.length !== n) throw new Error(`EmaCodebook.update: ${idx.length} indices for ${n} rows`);
    const cnt = new Float64Array(k);
    const sum = new Float64Array(k * d);
    for (let i = 0; i < n; i++) {
      const c = Number(idx[i]);
      if (!(c >= 0 && c < k)) throw new Error(`EmaCodebook.update: index ${c} at row ${i} is outside the codebook (K = ${k})`);
      cnt[c]++;
      for (let j = 0; j < d; j++) sum[c * d + j] += z[i * d + j];
    }
    let total = 0;
    for (let c = 0; c < k; c++) {
      this.counts[c] = g * this.counts[c] + (1 - g) * cnt[c];
      for (let j = 0; j < d; j++) this.sums[c * d + j] = g * this.sums[c * d + j] + (1 - g) * sum[c * d + j];
      total += this.counts[c];
    }
    this.recompute(total);
    const dead: number[] = [];
    for (let c = 0; c < k; c++) if (this.counts[c] < this.deadThreshold) dead.push(c);
    if (dead.length > 0) {
      const rows = rng.shuffle(Array.from({ length: n }, (_, i) => i)) as number[];
      dead.forEach((c, t) => {
        const r = rows[t % n];
        for (let j = 0; j < d; j++) {
          this.codebook[c * d + j] = z[r * d + j];
          this.sums[c * d + j] = this.restartCount * z[r * d + j];
        }
        this.counts[c] = this.restartCount;
      });
    }
    return dead;
  }

  /** Replace the codebook (e.g. after the UniCode pull), keeping the counts: sums follow C. */
  setCodebook(C: Float32Array): void {
    if (C.length !== this.codebook.length) throw new Error(`EmaCodebook.setCodebook: ${C.length} values, the codebook has ${this.codebook.length} (K=${this.k}, D=${this.d})`);
    this.codebook = Float32Array.from(C);
    const total = this.counts.reduce((a, b) => a + b, 0);
    for (let c = 0; c < this.k; c++) {
      const sm = this.smoothed(c, total);
      for (let j = 0; j < this.d; j++) this.sums[c * this.d + j] = C[c * this.d + j] * sm;
    }
  }

  private smoothed(c: number, total: number): number {
    return ((this.counts[c] + this.eps) / (total + this.k * this.eps)) * total;
  }

  private recompute(total: number): void {
    for (let c = 0; c < this.k; c++) {
      const sm = this.smoothed(c, total);
      for (let j = 0; j < this.d; j++) this.codebook[c * this.d + j] = this.sums[c * this.d + j] / sm;
    }
  }
}
