// Helpers for the job tests: a tiny classifier config (a few ms per step), the reference losses
// of an uninterrupted run computed by calling the recipe directly, and waiting for events.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiEvent } from '../../../src-main/contract/api.ts';
import { classifierRecipe } from '../../../src-main/engine/train/recipes/classifier.ts';

export const TINY = { steps: 14, batchSize: 8, checkpointEvery: 3, sampleEvery: 0, trainLimit: 256, evalImages: 64, warmupSteps: 2, lr: 0.01 };

/** Per-step losses of an uninterrupted run of the recipe (no runner, no store). */
export async function referenceLosses(config: Record<string, unknown>): Promise<number[]> {
  const losses: number[] = [];
  const outDir = mkdtempSync(join(tmpdir(), 'tessera-ref-'));
  const r = await classifierRecipe.run(classifierRecipe.parseConfig(config, 'reference'), {
    outDir, resume: false, threads: 1, onProgress: (p) => (losses[p.step - 1] = p.loss),
  });
  if (r.status !== 'done') throw new Error(`reference run ended ${r.status}`);
  return losses;
}

/** Collects events; `until(pred)` resolves with the first (past or future) event matching it. */
export class EventLog {
  readonly events: ApiEvent[] = [];
  private waiters: { pred: (e: ApiEvent) => boolean; resolve: (e: ApiEvent) => void }[] = [];
  push = (e: ApiEvent): void => {
    this.events.push(e);
    this.waiters = this.waiters.filter((w) => (w.pred(e) ? (w.resolve(e), false) : true));
  };
  until<T extends ApiEvent>(pred: (e: ApiEvent) => boolean, timeoutMs = 60_000, what = 'an event'): Promise<T> {
    const hit = this.events.find(pred);
    if (hit) return Promise.resolve(hit as T);
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last events: ${JSON.stringify(this.events.slice(-3))}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (e) => { clearTimeout(t); resolve(e as T); } });
    });
  }
}

export const jobStatus = (jobId: number, status: string) => (e: ApiEvent) => e.type === 'job.state' && e.job.id === jobId && e.job.status === status;
