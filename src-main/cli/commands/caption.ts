// `tessera caption --model DIR IMAGE...`: one caption line per image (greedy), from a unified model
// folder, read from V views of the image (itself and jittered copies; --views, default 4); with
// --labels FILE, the model's most likely labels of that list (one per line) instead, each with its
// probability among the list's labels (exact up to 64 labels, else among those a beam of 64 reaches).
// A model folder with an example memory (memory/) mixes its nearest examples' labels into the free
// captions (engine/infer/memory.ts); --no-memory captions with the LM alone. An image that cannot be
// read is named on stderr and skipped; the command then exits 1.
import { readFile } from 'node:fs/promises';
import { readImageFile } from '../../engine/infer/files.ts';
import { LabelSet } from '../../engine/infer/labels.ts';
import { loadUnifiedModel } from '../../engine/infer/unified.ts';
import { DEFAULT_VIEWS } from '../../engine/infer/views.ts';
import { intFlag, parseFlags, UsageError, type Command } from '../command.ts';

export const caption: Command = {
  name: 'caption',
  summary: 'Caption images with a unified model (one line per image)',
  usage: 'caption --model DIR [--views V (4)] [--labels FILE.txt [--top K]] [--no-memory] [--threads N] IMAGE...',
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { model: { type: 'string' }, labels: { type: 'string' }, top: { type: 'string' }, views: { type: 'string' }, threads: { type: 'string' }, 'no-memory': { type: 'boolean' } }, true);
    if (!values.model) throw new UsageError('--model is required');
    if (positionals.length === 0) throw new UsageError('give at least one IMAGE');
    if (values.top !== undefined && !values.labels) throw new UsageError('--top ranks the labels of --labels FILE; give both');
    const top = intFlag('top', values.top, 1, 3);
    const views = intFlag('views', values.views, 1, DEFAULT_VIEWS);
    const labelText = values.labels === undefined ? null : await readFile(values.labels, 'utf8').catch((e: Error) => {
      throw new UsageError(`--labels: cannot read ${values.labels} (${e.message})`);
    });
    const m = await loadUnifiedModel(values.model, { threads: intFlag('threads', values.threads, 1), memory: !values['no-memory'] });
    try {
      let set: LabelSet | null = null;
      if (labelText !== null) {
        try {
          set = LabelSet.build(m.tok, labelText.split(/\r?\n/));
        } catch (e) {
          throw new UsageError(`--labels ${values.labels}: ${(e as Error).message.replace(/^labels: /, '')} (one label per line)`);
        }
      }
      // an image that cannot be read is reported and skipped; the others are still captioned
      const unread: string[] = [];
      for (const file of positionals) {
        const read = await readImageFile(file, m.codec.imageSize).catch((e: Error) => {
          console.error(e.message.startsWith(file) ? e.message : `${file}: ${e.message}`);
          unread.push(file);
          return null;
        });
        if (!read) continue;
        const { pixels, note } = read;
        if (note) console.error(note);
        if (!set) console.log(`${file}: ${await m.caption(pixels, m.codec.imageSize, { views })}`);
        else {
          // up to 64 labels: every one is scored, so the shares are exact; longer lists: a beam of 64
          const ranked = await m.rankLabels(pixels, m.codec.imageSize, set, { top, beam: Math.min(64, set.labels.length), views });
          console.log(`${file}: ${ranked.map((r) => `${r.label} (${(r.share * 100).toFixed(1)}%)`).join(', ')}`);
        }
      }
      if (unread.length) {
        console.error(`${unread.length} of ${positionals.length} images could not be read`);
        return 1;
      }
    } finally {
      await m.release();
    }
    return 0;
  },
};
