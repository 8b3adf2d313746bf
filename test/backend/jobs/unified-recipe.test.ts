// The app's one-click "unified model from scratch" recipe (the default-model pipeline as a job) at
// toy scale through the real job runner and store: a dataset imported from an imagefolder, the
// recipe's defaults merged with small overrides, one progress count over all stages, a pause in the
// middle of a stage and a resume that finishes, samples to watch from every stage, and the new
// unified model registered with its card.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../src-main/backend/store/index.ts';
import { importDataset } from '../../../src-main/backend/datasets/index.ts';
import { JobRunner } from '../../../src-main/backend/jobs/runner.ts';
import { startTraining } from '../../../src-main/backend/jobs/training.ts';
import { RECIPES } from '../../../src-main/backend/jobs/recipes.ts';
import { ValidationError } from '../../../src-main/contract/api.ts';
import { tinyTokenizerConfig, writeShapesFolder } from '../../tokenizer/helpers.ts';
import { EventLog, jobStatus } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-unified-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tinyLm = { model: { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 64, max_position_embeddings: 128, depth_head_heads: 2, depth_head_intermediate_size: 32 }, train: { batch: 2, warmup_steps: 1, checkpoint_every: 2, eval_every: 0 } };

describe('the unified-model recipe as a job', () => {
  it('trains every stage with one progress count, pauses, resumes and registers the model', async () => {
    const data = join(dir, 'shapes');
    await writeShapesFolder(data, 40, 32);
    const store = await openStore(join(dir, 'tessera.db'));
    const { datasetId } = await importDataset(store, { kind: 'imagefolder', name: 'shapes', path: data });
    const log = new EventLog();
    const runner = new JobRunner({ store, dataDir: dir, emit: log.push, threads: () => 1 });
    runner.start();

    const tok = tinyTokenizerConfig('-', 4);
    const config = {
      text_tokenizer: { vocab_size: 300 },
      tokenizer: { model: tok.model, codebook: tok.codebook, data: { eval_images: 8 }, train: { ...tok.train, checkpoint_every: 1 } },
      stage1: { rounds: 1, lm_steps_per_round: 3, tokenizer_steps_per_round: 2, lm: tinyLm },
      stage2: { steps: 4, lm: { ...tinyLm, name: 'toy-unified' } },
    };
    // the advanced panel's fields exist in the defaults (dotted paths)
    for (const f of RECIPES.unified.info.fields) {
      const v = f.key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], RECIPES.unified.info.defaults);
      expect(v, f.key).not.toBeUndefined();
    }
    expect(() => startTraining(store, runner, { recipe: 'unified', config })).toThrow(ValidationError);

    const { job, run } = startTraining(store, runner, { recipe: 'unified', datasetId, config });
    // pause inside the Stage I LM round (tokenizer 4 steps, then the LM's 3)
    await log.until((e) => e.type === 'job.progress' && e.jobId === job.id && e.progress.step >= 5, 120_000, 'step 5');
    runner.pause(job.id);
    await log.until(jobStatus(job.id, 'paused'), 60_000, 'paused');
    runner.resume(job.id);
    await log.until(jobStatus(job.id, 'done'), 120_000, 'done');

    const progress = log.events.filter((e) => e.type === 'job.progress' && e.jobId === job.id).map((e) => (e as { progress: { step: number; total: number; phase: string } }).progress);
    const total = 4 + 3 + 2 + 4;
    expect(new Set(progress.map((p) => p.total))).toEqual(new Set([total]));
    expect(progress.at(-1)!.step).toBe(total);
    const phases = [...new Set(progress.map((p) => p.phase.split(' ')[0]))];
    expect(phases).toEqual(['tokenizer', 'stage1-lm-1', 'stage1-tok-1', 'stage2']);
    // within a stage the count only grows; after the resume it continues where the pause left it
    const lm = progress.filter((p) => p.phase.startsWith('stage1-lm-1')).map((p) => p.step);
    expect(lm[0]).toBe(5);
    expect(lm.at(-1)).toBe(7);

    const finished = store.runs.get(run.id);
    expect(finished.status).toBe('done');
    const model = store.models.get(finished.modelId!);
    expect(model).toMatchObject({ kind: 'unified', name: 'toy-unified' });
    expect((model.card as { metrics: Record<string, number> }).metrics.tokenizer_psnr).toBeGreaterThan(5);
    expect(store.jobs.get(job.id)).toMatchObject({ status: 'done', attempts: 2 });
    // samples to watch: the tokenizer's reconstructions, and the LM's caption and drawing of a held-out image
    const samples = store.jobs.samples({ runId: run.id });
    const grid = samples.find((x) => x.kind === 'image' && /reconstructions/.test(x.prompt ?? ''));
    const drawing = samples.find((x) => x.kind === 'image' && /^Draw an? a (disc|square)\.$/.test(x.prompt ?? ''));
    expect(grid && drawing).toBeTruthy();
    for (const x of [grid!, drawing!]) expect(statSync(x.imagePath!).size).toBeGreaterThan(60);
    expect(samples.filter((x) => x.kind === 'text' && /^What is this\? \(a validation image of "a (disc|square)"\)$/.test(x.prompt ?? ''))).toHaveLength(2); // Stage I's LM round and Stage II
    await runner.close();
    store.close();
  });
});
