// Exact resume after a crash, end to end: a real `tessera serve` process trains the classifier
// through its API, is SIGKILLed after a few checkpoints, and a second `tessera serve` on the same
// data folder finds the interrupted job, resumes it from its newest checkpoint (not from scratch)
// and finishes it. Its per-step losses equal an uninterrupted run's exactly; the database is intact.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../src-main/backend/store/index.ts';
import type { ApiEvent } from '../../../src-main/contract/api.ts';
import { spawnServe } from '../../../src-main/server/child.ts';
import { call, events, tempData } from '../../server/helpers.ts';
import { referenceLosses } from './helpers.ts';

const dir = tempData();
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const serve = async () => {
  const c = await spawnServe(join(dir, 'data'));
  children.push(c.child);
  return c;
};

const CONFIG = { steps: 40, batchSize: 8, checkpointEvery: 5, sampleEvery: 0, trainLimit: 256, evalImages: 32, warmupSteps: 2, lr: 0.01 };

describe('crash during training', () => {
  it('resumes after SIGKILL from the last checkpoint with losses equal to an uninterrupted run', async () => {
    const reference = referenceLosses(CONFIG);

    const first = await serve();
    const ev1 = await events(first.base, first.token);
    const { job, run } = (await call(first.base, first.token, 'training.start', { recipe: 'classifier', config: CONFIG })).json;
    // wait for two checkpoints (steps 5 and 10), then kill the whole process without warning
    await ev1.log.until((e) => e.type === 'job.log' && e.jobId === job.id && /^checkpoint at step 10$/.test(e.message), 90_000, 'checkpoint 10');
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const killedAt = Math.max(...ev1.log.events.filter((e) => e.type === 'job.progress').map((e) => (e as { progress: { step: number } }).progress.step));
    expect(killedAt).toBeLessThan(CONFIG.steps);

    const after = await openStore(join(dir, 'data', 'tessera.db'));
    expect(after.integrityCheck()).toBe('ok');
    expect(after.jobs.get(job.id).status).toBe('running'); // left running by the dead process
    const lastCheckpoint = after.checkpoints.latest(run.id)!.step;
    expect(lastCheckpoint).toBeGreaterThanOrEqual(10);
    after.close();

    const second = await serve();
    const ev2 = await events(second.base, second.token);
    const done = (e: ApiEvent) => e.type === 'job.state' && e.job.id === job.id && ['done', 'failed'].includes(e.job.status);
    const status = (await call(second.base, second.token, 'jobs.get', { id: job.id })).json.status;
    if (status !== 'done') await ev2.log.until(done, 120_000, 'the resumed job to finish');
    const finished = (await call(second.base, second.token, 'jobs.get', { id: job.id })).json;
    expect(finished).toMatchObject({ status: 'done', error: null });
    // it resumed: the second process never ran step 1, and its first step follows a checkpoint
    const steps2 = ev2.log.events.filter((e) => e.type === 'job.progress').map((e) => (e as { progress: { step: number } }).progress.step);
    expect(steps2.length).toBeGreaterThan(0);
    expect(Math.min(...steps2)).toBeGreaterThan(lastCheckpoint - CONFIG.checkpointEvery);
    expect((Math.min(...steps2) - 1) % CONFIG.checkpointEvery).toBe(0);

    const losses = (await call(second.base, second.token, 'runs.metrics', { id: run.id })).json.points.map((p: { values: { loss: number } }) => p.values.loss);
    expect(losses).toEqual(await reference);
    ev1.ws.close();
    ev2.ws.close();
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
    expect(second.output()).toContain('stopped cleanly');
    const end = await openStore(join(dir, 'data', 'tessera.db'));
    expect(end.integrityCheck()).toBe('ok');
    expect(end.jobs.get(job.id).attempts).toBe(2); // started once, resumed once
    expect(end.checkpoints.latest(run.id)!.step).toBe(CONFIG.steps);
    end.close();
  });
});
