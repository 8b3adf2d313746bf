// Evaluation through the API on the shipped models: a small emoji imagefolder (built from the npm
// packages) is imported into the store, then runs.evaluate measures the image tokenizer
// (models/emoji-image-tokenizer: PSNR, SSIM, codebook usage on the held-out facebook style) and the
// unified model (models/tessera-emoji: caption and question accuracy, answer perplexity, image-code
// NLL) in evaluate jobs; the rows come back through evaluations.list, models.get and the job result.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEmojiDataset } from '../../src-main/engine/data/emoji.ts';
import { startServer, type RunningServer } from '../../src-main/server/server.ts';
import { jobStatus } from '../backend/jobs/helpers.ts';
import { call, events, tempData } from './helpers.ts';

const MODELS = new URL('../../models', import.meta.url).pathname;
let s: RunningServer;
let dir: string;
let datasetId: number;
beforeAll(async () => {
  dir = tempData();
  await buildEmojiDataset({ out: join(dir, 'emoji'), limit: 8 });
  s = await startServer({ port: 0, dataDir: join(dir, 'data'), modelsDir: MODELS });
  const { log, ws } = await events(s.url, s.token);
  const { job } = (await call(s.url, s.token, 'datasets.import', { kind: 'imagefolder', path: join(dir, 'emoji'), name: 'emoji-8' })).json;
  await log.until(jobStatus(job.id, 'done'), 60_000, 'import done');
  datasetId = (await call(s.url, s.token, 'jobs.get', { id: job.id })).json.datasetId;
  ws.close();
}, 120_000);
afterAll(async () => {
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

const modelNamed = async (kind: string) => (await call(s.url, s.token, 'models.list')).json.models.find((m: { kind: string }) => m.kind === kind);

async function evaluate(body: Record<string, unknown>) {
  const { log, ws } = await events(s.url, s.token);
  const started = await call(s.url, s.token, 'runs.evaluate', body);
  expect(started.status, JSON.stringify(started.json)).toBe(200);
  const id = started.json.job.id;
  await log.until((e) => e.type === 'job.state' && e.job.id === id && ['done', 'failed'].includes(e.job.status), 120_000, 'evaluation end');
  const job = (await call(s.url, s.token, 'jobs.get', { id })).json;
  ws.close();
  return { job, log };
}

describe('evaluation through the API', () => {
  it('measures the shipped image tokenizer on the held-out style of a store dataset', async () => {
    const tok = await modelNamed('tokenizer');
    expect(tok).toBeDefined();
    // the numbers of its card.json show on its card
    expect(tok.metrics).toMatchObject({ psnr_db: 26.22, ssim: 0.888, usage: 1, positions_per_image: 64 });
    const { job, log } = await evaluate({ modelId: tok.id, datasetId, split: 'test', limit: 6 });
    expect(job).toMatchObject({ kind: 'evaluate', status: 'done', error: null, datasetId, runId: null });
    const m = job.result.metrics;
    console.log(`tokenizer on 6 facebook emoji: PSNR ${m.psnr.toFixed(2)} dB, SSIM ${m.ssim.toFixed(3)}, usage ${(m.usage * 100).toFixed(2)}%`);
    expect(m).toMatchObject({ model_kind: 'tokenizer', images: 6, positions_per_image: 64, codes_per_position: 4 });
    // the card measured 26.2 dB / SSIM 0.89 on the whole held-out style; 6 images land near it
    expect(m.psnr).toBeGreaterThan(18);
    expect(m.ssim).toBeGreaterThan(0.6);
    expect(m.usage).toBeGreaterThan(0);
    const steps = log.events.filter((e) => e.type === 'job.progress' && e.jobId === job.id);
    expect(steps.at(-1)).toMatchObject({ progress: { phase: 'reconstruct', step: 6, total: 6 } });
    expect(log.events.some((e) => e.type === 'job.sample' && e.jobId === job.id && e.sample.kind === 'image')).toBe(true);
    const rows = (await call(s.url, s.token, 'evaluations.list', { modelId: tok.id })).json.evaluations;
    expect(rows[0]).toMatchObject({ id: job.result.evaluationId, modelId: tok.id, datasetId, split: 'test', metrics: { psnr: m.psnr } });
    expect((await call(s.url, s.token, 'models.get', { id: tok.id })).json.evaluations[0].id).toBe(job.result.evaluationId);
  }, 120_000);

  it('measures the shipped unified model on captioned items of a split', async () => {
    const uni = await modelNamed('unified');
    expect(uni).toBeDefined();
    const { job } = await evaluate({ modelId: uni.id, datasetId, split: 'test', limit: 2 });
    expect(job, job.error).toMatchObject({ status: 'done', error: null });
    const m = job.result.metrics;
    console.log(`unified on 2 facebook emoji: ${JSON.stringify(m)}`);
    expect(m).toMatchObject({ model_kind: 'unified', images: 2 });
    for (const k of ['caption_exact', 'caption_f1', 'yesno_acc', 'category_acc']) {
      expect(m[k], k).toBeGreaterThanOrEqual(0);
      expect(m[k], k).toBeLessThanOrEqual(1);
    }
    expect(m.text_ppl).toBeGreaterThan(1);
    expect(m.image_code_nll).toBeGreaterThan(0);
    expect((await call(s.url, s.token, 'models.get', { id: uni.id })).json.evaluations[0]).toMatchObject({ id: job.result.evaluationId, split: 'test' });
  }, 180_000);

  it('refuses a split without items and an unknown model, naming the field', async () => {
    const tok = await modelNamed('tokenizer');
    await call(s.url, s.token, 'datasets.assignSplits', { datasetId, spec: { byPathPrefix: { 'train/': 'train', 'validation/': 'train', 'test/': 'train' } } });
    const none = await call(s.url, s.token, 'runs.evaluate', { modelId: tok.id, datasetId, split: 'test' });
    expect(none.status).toBe(400);
    expect(none.json).toMatchObject({ name: 'ValidationError', message: expect.stringMatching(/^runs\.evaluate: split: dataset "emoji-8" has no usable items in split 'test' \(train \d+, validation 0, test 0, none 0\)/) });
    const noData = await call(s.url, s.token, 'runs.evaluate', { modelId: tok.id });
    expect(noData).toEqual({ status: 400, json: { name: 'ValidationError', message: 'runs.evaluate: datasetId: choose the dataset to evaluate on' } });
    expect((await call(s.url, s.token, 'runs.evaluate', { modelId: 999, datasetId })).status).toBe(404);
    expect((await call(s.url, s.token, 'runs.evaluate', { modelId: tok.id, datasetId, limit: 0 })).json.message).toMatch(/^runs\.evaluate: limit: /);
  });
});
