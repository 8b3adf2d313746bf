// `tessera demo`: with the default unified model in models/ (or --model DIR), it captions held-out
// emoji (the facebook style, read straight from the npm package), answers a question about one,
// and draws an emoji from text into a PNG. Without a model (or with --engine) it shows the engine
// learning: a small conv net trained from scratch on Fashion-MNIST through onnxruntime (forward,
// backward and AdamW in one ONNX graph per step), the loss falling, held-out accuracy, a checkpoint.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fashionBatch, loadFashionMnist, FASHION_MNIST_CLASSES } from '../../engine/data/fashion-mnist.ts';
import { Graph, type Tensor } from '../../engine/graph/graph.ts';
import { exportOnnx } from '../../engine/graph/onnx.ts';
import { classifierInit, classifierLogits, classifierTrainGraph, type ClassifierConfig } from '../../engine/models/classifier.ts';
import { Session } from '../../engine/runtime/session.ts';
import { saveCheckpoint } from '../../engine/train/checkpoint.ts';
import { Trainer } from '../../engine/train/trainer.ts';
import { Rng } from '../../engine/util/rng.ts';
import { packageDir } from '../../engine/data/emoji.ts';
import { readImageFile, writeImageFile } from '../../engine/infer/files.ts';
import { loadUnifiedModel } from '../../engine/infer/unified.ts';
import { DEFAULT_VIEWS } from '../../engine/infer/views.ts';
import { describeDrawnFrom } from '../../engine/infer/memory.ts';
import { intFlag, outputFolder, parseFlags, type Command } from '../command.ts';

const cfg: ClassifierConfig = { channels: 1, height: 28, width: 28, classes: 10 };


export const DEFAULT_MODEL_DIR = 'models/tessera-emoji';

/** Held-out emoji for the demo: the facebook style is never trained on. */
const DEMO_PROMPTS = ['Draw a red apple.', 'Draw a dog face.', 'Draw a rocket.'];
const DEMO_EMOJI = [['1f34e', 'red apple'], ['1f436', 'dog face'], ['1f680', 'rocket'], ['1f355', 'pizza'], ['2b50', 'star']] as const;

async function modelDemo(dir: string, out: string, threads: number): Promise<void> {
  console.log(`Tessera demo with the unified model in ${dir}`);
  const card = JSON.parse(await readFile(join(dir, 'tessera.json'), 'utf8')) as { name?: string; metrics?: Record<string, unknown> };
  const m0 = card.metrics ?? {};
  const pct = (k: string) => (typeof m0[k] === 'number' ? `${((m0[k] as number) * 100).toFixed(1)}%` : 'not measured');
  console.log(`its card (tessera.json), on the held-out style: caption exact ${pct('caption_exact')}${typeof m0.caption_exact_memory === 'number' ? ` (${pct('caption_exact_memory')} with its example memory)` : ''}, category ${pct('category_acc')}, text→image top-5 ${pct('t2i_top5')}${typeof m0.t2i_memory_top5 === 'number' ? ` (${pct('t2i_memory_top5')} drawn by example; with the example itself out of the gallery ${pct('t2i_memory_unseen_top5')}${typeof m0.t2i_judge_memory_unseen_top5 === 'number' ? `, ${pct('t2i_judge_memory_unseen_top5')} by the memory's encoders as judge` : ''})` : ''}\n`);
  const m = await loadUnifiedModel(dir, { threads });
  try {
    const S = m.codec.imageSize;
    const folder = join(packageDir('emoji-datasource-facebook'), 'img', 'facebook', '64');
    const mem = m.memory;
    console.log(`captions of held-out emoji (facebook style, never seen in training), each read from ${DEFAULT_VIEWS} views${mem ? `, with the example memory (${mem.entries.toLocaleString('en')} labelled images of split ${mem.file.source.split}, ${mem.file.encoder.model_type === 'tessera-semantic-ensemble' ? `read by ${(mem.file.encoder.members as unknown[]).length} encoders, ` : ''}${mem.variants ? `a colour prior over ${mem.variants.config.classes.length} label variants, ` : ''}λ ${mem.mix.lambda}) and by the LM alone` : ''}:`);
    let first: Float32Array | null = null;
    for (const [code, label] of DEMO_EMOJI) {
      const { pixels } = await readImageFile(join(folder, `${code}.png`), S);
      first ??= pixels;
      const t0 = performance.now();
      const caption = await m.caption(pixels, S, { views: DEFAULT_VIEWS });
      const ms = performance.now() - t0;
      const alone = mem ? `   LM alone: ${await m.caption(pixels, S, { views: DEFAULT_VIEWS, memory: false })}` : '';
      console.log(`  ${label.padEnd(10)} → ${caption}   (${ms.toFixed(0)} ms)${alone}`);
    }
    let answer = '';
    await m.chat([{ role: 'user', parts: [{ type: 'image', pixels: first!, size: S }, { type: 'text', text: 'What category is this?' }] }], { temperature: 0, maxNewTokens: 24, textOnly: true, views: DEFAULT_VIEWS }, (e) => {
      if (e.type === 'text') answer += e.delta;
    });
    console.log(`\nQ: [red apple image] What category is this?\nA: ${answer.trim()}`);
    console.log('');
    // each prompt drawn by example where the memory holds images of it, and by the LM from the words alone
    for (const [i, prompt] of DEMO_PROMPTS.entries()) {
      for (const examples of m.drawsByExample ? [true, false] : [false]) {
        const t0 = performance.now();
        let from = '';
        const [img] = await m.generateImages(prompt, 1, { seed: i + 1, cfg: 3, temperature: 1, topK: 100, examples }, (e) => e.type === 'example' && (from = describeDrawnFrom(e)));
        const file = join(out, `${prompt.replace(/^Draw (an? )?/, '').replace(/\W+/g, '-').replace(/-+$/, '')}${m.drawsByExample && !examples ? '-lm-alone' : ''}.png`);
        await writeImageFile(file, img.pixels, img.size, { prompt, seed: String(i + 1), settings: JSON.stringify({ cfg: 3, temperature: 1, topK: 100, examples }), model: resolve(dir), Software: 'tessera' });
        const how = from || (m.drawsByExample ? 'by the LM alone, from the words' : '');
        console.log(`"${prompt}" → ${file} (${((performance.now() - t0) / 1000).toFixed(2)} s${how ? `, ${how}` : ''})`);
      }
    }
  } finally {
    await m.release();
  }
}

export const demo: Command = {
  name: 'demo',
  summary: 'caption, answer and draw with the default unified model (or, without one, watch the engine train a conv net)',
  usage: 'demo [--model DIR] [--engine] [--steps N] [--out DIR] [--threads N]',
  async run(argv) {
    const { values } = parseFlags(argv, { steps: { type: 'string' }, out: { type: 'string' }, model: { type: 'string' }, engine: { type: 'boolean' }, threads: { type: 'string' } });
    const out = resolve(values.out ?? join('runs', 'demo'));
    await outputFolder('--out', out); // before any work
    const threads = intFlag('threads', values.threads, 1);
    const modelDir = resolve(values.model ?? DEFAULT_MODEL_DIR);
    // batch-1 captions and drawing: 1 thread is fastest for the default model on small machines
    if (!values.engine && (values.model || existsSync(join(modelDir, 'tessera.json')))) return modelDemo(modelDir, out, threads ?? 1);
    const steps = intFlag('steps', values.steps, 1, 300);
    console.log(`Tessera demo: no unified model in ${modelDir} (train one with npm run train:default), so this shows the engine`);
    console.log('training a conv net from scratch on Fashion-MNIST (forward + backward + AdamW as one ONNX graph per step).\n');
    const train = await loadFashionMnist('train');
    const test = await loadFashionMnist('test', { limit: 2000 });
    const trainer = await Trainer.create(
      { build: (g) => ({ loss: classifierTrainGraph(g, cfg).loss }), init: classifierInit },
      { optim: { weightDecay: 0.01, clipNorm: 1 }, schedule: { lr: 4e-3, warmupSteps: 20, totalSteps: steps }, seed: 1, session: { threads: threads ?? 2 } },
    );
    const rng = new Rng(1);
    const t0 = performance.now();
    let window = 0;
    for (let s = 1; s <= steps; s++) {
      const r = await trainer.trainStep([fashionBatch(train.images, train.labels, Array.from({ length: 64 }, () => rng.int(train.n)))]);
      window += r.loss;
      if (s % 25 === 0 || s === 1) {
        const secs = (performance.now() - t0) / 1000;
        console.log(`step ${String(s).padStart(4)}  loss ${(window / (s === 1 ? 1 : 25)).toFixed(3)}  lr ${r.lr.toExponential(2)}  ${(s / secs).toFixed(1)} steps/s`);
        window = 0;
      }
    }
    const g = new Graph('eval');
    const logits = classifierLogits(g, cfg, g.input('pixels', 'float32', ['B', 1, 28, 28]));
    const session = await Session.create(exportOnnx(g, { logits }).bytes, { threads: 2 });
    const feeds: Record<string, Tensor> = { pixels: fashionBatch(test.images, test.labels, Array.from({ length: test.n }, (_, i) => i)).pixels };
    for (const [n, d] of trainer.params) feeds[n] = { dtype: 'float32', shape: trainer.shapes.get(n)!, data: d };
    const lg = (await session.run(feeds)).logits.data as Float32Array;
    const preds = Array.from({ length: test.n }, (_, i) => {
      const row = lg.subarray(i * 10, i * 10 + 10);
      return row.indexOf(Math.max(...row));
    });
    const acc = preds.filter((p, i) => p === test.labels[i]).length / test.n;
    console.log(`\nheld-out accuracy: ${(acc * 100).toFixed(1)}% on ${test.n} test images (chance: 10%)`);
    for (let i = 0; i < 5; i++) console.log(`  test image ${i}: predicted ${FASHION_MNIST_CLASSES[preds[i]].padEnd(12)} true ${FASHION_MNIST_CLASSES[test.labels[i]]}`);
    const ck = await saveCheckpoint(join(out, 'checkpoints'), trainer.getState(), trainer.shapes, { model: 'classifier', config: cfg, accuracy: acc });
    console.log(`\ncheckpoint (weights, AdamW moments, RNG, step): ${ck}`);
    await session.release();
    await trainer.release();
  },
};
