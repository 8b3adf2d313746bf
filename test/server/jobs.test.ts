// A training job's life cycle entirely through the API: start the classifier recipe over HTTP, watch
// progress and state events on the WebSocket, pause (checkpoint rows appear), resume, cancel; and a
// dataset imported as a job, browsed, captioned and split through the same API.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../src-main/engine/io/image.ts';
import { startServer, type RunningServer } from '../../src-main/server/server.ts';
import { jobStatus } from '../backend/jobs/helpers.ts';
import { call, events, tempData } from './helpers.ts';

let s: RunningServer;
let dir: string;
beforeAll(async () => {
  dir = tempData();
  s = await startServer({ port: 0, dataDir: join(dir, 'data') });
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('jobs through the API', () => {
  it('starts a training, streams progress, pauses, resumes and cancels it', async () => {
    const { log, ws } = await events(s.url, s.token);
    const recipes = (await call(s.url, s.token, 'training.recipes')).json.recipes;
    expect(recipes.map((r: { name: string }) => r.name)).toEqual(['classifier', 'tokenizer', 'unified', 'finetune', 'memory']);
    expect(recipes[2]).toMatchObject({ needsDataset: true, needsBaseModel: false, defaults: { stage2: { steps: 1200 }, decoder: null } });
    expect(recipes[3]).toMatchObject({ needsDataset: true, needsBaseModel: true, defaults: { stage: 'stage2', train: { steps: 500 } } });
    const noData = await call(s.url, s.token, 'training.start', { recipe: 'tokenizer', config: {} });
    expect(noData).toEqual({ status: 400, json: { name: 'ValidationError', message: 'training.start: datasetId: the tokenizer recipe trains on a dataset: choose one' } });
    const start = await call(s.url, s.token, 'training.start', { recipe: 'classifier', config: { steps: 400, batchSize: 8, checkpointEvery: 4, sampleEvery: 0, trainLimit: 256, evalImages: 32 } });
    expect(start.status).toBe(200);
    const { job, run } = start.json;
    expect(run).toMatchObject({ recipe: 'classifier', jobId: job.id, config: { steps: 400, lr: 0.004 } });

    const p = await log.until((e) => e.type === 'job.progress' && e.jobId === job.id && e.progress.step >= 5, 60_000, 'step 5');
    expect(p).toMatchObject({ runId: run.id, progress: { total: 400, phase: 'train', loss: expect.any(Number), etaSeconds: expect.any(Number) } });
    expect((await call(s.url, s.token, 'jobs.pause', { id: job.id })).status).toBe(200);
    await log.until(jobStatus(job.id, 'paused'), 60_000, 'paused');
    const paused = (await call(s.url, s.token, 'runs.get', { id: run.id })).json;
    expect(paused.run.status).toBe('paused');
    expect(paused.checkpoints.length).toBeGreaterThan(0);
    const pausedStep = paused.checkpoints.at(-1).step;
    expect(paused.run.lastStep).toBe(pausedStep);
    const second = await call(s.url, s.token, 'jobs.pause', { id: job.id });
    expect(second).toEqual({ status: 409, json: { name: 'ConflictError', message: `job ${job.id} is paused; only a running job can be paused` } });

    expect(['queued', 'running']).toContain((await call(s.url, s.token, 'jobs.resume', { id: job.id })).json.status);
    await log.until((e) => e.type === 'job.progress' && e.jobId === job.id && e.progress.step === pausedStep + 3, 60_000, 'progress after resume');
    const cancelled = await call(s.url, s.token, 'jobs.cancel', { id: job.id });
    expect(cancelled.status).toBe(200);
    await log.until(jobStatus(job.id, 'cancelled'), 30_000, 'cancelled');
    const metrics = (await call(s.url, s.token, 'runs.metrics', { id: run.id })).json.points;
    expect(metrics[0]).toMatchObject({ step: 1, values: { loss: expect.any(Number), lr: expect.any(Number) } });
    expect(metrics.length).toBeGreaterThanOrEqual(pausedStep + 3);
    const j = (await call(s.url, s.token, 'jobs.get', { id: job.id })).json;
    expect(j).toMatchObject({ status: 'cancelled', runId: run.id });
    expect((await call(s.url, s.token, 'runs.list')).json.runs[0]).toMatchObject({ id: run.id, status: 'cancelled' });
    ws.close();
  });

  it('imports a dataset as a job and curates it', async () => {
    const root = join(dir, 'folder');
    mkdirSync(root, { recursive: true });
    for (const [k, name] of ['apple', 'pear', 'plum'].entries()) {
      const px = new Float32Array(3 * 8 * 8).fill(k / 3);
      writeFileSync(join(root, `${name}.png`), await encodePng({ data: px, channels: 3, height: 8, width: 8 }));
      writeFileSync(join(root, `${name}.txt`), `a ${name}`);
    }
    writeFileSync(join(root, 'broken.png'), 'not a png');
    const { log, ws } = await events(s.url, s.token);
    const started = await call(s.url, s.token, 'datasets.import', { kind: 'folder', path: root, name: 'fruit' });
    expect(started.status).toBe(200);
    const jobId = started.json.job.id;
    await log.until(jobStatus(jobId, 'done'), 60_000, 'import done');
    const ds = (await call(s.url, s.token, 'datasets.list')).json.datasets.find((d: { name: string }) => d.name === 'fruit');
    expect(ds).toMatchObject({ total: 4, byStatus: { ok: 3, broken: 1 }, importStatus: 'done' });
    const page = (await call(s.url, s.token, 'datasets.items', { datasetId: ds.id, status: 'ok', limit: 2 })).json;
    expect(page.total).toBe(3);
    expect(page.items).toHaveLength(2);
    const rest = (await call(s.url, s.token, 'datasets.items', { datasetId: ds.id, status: 'ok', limit: 2, afterId: page.nextAfterId })).json;
    expect(rest.items).toHaveLength(1);
    const pear = (await call(s.url, s.token, 'datasets.items', { datasetId: ds.id, text: 'pear' })).json.items[0];
    expect(pear.caption).toBe('a pear');
    const edited = (await call(s.url, s.token, 'datasets.editCaption', { itemId: pear.id, text: 'a ripe pear' })).json;
    expect(edited.captions.map((c: { text: string }) => c.text)).toEqual(['a ripe pear', 'a pear']);
    expect((await call(s.url, s.token, 'datasets.addTag', { itemIds: [pear.id], tag: 'fruit' })).json.added).toBe(1);
    expect((await call(s.url, s.token, 'datasets.item', { id: pear.id })).json.tags).toEqual(['fruit']);
    const splits = (await call(s.url, s.token, 'datasets.assignSplits', { datasetId: ds.id, spec: { seed: 1, fractions: { train: 2 / 3, validation: 1 / 3, test: 0 } } })).json;
    expect(splits.counts).toEqual({ train: 2, validation: 1, test: 0, none: 1 });
    const img = await fetch(`${s.url}${pear.url}?token=${s.token}`);
    expect(img.headers.get('content-type')).toBe('image/png');
    ws.close();
  });
});
