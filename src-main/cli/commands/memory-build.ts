// `tessera memory build --model DIR --data DIR [--split train[,validation]]`: the model folder's example memory
// (engine/infer/memory.ts) from every image of a split: their features under a semantic encoder
// (--encoder DIR, default the model's image-tokenizer/semantic; --encoder given several times: an
// ensemble of those encoders; a memory folder as --encoder gives its encoder's members, so
// `--encoder MODEL/memory --encoder NEW` grows a memory's ensemble by one encoder) and their labels
// and categories; where the labels name colour variants ("…: medium skin tone"), a colour prior over
// them weighs the neighbours (engine/infer/variant-prior.ts; --variant-alpha 0 builds none); each
// example's image codes, written by the model's image tokenizer, let the model draw by example
// (--no-drawing leaves them out).
// Captions and category answers then mix the nearest examples' answers into the LM's, token by token.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MEMORY_DEFAULTS, MEMORY_DIR, VARIANT_ALPHA } from '../../engine/infer/memory.ts';
import { buildMemory } from '../../engine/infer/memory-build.ts';
import { loadModelFolder } from '../../engine/infer/model-folder.ts';
import { intFlag, numFlag, parseFlags, UsageError, type Command } from '../command.ts';

export const memoryBuild: Command = {
  name: 'memory build',
  summary: "Build a unified model's example memory from an imagefolder split",
  usage: `memory build --model DIR --data DIR [--split train[,validation]] [--encoder SEMANTIC_OR_MEMORY_DIR ...] [--k K (${MEMORY_DEFAULTS.k})] [--tau T (${MEMORY_DEFAULTS.tau})] [--lambda L (${MEMORY_DEFAULTS.lambda})] [--variant-alpha A (${VARIANT_ALPHA}; 0: no colour prior)] [--no-drawing] [--threads N]`,
  async run(argv) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' }, data: { type: 'string' }, split: { type: 'string' }, encoder: { type: 'string', multiple: true },
      k: { type: 'string' }, tau: { type: 'string' }, lambda: { type: 'string' }, 'variant-alpha': { type: 'string' }, threads: { type: 'string' }, 'no-drawing': { type: 'boolean' },
    });
    if (!values.model) throw new UsageError('--model is required');
    if (!values.data) throw new UsageError('--data is required');
    const folder = await loadModelFolder(values.model); // a model folder, checked, before anything is written into it
    const encoderDir = values.encoder ?? [join(folder.imageTokenizerDir, 'semantic')];
    for (const dir of encoderDir)
      if (!existsSync(join(dir, 'config.json')) && !existsSync(join(dir, 'memory.json')))
        throw new UsageError(`${dir}: no semantic encoder there (config.json missing) and no memory (memory.json missing); give one with --encoder DIR`);
    const mix = {
      k: intFlag('k', values.k, 1, MEMORY_DEFAULTS.k),
      tau: numFlag('tau', values.tau, MEMORY_DEFAULTS.tau, (x) => x > 0, 'a number > 0'),
      lambda: numFlag('lambda', values.lambda, MEMORY_DEFAULTS.lambda, (x) => x >= 0 && x <= 1, 'a number in [0, 1]'),
    };
    const variantAlpha = numFlag('variant-alpha', values['variant-alpha'], VARIANT_ALPHA, (x) => x >= 0 && x <= 10, 'a number in [0, 10]');
    const out = join(values.model, MEMORY_DIR);
    const t0 = performance.now();
    const f = await buildMemory({
      encoderDir, dataDir: values.data, split: values.split ?? 'train', out, mix, variantAlpha, threads: intFlag('threads', values.threads, 1), ...(values['no-drawing'] ? {} : { model: values.model }),
      onProgress: (done, total) => process.stderr.write(`\rfeatures: ${done}/${total}   `),
    });
    process.stderr.write('\n');
    console.log(`${out}: ${f.entries} examples of ${values.data} split '${f.source.split}' (${Object.keys(f.questions).length} questions: ${Object.keys(f.answers).join(', ')}), ${f.encoder.model_type === 'tessera-semantic-ensemble' ? `an ensemble of ${(f.encoder.members as unknown[]).length} encoders, ` : ''}k ${f.k}, tau ${f.tau}, lambda ${f.lambda}, ${f.variants ? `a colour prior over ${f.variants.classes.length} label variants (alpha ${f.variants.alpha})` : 'no colour prior'}, ${f.drawing ? 'image codes for drawing by example' : 'no image codes'}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  },
};
