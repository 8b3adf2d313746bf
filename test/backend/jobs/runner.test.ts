// The job runner in-process with a real store and the real classifier recipe in a worker thread:
// progress events and metrics rows, pause (a checkpoint at the step reached), resume (losses equal
// an uninterrupted run's), cancel, FIFO with one heavy job at a time, and a recipe config error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src-main/contract/api.ts';
import { openStore } from '../../../src-main/backend/store/index.ts';
import { JobRunner } from '../../../src-main/backend/jobs/runner.ts';
import { startTraining } from '../../../src-main/backend/jobs/training.ts';
import { EventLog, jobStatus, referenceLosses, TINY } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('job runner', () => {
  it('runs, pauses, resumes exactly, cancels, and keeps one heavy job at a time', async () => {
    const store = await openStore(join(dir, 'tessera.db'));
    const log = new EventLog();
    const runner = new JobRunner({ store, dataDir: dir, emit: log.push, threads: () => 1 });
    runner.start();
    const ref = await referenceLosses(TINY);

    const { job, run } = startTraining(store, runner, { recipe: 'classifier', config: TINY });
    const second = startTraining(store, runner, { recipe: 'classifier', config: { ...TINY, steps: 50 } });
    await log.until((e) => e.type === 'job.progress' && e.jobId === job.id && e.progress.step >= 4, 60_000, 'step 4');
    // one heavy job at a time: the second waits in the queue
    expect(store.jobs.get(second.job.id).status).toBe('queued');
    runner.pause(job.id);
    await log.until(jobStatus(job.id, 'paused'), 60_000, 'paused');
    const pausedAt = store.checkpoints.latest(run.id)!.step;
    expect(pausedAt).toBeGreaterThanOrEqual(4);
    expect(store.runs.get(run.id).status).toBe('paused');
    // the second job started as soon as the heavy slot was free
    await log.until(jobStatus(second.job.id, 'running'), 30_000, 'second running');
    runner.cancel(second.job.id);
    await log.until(jobStatus(second.job.id, 'cancelled'), 30_000, 'second cancelled');
    expect(store.runs.get(second.run.id).status).toBe('cancelled');

    runner.resume(job.id);
    await log.until(jobStatus(job.id, 'done'), 60_000, 'done');
    const losses = store.metrics.list(run.id).map((m) => m.values.loss);
    expect(losses).toEqual(ref);
    // the resumed attempt continued after the pause: its first progress step is pausedAt + 1
    const steps = log.events.filter((e) => e.type === 'job.progress' && e.jobId === job.id).map((e) => (e as { progress: { step: number } }).progress.step);
    expect(steps).toContain(pausedAt + 1);
    expect(steps.filter((s) => s === 1)).toHaveLength(1);
    const done = store.jobs.get(job.id);
    expect(done).toMatchObject({ status: 'done', attempts: 2 });
    expect(done.result).toMatchObject({ step: TINY.steps });
    expect(store.runs.get(run.id).status).toBe('done');
    expect(store.jobs.samples({ runId: run.id }).at(-1)?.text).toMatch(/^held-out accuracy \d+\.\d% on 64 images/);
    expect(() => runner.pause(job.id)).toThrow(`job ${job.id} is done; only a running job can be paused`);
    expect(store.integrityCheck()).toBe('ok');
    await runner.close();
    store.close();
  });

  it('fails a job whose folder cannot be made, saying why, and runs the next one', async () => {
    const blocked = mkdtempSync(join(dir, 'blocked-'));
    writeFileSync(join(blocked, 'jobs'), 'a file where the jobs folder goes');
    const store = await openStore(join(blocked, 'tessera.db'));
    const log = new EventLog();
    const runner = new JobRunner({ store, dataDir: blocked, emit: log.push, threads: () => 1 });
    runner.start();
    const { job, run } = startTraining(store, runner, { recipe: 'classifier', config: TINY });
    await log.until(jobStatus(job.id, 'failed'), 30_000, 'failed');
    expect(store.jobs.get(job.id).error).toBe(`cannot make the job's folder ${runner.jobDir(job.id)}: a file of that name is in the way`);
    expect(log.events).toContainEqual(expect.objectContaining({ type: 'job.error', jobId: job.id }));
    expect(store.runs.get(run.id).status).toBe('failed');
    // with the way clear, the next job runs
    rmSync(join(blocked, 'jobs'));
    const next = startTraining(store, runner, { recipe: 'classifier', config: { ...TINY, steps: 2 } });
    await log.until(jobStatus(next.job.id, 'done'), 60_000, 'next done');
    await runner.close();
    store.close();
  });

  it('refuses a bad recipe config before queueing, naming the field', async () => {
    const store = await openStore(join(dir, 'bad.db'));
    const runner = new JobRunner({ store, dataDir: dir, emit: () => undefined });
    const err = (() => { try { startTraining(store, runner, { recipe: 'classifier', config: { steps: 0 } }); } catch (e) { return e as Error; } })();
    expect(err).toBeInstanceOf(ValidationError);
    expect(err!.message).toBe('training.start: config.steps: Too small: expected number to be >=1');
    expect(() => startTraining(store, runner, { recipe: 'nope', config: {} })).toThrow('unknown recipe "nope"; the recipes are: classifier, tokenizer, unified, finetune, memory');
    expect(store.runs.list()).toHaveLength(0);
    store.close();
  });
});
