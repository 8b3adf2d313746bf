// The 'lm' recipe end to end on real emoji images (PaletteCodec as the image tokenizer): codes are
// encoded once into the cache, checkpoints export the embedding table for the tokenizer's pull, a
// run that crashes after step 3 and resumes from its step-2 checkpoint reproduces the uninterrupted
// run's losses exactly, pausing checkpoints and returns 'paused', and the model folder loads back.
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder } from '../../src-main/engine/infer/model-folder.ts';
import { readSafetensors } from '../../src-main/engine/io/safetensors.ts';
import { RecipeConfigError } from '../../src-main/engine/train/recipe.ts';
import { parseLmConfig, runLmRecipe, type LmRecipeDeps } from '../../src-main/engine/train/recipes/lm.ts';
import { tinyCodec, tinyEmoji, tinyTokenizer, tmp } from './helpers.ts';

let base: Record<string, unknown>;
let encodes = 0;
const deps: LmRecipeDeps = {
  async loadCodec() {
    const c = tinyCodec();
    const enc = c.encode.bind(c);
    c.encode = (px, n) => ((encodes += n), enc(px, n));
    return c;
  },
};

beforeAll(async () => {
  const tokDir = (await tinyTokenizer()).dir;
  const imgTok = tmp('imgtok');
  writeFileSync(join(imgTok, 'config.json'), JSON.stringify({ palette: [16, 4, 2, 2, 16] }));
  base = {
    model: { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 48, max_position_embeddings: 128, depth_head_heads: 2, depth_head_intermediate_size: 32 },
    data: { dir: await tinyEmoji(6), eval_split: 'test' }, image_tokenizer: imgTok, text_tokenizer: tokDir, stage: 'stage2',
    train: { steps: 6, batch: 4, lr: 0.01, warmup_steps: 1, checkpoint_every: 2, eval_batches: 1, threads: 1 },
  };
});

describe('lm recipe', () => {
  it('rejects a bad config naming the field', () => {
    expect(() => parseLmConfig({ ...base, stage: 'stage3' }, 'lm.json')).toThrow(RecipeConfigError);
    expect(() => parseLmConfig({ ...base, stage: 'stage3' }, 'lm.json')).toThrow(/lm\.json: stage/);
    expect(() => parseLmConfig({ ...base, train: { steps: 0 } }, 'lm.json')).toThrow(/train\.steps/);
  });

  it('crash after step 3, resume from the step-2 checkpoint: the same losses as an uninterrupted run', async () => {
    const cfg = parseLmConfig(base, 'lm.json');
    const full: number[] = [];
    const outA = tmp('lmA');
    const a = await runLmRecipe(cfg, { outDir: outA, resume: false, onProgress: (p) => p.phase !== 'eval' && full.push(p.loss) }, deps);
    expect(a.status).toBe('done');
    expect(full).toHaveLength(6);
    expect(encodes).toBeGreaterThan(0);
    const encodedOnce = encodes;

    const outB = tmp('lmB');
    const crashed: number[] = [];
    await expect(runLmRecipe(cfg, {
      outDir: outB, resume: false, onProgress: (p) => {
        crashed.push(p.loss);
        if (p.step === 3) throw new Error('simulated crash');
      },
    }, deps)).rejects.toThrow('simulated crash');
    const resumed: number[] = [];
    const b = await runLmRecipe(cfg, { outDir: outB, resume: true, onProgress: (p) => p.phase !== 'eval' && resumed.push(p.loss) }, deps);
    expect(b.status).toBe('done');
    console.log(`uninterrupted ${full.map((x) => x.toFixed(4)).join(' ')}\nresumed @2   ${resumed.map((x) => x.toFixed(4)).join(' ')}`);
    expect(resumed).toEqual(full.slice(2));
    expect(crashed.slice(0, 3)).toEqual(full.slice(0, 3));
    // the second run encoded its own cache once; a resumed run reads it
    expect(encodes).toBe(2 * encodedOnce);
    expect(readdirSync(join(outB, 'cache')).filter((f) => f.endsWith('.i32'))).toHaveLength(2);

    // the exported embedding table is the model's
    const emb = (await readSafetensors(join(outA, 'lm-embeddings.safetensors'))).tensors.get('model.embed_tokens.weight')!;
    const m = await loadModelFolder(a.modelDir!);
    expect(emb.shape).toEqual([m.config.vocab_size, m.config.hidden_size]);
    expect(Array.from(emb.data as Float32Array)).toEqual(Array.from(m.weights.get('model.embed_tokens.weight')!));
    expect(m.config.image_positions).toBe(16);
    expect(m.card.parts.imageTokenizer).toBe('image-tokenizer');
    expect(existsSync(join(a.modelDir!, 'tokenizer.json')) && existsSync(join(a.modelDir!, 'image-tokenizer', 'config.json'))).toBe(true);
    expect(typeof m.card.metrics?.eval_loss).toBe('number');

    // a truncated weights file: an error naming it once, with what is wrong
    const broken = tmp('lmBroken');
    cpSync(a.modelDir!, broken, { recursive: true });
    const wFile = join(broken, 'model.safetensors');
    writeFileSync(wFile, readFileSync(wFile).subarray(0, 200));
    const err = await loadModelFolder(broken).then(() => null, (e: Error) => e.message);
    expect(err).toMatch(/model\.safetensors: header length \d+ is larger than the \d+ bytes after the length field/);
    expect(err!.split('model.safetensors').length).toBe(2);
  });

  it('fine-tuning from a model folder takes its architecture (config.json) and weights', async () => {
    const first = await runLmRecipe(parseLmConfig({ ...base, train: { ...(base.train as object), steps: 1 } }, 'lm.json'), { outDir: tmp('lmBase'), resume: false }, deps);
    const other = { ...(base.model as object), hidden_size: 48, num_hidden_layers: 2 }; // ignored: the base decides
    const r = await runLmRecipe(parseLmConfig({ ...base, model: other, init_from: first.modelDir, train: { ...(base.train as object), steps: 1 } }, 'lm.json'), { outDir: tmp('lmFt'), resume: false }, deps);
    const [a, b] = [await loadModelFolder(first.modelDir!), await loadModelFolder(r.modelDir!)];
    expect(b.config).toEqual(a.config);
    expect(b.config.hidden_size).toBe(32);
  });

  it('semantic_only is refused without a semantic position to show, and outside Stage II', async () => {
    await expect(runLmRecipe(parseLmConfig({ ...base, semantic_only: 0.5 }, 'lm.json'), { outDir: tmp('lmS1'), resume: false }, deps)).rejects.toThrow(/semantic_only: the image tokenizer .* has no semantic\/ part/);
    await expect(runLmRecipe(parseLmConfig({ ...base, stage: 'stage1', semantic_only: 0.5 }, 'lm.json'), { outDir: tmp('lmS2'), resume: false }, deps)).rejects.toThrow(/semantic_only: applies to stage2/);
    expect(() => parseLmConfig({ ...base, semantic_only: 1.5 }, 'lm.json')).toThrow(/semantic_only/);
  });

  it('grow: a fine-tuning run can start from a deeper, wider copy of its base model', async () => {
    const first = await runLmRecipe(parseLmConfig({ ...base, train: { ...(base.train as object), steps: 1 } }, 'lm.json'), { outDir: tmp('lmG0'), resume: false }, deps);
    const grown = parseLmConfig({ ...base, init_from: first.modelDir, grow: { num_hidden_layers: 3, intermediate_size: 64 }, train: { ...(base.train as object), steps: 1 } }, 'lm.json');
    const r = await runLmRecipe(grown, { outDir: tmp('lmG1'), resume: false }, deps);
    const [a, b] = [await loadModelFolder(first.modelDir!), await loadModelFolder(r.modelDir!)];
    expect(b.config).toEqual({ ...a.config, num_hidden_layers: 3, intermediate_size: 64 });
    expect(b.weights.get('model.layers.2.mlp.down_proj.weight')).toHaveLength(32 * 64);
    await expect(runLmRecipe(parseLmConfig({ ...base, grow: { num_hidden_layers: 3 } }, 'lm.json'), { outDir: tmp('lmG2'), resume: false }, deps)).rejects.toThrow(/grow: needs init_from/);
    await expect(runLmRecipe(parseLmConfig({ ...base, init_from: r.modelDir, grow: { num_hidden_layers: 2 } }, 'lm.json'), { outDir: tmp('lmG3'), resume: false }, deps)).rejects.toThrow(/grow\.num_hidden_layers: 2 is below the base model's 3/);
  });

  it('with jittered variants: each variant is encoded once and cached, the codes differ, and a resume is still exact', async () => {
    const cfg = parseLmConfig({ ...base, data: { ...(base.data as object), augment: { variants: 2, shift: 3, scale: 0.1 } } }, 'lm.json');
    const before = encodes;
    const full: number[] = [];
    const outA = tmp('lmJ');
    await runLmRecipe(cfg, { outDir: outA, resume: false, onProgress: (p) => p.phase !== 'eval' && full.push(p.loss) }, deps);
    const files = readdirSync(join(outA, 'cache')).filter((f) => f.endsWith('.i32')).sort();
    expect(files).toHaveLength(4); // train, its two jittered variants, the eval split
    expect(files.filter((f) => /-jitter3x0\.1v[12]\.i32$/.test(f))).toHaveLength(2);
    const [v1, v2] = files.filter((f) => f.includes('jitter')).map((f) => readFileSync(join(outA, 'cache', f)));
    const plain = readFileSync(join(outA, 'cache', files.find((f) => f.startsWith('codes-train-') && !f.includes('jitter'))!));
    expect(v1.equals(plain) || v2.equals(plain) || v1.equals(v2)).toBe(false);
    const perRun = encodes - before;

    const outB = tmp('lmJ2');
    await expect(runLmRecipe(cfg, { outDir: outB, resume: false, onProgress: (p) => { if (p.step === 3) throw new Error('simulated crash'); } }, deps)).rejects.toThrow('simulated crash');
    const resumed: number[] = [];
    await runLmRecipe(cfg, { outDir: outB, resume: true, onProgress: (p) => p.phase !== 'eval' && resumed.push(p.loss) }, deps);
    expect(resumed).toEqual(full.slice(2));
    expect(encodes - before).toBe(2 * perRun); // the resumed run read every variant from the cache
    // and the jitter changes what is trained on: the same config without it gives other losses
    const plainLosses: number[] = [];
    await runLmRecipe(parseLmConfig(base, 'lm.json'), { outDir: tmp('lmJ3'), resume: false, onProgress: (p) => p.phase !== 'eval' && plainLosses.push(p.loss) }, deps);
    expect(plainLosses).not.toEqual(full);
  });

  it('pause: an abort writes a checkpoint and returns paused', async () => {
    const cfg = parseLmConfig(base, 'lm.json');
    const out = tmp('lmP');
    const ctl = new AbortController();
    const r = await runLmRecipe(cfg, { outDir: out, resume: false, signal: ctl.signal, onProgress: (p) => p.step === 1 && ctl.abort() }, deps);
    expect(r).toMatchObject({ status: 'paused', step: 1 });
    expect(existsSync(join(out, 'checkpoints', 'step-00000001'))).toBe(true);
  });
});
