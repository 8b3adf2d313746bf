// Measurements behind the LM recipe's defaults (not a test; run with tsx, ≤ 60 s per case):
//   sizes: training tokens/s of the unified graph at candidate sizes on real batches;
//   heads: depth head vs unfolded images on text-to-image at equal steps: held-out code NLL and time.
// Images: the emoji set encoded by the PaletteCodec (64×64, 8×8 positions × depth 4), a real proxy
// until the VQ tokenizer's codes are available.
//   npx tsx test/unified/bench-lm.ts sizes|heads DATA_DIR TEXT_TOKENIZER_DIR
import { collate, layoutChat, TaskStream, type TaskKind } from '../../src-main/engine/data/tasks.ts';
import { loadImageFolder } from '../../src-main/engine/data/imagefolder.ts';
import { codecToLm, declareBatchInputs, initUnifiedParam, unifiedLoss, type UnifiedConfig } from '../../src-main/engine/models/unicode.ts';
import { TextTokenizer } from '../../src-main/engine/text/tokenizer.ts';
import { Trainer } from '../../src-main/engine/train/trainer.ts';
import { unifiedConfigFor, LmRecipeSchema } from '../../src-main/engine/train/recipes/lm.ts';
import { PaletteCodec } from './palette-codec.ts';

const [mode, dataDir, tokDir] = process.argv.slice(2);
const tok = await TextTokenizer.load(tokDir);
const codec = new PaletteCodec(64, 8, 4, 5, 16);
async function split(name: string, limit: number) {
  const f = await loadImageFolder(dataDir, { split: name, size: 64, limit });
  return { rows: f.rows, codes: await codec.encode(f.images, f.rows.length) };
}
const model = (over: object) => unifiedConfigFor(LmRecipeSchema.shape.model.parse(over), tok.vocabSize, codec);
const streamOf = (c: UnifiedConfig, d: { rows: typeof train.rows; codes: Int32Array }, mix: Partial<Record<TaskKind, number>>, seed: number) => {
  const per = c.image_positions * c.image_depth;
  const lm = codecToLm(c, Int32Array.from(d.codes));
  return new TaskStream(d.rows, (i) => lm.subarray(i * per, (i + 1) * per), { stage: 'stage2', cfgDropout: 0.1, outputForm: c.image_head === 'depth' ? 'aggregate' : 'unfolded', seed, mix });
};
const feeds = (c: UnifiedConfig, s: TaskStream, b: number) => collate(c, s.nextBatch(b).map((e) => layoutChat(tok, c, e, true)), tok.specials.pad);
const trainer = (c: UnifiedConfig) => Trainer.create(
  { build: (g) => unifiedLoss(g, c, declareBatchInputs(g, c)), init: (n, s, rng) => initUnifiedParam(c, n, s, rng) },
  { optim: { weightDecay: 0.01, clipNorm: 1, betas: [0.9, 0.95] }, schedule: { lr: 3e-3, warmupSteps: 20 }, seed: 1, session: { threads: 2 } },
);
const train = await split('train', 4000);

if (mode === 'sizes') {
  for (const over of [{ hidden_size: 256, num_hidden_layers: 4 }, { hidden_size: 256, num_hidden_layers: 6 }, { hidden_size: 320, num_hidden_layers: 4, num_attention_heads: 5, num_key_value_heads: 1, intermediate_size: 864 }]) {
    const c = model(over);
    const tr = await trainer(c);
    for (const [label, mix] of [['short (caption/question/t2i)', { caption: 0.3, question: 0.3, t2i: 0.4 }], ['decompress', { decompress: 1 }]] as const) {
      const s = streamOf(c, train, mix, 3);
      await tr.trainStep([feeds(c, s, 16)]); // warm-up (shape planning)
      let tokens = 0, T = 0;
      const t0 = performance.now(), cpu0 = process.cpuUsage();
      let n = 0;
      while (n < 3 || (performance.now() - t0 < 20000 && n < 12)) {
        const f = feeds(c, s, 16);
        tokens += f.labels.shape[0] * f.labels.shape[1];
        T += f.labels.shape[1];
        await tr.trainStep([f]);
        n++;
      }
      const secs = (performance.now() - t0) / 1000, cpu = process.cpuUsage(cpu0);
      const cpuSecs = (cpu.user + cpu.system) / 1e6; // all threads: on an idle 2-core machine the wall time is about cpuSecs / 2
      console.log(JSON.stringify({ size: over, batch: label, B: 16, mean_T: Math.round(T / n), s_per_step: +(secs / n).toFixed(3), cpu_s_per_step: +(cpuSecs / n).toFixed(3), tokens_per_s: Math.round(tokens / secs), tokens_per_cpu_s: Math.round(tokens / cpuSecs) }));
    }
    await tr.release();
  }
}

if (mode === 'heads') {
  const test = await split('test', 512);
  const steps = Number(process.argv[5] ?? 60);
  for (const head of ['depth', 'unfolded'] as const) {
    const c = model({ hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 352, depth_head_heads: 4, depth_head_intermediate_size: 256, image_head: head });
    const tr = await trainer(c);
    const s = streamOf(c, train, { t2i: 1 }, 4);
    const t0 = performance.now();
    for (let k = 0; k < steps; k++) await tr.trainStep([feeds(c, s, 16)]);
    const secs = (performance.now() - t0) / 1000;
    const es = streamOf(c, test, { t2i: 1 }, 9);
    let nll = 0;
    for (let k = 0; k < 8; k++) nll += (await tr.evaluate(feeds(c, es, 16))).metrics.image_loss / 8;
    console.log(JSON.stringify({ head, steps, train_seconds: +secs.toFixed(1), s_per_step: +(secs / steps).toFixed(3), heldout_code_nll: +nll.toFixed(4), heldout_bits_per_image: Math.round((nll * 256) / Math.LN2) }));
    await tr.release();
  }
}
