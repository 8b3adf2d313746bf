// Learning-rate schedule: linear warmup to the peak, then cosine decay to minRatio·peak, once or in
// `cycles` equal cycles that each restart at the peak (SGDR, Loshchilov & Hutter 2017; the cycle ends
// are where Snapshot Ensembles, Huang et al. 2017, take their members).
export interface Schedule {
  lr: number;
  warmupSteps?: number;
  totalSteps?: number;
  /** Final learning rate as a fraction of the peak (default 0.1). */
  minRatio?: number;
  /** Cosine cycles after the warmup (default 1); (totalSteps − warmupSteps) should divide by it. */
  cycles?: number;
}

/** Learning rate for optimizer step `step` (0-based). */
export function lrAt(s: Schedule, step: number): number {
  const warm = s.warmupSteps ?? 0;
  if (step < warm) return (s.lr * (step + 1)) / warm;
  if (!s.totalSteps || s.totalSteps <= warm) return s.lr;
  const span = Math.max(1, s.totalSteps - warm), len = span / Math.max(1, s.cycles ?? 1);
  const t = step - warm >= span ? 1 : ((step - warm) % len) / len;
  const min = s.lr * (s.minRatio ?? 0.1);
  return min + 0.5 * (s.lr - min) * (1 + Math.cos(Math.PI * t));
}
