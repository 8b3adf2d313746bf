// The walkthrough (scripts/api-walkthrough.ts) with tiny settings: a `tessera serve` child process
// driven only through the API imports and curates a small emoji set, caches its codes, trains a
// small image tokenizer, is SIGKILLed a few steps after a checkpoint, restarts, and the job resumes
// from that checkpoint and finishes with losses equal to an uninterrupted run of the same config;
// the trained tokenizer is then evaluated. The database passes integrity_check afterwards.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src-main/backend/store/index.ts';
import { smallTokenizerConfig, walkthrough } from '../../scripts/api-walkthrough.ts';
import { tempData } from './helpers.ts';

const dir = tempData();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the API walkthrough', () => {
  it('imports, curates, tokenizes, trains, survives SIGKILL, resumes exactly and evaluates', async () => {
    const t0 = performance.now();
    const r = await walkthrough({
      workDir: dir, emoji: 6, config: smallTokenizerConfig(16, 4), killAfterCheckpoint: 8,
      evalLimit: 8, unifiedEvalLimit: 0, generate: false, print: (l) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${l}`),
    });
    console.log(`walkthrough: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.duplicates.exact).toBeGreaterThanOrEqual(1);
    // killed between checkpoints; the restarted server went on from the newest one, not from step 1
    expect(r.killedAtStep).toBeGreaterThan(r.lastCheckpointBeforeKill);
    expect(r.killedAtStep).toBeLessThan(16);
    // resumed from a checkpoint: the newest recorded before the kill, or one whose file the worker
    // wrote in the moment before the kill landed, before its row was recorded
    const resumedFrom = r.firstStepAfterRestart - 1;
    expect(resumedFrom).toBeGreaterThanOrEqual(r.lastCheckpointBeforeKill);
    expect(resumedFrom % 4).toBe(0);
    expect(resumedFrom).toBeLessThan(16);
    expect(r.losses).toHaveLength(16);
    expect(r.losses).toEqual(r.referenceLosses);
    expect(r.evaluations).toHaveLength(1);
    expect(r.evaluations[0]).toMatchObject({ model_kind: 'tokenizer', images: expect.any(Number), psnr: expect.any(Number), usage: expect.any(Number) });
    const store = await openStore(join(dir, 'data', 'tessera.db'));
    try {
      expect(store.integrityCheck()).toBe('ok');
      expect(store.jobs.get(r.jobId)).toMatchObject({ status: 'done', attempts: 2 });
      expect(store.evaluations.list({ runId: r.runId })).toHaveLength(1);
    } finally {
      store.close();
    }
  }, 240_000);
});
