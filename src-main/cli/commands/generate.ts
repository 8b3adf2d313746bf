// `tessera generate --model DIR --prompt TEXT --out FILE.png`: text-to-image with classifier-free
// guidance; K images go to FILE-1.png … FILE-K.png, each PNG carrying prompt, seed, settings and model.
// --complete IMAGE keeps that image's first positions (its semantic position, if the tokenizer has
// one, and the top --keep-rows rows of positions) and draws the rest: image completion. A prompt
// naming a label the model's example memory holds images of is drawn by example (the LM rewrites one
// of them, unguided; engine/infer/memory.ts); --no-examples: the LM draws from the prompt alone.
import { dirname, resolve } from 'node:path';
import { numberedPath, readImageFile, writeImageFile } from '../../engine/infer/files.ts';
import { describeDrawnFrom } from '../../engine/infer/memory.ts';
import { loadUnifiedModel } from '../../engine/infer/unified.ts';
import { intFlag, numFlag, outputFolder, parseFlags, UsageError, type Command } from '../command.ts';

export const generate: Command = {
  name: 'generate',
  summary: 'Draw images from a text prompt with a unified model (PNG with the prompt and settings in tEXt)',
  usage: 'generate --model DIR --prompt TEXT --out FILE.png [--n K] [--seed S] [--cfg G] [--temperature T] [--top-k K (100; 0 = all)] [--top-p P] [--complete IMAGE [--keep-rows R]] [--no-examples] [--threads N]',
  async run(argv) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' }, prompt: { type: 'string' }, out: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' },
      cfg: { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' }, 'top-p': { type: 'string' }, threads: { type: 'string' },
      complete: { type: 'string' }, 'keep-rows': { type: 'string' }, 'no-examples': { type: 'boolean' },
    });
    if (values['keep-rows'] !== undefined && !values.complete) throw new UsageError('--keep-rows needs --complete IMAGE');
    if (!values.model) throw new UsageError('--model is required');
    if (values.prompt === undefined) throw new UsageError('--prompt is required');
    if (!values.out) throw new UsageError('--out is required');
    const n = intFlag('n', values.n, 1, 1);
    const settings = {
      seed: intFlag('seed', values.seed, 0, 0),
      cfg: numFlag('cfg', values.cfg, 3, (x) => x >= 0, 'a number ≥ 0'),
      temperature: numFlag('temperature', values.temperature, 1, (x) => x >= 0, 'a number ≥ 0'),
      topK: intFlag('top-k', values['top-k'], 0, 100),
      topP: numFlag('top-p', values['top-p'], 1, (x) => x > 0 && x <= 1, 'in (0, 1]'),
    };
    await outputFolder('--out', dirname(resolve(values.out))); // before any drawing
    const m = await loadUnifiedModel(values.model, { threads: intFlag('threads', values.threads, 1) });
    try {
      let prefix: Int32Array | undefined;
      if (values.complete) {
        const g = m.codec.gridSide, rows = intFlag('keep-rows', values['keep-rows'], 0, Math.floor(g / 2));
        if (rows > g) throw new UsageError(`--keep-rows: the model's images have ${g} rows of positions, got ${rows}`);
        const { pixels, note } = await readImageFile(values.complete, m.codec.imageSize);
        if (note) console.error(`${values.complete}: ${note}`);
        prefix = (await m.imageCodes(pixels, m.codec.imageSize)).subarray(0, ((m.codec.leadingPositions ?? 0) + rows * g) * m.config.image_depth);
        console.error(`completing ${values.complete}: keeping ${rows} of ${g} rows${m.codec.leadingPositions ? ' and its semantic position' : ''}`);
      }
      const t0 = performance.now();
      const from = new Map<number, string>();
      const imgs = await m.generateImages(values.prompt, n, { ...settings, prefix, examples: !values['no-examples'] }, (e) => {
        if (e.type === 'image-progress' && e.index === 0) process.stderr.write(`\rdrawing: ${e.done}/${e.positions} positions`);
        if (e.type === 'example') from.set(e.index, describeDrawnFrom(e));
      });
      process.stderr.write('\r');
      const secs = (performance.now() - t0) / 1000;
      for (const [i, im] of imgs.entries()) {
        const file = resolve(numberedPath(values.out, i, n));
        await writeImageFile(file, im.pixels, im.size, {
          prompt: values.prompt, seed: String(settings.seed + i * 7919), settings: JSON.stringify({ ...settings, index: i, n, ...(from.has(i) ? { drawn: from.get(i) } : {}) }), model: resolve(values.model), Software: 'tessera',
        });
        console.log(`wrote ${file}${from.has(i) ? ` (${from.get(i)})` : ''}`);
      }
      console.log(`${n} image(s) in ${secs.toFixed(2)} s (${((secs * 1000) / n).toFixed(0)} ms/image, ${from.size === n ? 'unguided, by example' : `cfg ${settings.cfg}`}, seed ${settings.seed})`);
    } finally {
      await m.release();
    }
    return 0;
  },
};
