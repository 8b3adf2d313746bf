// Cached decoding equals the full forward pass: `llamaDecodeStep` fed one token at a time against a
// fixed-size KV cache (filled by the caller from the new K/V outputs) must give the same logits at
// every position as `llamaForward` over the whole sequence, also with the growing cache of
// infer/kv-cache.ts. Runs the PyTorch fixture's weights (grouped KV heads, 4 query heads over 2 KV
// heads) and random weights for MHA, GQA and MQA configs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Graph, numel, type Tensor, type Value } from '../../src-main/engine/graph/graph.ts';
import { exportOnnx } from '../../src-main/engine/graph/onnx.ts';
import { readSafetensors } from '../../src-main/engine/io/safetensors.ts';
import { KvCache } from '../../src-main/engine/infer/kv-cache.ts';
import { headDim, llamaDecodeStep, llamaForward, type LlamaConfig } from '../../src-main/engine/models/llama.ts';
import { Session } from '../../src-main/engine/runtime/session.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';

const dir = new URL('../fixtures/', import.meta.url).pathname;
const f32 = (shape: number[], data: Float32Array): Tensor => ({ dtype: 'float32', shape, data });
const i64 = (shape: number[], xs: number[]): Tensor => ({ dtype: 'int64', shape, data: BigInt64Array.from(xs, BigInt) });

/** Full-sequence logits (B, T, V) from `llamaForward`. */
async function forwardLogits(c: LlamaConfig, weights: Record<string, Tensor>, ids: number[][]): Promise<Float32Array> {
  const [B, T] = [ids.length, ids[0].length];
  const g = new Graph('forward');
  const { logits } = llamaForward(g, c, g.input('input_ids', 'int64', [B, T]), g.input('position_ids', 'int64', [T]));
  const s = await Session.create(exportOnnx(g, { logits }).bytes, { threads: 1 });
  const r = await s.run({ ...weights, input_ids: i64([B, T], ids.flat()), position_ids: i64([T], [...Array(T).keys()]) });
  await s.release();
  return r.logits.data as Float32Array;
}

/** The decode graph's inputs for B rows against a cache of `slots` slots (a number, or symbolic), its mask of `maskShape`. */
function decodeInputs(g: Graph, c: LlamaConfig, B: number, slots: number | string, maskShape: (number | string)[]) {
  const [L, KVH, hd] = [c.num_hidden_layers, c.num_key_value_heads, headDim(c)];
  return {
    ids: g.input('input_ids', 'int64', [B, 1]),
    position: g.input('position', 'int64', [1]),
    pastMask: g.input('past_mask', 'float32', maskShape),
    pastK: Array.from({ length: L }, (_, i) => g.input(`past_k.${i}`, 'float32', [B, KVH, slots, hd])),
    pastV: Array.from({ length: L }, (_, i) => g.input(`past_v.${i}`, 'float32', [B, KVH, slots, hd])),
  };
}

/** Logits (B, T, V) from decoding the tokens one by one against a cache of S slots; weights fed as inputs or baked in. */
async function decodeLogits(c: LlamaConfig, weights: Record<string, Tensor>, ids: number[][], S: number, bake: boolean): Promise<Float32Array> {
  const [B, T, V] = [ids.length, ids[0].length, c.vocab_size];
  const [L, KVH, hd] = [c.num_hidden_layers, c.num_key_value_heads, headDim(c)];
  const g = new Graph('decode');
  const io = decodeInputs(g, c, B, S, [S]);
  const r = llamaDecodeStep(g, c, io, bake ? { weights: (name) => weights[name] } : {});
  expect(g.params.size).toBe(bake ? 0 : Object.keys(weights).length);
  // baked: the new K/V come back joined in one output (as the bench and the unified model read them); as inputs: one per layer
  const outs: Record<string, Value> = { logits: r.logits };
  if (bake) outs.new_kv = r.newKV;
  else for (let i = 0; i < L; i++) [outs[`new_k.${i}`], outs[`new_v.${i}`]] = [r.newK[i], r.newV[i]];
  const s = await Session.create(exportOnnx(g, outs).bytes, { threads: 1 });
  // empty slots hold garbage on purpose: the mask alone must hide them
  const cacheK = Array.from({ length: L }, () => new Float32Array(B * KVH * S * hd).fill(3));
  const cacheV = Array.from({ length: L }, () => new Float32Array(B * KVH * S * hd).fill(-5));
  const mask = new Float32Array(S).fill(-1e9);
  const feeds: Record<string, Tensor> = { ...(bake ? {} : weights), past_mask: f32([S], mask) };
  for (let i = 0; i < L; i++) [feeds[`past_k.${i}`], feeds[`past_v.${i}`]] = [f32([B, KVH, S, hd], cacheK[i]), f32([B, KVH, S, hd], cacheV[i])];
  const logits = new Float32Array(B * T * V); // (B, T, V)
  for (let t = 0; t < T; t++) {
    feeds.input_ids = i64([B, 1], ids.map((row) => row[t]));
    feeds.position = i64([1], [t]);
    const out = await s.run(feeds);
    expect(out.logits.shape).toEqual([B, 1, V]);
    for (let b = 0; b < B; b++) logits.set((out.logits.data as Float32Array).subarray(b * V, (b + 1) * V), (b * T + t) * V);
    const put = (i: number, k: Float32Array, v: Float32Array, bh: number) => {
      cacheK[i].set(k, (bh * S + t) * hd);
      cacheV[i].set(v, (bh * S + t) * hd);
    };
    if (bake) {
      expect(out.new_kv.shape).toEqual([B, KVH, 2 * L, hd]);
      const kv = out.new_kv.data as Float32Array; // (B, KVH, 2L, hd): layer i's key at 2i, value at 2i+1
      const row = (bh: number, j: number) => kv.subarray((bh * 2 * L + j) * hd, (bh * 2 * L + j + 1) * hd);
      for (let i = 0; i < L; i++) for (let bh = 0; bh < B * KVH; bh++) put(i, row(bh, 2 * i), row(bh, 2 * i + 1), bh);
    } else
      for (let i = 0; i < L; i++) {
        expect(out[`new_k.${i}`].shape).toEqual([B, KVH, 1, hd]);
        const [nk, nv] = [out[`new_k.${i}`].data as Float32Array, out[`new_v.${i}`].data as Float32Array]; // (B, KVH, 1, hd)
        for (let bh = 0; bh < B * KVH; bh++) put(i, nk.subarray(bh * hd, (bh + 1) * hd), nv.subarray(bh * hd, (bh + 1) * hd), bh);
      }
    mask[t] = 0;
  }
  await s.release();
  return logits;
}

/**
 * The same with baked weights, a symbolic slot count and the cache of infer/kv-cache.ts, which feeds
 * only the slots in use and grows in chunks of `chunk` slots (re-laying out the cache as it grows).
 */
async function decodeLogitsGrown(c: LlamaConfig, weights: Record<string, Tensor>, ids: number[][], S: number, chunk: number): Promise<Float32Array> {
  const [B, T, V] = [ids.length, ids[0].length, c.vocab_size];
  const [L, KVH, hd] = [c.num_hidden_layers, c.num_key_value_heads, headDim(c)];
  const g = new Graph('decode');
  const io = decodeInputs(g, c, B, 'S', [B, 1, 1, 'S']);
  const r = llamaDecodeStep(g, c, io, { weights: (name) => weights[name] });
  const s = await Session.create(exportOnnx(g, { logits: r.logits, new_kv: r.newKV }).bytes, { threads: 1 });
  const cache = new KvCache({ layers: L, kvHeads: KVH, headDim: hd, maxSlots: S }, B, chunk);
  const logits = new Float32Array(B * T * V); // (B, T, V)
  const caps: number[] = [];
  for (let t = 0; t < T; t++) {
    cache.reserve(t);
    caps.push(cache.capacity);
    const out = await s.run({ ...cache.feeds(), input_ids: i64([B, 1], ids.map((row) => row[t])), position: i64([1], [t]) });
    for (let b = 0; b < B; b++) logits.set((out.logits.data as Float32Array).subarray(b * V, (b + 1) * V), (b * T + t) * V);
    cache.write(out.new_kv.data as Float32Array, t);
  }
  expect(new Set(caps).size).toBeGreaterThan(1); // the cache grew on the way
  await s.release();
  return logits;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function check(label: string, c: LlamaConfig, weights: Record<string, Tensor>, ids: number[][], S: number) {
  const full = await forwardLogits(c, weights, ids);
  for (const bake of [false, true]) {
    const d = maxAbsDiff(await decodeLogits(c, weights, ids, S, bake), full);
    console.log(`kv-cache ${label}: H=${c.num_attention_heads} KVH=${c.num_key_value_heads} B=${ids.length} T=${ids[0].length} S=${S}, weights ${bake ? 'baked' : 'as inputs'}: maxdiff logits ${d.toExponential(2)}`);
    expect(d).toBeLessThan(1e-4);
  }
  const d = maxAbsDiff(await decodeLogitsGrown(c, weights, ids, S, 4), full);
  console.log(`kv-cache ${label}: H=${c.num_attention_heads} KVH=${c.num_key_value_heads} B=${ids.length} T=${ids[0].length} S=${S}, growing cache in chunks of 4: maxdiff logits ${d.toExponential(2)}`);
  expect(d).toBeLessThan(1e-4);
}

function randomWeights(c: LlamaConfig, seed: number): Record<string, Tensor> {
  const g = new Graph('shapes');
  llamaForward(g, c, g.input('input_ids', 'int64', [1, 1]), g.input('position_ids', 'int64', [1]));
  const rng = new Rng(seed);
  const w: Record<string, Tensor> = {};
  for (const [name, p] of g.params) {
    const shape = p.value.shape as number[];
    w[name] = f32(shape, name.includes('norm') ? rng.fillNormal(new Float32Array(numel(shape)), 0.1).map((x) => 1 + x) : rng.fillNormal(new Float32Array(numel(shape)), 0.3));
  }
  return w;
}

const randomIds = (rng: Rng, B: number, T: number, V: number) => Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));

describe('KV-cache decoding vs full forward', () => {
  it('matches on the PyTorch fixture (grouped KV heads 4/2), cache larger than the sequence', async () => {
    const cfg = JSON.parse(readFileSync(dir + 'llama-tiny.json', 'utf8')) as { config: LlamaConfig };
    const c = cfg.config;
    expect(c.num_key_value_heads).toBeLessThan(c.num_attention_heads);
    const fx = (await readSafetensors(dir + 'llama-tiny.safetensors')).tensors;
    const weights: Record<string, Tensor> = {};
    for (const n of Object.keys(randomWeights(c, 0))) weights[n] = f32(fx.get(n)!.shape, fx.get(n)!.data as Float32Array);
    const idsT = fx.get('input_ids')!; // (B, T)
    const [B, T] = idsT.shape as number[];
    const ids = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => Number((idsT.data as BigInt64Array)[b * T + t])));
    await check('fixture', c, weights, ids, T + 5);
  });

  it.each([
    ['MHA', 4, 4],
    ['GQA', 6, 2],
    ['MQA', 4, 1],
  ])('matches with random weights (%s: %i heads, %i KV heads), cache exactly full', async (label, H, KVH) => {
    const c: LlamaConfig = {
      vocab_size: 50, hidden_size: 48, num_hidden_layers: 2, num_attention_heads: H, num_key_value_heads: KVH, head_dim: 8,
      intermediate_size: 40, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: label !== 'GQA', max_position_embeddings: 32,
    };
    const rng = new Rng(7 + H * 10 + KVH);
    const T = 11;
    await check(`random ${label}`, c, randomWeights(c, 11 + KVH), randomIds(rng, 1, T, c.vocab_size), T);
  });
});
