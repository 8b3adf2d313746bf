// Learning-rate schedule: linear warmup to the peak, then cosine decay to minRatio·peak.
export interface Schedule {
  lr: number;
  warmupSteps?: number;
  totalSteps?: number;
  /** Final learning rate as a fraction of the peak (default 0.1). */
  minRatio?: number;
}

/** Learning rate for optimizer step `step` (0-based). */
export function lrAt(s: Schedule, step: number): number {
  const warm = s.warmupSteps ?? 0;
  if (step < warm) return (s.lr * (step + 1)) / warm;
  if (!s.totalSteps || s.totalSteps <= warm) return s.lr;
  const t = Math.min(1, (step - warm) / Math.max(1, s.totalSteps - warm));
  const min = s.lr * (s.minRatio ?? 0.1);
  return min + 0.5 * (s.lr - min) * (1 + Math.cos(Math.PI * t));
}
