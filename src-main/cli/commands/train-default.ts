// `tessera train default` (npm run train:default): the default model's whole recipe, resumable —
// run it again after any interruption and it continues from the last checkpoint of the stage it was in.
import { resolve } from 'node:path';
import { runPipeline } from '../../engine/train/pipeline.ts';
import { intFlag, parseFlags, type Command } from '../command.ts';
import { pauseOnSigint, progressLine } from '../run-recipe.ts';

export const trainDefault: Command = {
  name: 'train default',
  summary: 'Train the default unified model (data, text + image tokenizers, Stage I rounds, Stage II), resumable',
  usage: 'train default [--pipeline recipes/default/pipeline.json] [--threads N] [--log-every 25]',
  async run(argv) {
    const { values } = parseFlags(argv, { pipeline: { type: 'string' }, threads: { type: 'string' }, 'log-every': { type: 'string' } });
    const logEvery = intFlag('log-every', values['log-every'], 1, 25);
    const { signal, release } = pauseOnSigint();
    try {
      const r = await runPipeline(resolve(values.pipeline ?? 'recipes/default/pipeline.json'), {
        threads: intFlag('threads', values.threads, 1, 2), signal,
        onProgress: (stage, p) => {
          if (p.phase === 'eval' || p.step % logEvery === 0 || p.step === p.totalSteps) console.log(`[${stage}] ${progressLine(p)}`);
        },
        onSample: (stage, s) => console.log(`[${stage}] sample @${s.step}${s.prompt ? ` [${s.prompt}]` : ''}: ${s.value}`),
      });
      console.log(r === 'done' ? 'default model trained' : 'paused; run the same command again to continue');
    } finally {
      release();
    }
  },
};
