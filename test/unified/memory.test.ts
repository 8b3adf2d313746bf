// The example memory (engine/infer/memory.ts): binary16 storage, the k-nearest search, the kNN-LM
// next-token distribution and its mixture with the LM's; then end to end on a tiny model trained by
// the 'lm' recipe on real emoji with a real semantic encoder (random weights, exported through
// onnxruntime): a memory built from the training split makes the caption of a training image's copy
// that image's label at λ = 1, leaves the LM's answer alone at λ = 0 and for questions it does not
// know, stays out of `eval lm` on its own split, is built by the lm recipe (from a semantic encoder
// or another memory's encoder), and broken memory folders name the file and field.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CATEGORY_PROMPT, DECOMPRESS_PROMPT } from '../../src-main/engine/data/tasks.ts';
import { evaluateModel } from '../../src-main/engine/infer/eval.ts';
import { describeExamples, memoryNextToken, mixMemory, nearest } from '../../src-main/engine/infer/memory.ts';
import { buildMemory, readFeatureEncoder } from '../../src-main/engine/infer/memory-build.ts';
import type { GenerationEvent, TextSampling } from '../../src-main/engine/infer/types.ts';
import { Rows, UnifiedModel } from '../../src-main/engine/infer/unified.ts';
import { floatArray, fromHalf, toHalf } from '../../src-main/engine/io/half.ts';
import { readSafetensors, writeSafetensors } from '../../src-main/engine/io/safetensors.ts';
import type { SemanticConfig } from '../../src-main/engine/models/semantic.ts';
import { parseLmConfig, runLmRecipe } from '../../src-main/engine/train/recipes/lm.ts';
import { memoryRecipe } from '../../src-main/engine/train/recipes/memory.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';
import { encodedSplit, TINY_SEMANTIC_SHAPES, tinyCodec, tinyEmoji, tinySemanticWeights, tinyTokenizer, tmp } from './helpers.ts';

describe('binary16', () => {
  it('rounds to the IEEE patterns and back', () => {
    const cases: [number, number][] = [[1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [2 ** -24, 0x0001], [2 ** -14, 0x0400], [0.1, 0x2e66], [1 / 3, 0x3555], [0, 0], [-0, 0x8000], [Infinity, 0x7c00], [1e-9, 0]];
    for (const [x, h] of cases) expect(toHalf(x), `${x}`).toBe(h);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
    // ties to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    const rng = new Rng(3);
    for (let i = 0; i < 1000; i++) {
      const x = (rng.uniform() - 0.5) * 4;
      expect(Math.abs(fromHalf(toHalf(x)) - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25);
    }
  });
});

describe('the memory mixture', () => {
  it('finds the k nearest rows in order with softmax weights', () => {
    const rng = new Rng(5), E = 8, N = 50;
    const feats = rng.fillNormal(new Float32Array(N * E));
    const q = rng.fillNormal(new Float32Array(E));
    const dots = Array.from({ length: N }, (_, j) => feats.subarray(j * E, (j + 1) * E).reduce((a, x, e) => a + x * q[e], 0));
    const order = Array.from(dots.keys()).sort((a, b) => dots[b] - dots[a]);
    const got = nearest(feats, E, q, { k: 5, tau: 0.5 });
    expect(got.map((n) => n.entry)).toEqual(order.slice(0, 5));
    const w = order.slice(0, 5).map((j) => Math.exp(dots[j] / 0.5));
    got.forEach((n, i) => expect(n.weight).toBeCloseTo(w[i] / w.reduce((a, b) => a + b, 0), 6));
    expect(nearest(feats, E, q, { k: 3, tau: 1 }, (j) => j === order[0]).map((n) => n.entry)).toEqual(order.slice(1, 4));
    expect(() => nearest(feats, E, new Float32Array(3), { k: 1, tau: 1 })).toThrow(/3 values.*8/);
  });

  it('spreads the neighbours that continue the text over their next tokens', () => {
    const cands = [{ ids: [5, 6, 9], weight: 0.5 }, { ids: [5, 7, 9], weight: 0.3 }, { ids: [8, 9], weight: 0.2 }];
    expect([...memoryNextToken(cands, [])!]).toEqual([[5, 0.8], [8, 0.2]]);
    const after5 = memoryNextToken(cands, [5])!;
    expect(after5.get(6)).toBeCloseTo(0.625, 12);
    expect(after5.get(7)).toBeCloseTo(0.375, 12);
    expect([...memoryNextToken(cands, [5, 6])!]).toEqual([[9, 1]]);
    expect(memoryNextToken(cands, [5, 6, 9])).toBeNull(); // every answer is complete
    expect(memoryNextToken(cands, [4])).toBeNull(); // none continues the text: the LM alone decides
  });

  it('describes the examples an answer leaned on by their summed weight', () => {
    const ex = [{ answer: 'b', weight: 0.3 }, { answer: 'a', weight: 0.25 }, { answer: 'b', weight: 0.2 }, { answer: 'c', weight: 0.15 }, { answer: 'd', weight: 0.1 }];
    expect(describeExamples(ex)).toBe('b 50%, a 25%, c 15%');
    expect(describeExamples(ex, 1)).toBe('b 50%');
  });

  it('mixes λ·p_memory + (1 − λ)·p_LM in log space', () => {
    const lp = Float64Array.from([0.5, 0.3, 0.2, 0], Math.log);
    const pm = new Map([[1, 0.75], [3, 0.25]]);
    for (const lambda of [0, 0.3, 1]) {
      const got = mixMemory(lp, pm, lambda);
      const want = [0, 1, 2, 3].map((i) => Math.log(lambda * (pm.get(i) ?? 0) + (1 - lambda) * Math.exp(lp[i])));
      got.forEach((x, i) => (Number.isFinite(want[i]) ? expect(x).toBeCloseTo(want[i], 12) : expect(x).toBe(-Infinity)));
      expect(got.reduce((a, x) => a + Math.exp(x), 0)).toBeCloseTo(1, 12);
    }
  });
});

describe('a model folder with a memory', () => {
  let modelDir: string, dataDir: string, encoderDir: string, second: string, third: string;

  beforeAll(async () => {
    const tokDir = (await tinyTokenizer()).dir;
    const imgTok = tmp('imgtok');
    writeFileSync(join(imgTok, 'config.json'), JSON.stringify({ palette: [16, 4, 2, 2, 16] }));
    dataDir = await tinyEmoji(6);
    // a split of copies of the training images: each one's nearest example is itself
    const meta = join(dataDir, 'metadata.jsonl');
    const rows = readFileSync(meta, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    writeFileSync(meta, [...rows, ...rows.filter((r) => r.split === 'train').map((r) => ({ ...r, split: 'copy' }))].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const cfg = parseLmConfig({
      model: { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 48, max_position_embeddings: 112, depth_head_heads: 2, depth_head_intermediate_size: 32 },
      data: { dir: dataDir, eval_split: 'test' }, image_tokenizer: imgTok, text_tokenizer: tokDir, stage: 'stage2',
      train: { steps: 6, batch: 4, lr: 0.01, warmup_steps: 2, checkpoint_every: 6, eval_batches: 1, threads: 1 },
    }, 'lm.json');
    modelDir = (await runLmRecipe(cfg, { outDir: tmp('lm'), resume: false }, { loadCodec: async () => tinyCodec() })).modelDir!;
    // a semantic encoder with random weights: distinct images get distinct unit features
    encoderDir = tmp('sem');
    const c: SemanticConfig = { model_type: 'tessera-semantic', image_size: 16, input_size: 16, width: 8, embed_dim: 16, depth: 2, codebook_size: 16, first_token_id: 16 };
    // and two more, for ensembles
    second = tmp('sem2');
    third = tmp('sem3');
    for (const [dir, seed] of [[encoderDir, 11], [second, 12], [third, 13]] as const) {
      writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
      await writeSafetensors(join(dir, 'model.safetensors'), new Map([...tinySemanticWeights(new Rng(seed))].map(([n, d]) => [n, { dtype: 'F32' as const, shape: TINY_SEMANTIC_SHAPES[n], data: d }])), { format: 'pt' });
    }
  }, 90_000);

  /** A copy of the model with a memory of the training split, mixed with weight λ and one neighbour. */
  const withMemory = async (lambda: number) => {
    const dir = tmp('mem-model');
    cpSync(modelDir, dir, { recursive: true });
    await buildMemory({ encoderDir, dataDir, split: 'train', out: join(dir, 'memory'), mix: { k: 1, lambda }, threads: 1 });
    return dir;
  };
  const ask = async (m: UnifiedModel, px: Float32Array, q: string, memory?: TextSampling['memory']) => {
    let text = '';
    await m.chat([{ role: 'user', parts: [{ type: 'image', pixels: px, size: 16 }, { type: 'text', text: q }] }], { temperature: 0, maxNewTokens: 24, textOnly: true, memory }, (e) => e.type === 'text' && (text += e.delta));
    return text.trim();
  };

  it('answers with the nearest example at λ = 1, as the LM alone at λ = 0 or off, and leaves other questions to the LM', async () => {
    const train = await encodedSplit(dataDir, 'train');
    const m = await UnifiedModel.load(await withMemory(1), { codec: tinyCodec(), threads: 1 });
    try {
      expect(m.memory?.entries).toBe(train.rows.length);
      let differs = 0;
      for (const i of [0, 3, 7]) {
        const px = train.images.subarray(i * 768, (i + 1) * 768);
        const lmAlone = await ask(m, px, 'What is this?', false);
        expect(await ask(m, px, 'What is this?')).toBe(train.rows[i].text);
        expect(await ask(m, px, '  what IS this? ')).toBe(train.rows[i].text); // questions match without case and spaces
        expect(await ask(m, px, CATEGORY_PROMPT)).toBe(train.rows[i].category);
        expect(await ask(m, px, 'What is this?', { lambda: 0 })).toBe(lmAlone);
        expect(await ask(m, px, 'Is this an animal?')).toBe(await ask(m, px, 'Is this an animal?', false));
        differs += lmAlone !== train.rows[i].text ? 1 : 0;
        // the reply says which examples it leaned on; the LM alone says nothing of the kind
        const events: GenerationEvent[] = [];
        for (const memory of [undefined, false]) await m.chat([{ role: 'user', parts: [{ type: 'image', pixels: px, size: 16 }, { type: 'text', text: 'What is this?' }] }], { temperature: 0, maxNewTokens: 4, textOnly: true, memory }, (e) => e.type === 'memory' && events.push(e));
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ type: 'memory', lambda: 1, examples: [{ answer: train.rows[i].text, weight: 1 }] });
      }
      expect(differs).toBeGreaterThan(0); // a 6-step model does not name these itself: the memory did
    } finally {
      await m.release();
    }
  }, 60_000);

  it('gives eval lm its own figures, never on the split it was built from', async () => {
    const m = await UnifiedModel.load(await withMemory(1), { codec: tinyCodec(), threads: 1 });
    try {
      const copy = await evaluateModel(m, { dataDir, split: 'copy', limit: 6, generate: 0, closedSet: false });
      expect(copy).toMatchObject({ caption_exact_memory: 1, memory_nn_caption_exact: 1, category_acc_memory: 1, memory_nn_category_acc: 1, memory_k: 1, memory_lambda: 1 });
      expect(copy).not.toHaveProperty('memory_variant_alpha'); // these labels name no variants: no colour prior
      expect(copy.caption_exact).toBeLessThan(1);
      expect(copy.memory_seen).toBe(1); // copies of its examples, and eval says so
      const own = await evaluateModel(m, { dataDir, split: 'train', limit: 4, generate: 0, closedSet: false });
      expect(own.memory_skipped_leak).toBe(1);
      expect(own.caption_exact_memory).toBeUndefined();
      // the same rows in a copy of the data folder are still the memory's own
      const moved = tmp('moved-data');
      cpSync(dataDir, moved, { recursive: true });
      expect((await evaluateModel(m, { dataDir: moved, split: 'train', limit: 2, generate: 0, closedSet: false })).memory_skipped_leak).toBe(1);
      const lmAlone = await evaluateModel(m, { dataDir, split: 'copy', limit: 2, generate: 2, closedSet: false, memory: false, judge: encoderDir });
      expect(lmAlone.caption_exact_memory).toBeUndefined();
      // drawing: the gallery is every split's images (the evaluated one too), and the ceiling, a real
      // image of each label left out of it, finds its copy in the training split first
      const rows = readFileSync(join(dataDir, 'metadata.jsonl'), 'utf8').trim().split('\n');
      expect(lmAlone).toMatchObject({ generated: 2, gallery: rows.length, t2i_real_top1: 1, t2i_real_top5: 1, t2i_judge_real_top1: 1, t2i_judge_real_top5: 1 });
      expect(lmAlone.t2i_top5).toBeGreaterThanOrEqual(lmAlone.t2i_top1);
      expect(lmAlone.t2i_judge_top5).toBeGreaterThanOrEqual(lmAlone.t2i_judge_top1); // a second judge, the semantic encoder's features
      // a judge folder that cannot judge fails before any question is asked or image drawn
      const progress: string[] = [];
      const noJudge = tmp('no-judge');
      await expect(evaluateModel(m, { dataDir, split: 'copy', limit: 2, generate: 2, closedSet: false, judge: noJudge, onProgress: (what) => progress.push(what) }))
        .rejects.toThrow(`${join(noJudge, 'config.json')}: cannot read the semantic encoder config`);
      expect(progress).toEqual([]);
    } finally {
      await m.release();
    }
  }, 60_000);

  it('may hold several splits, each a part that eval lm will not measure it on', async () => {
    const dir = tmp('two-split-model');
    cpSync(modelDir, dir, { recursive: true });
    const train = await encodedSplit(dataDir, 'train'), test = await encodedSplit(dataDir, 'test');
    const f = await buildMemory({ encoderDir, dataDir, split: ' train , test', out: join(dir, 'memory'), mix: { k: 1, lambda: 1 }, threads: 1 });
    expect(f.entries).toBe(train.rows.length + test.rows.length);
    expect(f.source).toMatchObject({ split: 'train,test', rows: f.entries, parts: [{ split: 'train', rows: train.rows.length }, { split: 'test', rows: test.rows.length }] });
    expect(f.answers.label).toEqual([...train.rows, ...test.rows].map((r) => r.text));
    const m = await UnifiedModel.load(dir, { codec: tinyCodec(), threads: 1 });
    try {
      // a test image is now its own nearest example; and test is one of the memory's parts, so eval skips it
      expect(await ask(m, test.images.subarray(0, 768), 'What is this?')).toBe(test.rows[0].text);
      for (const split of ['train', 'test']) expect((await evaluateModel(m, { dataDir, split, limit: 2, generate: 0, closedSet: false })).memory_skipped_leak).toBe(1);
      expect((await evaluateModel(m, { dataDir, split: 'copy', limit: 2, generate: 0, closedSet: false })).memory_skipped_leak).toBeUndefined();
    } finally {
      await m.release();
    }
    for (const [split, want] of [['train,', /an empty split name/], ['train,train', /'train' is named twice/]] as const)
      await expect(buildMemory({ encoderDir, dataDir, split, out: join(dir, 'memory'), threads: 1 })).rejects.toThrow(want);
  }, 60_000);

  it('may read images with an ensemble of encoders: the members\' unit features side by side over √n', async () => {
    const c = JSON.parse(readFileSync(join(encoderDir, 'config.json'), 'utf8')) as SemanticConfig;
    const build = async (encoder: string | string[]) => {
      const dir = tmp('ens-model');
      cpSync(modelDir, dir, { recursive: true });
      const f = await buildMemory({ encoderDir: encoder, dataDir, split: 'train', out: join(dir, 'memory'), mix: { k: 1, lambda: 1 }, threads: 1 });
      const t = (await readSafetensors(join(dir, 'memory', 'features.safetensors'))).tensors.get('features')!;
      return { dir, f, feats: floatArray(t.data as Uint16Array) };
    };
    const a = await build(encoderDir), b = await build(second), ab = await build([encoderDir, second]);
    const E = c.embed_dim, n = a.f.entries;
    expect(ab.f.encoder).toMatchObject({ model_type: 'tessera-semantic-ensemble', image_size: 16, embed_dim: 2 * E, members: [c, c] });
    expect(ab.feats.length).toBe(n * 2 * E);
    let worst = 0, differ = 0;
    for (let j = 0; j < n; j++) {
      for (let e = 0; e < E; e++) {
        worst = Math.max(worst, Math.abs(ab.feats[j * 2 * E + e] - a.feats[j * E + e] / Math.SQRT2), Math.abs(ab.feats[j * 2 * E + E + e] - b.feats[j * E + e] / Math.SQRT2));
        differ = Math.max(differ, Math.abs(a.feats[j * E + e] - b.feats[j * E + e]));
      }
    }
    expect(worst).toBeLessThan(2e-3); // binary16 storage
    expect(differ).toBeGreaterThan(0.05); // two different encoders
    // the ensemble memory answers from its nearest example, and a memory built from it reuses the ensemble
    const train = await encodedSplit(dataDir, 'train');
    const m = await UnifiedModel.load(ab.dir, { codec: tinyCodec(), threads: 1 });
    try {
      expect(await ask(m, train.images.subarray(768, 1536), 'What is this?')).toBe(train.rows[1].text);
    } finally {
      await m.release();
    }
    const again = await build(join(ab.dir, 'memory'));
    expect(again.f.encoder).toEqual(ab.f.encoder);
    expect(again.feats).toEqual(ab.feats);
    // members that cannot make an ensemble are refused, naming the folder and field
    const wide = tmp('sem-32');
    cpSync(second, wide, { recursive: true });
    writeFileSync(join(wide, 'config.json'), JSON.stringify({ ...c, image_size: 32 }));
    await expect(readFeatureEncoder([encoderDir, encoderDir])).rejects.toThrow(/is named twice/);
    await expect(readFeatureEncoder([encoderDir, `${encoderDir}/`])).rejects.toThrow(/is named twice/); // the same folder spelled two ways
    // a memory folder as a member gives its encoder's members, read back from its encoder.onnx: an
    // ensemble grows by one encoder without the folders it was built from
    const abc = await build([encoderDir, second, third]), grown = await build([join(ab.dir, 'memory'), third]);
    expect(grown.f.encoder).toEqual(abc.f.encoder);
    expect(grown.feats).toEqual(abc.feats);
    const aFirst = await build([join(a.dir, 'memory'), second]); // a one-encoder memory gives its one member
    expect(aFirst.feats).toEqual(ab.feats);
    // the same encoder twice is refused, however it is named
    await expect(readFeatureEncoder([join(ab.dir, 'memory'), second])).rejects.toThrow(new RegExp(`${second} and .*ens-model.*memory \\(member 2 of 2\\) are the same encoder`));
    await expect(readFeatureEncoder([join(a.dir, 'memory'), join(ab.dir, 'memory')])).rejects.toThrow(/\(member 1 of 2\) and .*memory are the same encoder/);
    await expect(readFeatureEncoder([encoderDir, wide])).rejects.toThrow(new RegExp(`sem-32.*config\\.json: field 'image_size' is 32, the ensemble's first member .* reads 16`));
  }, 60_000);

  it('is built by the lm recipe into the new model folder, with a semantic encoder or another memory\'s encoder', async () => {
    const tokDir = (await tinyTokenizer()).dir;
    const imgTok = tmp('imgtok2');
    writeFileSync(join(imgTok, 'config.json'), JSON.stringify({ palette: [16, 4, 2, 2, 16] }));
    const run = async (encoder: string, split = 'train', onProgress?: () => void) => {
      const cfg = parseLmConfig({
        model: { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 48, max_position_embeddings: 112, depth_head_heads: 2, depth_head_intermediate_size: 32 },
        data: { dir: dataDir, eval_split: 'test' }, image_tokenizer: imgTok, text_tokenizer: tokDir, stage: 'stage2', memory: { encoder, split, k: 4, lambda: 0.6 },
        train: { steps: 1, batch: 2, warmup_steps: 0, checkpoint_every: 1, eval_batches: 1, threads: 1 },
      }, 'lm.json');
      return (await runLmRecipe(cfg, { outDir: tmp('lm-mem'), resume: false, onProgress }, { loadCodec: async () => tinyCodec() })).modelDir!;
    };
    // a memory that could not be built at the end is refused before any step
    let steps = 0;
    const nowhere = tmp('no-encoder');
    await expect(run(nowhere, 'train', () => steps++)).rejects.toThrow(`config: memory.encoder: ${join(nowhere, 'config.json')}: cannot read the semantic encoder config`);
    await expect(run(encoderDir, 'train,nope', () => steps++)).rejects.toThrow(`config: memory.split: ${dataDir} has no rows for split 'nope'`);
    expect(steps).toBe(0);
    const first = await run(encoderDir);
    const f1 = JSON.parse(readFileSync(join(first, 'memory', 'memory.json'), 'utf8'));
    const train = await encodedSplit(dataDir, 'train');
    expect(f1).toMatchObject({ entries: train.rows.length, k: 4, lambda: 0.6, source: { split: 'train' } });
    expect(JSON.parse(readFileSync(join(first, 'tessera.json'), 'utf8')).metrics).toMatchObject({ memory_entries: train.rows.length, memory_split: 'train' });
    // a second model reuses the first memory's encoder: the same features, byte for byte
    const second = await run(join(first, 'memory'));
    expect(readFileSync(join(second, 'memory', 'features.safetensors')).equals(readFileSync(join(first, 'memory', 'features.safetensors')))).toBe(true);
    expect(readFileSync(join(second, 'memory', 'encoder.onnx')).equals(readFileSync(join(first, 'memory', 'encoder.onnx')))).toBe(true);
    const m = await UnifiedModel.load(second, { codec: tinyCodec(), threads: 1 });
    expect(m.memory?.mix).toEqual({ k: 4, tau: 0.05, lambda: 0.6 });
    await m.release();
  }, 60_000);

  it('draws by example: a prompt naming a label has the LM rewrite one of its examples, read from the codes the memory stores', async () => {
    const dir = tmp('draw-model');
    cpSync(modelDir, dir, { recursive: true });
    const f = await buildMemory({ encoderDir, dataDir, split: 'train', out: join(dir, 'memory'), mix: { k: 1, lambda: 1 }, threads: 1, model: dir, codec: tinyCodec() });
    const train = await encodedSplit(dataDir, 'train');
    const P = 16, D = 2; // the tiny codec's positions and depth
    expect(f.drawing).toMatchObject({ positions: P, depth: D, image_tokenizer: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // the stored codes are the LM ids of each example under the model's image tokenizer
    const codes = (await readSafetensors(join(dir, 'memory', 'features.safetensors'))).tensors.get('codes')!;
    expect(codes).toMatchObject({ dtype: 'I16', shape: [train.rows.length, P * D] });
    expect(Array.from(codes.data as Int16Array)).toEqual(Array.from(train.codes)); // unified vocabulary: codec id = LM id
    const seen: { image: number; cond: Float32Array; chosen: number }[] = [];
    const m = await UnifiedModel.load(dir, { codec: tinyCodec(), threads: 1, onImageCode: (e) => seen.push(e) });
    try {
      expect(m.drawsByExample).toBe(true);
      const mem = m.memory!;
      // the longest label the prompt names as whole words, any case
      const labels = [...new Set(train.rows.map((r) => r.text))];
      const long = labels.find((l) => labels.some((x) => x !== l && l.startsWith(x + ' ')))!;
      const short = labels.find((x) => long.startsWith(x + ' '))!;
      expect(mem.examplesNamed(`Draw a ${long.toUpperCase()}.`)?.label).toBe(long);
      expect(mem.examplesNamed(`Draw a ${short}, please`)?.label).toBe(short);
      expect(mem.examplesNamed(`Draw a ${short}xyz`)).toBeNull();
      const named = mem.examplesNamed(`Draw a ${short}.`)!;
      expect(named.entries).toEqual(train.rows.flatMap((r, i) => (r.text === short ? [i] : [])));
      // two images: examples (seed + i) mod count, each the LM's greedy rewriting of its example's codes
      const events: GenerationEvent[] = [];
      const imgs = await m.generateImages(`Draw a ${short}.`, 2, { seed: 1, temperature: 0 }, (e) => events.push(e));
      const examples = events.filter((e) => e.type === 'example');
      const count = named.entries.length;
      expect(examples).toEqual([0, 1].map((i) => ({ type: 'example', index: i, label: short, entry: named.entries[(1 + i) % count], example: ((1 + i) % count) + 1, of: count })));
      expect(imgs).toHaveLength(2);
      for (const im of imgs) {
        expect(im.tokens).toHaveLength(P * D);
        for (const t of im.tokens) expect(t >= 16 && t < 32).toBe(true);
      }
      const first = seen.filter((e) => e.image === 0);
      expect(first).toHaveLength(P * D); // exactly P·D codes, each the most likely under temperature 0
      for (const e of first) expect(e.cond[e.chosen]).toBe(Math.max(...e.cond));
      // the first code's logits are those of the decompression task asked about the example's pixels
      const entry = named.entries[1 % count];
      const rows = new Rows(m, 1);
      await rows.prefill([await m.promptOf([{ role: 'user', parts: [{ type: 'image', pixels: train.images.subarray(entry * 768, (entry + 1) * 768), size: 16 }, { type: 'text', text: DECOMPRESS_PROMPT }] }])]);
      await rows.step([[m.tok.specials.imgStart]]);
      const want = rows.logits.slice(16, 32);
      first[0].cond.forEach((x, j) => expect(x).toBeCloseTo(want[j], 4));
      // off, a completion, or a prompt naming no label: the LM draws alone
      for (const [prompt, s] of [[`Draw a ${short}.`, { examples: false }], [`Draw a ${short}.`, { prefix: train.codes.subarray(0, D) }], ['Draw a thing.', {}]] as const) {
        const ev: GenerationEvent[] = [];
        await m.generateImages(prompt, 1, { seed: 0, ...s }, (e) => ev.push(e));
        expect(ev.some((e) => e.type === 'example'), prompt).toBe(false);
      }
      // eval lm draws each label twice: from the words (the headline figures) and by example; leaving
      // the example's own image out of the gallery can only lower the by-example figures
      const ev = await evaluateModel(m, { dataDir, split: 'copy', limit: 2, generate: 3, closedSet: false });
      expect(ev).toMatchObject({ generated: 3, t2i_memory_drawn_by_example: 1 });
      for (const k of ['t2i_top5', 't2i_memory_top1', 't2i_memory_top5', 't2i_memory_unseen_top1', 't2i_memory_unseen_top5', 'ms_per_image_memory']) expect(ev[k], k).toBeGreaterThanOrEqual(0);
      expect(ev.t2i_memory_unseen_top1).toBeLessThanOrEqual(ev.t2i_memory_top1);
      expect(ev.t2i_memory_unseen_top5).toBeLessThanOrEqual(ev.t2i_memory_top5);
      const off = await evaluateModel(m, { dataDir, split: 'copy', limit: 2, generate: 3, closedSet: false, memory: false });
      expect(off).not.toHaveProperty('t2i_memory_top5');
      expect(off.t2i_top5).toBe(ev.t2i_top5); // the same drawings from the words, memory or not
    } finally {
      await m.release();
    }
    // a model whose image tokenizer is not the one that wrote the codes draws alone, and says why
    const other = tmp('draw-other');
    cpSync(dir, other, { recursive: true });
    const tokConfig = join(other, 'image-tokenizer', 'config.json');
    writeFileSync(tokConfig, readFileSync(tokConfig, 'utf8') + '\n');
    const notices: string[] = [];
    const m2 = await UnifiedModel.load(other, { codec: tinyCodec(), threads: 1, onNotice: (n) => notices.push(n) });
    expect(m2.drawsByExample).toBe(false);
    await m2.release();
    expect(notices.join('\n')).toMatch(/written by another image tokenizer .*drawings come from the LM alone/);
    // codes of the wrong shape name the file and tensor
    const feats = join(other, 'memory', 'features.safetensors');
    const st = await readSafetensors(feats);
    st.tensors.set('codes', { dtype: 'I16', shape: [train.rows.length, P], data: new Int16Array(train.rows.length * P) });
    await writeSafetensors(feats, st.tensors, { format: 'pt' });
    await expect(UnifiedModel.load(other, { codec: tinyCodec(), threads: 1 })).rejects.toThrow(`${feats}: tensor 'codes' is I16[${train.rows.length},${P}], memory.json's drawing needs I16[${train.rows.length},${P * D}]`);
  }, 60_000);

  it("the 'memory' recipe gives a copy of a model a memory of a dataset, and an abort leaves nothing", async () => {
    const base = await withMemory(0.9); // a base with a memory of its own: its encoder and mix are reused
    // (drawing: false — the tests' palette codec is not an image tokenizer folder the recipe could load)
    const cfg = memoryRecipe.parseConfig({ base, data: { dir: dataDir, split: 'copy' }, name: 'taught', drawing: false }, 'memory.json');
    const out = tmp('memory-recipe');
    const steps: number[] = [];
    const r = await memoryRecipe.run(cfg, { outDir: out, resume: false, threads: 1, onProgress: (p) => steps.push(p.step) });
    const train = await encodedSplit(dataDir, 'train');
    expect(r).toMatchObject({ status: 'done', modelDir: join(out, 'model'), metrics: { memory_entries: train.rows.length } });
    expect(steps.at(-1)).toBe(train.rows.length);
    const f = JSON.parse(readFileSync(join(out, 'model', 'memory', 'memory.json'), 'utf8'));
    expect(f).toMatchObject({ k: 1, lambda: 0.9, source: { split: 'copy' } });
    const card = JSON.parse(readFileSync(join(out, 'model', 'tessera.json'), 'utf8'));
    expect(card).toMatchObject({ name: 'taught', recipe: { kind: 'memory', encoder: join(base, 'memory') }, metrics: { memory_entries: train.rows.length, memory_split: 'copy' } });
    const m = await UnifiedModel.load(join(out, 'model'), { codec: tinyCodec(), threads: 1 });
    expect(await ask(m, train.images.subarray(0, 768), 'What is this?')).toBe(train.rows[0].text);
    await m.release();
    // a base without a memory or semantic encoder, and no encoder given: refused naming the field
    await expect(memoryRecipe.run(memoryRecipe.parseConfig({ base: modelDir, data: { dir: dataDir } }, 'm.json'), { outDir: tmp('memory-none'), resume: false })).rejects.toThrow(/encoder: .* has no example memory and no semantic encoder/);
    // aborted while reading features: paused, and no model folder left behind
    const ctl = new AbortController();
    ctl.abort();
    const aborted = tmp('memory-abort');
    expect(await memoryRecipe.run(cfg, { outDir: aborted, resume: false, signal: ctl.signal })).toEqual({ status: 'paused', step: 0 });
    expect(readdirSync(aborted)).toEqual([]);
  }, 60_000);

  it('tessera memory build writes the folder and refuses bad flags naming them', async () => {
    const root = new URL('../..', import.meta.url).pathname;
    const cli = (...args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'src-main/cli/main.ts', 'memory', 'build', ...args], { cwd: root }).then(
      (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
    );
    const dir = tmp('cli-model');
    cpSync(modelDir, dir, { recursive: true });
    // this model's image tokenizer is the tests' palette codec, which no folder holds: it cannot write
    // the examples' codes, and says so before reading any features (and writes nothing)
    const noCodes = await cli('--model', dir, '--data', dataDir, '--encoder', encoderDir, '--threads', '1');
    expect([noCodes.code, noCodes.err]).toEqual([1, expect.stringContaining(`${join(dir, 'image-tokenizer', 'config.json')}: field 'model_type' must be 'tessera-vqtok'`)]);
    expect(noCodes.err).not.toContain('features:');
    expect(existsSync(join(dir, 'memory'))).toBe(false);
    const ok = await cli('--model', dir, '--data', dataDir, '--encoder', encoderDir, '--lambda', '0.4', '--threads', '1', '--no-drawing');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/memory: \d+ examples of .* split 'train' \(5 questions: label, category\), k 10, tau 0\.05, lambda 0\.4, no colour prior, no image codes/);
    expect(JSON.parse(readFileSync(join(dir, 'memory', 'memory.json'), 'utf8')).lambda).toBe(0.4);
    const two = await cli('--model', dir, '--data', dataDir, '--encoder', encoderDir, '--encoder', second, '--threads', '1', '--no-drawing');
    expect(two.code, two.err).toBe(0);
    expect(two.out).toMatch(/an ensemble of 2 encoders, k 10/);
    expect(JSON.parse(readFileSync(join(dir, 'memory', 'memory.json'), 'utf8')).encoder.model_type).toBe('tessera-semantic-ensemble');
    // the model's own memory grows by one encoder, in place
    const three = await cli('--model', dir, '--data', dataDir, '--encoder', join(dir, 'memory'), '--encoder', third, '--threads', '1', '--no-drawing');
    expect(three.code, three.err).toBe(0);
    expect(three.out).toMatch(/an ensemble of 3 encoders, k 10/);
    expect(JSON.parse(readFileSync(join(dir, 'memory', 'memory.json'), 'utf8')).encoder.members).toHaveLength(3);
    const notOne = await cli('--model', dir, '--data', dataDir, '--encoder', encoderDir, '--encoder', join(dir, 'nowhere'));
    expect([notOne.code, notOne.err]).toEqual([2, expect.stringContaining(`${join(dir, 'nowhere')}: no semantic encoder there`)]);
    const bad = await cli('--model', dir, '--data', dataDir, '--encoder', encoderDir, '--lambda', '2');
    expect([bad.code, bad.err.trim()]).toEqual([2, expect.stringContaining("--lambda must be a number in [0, 1], got '2'")]);
    const badAlpha = await cli('--model', dir, '--data', dataDir, '--encoder', encoderDir, '--variant-alpha', '-1');
    expect([badAlpha.code, badAlpha.err.trim()]).toEqual([2, expect.stringContaining("--variant-alpha must be a number in [0, 10], got '-1'")]);
    const noEncoder = await cli('--model', dir, '--data', dataDir);
    expect(noEncoder.code).toBe(2);
    expect(noEncoder.err).toContain(`${join(dir, 'image-tokenizer', 'semantic')}: no semantic encoder there (config.json missing) and no memory (memory.json missing); give one with --encoder DIR`);
    expect((await cli('--model', dir)).err).toContain('--data is required');
  }, 120_000);

  it('names the file and field of a broken memory, loads without it when asked, and a failed build keeps the old one', async () => {
    const dir = await withMemory(0.5);
    const mem = join(dir, 'memory');
    const json = readFileSync(join(mem, 'memory.json'), 'utf8');
    const load = () => UnifiedModel.load(dir, { codec: tinyCodec(), threads: 1 });
    const broken = async (edit: (m: Record<string, any>) => void, want: RegExp) => {
      const m = JSON.parse(json);
      edit(m);
      writeFileSync(join(mem, 'memory.json'), JSON.stringify(m));
      await expect(load()).rejects.toThrow(want);
    };
    await broken((m) => m.answers.label.pop(), /memory\.json: field 'answers\.label' has \d+ answers for \d+ entries/);
    await broken((m) => (m.lambda = 2), /memory\.json: lambda:/);
    await broken((m) => (m.questions['What is this?'] = 'colour'), /'What is this\?' is answered by 'colour'/);
    await broken((m) => {
      m.entries += 1;
      for (const list of Object.values(m.answers) as string[][]) list.push('');
    }, /features\.safetensors: tensor 'features' is F16\[\d+,16\], memory\.json needs F16\[\d+,16\]/);
    writeFileSync(join(mem, 'memory.json'), '{"format": ');
    await expect(load()).rejects.toThrow(/memory\.json: not readable JSON/);
    const off = await UnifiedModel.load(dir, { codec: tinyCodec(), threads: 1, memory: false });
    expect(off.memory).toBeNull();
    await off.release();
    writeFileSync(join(mem, 'memory.json'), json);
    // a truncated features file: named once, with what is wrong
    const features = readFileSync(join(mem, 'features.safetensors'));
    writeFileSync(join(mem, 'features.safetensors'), features.subarray(0, features.length - 100));
    const err = await load().then(() => null, (e: Error) => e.message);
    expect(err).toMatch(/features\.safetensors: tensor 'features': data_offsets .* are outside the \d+-byte buffer/);
    expect(err!.split('features.safetensors').length).toBe(2);
    writeFileSync(join(mem, 'features.safetensors'), features);
    rmSync(join(mem, 'encoder.onnx'));
    await expect(load()).rejects.toThrow(/encoder\.onnx: missing/);
    // a build that fails (no such split) leaves the memory that was there
    await expect(buildMemory({ encoderDir, dataDir, split: 'nowhere', out: mem, threads: 1 })).rejects.toThrow(/no rows for split 'nowhere'/);
    expect(readFileSync(join(mem, 'memory.json'), 'utf8')).toBe(json);
    expect(existsSync(join(mem, 'features.safetensors'))).toBe(true);
  }, 60_000);
});
