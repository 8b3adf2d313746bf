// The default-model pipeline end to end at toy scale: text tokenizer, image tokenizer, one Stage I
// round (LM, then the tokenizer pulled toward the LM table), Stage II and one more Stage II round,
// two decoder-only rounds, the assembled model folder with its card; then a second invocation finds
// every stage done and changes nothing; then a semantic encoder and a Stage II round that reads
// images with its leading position (DualToken) are added, and the model that comes out captions
// and draws with it; last, an example memory with its own encoder is added and shipped.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readSafetensors } from '../../src-main/engine/io/safetensors.ts';
import { loadImageFolder } from '../../src-main/engine/data/imagefolder.ts';
import { Session } from '../../src-main/engine/runtime/session.ts';
import { readImageTokenizerWeights } from '../../src-main/engine/models/image-tokenizer.ts';
import { loadUnifiedModel } from '../../src-main/engine/infer/unified.ts';
import { runPipeline } from '../../src-main/engine/train/pipeline.ts';
import { tinyLmRecipe, tinyTokenizerConfig, writeShapesFolder } from './helpers.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tessera-pipe-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

it('trains every stage, assembles a model folder with a card, and resumes as a no-op', async () => {
  const data = join(tmp, 'data');
  await writeShapesFolder(data, 40, 32);
  const lm = tinyLmRecipe({ steps: 2, threads: 1 });
  await writeFile(join(tmp, 'tokenizer.json'), JSON.stringify(tinyTokenizerConfig(data, 4)));
  await writeFile(join(tmp, 'lm1.json'), JSON.stringify(lm));
  await writeFile(join(tmp, 'lm2.json'), JSON.stringify({ ...lm, stage: 'stage2' }));
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify({
    data_dir: data, work_dir: join(tmp, 'work'), model_dir: join(tmp, 'models', 'toy'),
    text_tokenizer: { vocab_size: 300 }, tokenizer: 'tokenizer.json', tokenizer_artifact: join(tmp, 'artifact'),
    stage1: { rounds: 1, lm: 'lm1.json', lm_steps_per_round: 2, tokenizer_steps_per_round: 2, pull_lambda: 0.5, pull_every: 1 },
    stage2: { lm: 'lm2.json', more: [{ steps: 2, lr: 5e-4, warmup_steps: 1, seed: 5, mix: { caption: 1 }, augment: { variants: 1, shift: 2, scale: 0.1, rotate: 5, color: 0.2, blur: 0.5 } }] },
    decoder: { steps: 2, lr: 1e-3, ssim_weight: 0.5, more: [{ steps: 2, lr: 5e-4, ssim_weight: 1 }] },
  }));
  const stages = new Set<string>();
  let pulled = 0;
  const r = await runPipeline(join(tmp, 'pipeline.json'), {
    threads: 1, log: () => {},
    onProgress: (s, p) => {
      stages.add(s);
      if (s === 'stage1-tok-1') pulled += p.metrics.pulled ?? 0;
    },
  });
  expect(r).toBe('done');
  expect([...stages]).toEqual(['tokenizer', 'stage1-lm-1', 'stage1-tok-1', 'stage2', 'stage2-more-1', 'tokenizer-decoder', 'tokenizer-decoder-2']);
  // the model ships the last decoder round's tokenizer, whose encoder and codebook are Stage I's
  const shipped = await readImageTokenizerWeights(join(tmp, 'models', 'toy', 'image-tokenizer'));
  const stage1 = await readImageTokenizerWeights(join(tmp, 'work', 'stage1-tok-1', 'model'));
  const tuned = await readImageTokenizerWeights(join(tmp, 'work', 'tokenizer-decoder-2', 'model'));
  const first = await readImageTokenizerWeights(join(tmp, 'work', 'tokenizer-decoder', 'model'));
  for (const [k, v] of shipped) {
    expect(Array.from(v)).toEqual(Array.from(tuned.get(k)!));
    if (!k.startsWith('decoder.')) expect(Array.from(v)).toEqual(Array.from(stage1.get(k)!));
  }
  expect(Array.from(tuned.get('decoder.conv_out.weight') ?? [])).not.toEqual(Array.from(first.get('decoder.conv_out.weight') ?? []));
  // and the LM of the last Stage II round
  const lmOf = async (dir: string) => readFile(join(dir, 'model.safetensors'));
  expect((await lmOf(join(tmp, 'models', 'toy'))).equals(await lmOf(join(tmp, 'work', 'stage2-more-1', 'model')))).toBe(true);
  expect((await lmOf(join(tmp, 'work', 'stage2', 'model'))).equals(await lmOf(join(tmp, 'work', 'stage2-more-1', 'model')))).toBe(false);
  expect(pulled).toBe(2); // the Stage I tokenizer pulled toward the LM table the LM round wrote
  const card = JSON.parse(await readFile(join(tmp, 'models', 'toy', 'tessera.json'), 'utf8'));
  expect(card.metrics.tokenizer_psnr).toBeGreaterThan(5);
  expect(card.training.stage2_seconds).toBeGreaterThanOrEqual(0);
  expect(card.recipe.stage2_more[0].train).toMatchObject({ steps: 2, lr: 5e-4, seed: 5, mix: { caption: 1 } });
  expect(card.recipe.stage2_more[0].data.augment).toEqual({ variants: 1, shift: 2, scale: 0.1, rotate: 5, color: 0.2, blur: 0.5 });
  expect((await readdir(join(tmp, 'work', 'stage2-more-1', 'cache'))).filter((f) => f.includes('-jitter2x0.1r5c0.2b0.5v1'))).toHaveLength(1); // the round encoded its jittered copy
  expect((await stat(join(tmp, 'artifact', 'encoder.onnx'))).isFile()).toBe(true);
  const before = (await stat(join(tmp, 'models', 'toy', 'tessera.json'))).mtimeMs;
  const again = new Set<string>();
  expect(await runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {}, onProgress: (s) => again.add(s) })).toBe('done');
  expect(again.size).toBe(0);
  expect((await stat(join(tmp, 'models', 'toy', 'tessera.json'))).mtimeMs).toBe(before);
  // a round added to the recipe afterwards runs alone, and the model folder is assembled again
  const pipe = JSON.parse(await readFile(join(tmp, 'pipeline.json'), 'utf8'));
  pipe.decoder.more.push({ steps: 2, lr: 2e-4, ssim_weight: 1 });
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify(pipe));
  const extended = new Set<string>();
  expect(await runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {}, onProgress: (s) => extended.add(s) })).toBe('done');
  expect([...extended]).toEqual(['tokenizer-decoder-3']);
  const third = await readImageTokenizerWeights(join(tmp, 'work', 'tokenizer-decoder-3', 'model'));
  const reshipped = await readImageTokenizerWeights(join(tmp, 'models', 'toy', 'image-tokenizer'));
  expect(Array.from(reshipped.get('decoder.conv_out.weight')!)).toEqual(Array.from(third.get('decoder.conv_out.weight')!));

  // the semantic encoder and a round that reads images with its leading position (and grows the LM)
  const semantic = {
    data: { dir: 'unused', eval_split: 'validation', eval_limit: 4 },
    model: { image_size: 32, input_size: 16, width: 8, embed_dim: 16, depth: 4, codebook_size: 48, first_token_id: 16 },
    train: { steps: 2, batch: 4, warmup_steps: 1, checkpoint_every: 2, kmeans_iterations: 1, threads: 1 },
  };
  await writeFile(join(tmp, 'semantic.json'), JSON.stringify(semantic));
  // the model's own semantic encoder as a memory member needs a round that reads it: refused before any stage runs
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify({ ...pipe, memory: { encoder: 'semantic.json', with_semantic: true } }));
  await expect(runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {} })).rejects.toThrow(/memory\.with_semantic: needs a Stage II round that reads the semantic position/);
  pipe.semantic = 'semantic.json';
  pipe.stage2.more.push({ steps: 2, lr: 5e-4, warmup_steps: 1, seed: 6, mix: { caption: 0.5, t2i: 0.5 }, semantic_read: true, grow: { num_hidden_layers: 2 } });
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify(pipe));
  await expect(runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {} })).rejects.toThrow(/stage2\.more\[1\]\.semantic_read: needs `semantic: true`/);
  pipe.stage2.more[1].semantic = true;
  pipe.stage2.more.push({ steps: 2, lr: 5e-4, warmup_steps: 1, seed: 7 });
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify(pipe));
  await expect(runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {} })).rejects.toThrow(/stage2\.more\[2\]\.semantic: must be true/);
  pipe.stage2.more.pop();
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify(pipe));
  const dual = new Set<string>();
  expect(await runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {}, onProgress: (s) => dual.add(s) })).toBe('done');
  expect([...dual]).toEqual(['semantic', 'stage2-more-2']);
  const toy = join(tmp, 'models', 'toy');
  expect(JSON.parse(await readFile(join(toy, 'config.json'), 'utf8'))).toMatchObject({ image_positions: 17, num_hidden_layers: 2, semantic_read_dim: 16 }); // read with the semantic position, grown to two layers
  // the semantic read: the LM's codebooks are the encoder's, untouched by training; its map started at zero and trained
  const [lmW, semW] = [await readSafetensors(join(toy, 'model.safetensors')), await readSafetensors(join(toy, 'image-tokenizer', 'semantic', 'model.safetensors'))];
  expect(Array.from(lmW.tensors.get('model.semantic_codebooks')!.data as Float32Array)).toEqual(Array.from(semW.tensors.get('semantic.codebooks')!.data as Float32Array));
  const proj = lmW.tensors.get('model.semantic_proj.weight')!.data as Float32Array;
  expect(proj.some((v) => v !== 0)).toBe(true);
  expect((await stat(join(toy, 'image-tokenizer', 'semantic', 'encoder.onnx'))).isFile()).toBe(true);
  const card2 = JSON.parse(await readFile(join(toy, 'tessera.json'), 'utf8'));
  expect(card2.metrics.semantic_nn_top1).toBeGreaterThanOrEqual(0);
  expect(card2.metrics.tokenizer_positions_per_image).toBe(17);
  const m = await loadUnifiedModel(toy, { threads: 1 });
  try {
    const [img] = await m.generateImages('a disc', 1, { seed: 1, cfg: 2 });
    expect(img.size).toBe(32);
    expect(img.pixels.length).toBe(3 * 32 * 32);
    let text = '';
    await m.chat([{ role: 'user', parts: [{ type: 'image', pixels: img.pixels, size: 32 }, { type: 'text', text: 'What is this?' }] }], { temperature: 0, maxNewTokens: 4, textOnly: true }, (e) => e.type === 'text' && (text += e.delta));
    expect(typeof text).toBe('string');
  } finally {
    await m.release();
  }

  // a new semantic encoder from a later round on: trained before that round, read by it, shipped
  pipe.stage2.more.push({ steps: 2, lr: 5e-4, warmup_steps: 1, seed: 8, semantic_encoder: { ...semantic, data: { ...semantic.data, eval_limit: 3 }, train: { ...semantic.train, seed: 2 } } });
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify(pipe));
  await expect(runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {} })).rejects.toThrow(/stage2\.more\[2\]\.semantic_encoder: needs `semantic: true`/);
  pipe.stage2.more[2].semantic = true;
  pipe.stage2.more[2].semantic_only = 0.5; // half the captions show the semantic position alone
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify(pipe));
  const swapped = new Set<string>();
  expect(await runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {}, onProgress: (s) => swapped.add(s) })).toBe('done');
  expect([...swapped]).toEqual(['semantic-more-3', 'stage2-more-3']);
  const books = async (dir: string) => Array.from((await readSafetensors(join(dir, 'model.safetensors'))).tensors.get('semantic.codebooks')!.data as Float32Array);
  const [shippedBooks, secondBooks, firstBooks] = await Promise.all([books(join(toy, 'image-tokenizer', 'semantic')), books(join(tmp, 'work', 'semantic-more-3', 'model')), books(join(tmp, 'work', 'semantic', 'model'))]);
  expect(shippedBooks).toEqual(secondBooks);
  expect(shippedBooks).not.toEqual(firstBooks);
  // the read's frozen codebooks follow the new encoder
  expect(Array.from((await readSafetensors(join(toy, 'model.safetensors'))).tensors.get('model.semantic_codebooks')!.data as Float32Array)).toEqual(secondBooks);
  const card3 = JSON.parse(await readFile(join(toy, 'tessera.json'), 'utf8'));
  expect(card3.recipe.semantic_more['stage2.more[2]'].train.seed).toBe(2);
  // and its numbers are the new encoder's (measured on 3 images, the first on 4)
  expect(card3.metrics.semantic_eval_images).toBe(3);
  expect(card3.recipe.stage2_more[2].semantic_only).toBe(0.5);
  // its code numbers were matched to the first encoder's: the share of training images keeping their
  // code, as the stage reported it, is what the two shipped encoders give
  const states = JSON.parse(await readFile(join(tmp, 'work', 'pipeline-state.json'), 'utf8'));
  const train = await loadImageFolder(data, { split: 'train', size: 32 });
  const codes = async (dir: string) => {
    const s = await Session.create(new Uint8Array(await readFile(join(dir, 'encoder.onnx'))), { threads: 1 });
    const r = (await s.run({ pixels: { dtype: 'float32', shape: [train.rows.length, 3, 32, 32], data: train.images } })).codes.data as BigInt64Array;
    await s.release();
    return r;
  };
  const [nowCodes, firstCodes] = [await codes(join(toy, 'image-tokenizer', 'semantic')), await codes(join(tmp, 'work', 'semantic', 'model'))];
  for (let d = 0; d < 4; d++) {
    const kept = train.rows.filter((_, i) => nowCodes[i * 4 + d] === firstCodes[i * 4 + d]).length / train.rows.length;
    expect(states['semantic-more-3'].result[`aligned_${d + 1}`]).toBeCloseTo(kept, 10);
  }
  expect(states['semantic-more-3'].result.aligned_1).toBeGreaterThan(0);

  // an example memory with its own encoder: trained as one more stage, built at assembly, shipped
  pipe.memory = { encoder: { ...semantic, train: { ...semantic.train, seed: 3 } }, split: 'train,train', k: 3, lambda: 0.7 };
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify(pipe));
  await expect(runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {} })).rejects.toThrow(/memory\.split: .*'train' is named twice/); // refused before any stage runs
  pipe.memory.split = 'train,validation';
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify(pipe));
  const val = await loadImageFolder(data, { split: 'validation', size: 32 });
  const remembered = new Set<string>();
  expect(await runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {}, onProgress: (s) => remembered.add(s) })).toBe('done');
  expect([...remembered]).toEqual(['memory-encoder']);
  const mem = JSON.parse(await readFile(join(toy, 'memory', 'memory.json'), 'utf8'));
  const entries = train.rows.length + val.rows.length;
  expect(mem).toMatchObject({ entries, k: 3, lambda: 0.7, tau: 0.05, source: { split: 'train,validation', rows: entries, parts: [{ split: 'train', rows: train.rows.length }, { split: 'validation', rows: val.rows.length }] } });
  expect(mem.answers.label).toEqual([...train.rows, ...val.rows].map((r) => r.text));
  const card4 = JSON.parse(await readFile(join(toy, 'tessera.json'), 'utf8'));
  expect(card4.metrics).toMatchObject({ memory_entries: entries, memory_split: 'train,validation' });
  expect(card4.metrics.memory_encoder_nn_top1).toBeGreaterThanOrEqual(0);
  expect(card4.recipe.memory.encoder.train.seed).toBe(3);
  // its features are the memory encoder's, not the model's semantic position's
  const memFeat = async (dir: string) => {
    const s = await Session.create(new Uint8Array(await readFile(join(dir, 'encoder.onnx'))), { threads: 1 });
    const r = (await s.run({ pixels: { dtype: 'float32', shape: [1, 3, 32, 32], data: train.images.subarray(0, 3 * 32 * 32) } })).features.data as Float32Array;
    await s.release();
    return Array.from(r);
  };
  const [a, b] = [await memFeat(join(toy, 'memory')), await memFeat(join(tmp, 'work', 'memory-encoder', 'model'))];
  a.forEach((x, i) => expect(x).toBeCloseTo(b[i], 5));
  expect(a).not.toEqual(await memFeat(join(toy, 'image-tokenizer', 'semantic')));

  // an ensemble of two memory encoders: the second is one more stage, and the memory reads with both
  pipe.memory.encoder = [pipe.memory.encoder, { ...semantic, train: { ...semantic.train, seed: 4 } }];
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify(pipe));
  remembered.clear();
  expect(await runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {}, onProgress: (s) => remembered.add(s) })).toBe('done');
  expect([...remembered]).toEqual(['memory-encoder-2']);
  const mem5 = JSON.parse(await readFile(join(toy, 'memory', 'memory.json'), 'utf8'));
  expect(mem5.encoder).toMatchObject({ model_type: 'tessera-semantic-ensemble', embed_dim: 2 * mem.encoder.embed_dim });
  const card5 = JSON.parse(await readFile(join(toy, 'tessera.json'), 'utf8'));
  expect(card5.recipe.memory.encoder.map((e: { train: { seed: number } }) => e.train.seed)).toEqual([3, 4]);
  expect(card5.metrics.memory_encoder_2_nn_top1).toBeGreaterThanOrEqual(0);
  const [both, second] = [await memFeat(join(toy, 'memory')), await memFeat(join(tmp, 'work', 'memory-encoder-2', 'model'))];
  [...a, ...second].forEach((x, i) => expect(both[i]).toBeCloseTo(x / Math.SQRT2, 5));

  // a third recipe trained in two cycles: its snapshot (step 2) and its model (step 3) both join the memory
  pipe.memory.encoder = [...pipe.memory.encoder, { ...semantic, train: { ...semantic.train, steps: 3, cycles: 2, seed: 5 } }];
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify(pipe));
  remembered.clear();
  expect(await runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {}, onProgress: (s) => remembered.add(s) })).toBe('done');
  expect([...remembered]).toEqual(['memory-encoder-3']);
  expect(JSON.parse(await readFile(join(toy, 'memory', 'memory.json'), 'utf8')).encoder).toMatchObject({ model_type: 'tessera-semantic-ensemble', embed_dim: 4 * mem.encoder.embed_dim });
  const cycled = join(tmp, 'work', 'memory-encoder-3');
  const [four, snap, last] = [await memFeat(join(toy, 'memory')), await memFeat(join(cycled, 'snapshots', '1')), await memFeat(join(cycled, 'model'))];
  expect(snap).not.toEqual(last);
  [...a, ...second, ...snap, ...last].forEach((x, i) => expect(four[i]).toBeCloseTo(x / 2, 5));

  // with_semantic: the encoder of the model's own semantic position joins as the first member; nothing trains again
  pipe.memory.with_semantic = true;
  await writeFile(join(tmp, 'pipeline.json'), JSON.stringify(pipe));
  remembered.clear();
  expect(await runPipeline(join(tmp, 'pipeline.json'), { threads: 1, log: () => {}, onProgress: (s) => remembered.add(s) })).toBe('done');
  expect([...remembered]).toEqual([]);
  expect(JSON.parse(await readFile(join(toy, 'memory', 'memory.json'), 'utf8')).encoder).toMatchObject({ model_type: 'tessera-semantic-ensemble', embed_dim: 5 * mem.encoder.embed_dim });
  const [five, own] = [await memFeat(join(toy, 'memory')), await memFeat(join(toy, 'image-tokenizer', 'semantic'))];
  [...own, ...a, ...second, ...snap, ...last].forEach((x, i) => expect(five[i]).toBeCloseTo(x / Math.sqrt(5), 5));
  expect(JSON.parse(await readFile(join(toy, 'tessera.json'), 'utf8')).recipe.memory.with_semantic).toBe(true);
}, 300_000);
