// Inference over a model folder trained by the 'lm' recipe (tiny, real emoji through PaletteCodec):
// cached decoding equals the training graph's logits (one row, and a left-padded two-row batch);
// image generation is constrained (exactly P·D image codes, progress every 8 positions) and
// reproducible by seed; CFG picks argmax(log p_u + s(log p_c − log p_u)) with the unconditional row
// really the empty prompt's stream; captioning and chat stream text; broken folders name the fault.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Graph, type Tensor } from '../../src-main/engine/graph/graph.ts';
import { exportOnnx } from '../../src-main/engine/graph/onnx.ts';
import { collate } from '../../src-main/engine/data/tasks.ts';
import type { GenerationEvent } from '../../src-main/engine/infer/types.ts';
import { Rows, UnifiedModel } from '../../src-main/engine/infer/unified.ts';
import { completionMetrics } from '../../src-main/engine/infer/eval.ts';
import { llamaForward } from '../../src-main/engine/models/llama.ts';
import { aggregateEmbed, declareBatchInputs, paramsOf, semanticRead } from '../../src-main/engine/models/unicode.ts';
import { add } from '../../src-main/engine/graph/ops/index.ts';
import { readSafetensors, writeSafetensors } from '../../src-main/engine/io/safetensors.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';
import { cpSync } from 'node:fs';
import { Session } from '../../src-main/engine/runtime/session.ts';
import { parseLmConfig, runLmRecipe } from '../../src-main/engine/train/recipes/lm.ts';
import { encodedSplit, tinyCodec, tinyEmoji, tinyTokenizer, tmp } from './helpers.ts';

let modelDir: string;
let testImages: Float32Array;
let dataDir: string;

beforeAll(async () => {
  const tokDir = (await tinyTokenizer()).dir;
  const imgTok = tmp('imgtok');
  writeFileSync(join(imgTok, 'config.json'), JSON.stringify({ palette: [16, 4, 2, 2, 16] }));
  const data = await tinyEmoji(6);
  const cfg = parseLmConfig({
    model: { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 48, max_position_embeddings: 112, depth_head_heads: 2, depth_head_intermediate_size: 32 },
    data: { dir: data, eval_split: 'test' }, image_tokenizer: imgTok, text_tokenizer: tokDir, stage: 'stage2',
    train: { steps: 10, batch: 4, lr: 0.01, warmup_steps: 2, checkpoint_every: 10, eval_batches: 1, threads: 1 },
  }, 'lm.json');
  const r = await runLmRecipe(cfg, { outDir: tmp('lm'), resume: false }, { loadCodec: async () => tinyCodec() });
  modelDir = r.modelDir!;
  testImages = (await encodedSplit(data, 'test')).images;
  dataDir = data;
}, 60_000);

const load = (opts = {}, dir = modelDir) => UnifiedModel.load(dir, { codec: tinyCodec(), threads: 1, ...opts });

/** The training graph's forward (aggregated embeddings, the semantic read if on, llamaForward, full head) over one prompt.   → (1, T, V) */
async function trainingGraphLogits(m: UnifiedModel, prompt: ArrayLike<number>[]): Promise<Float32Array> {
  const c = m.config;
  const g = new Graph('fwd');
  const x = declareBatchInputs(g, c);
  const E = g.param('model.embed_tokens.weight', [c.vocab_size, c.hidden_size]);
  let emb = aggregateEmbed(E, x.ids, x.idWeights);
  if (x.semanticMask) emb = add(emb, semanticRead(g, c, paramsOf(g), x.ids, x.semanticMask));
  const { logits } = llamaForward(g, c, x.labels, x.positions, emb);
  const s = await Session.create(exportOnnx(g, { logits }).bytes, { threads: 1 });
  // the prompt's positions as layoutChat marks them: the first aggregated position after <img> is the semantic one
  const positions = prompt.map((ids, t) => ({ ids, loss: 0, depth: false, code: false, semantic: ids.length > 1 && t > 0 && prompt[t - 1].length === 1 && prompt[t - 1][0] === m.tok.specials.imgStart }));
  const all = collate(c, [{ positions }], m.tok.specials.pad, 1);
  const feeds: Record<string, Tensor> = { input_ids: all.input_ids, input_weights: all.input_weights, position_ids: all.position_ids, ...(x.semanticMask ? { semantic_mask: all.semantic_mask } : {}) };
  for (const [n, p] of g.params) feeds[n] = { dtype: 'float32', shape: [...p.value.shape] as number[], data: m.folder.weights.get(n)! };
  const ref = (await s.run(feeds)).logits.data as Float32Array;
  await s.release();
  return ref;
}

/** The logits of every position of a prompt through cached decoding, one row.   → (T, V) */
async function decodedLogits(m: UnifiedModel, prompt: ArrayLike<number>[]): Promise<Float32Array> {
  const V = m.config.vocab_size, rows = new Rows(m, 1), out = new Float32Array(prompt.length * V);
  for (const [t, ids] of prompt.entries()) {
    await rows.step([ids]);
    out.set(rows.logits.subarray(0, V), t * V);
  }
  return out;
}
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('cached decoding', () => {
  it('equals the training graph at every prompt position, alone and left-padded in a batch of two', async () => {
    const m = await load();
    const c = m.config;
    const long = await m.promptOf([{ role: 'user', parts: [{ type: 'image', pixels: testImages.subarray(0, 3 * 256), size: 16 }, { type: 'text', text: 'What is this?' }] }]);
    const short = await m.promptOf([{ role: 'user', parts: [{ type: 'text', text: 'Draw a red apple.' }] }]);
    expect(long.length).toBeGreaterThan(short.length + 10);
    const ref = await trainingGraphLogits(m, long); // (1, T, V)
    const V = c.vocab_size;
    const one = new Rows(m, 1);
    let maxd = 0;
    for (let t = 0; t < long.length; t++) {
      await one.step([long[t]]);
      for (let v = 0; v < V; v++) maxd = Math.max(maxd, Math.abs(one.logits[v] - ref[t * V + v]));
    }
    const two = new Rows(m, 2);
    await two.prefill([short, long]);
    let maxPad = 0;
    for (let v = 0; v < V; v++) maxPad = Math.max(maxPad, Math.abs(two.logits[V + v] - ref[(long.length - 1) * V + v]));
    const alone = new Rows(m, 1);
    await alone.prefill([short]);
    for (let v = 0; v < V; v++) maxPad = Math.max(maxPad, Math.abs(two.logits[v] - alone.logits[v]));
    console.log(`decode vs training graph: maxdiff ${maxd.toExponential(2)} over ${long.length} positions; padded batch vs alone ${maxPad.toExponential(2)}`);
    expect(maxd).toBeLessThan(1e-4);
    expect(maxPad).toBeLessThan(1e-4);
    await m.release();
  });
});

describe('an image shown by its first position alone', () => {
  it('decodes its blank positions as the training graph reads them (zero vectors), and answers differently from the whole image', async () => {
    const m = await load();
    const V = m.config.vocab_size;
    const whole = await m.promptOf([{ role: 'user', parts: [{ type: 'image', pixels: testImages.subarray(0, 3 * 256), size: 16 }, { type: 'text', text: 'What is this?' }] }]);
    const first = whole.findIndex((ids) => ids.length > 1);
    const blanked = whole.map((ids, t) => (t > first && ids.length > 1 ? [] : ids));
    expect(blanked.filter((ids) => ids.length === 0).length).toBe(m.config.image_positions - 1);
    const [dec, ref, full] = [await decodedLogits(m, blanked), await trainingGraphLogits(m, blanked), await decodedLogits(m, whole)];
    const last = (x: Float32Array) => x.subarray((whole.length - 1) * V);
    console.log(`blank positions: decode vs training graph ${maxAbsDiff(dec, ref).toExponential(2)}; last position vs the whole image ${maxAbsDiff(last(dec), last(full)).toFixed(3)}`);
    expect(maxAbsDiff(dec, ref)).toBeLessThan(1e-4);
    expect(maxAbsDiff(dec.subarray(0, (first + 1) * V), full.subarray(0, (first + 1) * V))).toBe(0);
    expect(maxAbsDiff(last(dec), last(full))).toBeGreaterThan(1e-3);
    // asking for it by name needs a tokenizer with a semantic part, which this model's codec has not
    await expect(m.chat([{ role: 'user', parts: [{ type: 'image', pixels: testImages.subarray(0, 3 * 256), size: 16 }, { type: 'text', text: 'What is this?' }] }], { temperature: 0, maxNewTokens: 2, textOnly: true, semanticOnly: true }, () => {})).rejects.toThrow(/semanticOnly: the model's image tokenizer has no semantic part/);
    await m.release();
  });
});

describe('the semantic read', () => {
  it('decodes as the training graph computes; a zero map leaves the model as it was; the read moves only what follows the image', async () => {
    const base = await load();
    const c = base.config, Es = 8;
    const long = await base.promptOf([{ role: 'user', parts: [{ type: 'image', pixels: testImages.subarray(0, 3 * 256), size: 16 }, { type: 'text', text: 'What is this?' }] }]);
    const at = long.findIndex((ids) => ids.length > 1); // the position the read adds to
    // copies of the model folder that read: random codebooks, a zero map and a random one
    const rng = new Rng(4);
    const f = await readSafetensors(join(modelDir, 'model.safetensors'));
    const reading = async (proj: Float32Array) => {
      const dir = tmp('semread');
      cpSync(modelDir, dir, { recursive: true });
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...c, semantic_read_dim: Es }));
      const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
      for (const [n, t] of f.tensors) tensors[n] = { dtype: 'F32', shape: [...t.shape], data: t.data as Float32Array };
      tensors['model.semantic_codebooks'] = { dtype: 'F32', shape: [c.image_depth, c.image_codebook_size, Es], data: new Rng(7).fillNormal(new Float32Array(c.image_depth * c.image_codebook_size * Es)) };
      tensors['model.semantic_proj.weight'] = { dtype: 'F32', shape: [c.hidden_size, Es], data: proj };
      await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
      return dir;
    };
    const liveDir = await reading(rng.fillNormal(new Float32Array(c.hidden_size * Es), 0.5));
    const [silent, live] = [await load({}, await reading(new Float32Array(c.hidden_size * Es))), await load({}, liveDir)];
    const [b, z, l] = [await decodedLogits(base, long), await decodedLogits(silent, long), await decodedLogits(live, long)];
    const ref = await trainingGraphLogits(live, long);
    const V = c.vocab_size;
    const before = (x: Float32Array) => x.subarray(0, at * V);
    const after = (x: Float32Array) => x.subarray(at * V);
    console.log(`semantic read at position ${at} of ${long.length}: decode vs training graph ${maxAbsDiff(l, ref).toExponential(2)}; zero map vs base ${maxAbsDiff(z, b)}; live vs base before ${maxAbsDiff(before(l), before(b))}, from it on ${maxAbsDiff(after(l), after(b)).toFixed(3)}`);
    expect(maxAbsDiff(l, ref)).toBeLessThan(1e-4);
    expect(maxAbsDiff(z, b)).toBe(0);
    expect(maxAbsDiff(before(l), before(b))).toBe(0);
    expect(maxAbsDiff(after(l), after(b))).toBeGreaterThan(1e-2);
    // drawing goes through the read too: the depth head's logits for the first position are the base
    // model's, from the second on (after the first position was read) they move
    const seen = async (dir: string) => {
      const out: Float32Array[] = [];
      const observed = await load({ onImageCode: (e: { cond: Float32Array }) => out.push(e.cond) }, dir);
      await observed.generateImages('Draw a red apple.', 1, { seed: 3, cfg: 1 });
      await observed.release();
      return out;
    };
    const [sb, sl] = [await seen(modelDir), await seen(liveDir)];
    const D = c.image_depth;
    expect(maxAbsDiff(sl[0], sb[0])).toBe(0);
    expect(maxAbsDiff(sl[D], sb[D])).toBeGreaterThan(1e-3);
    await Promise.all([base.release(), silent.release(), live.release()]);
  });
});

describe('image generation', () => {
  it('is constrained to P·D image codes, streams progress, and repeats by seed', async () => {
    const m = await load();
    const ev: GenerationEvent[] = [];
    const a = await m.generateImages('Draw a red apple.', 2, { cfg: 3, seed: 5, temperature: 1 }, (e) => ev.push(e));
    expect(a).toHaveLength(2);
    for (const im of a) {
      expect(im.tokens).toHaveLength(16 * 2);
      expect(im.tokens.every((t) => t >= 16 && t < 32)).toBe(true);
      expect(im.pixels).toHaveLength(3 * 16 * 16);
    }
    expect(ev.map((e) => e.type)).toEqual(['image-start', 'image-start', 'image-progress', 'image-progress', 'image-done', 'image-done', 'done']);
    const p = ev.find((e) => e.type === 'image-progress')!;
    expect(p).toMatchObject({ done: 8, positions: 16 });
    await expect(m.generateImages('Draw a red apple. '.repeat(40), 1, {})).rejects.toThrow(/the prompt takes \d+ positions and the image 18; the model's context is 112/);
    const b = await m.generateImages('Draw a red apple.', 2, { cfg: 3, seed: 5, temperature: 1 });
    expect(b.map((x) => [...x.tokens])).toEqual(a.map((x) => [...x.tokens]));
    const d = await m.generateImages('Draw a red apple.', 2, { cfg: 3, seed: 6, temperature: 1 });
    expect(d.map((x) => [...x.tokens])).not.toEqual(a.map((x) => [...x.tokens]));
    await m.release();
  });

  it('completes an image: the given positions are kept, the rest drawn; a bad prefix is refused', async () => {
    const m = await load();
    const codes = await m.imageCodes(testImages.subarray(0, 3 * 256), 16); // (16 positions × 2 codes)
    expect(codes).toHaveLength(32);
    const [half] = await m.generateImages('Draw a red apple.', 1, { seed: 2, prefix: codes.subarray(0, 16) });
    expect([...half.tokens.subarray(0, 16)]).toEqual([...codes.subarray(0, 16)]);
    const [plain] = await m.generateImages('Draw a red apple.', 1, { seed: 2 });
    expect([...plain.tokens.subarray(0, 16)]).not.toEqual([...codes.subarray(0, 16)]);
    const [whole] = await m.generateImages('Draw a red apple.', 1, { seed: 2, prefix: codes });
    expect([...whole.tokens]).toEqual([...codes]);
    await expect(m.generateImages('x', 1, { prefix: codes.subarray(0, 3) })).rejects.toThrow(/image prefix: 3 codes is not a whole number of positions \(2 codes each\)/);
    await expect(m.generateImages('x', 1, { prefix: [16, 5] })).rejects.toThrow(/image prefix: code 1 is 5, not an image id in \[16, 32\)/);
    // the completion metric: with every row given, each drawing is the tokenizer's own reconstruction
    const r = await completionMetrics(m, { dataDir, split: 'test', images: 4, rows: [0, 4] });
    console.log(`completion on the tiny model: ${JSON.stringify(r)}`);
    expect(r.complete_images).toBe(4);
    expect(r.complete_top5_rows4).toBe(1);
    expect(r.complete_top5_rows0).toBeGreaterThanOrEqual(0);
    await expect(completionMetrics(m, { dataDir, split: 'test', images: 1, rows: [5] })).rejects.toThrow(/rows must be whole numbers in \[0, 4\]/);
    await m.release();
  });

  it('runs the same off the main thread (WorkerRuntime): identical images for the same seed', async () => {
    const { WorkerRuntime } = await import('../../src-main/engine/runtime/worker-session.ts');
    const rt = new WorkerRuntime();
    const [inline, worker] = [await load(), await load({ runtime: rt })];
    const a = await inline.generateImages('Draw a red apple.', 1, { cfg: 2, seed: 9 });
    const b = await worker.generateImages('Draw a red apple.', 1, { cfg: 2, seed: 9 });
    expect([...b[0].tokens]).toEqual([...a[0].tokens]);
    await Promise.all([inline.release(), worker.release()]);
    await rt.terminate();
  });

  it('CFG picks argmax of log p_u + s·(log p_c − log p_u); the unconditional row is the empty prompt', async () => {
    const seen: { cond: Float32Array; uncond: Float32Array | null; chosen: number }[] = [];
    const m = await load({ onImageCode: (e: (typeof seen)[number]) => seen.push(e) });
    const scale = 4;
    await m.generateImages('Draw a grinning face.', 1, { cfg: scale, temperature: 0 });
    expect(seen).toHaveLength(16 * 2);
    const lsm = (x: Float32Array) => {
      const mx = Math.max(...x);
      const z = Math.log(x.reduce((a, v) => a + Math.exp(v - mx), 0)) + mx;
      return Array.from(x, (v) => v - z);
    };
    for (const e of seen) {
      const [lc, lu] = [lsm(e.cond), lsm(e.uncond!)];
      const g = lc.map((v, i) => lu[i] + scale * (v - lu[i]));
      expect(e.chosen).toBe(g.indexOf(Math.max(...g)));
    }
    const firstUncond = seen[0].uncond!;
    seen.length = 0;
    await m.generateImages('', 1, { cfg: 1, temperature: 0 });
    const d = Math.max(...Array.from(firstUncond, (v, i) => Math.abs(v - seen[0].cond[i])));
    expect(d).toBeLessThan(1e-4);
    await m.release();
  });
});

describe('text', () => {
  it('captions an image and streams a chat reply to the end', async () => {
    const notes: string[] = [];
    const m = await load({ onNotice: (s: string) => notes.push(s) });
    const big = new Float32Array(3 * 32 * 32).fill(0.5);
    const cap = await m.caption(big, 32);
    expect(typeof cap).toBe('string');
    expect(notes[0]).toMatch(/32×32 resized to 16×16/);
    const ev: GenerationEvent[] = [];
    await m.chat([{ role: 'user', parts: [{ type: 'text', text: 'What is this?' }] }], { temperature: 0.8, seed: 1, maxNewTokens: 8 }, (e) => ev.push(e));
    expect(ev.at(-1)!.type).toBe('done');
    await m.release();
  });

  it('a model folder with a broken config names the file and the field', async () => {
    const bad = tmp('bad');
    const { cpSync } = await import('node:fs');
    cpSync(modelDir, bad, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(bad, 'config.json'), 'utf8'));
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, image_head: 'sideways' }));
    await expect(UnifiedModel.load(bad, { codec: tinyCodec() })).rejects.toThrow(/config\.json: field 'image_head'/);
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, hidden_size: 48 }));
    await expect(UnifiedModel.load(bad, { codec: tinyCodec() })).rejects.toThrow(/model\.safetensors: tensor '.*' is F32\[.*\], config\.json needs/);
  });
});
