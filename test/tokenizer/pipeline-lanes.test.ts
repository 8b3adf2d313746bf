// The pipeline's second lane (memory.beside): the example memory's encoders train in a worker thread
// beside the LM's stages, one thread each, and come out as the same recipes trained alone with one
// thread; a pause stops both lanes and the next run finishes both; an encoder that fails in its
// thread fails the pipeline with its own message; an encoder the main lane took with half the
// threads goes on with all of them once the second lane is done.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { busySeconds, runPipeline } from '../../src-main/engine/train/pipeline.ts';
import { semanticRecipe } from '../../src-main/engine/train/recipes/semantic.ts';
import { tinyLmRecipe, tinyTokenizerConfig, writeShapesFolder } from './helpers.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tessera-lanes-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const weights = (dir: string) => readFile(join(dir, 'model.safetensors'));

it('trains the memory encoders in a second lane, pauses both lanes, resumes, and fails with the lane\'s error', async () => {
  const data = join(tmp, 'data');
  await writeShapesFolder(data, 40, 32);
  const lm = tinyLmRecipe({ steps: 4 });
  // the second encoder longer, so it is still training when the lane is done with the first
  const semantic = (seed: number, steps = 300) => ({
    data: { dir: data, eval_split: 'validation', eval_limit: 4 },
    model: { image_size: 32, input_size: 16, width: 8, embed_dim: 16, depth: 4, codebook_size: 48, first_token_id: 16 },
    train: { steps, batch: 4, warmup_steps: 1, checkpoint_every: 100, kmeans_iterations: 1, seed },
  });
  await writeFile(join(tmp, 'tokenizer.json'), JSON.stringify(tinyTokenizerConfig(data, 4)));
  await writeFile(join(tmp, 'lm1.json'), JSON.stringify(lm));
  await writeFile(join(tmp, 'lm2.json'), JSON.stringify({ ...lm, stage: 'stage2' }));
  const pipe = {
    data_dir: data, work_dir: join(tmp, 'work'), model_dir: join(tmp, 'models', 'toy'),
    text_tokenizer: { vocab_size: 300 }, tokenizer: 'tokenizer.json', tokenizer_artifact: null,
    stage1: { rounds: 1, lm: 'lm1.json', lm_steps_per_round: 4, tokenizer_steps_per_round: 2, pull_lambda: 0.5, pull_every: 1 },
    stage2: { lm: 'lm2.json', steps: 8 },
    memory: { encoder: [semantic(3), semantic(4, 800)], beside: true, split: 'train,validation', k: 3, lambda: 0.7, drawing: false },
  };
  const file = join(tmp, 'pipeline.json');
  await writeFile(file, JSON.stringify(pipe));

  // paused while both lanes run: at the second lane's first step
  const stop = new AbortController();
  const first: string[] = [];
  const r1 = await runPipeline(file, {
    threads: 2, log: () => {}, signal: stop.signal,
    onProgress: (s, p) => {
      first.push(s);
      if (s === 'memory-encoder' && p.step >= 1) stop.abort();
    },
  });
  expect(r1).toBe('paused');
  const state1 = JSON.parse(await readFile(join(tmp, 'work', 'pipeline-state.json'), 'utf8'));
  expect(state1['memory-encoder']).toMatchObject({ done: false, threads: 1 });
  expect(state1.stage2?.done).not.toBe(true); // the encoder trained beside the LM's stages, not after them
  expect(state1.assemble).toBeUndefined();

  // the main lane, its stages done, takes the second encoder while the lane still trains the first;
  // held at its first step until the lane is done, it then pauses and goes on with both threads
  const order: string[] = [];
  const events: string[] = [];
  let last = 0, total = 0, held = false;
  const laneModel = join(tmp, 'work', 'memory-encoder', 'model', 'model.safetensors');
  expect(await runPipeline(file, {
    threads: 2, log: (m) => events.push(m),
    onCheckpoint: (s, c) => events.push(`checkpoint ${s} ${c.step}`),
    onProgress: (s, p, all) => {
      order.push(s);
      last = all.step;
      total = all.total;
      if (s === 'memory-encoder-2' && p.phase === 'train' && !held) {
        held = true;
        const wait = new Int32Array(new SharedArrayBuffer(4));
        for (const t0 = Date.now(); !existsSync(laneModel) && Date.now() - t0 < 120_000;) Atomics.wait(wait, 0, 0, 50);
      }
    },
  })).toBe('done');
  const regained = events.indexOf('memory-encoder-2: the second lane is done; going on with all the threads');
  expect(regained).toBeGreaterThan(0);
  const pausedAt = Number(events[regained - 1].match(/^checkpoint memory-encoder-2 (\d+)$/)![1]);
  expect(pausedAt).toBeGreaterThan(0);
  expect(pausedAt).toBeLessThan(800);
  expect(new Set([...first, ...order])).toEqual(new Set(['tokenizer', 'stage1-lm-1', 'stage1-tok-1', 'stage2', 'memory-encoder', 'memory-encoder-2']));
  expect(order.indexOf('memory-encoder')).toBeLessThan(order.lastIndexOf('stage2')); // side by side again
  expect(total).toBe(4 + 4 + 2 + 8 + 300 + 800); // the image tokenizer, Stage I, Stage II, the encoders
  expect(last).toBe(total);
  const mem = JSON.parse(await readFile(join(tmp, 'models', 'toy', 'memory', 'memory.json'), 'utf8'));
  // the card's wall time counts the lanes' overlap once
  const card = JSON.parse(await readFile(join(tmp, 'models', 'toy', 'tessera.json'), 'utf8'));
  const staged = Object.entries(card.training).filter(([k]) => k.endsWith('_seconds') && k !== 'wall_seconds').reduce((a, [, v]) => a + (v as number), 0);
  expect(card.training.wall_seconds).toBeGreaterThan(0);
  expect(card.training.wall_seconds).toBeLessThan(staged - 1);
  expect(mem.encoder).toMatchObject({ model_type: 'tessera-semantic-ensemble', embed_dim: 32 });

  // each encoder equals its recipe trained alone with the threads it had: the first, paused and
  // resumed in its thread, with one; the second with one up to its pause, then both
  const state = JSON.parse(await readFile(join(tmp, 'work', 'pipeline-state.json'), 'utf8'));
  expect(state['memory-encoder'].threads).toBe(1);
  expect(state['memory-encoder-2']).toMatchObject({ done: true, threads: 2 });
  expect(state['memory-encoder-2'].spans).toHaveLength(2);
  const alone = (i: number) => join(tmp, `alone-${i}`);
  await semanticRecipe.run(semanticRecipe.parseConfig(semantic(3), 'test'), { outDir: alone(0), resume: false, threads: 1 });
  const cut = new AbortController();
  const cfg2 = semanticRecipe.parseConfig(semantic(4, 800), 'test');
  const part = await semanticRecipe.run(cfg2, { outDir: alone(1), resume: false, threads: 1, signal: cut.signal, onProgress: (p) => p.step >= pausedAt && cut.abort() });
  expect(part).toMatchObject({ status: 'paused', step: pausedAt });
  await semanticRecipe.run(cfg2, { outDir: alone(1), resume: true, threads: 2 });
  for (const [i, id] of ['memory-encoder', 'memory-encoder-2'].entries()) {
    expect((await weights(join(tmp, 'work', id, 'model'))).equals(await weights(join(alone(i), 'model'))), id).toBe(true);
  }

  // a lane encoder that fails fails the pipeline with its message, after the main lane stopped
  const broken = { ...pipe, work_dir: join(tmp, 'work2'), model_dir: join(tmp, 'models', 'toy2'), memory: { ...pipe.memory, encoder: [{ ...semantic(5), data: { ...semantic(5).data, train_split: 'nosuch' } }] } };
  await writeFile(file, JSON.stringify(broken));
  await expect(runPipeline(file, { threads: 2, log: () => {} })).rejects.toThrow(/nosuch/);
  const state2 = JSON.parse(await readFile(join(tmp, 'work2', 'pipeline-state.json'), 'utf8'));
  expect(state2.stage2?.done).not.toBe(true);
}, 300_000);

it('counts the time covered by overlapping spans once', () => {
  expect(busySeconds([])).toBe(0);
  expect(busySeconds([[0, 1000], [500, 2500], [4000, 5000], [4200, 4300]])).toBe(3.5);
  expect(busySeconds([[4000, 5000], [0, 1000]])).toBe(2);
});
