// The KV cache of a decode graph (models/llama.ts llamaDecodeStep) for R rows decoding in lockstep:
// per layer K and V (R, KVH, cap, hd) and an additive mask (R, 1, 1, cap), fed to the graph without
// copying. The graph's slot count is symbolic, so the cache is fed only as long as the past needs,
// growing in chunks of `chunk` slots (a growth re-lays out the arrays once): attention then reads
// the slots in use instead of all max_position_embeddings of them.
import type { Tensor } from '../graph/graph.ts';

export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  /** Most slots the cache may hold (max_position_embeddings). */
  maxSlots: number;
}

export class KvCache {
  private k: Float32Array[] = [];
  private v: Float32Array[] = [];
  private mask = new Float32Array(0); // (R, cap): 0 where a slot holds a token, −1e9 elsewhere
  private cap = 0;
  private fed: Record<string, Tensor> | null = null;

  constructor(
    readonly shape: KvShape,
    readonly rows: number,
    readonly chunk = 32,
  ) {}

  /**
   * A new cache whose row r is a copy of `from`'s row src[r] (same capacity): broadcasting one
   * prefilled prompt to several rows, or reordering the hypotheses of a beam search.
   */
  static gathered(from: KvCache, src: readonly number[]): KvCache {
    const { layers, kvHeads, headDim: hd } = from.shape;
    for (const r of src) if (!Number.isInteger(r) || r < 0 || r >= from.rows) throw new Error(`KvCache.gathered: row ${r} is not one of the ${from.rows} rows`);
    const out = new KvCache(from.shape, src.length, from.chunk);
    if (from.cap === 0) return out;
    const per = kvHeads * from.cap * hd;
    const pick = (a: Float32Array) => {
      const b = new Float32Array(src.length * per);
      src.forEach((r, i) => b.set(a.subarray(r * per, (r + 1) * per), i * per));
      return b;
    };
    out.k = from.k.slice(0, layers).map(pick);
    out.v = from.v.slice(0, layers).map(pick);
    out.mask = new Float32Array(src.length * from.cap);
    src.forEach((r, i) => out.mask.set(from.mask.subarray(r * from.cap, (r + 1) * from.cap), i * from.cap));
    out.cap = from.cap;
    return out;
  }

  /** Slots currently allocated (a multiple of `chunk`, at most maxSlots). */
  get capacity(): number {
    return this.cap;
  }

  /** Make room for slots 0..n-1, keeping what is there. */
  reserve(n: number): void {
    const { layers, kvHeads, headDim: hd, maxSlots } = this.shape;
    if (n > maxSlots) throw new Error(`the KV cache holds ${maxSlots} slots (max_position_embeddings), ${n} were asked for`);
    if (n <= this.cap && this.cap > 0) return;
    const cap = Math.min(maxSlots, Math.max(this.chunk, Math.ceil(n / this.chunk) * this.chunk));
    const old = this.cap;
    const relayout = (a: Float32Array | undefined) => {
      const b = new Float32Array(this.rows * kvHeads * cap * hd);
      if (a) for (let rh = 0; rh < this.rows * kvHeads; rh++) b.set(a.subarray(rh * old * hd, (rh + 1) * old * hd), rh * cap * hd);
      return b;
    };
    this.k = Array.from({ length: layers }, (_, i) => relayout(this.k[i]));
    this.v = Array.from({ length: layers }, (_, i) => relayout(this.v[i]));
    const mask = new Float32Array(this.rows * cap).fill(-1e9);
    for (let r = 0; r < this.rows; r++) mask.set(this.mask.subarray(r * old, (r + 1) * old), r * cap);
    this.mask = mask;
    this.cap = cap;
    this.fed = null;
  }

  /** The graph inputs past_k.i, past_v.i (R, KVH, cap, hd) and past_mask (R, 1, 1, cap), sharing the cache's arrays. */
  feeds(): Record<string, Tensor> {
    const { layers, kvHeads, headDim: hd } = this.shape;
    if (this.cap === 0) this.reserve(1);
    if (this.fed) return this.fed;
    const f: Record<string, Tensor> = { past_mask: { dtype: 'float32', shape: [this.rows, 1, 1, this.cap], data: this.mask } };
    for (let i = 0; i < layers; i++) {
      f[`past_k.${i}`] = { dtype: 'float32', shape: [this.rows, kvHeads, this.cap, hd], data: this.k[i] };
      f[`past_v.${i}`] = { dtype: 'float32', shape: [this.rows, kvHeads, this.cap, hd], data: this.v[i] };
    }
    return (this.fed = f);
  }

  /**
   * Write one step's keys and values into slot `slot` and unmask it for the rows where `valid(r)`.
   * newKV (R, KVH, 2L, hd): layer i's key at 2i, its value at 2i+1 (the graph's new_kv output).
   */
  write(newKV: Float32Array, slot: number, valid: (row: number) => boolean = () => true): void {
    const { layers, kvHeads, headDim: hd } = this.shape;
    this.reserve(slot + 1);
    const L2 = 2 * layers;
    if (newKV.length !== this.rows * kvHeads * L2 * hd) throw new Error(`new_kv has ${newKV.length} values, expected (${this.rows}, ${kvHeads}, ${L2}, ${hd})`);
    for (let rh = 0; rh < this.rows * kvHeads; rh++)
      for (let j = 0; j < L2; j++) (j % 2 ? this.v : this.k)[j >> 1].set(newKV.subarray((rh * L2 + j) * hd, (rh * L2 + j + 1) * hd), (rh * this.cap + slot) * hd);
    for (let r = 0; r < this.rows; r++) if (valid(r)) this.mask[r * this.cap + slot] = 0;
  }
}
