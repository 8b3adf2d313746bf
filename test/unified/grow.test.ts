// Growing a unified LM (models/grow.ts): the grown model computes the same logits and depth-head
// logits as the base on a real batch (emoji codes, real ONNX Runtime session), its new blocks start
// silent but train (their o_proj/down_proj move after one step), and a spec that would shrink or
// reshape the model is refused naming the field.
import { beforeAll, describe, expect, it } from 'vitest';
import { collate, layoutChat, TaskStream } from '../../src-main/engine/data/tasks.ts';
import { Graph, type Tensor } from '../../src-main/engine/graph/graph.ts';
import { exportOnnx } from '../../src-main/engine/graph/onnx.ts';
import { GrowError, grownConfig, grownLayerOf, grownParam } from '../../src-main/engine/models/grow.ts';
import { codecToLm, declareBatchInputs, initUnifiedParam, unifiedLoss, unifiedParamShapes, type UnifiedConfig } from '../../src-main/engine/models/unicode.ts';
import { Session } from '../../src-main/engine/runtime/session.ts';
import type { TextTokenizer } from '../../src-main/engine/text/tokenizer.ts';
import { Trainer } from '../../src-main/engine/train/trainer.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';
import { encodedSplit, tinyEmoji, tinyModel, tinyTokenizer } from './helpers.ts';

let tok: TextTokenizer;
let feeds: Record<string, Tensor>;
let base: UnifiedConfig;

beforeAll(async () => {
  tok = (await tinyTokenizer()).tok;
  const { rows, codes } = await encodedSplit(await tinyEmoji(8), 'train');
  base = tinyModel(tok.vocabSize);
  const per = base.image_positions * base.image_depth;
  const lm = codecToLm(base, Int32Array.from(codes));
  const s = new TaskStream(rows, (i) => lm.subarray(i * per, (i + 1) * per), {
    stage: 'stage2', cfgDropout: 0, outputForm: 'aggregate', seed: 5, mix: { caption: 0.4, question: 0.2, t2i: 0.4 },
  });
  feeds = collate(base, s.nextBatch(4).map((e) => layoutChat(tok, base, e, true)), tok.specials.pad);
});

/** Random weights, large enough that every block changes the output. */
function randomParams(c: UnifiedConfig, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  return new Map([...unifiedParamShapes(c)].map(([n, s]) => [n, initUnifiedParam(c, n, s, { fillNormal: (o, std) => rng.fillNormal(o, (std ?? 1) * 8) })]));
}

async function outputs(c: UnifiedConfig, params: Map<string, Float32Array>) {
  const g = new Graph('grow');
  const out = unifiedLoss(g, c, declareBatchInputs(g, c));
  const s = await Session.create(exportOnnx(g, { logits: out.logits, depth: out.depthLogits }).bytes, { threads: 1 });
  const f: Record<string, Tensor> = { ...feeds };
  for (const [n, shape] of unifiedParamShapes(c)) f[n] = { dtype: 'float32', shape, data: params.get(n)! };
  const r = await s.run(f);
  await s.release();
  return { logits: r.logits.data as Float32Array, depth: r.depth.data as Float32Array };
}

const maxAbs = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

function grow(c: UnifiedConfig, p: Map<string, Float32Array>, layers: number, inter?: number) {
  const g = grownConfig(c, { num_hidden_layers: layers, intermediate_size: inter });
  const rng = new Rng(99);
  const shapes = unifiedParamShapes(c);
  const get = (n: string) => (p.has(n) ? { shape: shapes.get(n)!, data: p.get(n)! } : undefined);
  const params = new Map([...unifiedParamShapes(g)].map(([n, s]) => [n, grownParam(c, g, n, s, get, () => initUnifiedParam(g, n, s, { fillNormal: (o, std) => rng.fillNormal(o, (std ?? 1) * 8) }))]));
  return { g, params };
}

describe('growing a unified LM', () => {
  it('places the base layers evenly and leaves the new ones between them', () => {
    expect([0, 1, 2, 3].map((j) => grownLayerOf(j, 4, 8))).toEqual([0, 2, 4, 6]);
    expect([0, 1].map((j) => grownLayerOf(j, 2, 5))).toEqual([0, 2]);
  });

  it.each([
    ['deeper', 5, undefined],
    ['wider SwiGLU', 2, 96],
    ['deeper and wider', 4, 80],
  ])('%s: the grown model computes the base model\'s logits', async (_label, layers, inter) => {
    const p = randomParams(base, 11);
    const { g, params } = grow(base, p, layers, inter);
    expect(g.num_hidden_layers).toBe(layers);
    const [a, b] = [await outputs(base, p), await outputs(g, params)];
    const [dl, dd] = [maxAbs(a.logits, b.logits), maxAbs(a.depth, b.depth)];
    const scale = a.logits.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    console.log(`${_label}: max |Δlogits| ${dl.toExponential(2)} (|logits| up to ${scale.toFixed(2)}), max |Δdepth logits| ${dd.toExponential(2)}`);
    expect(scale).toBeGreaterThan(1);
    expect(dl).toBeLessThan(1e-4);
    expect(dd).toBeLessThan(1e-4);
    // and the new parts are not copies: a fresh layer's q_proj is its own draw
    if (layers > base.num_hidden_layers) expect(Array.from(params.get('model.layers.1.self_attn.q_proj.weight')!)).not.toEqual(Array.from(p.get('model.layers.1.self_attn.q_proj.weight')!));
  });

  it('the new blocks start silent and train: their o_proj and down_proj move after one step', async () => {
    const p = randomParams(base, 12);
    const { g, params } = grow(base, p, 3, 80);
    const tr = await Trainer.create(
      { build: (gr) => unifiedLoss(gr, g, declareBatchInputs(gr, g)), init: (n, s, rng) => initUnifiedParam(g, n, s, rng) },
      { optim: { betas: [0.9, 0.95], weightDecay: 0 }, schedule: { lr: 1e-3, warmupSteps: 0 }, seed: 1, session: { threads: 1 } },
    );
    for (const [n, v] of params) tr.params.set(n, Float32Array.from(v));
    expect([0, 1].map((j) => grownLayerOf(j, 2, 3))).toEqual([0, 1]); // so layer 2 is the new one
    const o = () => tr.params.get('model.layers.2.self_attn.o_proj.weight')!;
    const down = () => tr.params.get('model.layers.2.mlp.down_proj.weight')!;
    const downOld = () => tr.params.get('model.layers.1.mlp.down_proj.weight')!;
    expect(o().every((x) => x === 0) && down().every((x) => x === 0)).toBe(true);
    // the widened columns of a base layer's down_proj are zero too
    expect(downOld().filter((_, k) => k % 80 >= 64).every((x) => x === 0)).toBe(true);
    await tr.trainStep([feeds]);
    const moved = (x: Float32Array) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    console.log(`after one step: new o_proj max ${moved(o()).toExponential(2)}, new down_proj max ${moved(down()).toExponential(2)}`);
    expect(moved(o())).toBeGreaterThan(1e-5);
    expect(moved(down())).toBeGreaterThan(1e-5);
    await tr.release();
  });

  it('refuses to shrink, naming the field', () => {
    expect(() => grownConfig(base, { num_hidden_layers: 1 })).toThrow(GrowError);
    expect(() => grownConfig(base, { num_hidden_layers: 1 })).toThrow(/below the base model's 2/);
    try {
      grownConfig(base, { num_hidden_layers: 2, intermediate_size: 32 });
      expect.unreachable();
    } catch (err) {
      expect((err as GrowError).field).toBe('intermediate_size');
    }
    const p = randomParams(base, 13);
    const g = grownConfig(base, { num_hidden_layers: 3 });
    const broken = (n: string) => (n === 'model.norm.weight' ? { shape: [7], data: new Float32Array(7) } : { shape: unifiedParamShapes(base).get(n)!, data: p.get(n)! });
    expect(() => grownParam(base, g, 'model.norm.weight', [32], broken, () => new Float32Array(32))).toThrow(/'model\.norm\.weight' is \[7\] in the base model/);
  });
});
