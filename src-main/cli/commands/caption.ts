// `tessera caption --model DIR IMAGE...`: one caption line per image (greedy), from a unified model folder.
import { readImageFile } from '../../engine/infer/files.ts';
import { loadUnifiedModel } from '../../engine/infer/unified.ts';
import { intFlag, parseFlags, UsageError, type Command } from '../command.ts';

export const caption: Command = {
  name: 'caption',
  summary: 'Caption images with a unified model (one line per image)',
  usage: 'caption --model DIR [--threads N] IMAGE...',
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { model: { type: 'string' }, threads: { type: 'string' } }, true);
    if (!values.model) throw new UsageError('--model is required');
    if (positionals.length === 0) throw new UsageError('give at least one IMAGE');
    const m = await loadUnifiedModel(values.model, { threads: intFlag('threads', values.threads, 1) });
    try {
      for (const file of positionals) {
        const { pixels, note } = await readImageFile(file, m.codec.imageSize);
        if (note) console.error(note);
        console.log(`${file}: ${await m.caption(pixels, m.codec.imageSize)}`);
      }
    } finally {
      await m.release();
    }
    return 0;
  },
};
