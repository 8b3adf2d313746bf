// Codebook health over an evaluation set: the code histogram, usage (fraction of the K codes used at
// least once) and perplexity (exp of the entropy of the histogram, in codes: K when uniform, 1 when
// collapsed). Report usage next to every reconstruction number (DESIGN.md).

/** Counts per code.   idx (N) with entries in [0, K) → (K) */
export function codeHistogram(idx: ArrayLike<number | bigint>, k: number): Float64Array {
  const h = new Float64Array(k);
  for (let i = 0; i < idx.length; i++) {
    const c = Number(idx[i]);
    if (!(Number.isInteger(c) && c >= 0 && c < k)) throw new Error(`codeHistogram: index ${c} at ${i} is outside [0, ${k})`);
    h[c]++;
  }
  return h;
}

/** Fraction of the K codes that occur at least once. */
export function codeUsage(idx: ArrayLike<number | bigint>, k: number): number {
  return codeHistogram(idx, k).reduce((a, c) => a + (c > 0 ? 1 : 0), 0) / k;
}

/** exp(−Σ p log p) of the code histogram (natural log); 0 for an empty set. */
export function codePerplexity(idx: ArrayLike<number | bigint>, k: number): number {
  if (idx.length === 0) return 0;
  let ent = 0;
  for (const c of codeHistogram(idx, k)) {
    if (c === 0) continue;
    const p = c / idx.length;
    ent -= p * Math.log(p);
  }
  return Math.exp(ent);
}
