// The unified model's loss against a host-side computation from its own logits (weighted text CE
// plus depth-head code CE, answer-only weights), and learning: on real emoji images encoded by the
// PaletteCodec, a tiny model's training loss falls within a few steps, with the depth head and with
// unfolded images, and in the 'separate' codebook mode (codes appended after the text vocabulary).
import { beforeAll, describe, expect, it } from 'vitest';
import { collate, layoutChat, TaskStream } from '../../src-main/engine/data/tasks.ts';
import type { MetadataRow } from '../../src-main/engine/data/imagefolder.ts';
import { Graph, type Tensor } from '../../src-main/engine/graph/graph.ts';
import { exportOnnx } from '../../src-main/engine/graph/onnx.ts';
import { codecToLm, declareBatchInputs, initUnifiedParam, unifiedLoss, unifiedParamShapes, type UnifiedConfig } from '../../src-main/engine/models/unicode.ts';
import { Session } from '../../src-main/engine/runtime/session.ts';
import type { TextTokenizer } from '../../src-main/engine/text/tokenizer.ts';
import { Trainer } from '../../src-main/engine/train/trainer.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';
import { encodedSplit, tinyEmoji, tinyModel, tinyTokenizer } from './helpers.ts';

let tok: TextTokenizer;
let rows: MetadataRow[];
let codes: Int32Array;

beforeAll(async () => {
  tok = (await tinyTokenizer()).tok;
  ({ rows, codes } = await encodedSplit(await tinyEmoji(8), 'train'));
});

function stream(c: UnifiedConfig, seed: number) {
  const per = c.image_positions * c.image_depth;
  const lm = codecToLm(c, Int32Array.from(codes));
  return new TaskStream(rows, (i) => lm.subarray(i * per, (i + 1) * per), {
    stage: 'stage2', cfgDropout: 0.1, outputForm: c.image_head === 'depth' ? 'aggregate' : 'unfolded', seed,
    mix: { caption: 0.3, question: 0.2, t2i: 0.5 },
  });
}
const batchOf = (c: UnifiedConfig, s: TaskStream, n: number) => collate(c, s.nextBatch(n).map((e) => layoutChat(tok, c, e, true)), tok.specials.pad);

describe('unified loss', () => {
  it('equals weighted cross-entropy computed on the host from the graph logits', async () => {
    const c = tinyModel(tok.vocabSize);
    const g = new Graph('loss');
    const out = unifiedLoss(g, c, declareBatchInputs(g, c));
    const s = await Session.create(exportOnnx(g, { loss: out.loss, logits: out.logits, depth: out.depthLogits, text_loss: out.metrics.text_loss }).bytes, { threads: 1 });
    const rng = new Rng(3);
    const feeds: Record<string, Tensor> = batchOf(c, stream(c, 1), 3);
    for (const [n, shape] of unifiedParamShapes(c)) feeds[n] = { dtype: 'float32', shape, data: initUnifiedParam(c, n, shape, { fillNormal: (o, std) => rng.fillNormal(o, (std ?? 1) * 20) }) };
    const r = await s.run(feeds);
    await s.release();
    const logsoftmax = (x: Float32Array, off: number, n: number, k: number) => {
      let m = -Infinity, z = 0;
      for (let i = 0; i < n; i++) m = Math.max(m, x[off + i]);
      for (let i = 0; i < n; i++) z += Math.exp(x[off + i] - m);
      return x[off + k] - m - Math.log(z);
    };
    const V = c.vocab_size, K = c.image_codebook_size, D = c.image_depth;
    const labels = feeds.labels.data as BigInt64Array, lw = feeds.label_weights.data as Float32Array;
    const src = Array.from(feeds.label_src.data as BigInt64Array, Number);
    expect(src).toEqual([...labels.keys()].filter((i) => labels[i] !== -100n && lw[i] > 0)); // the head runs exactly at the targets
    let sum = 0, cnt = 0, tsum = 0, tcnt = 0;
    src.forEach((i, row) => {
      const l = -logsoftmax(r.logits.data as Float32Array, row * V, V, Number(labels[i])) * lw[i];
      [sum, cnt, tsum, tcnt] = [sum + l, cnt + lw[i], tsum + l, tcnt + lw[i]];
    });
    const dc = feeds.depth_codes.data as BigInt64Array, dw = feeds.depth_weights.data as Float32Array;
    for (let i = 0; i < dc.length; i++) {
      if (dw[i] === 0) continue;
      sum += -logsoftmax(r.depth.data as Float32Array, i * K, K, Number(dc[i]) - c.image_token_offset) * dw[i];
      cnt += dw[i];
    }
    expect(tcnt).toBeGreaterThan(0);
    expect(cnt).toBeGreaterThan(tcnt); // image codes are targets too (t2i rows)
    const got = (r.loss.data as Float32Array)[0];
    console.log(`unified loss ${got.toFixed(5)} vs host ${(sum / cnt).toFixed(5)}; text ${(r.text_loss.data as Float32Array)[0].toFixed(5)} vs ${(tsum / tcnt).toFixed(5)}; D=${D}`);
    expect(Math.abs(got - sum / cnt)).toBeLessThan(1e-4);
    expect(Math.abs((r.text_loss.data as Float32Array)[0] - tsum / tcnt)).toBeLessThan(1e-4);
  });
});

describe('learning on real emoji codes', () => {
  it.each([
    ['depth head', {}],
    ['unfolded images', { image_head: 'unfolded' as const }],
    ['separate codebook', { codebook_mode: 'separate' as const }],
  ])('%s: training loss falls within 16 steps', async (_label, over) => {
    let c = tinyModel(tok.vocabSize, over);
    if (c.codebook_mode === 'separate') c = { ...c, vocab_size: tok.vocabSize + c.image_codebook_size, image_token_offset: tok.vocabSize };
    if (c.image_head === 'unfolded') c = { ...c, max_position_embeddings: 160 };
    const tr = await Trainer.create(
      { build: (g) => unifiedLoss(g, c, declareBatchInputs(g, c)), init: (n, s, rng) => initUnifiedParam(c, n, s, rng) },
      { optim: { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.01, clipNorm: 1 }, schedule: { lr: 1e-2, warmupSteps: 3 }, seed: 1, session: { threads: 1 } },
    );
    const s = stream(c, 2);
    const fixed = batchOf(c, s, 8);
    const before = await tr.evaluate(fixed);
    const losses: number[] = [];
    for (let k = 0; k < 16; k++) losses.push((await tr.trainStep([batchOf(c, s, 8)])).loss);
    const after = await tr.evaluate(fixed);
    await tr.release();
    console.log(`${_label}: held batch ${before.loss.toFixed(3)} → ${after.loss.toFixed(3)} (image ${before.metrics.image_loss.toFixed(3)} → ${after.metrics.image_loss.toFixed(3)}); train first ${losses[0].toFixed(3)} last ${losses.at(-1)!.toFixed(3)}`);
    expect(after.loss).toBeLessThan(before.loss * 0.6);
    expect(after.metrics.image_loss).toBeLessThan(before.metrics.image_loss);
  });
});
