// ETA from progress samples: an exponentially smoothed rate over the recent updates, so a job whose
// speed changes (warm-up, a slow first batch) converges to an honest estimate.

export class EtaEstimator {
  private last: { t: number; done: number } | null = null;
  private rate = 0; // units per second, smoothed

  constructor(private readonly smoothing = 0.3) {}

  /** Record progress; returns the seconds left, or NaN while unknown. */
  update(done: number, total: number, now = performance.now()): number {
    if (this.last && done > this.last.done && now > this.last.t) {
      const r = (done - this.last.done) / ((now - this.last.t) / 1000);
      this.rate = this.rate === 0 ? r : this.smoothing * r + (1 - this.smoothing) * this.rate;
    }
    if (!this.last || done !== this.last.done) this.last = { t: now, done };
    return this.rate > 0 && total > done ? (total - done) / this.rate : total > 0 && done >= total ? 0 : NaN;
  }

  reset(): void {
    this.last = null;
    this.rate = 0;
  }
}
