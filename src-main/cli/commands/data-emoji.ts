// `tessera data emoji`: build the emoji imagefolder (apple/google/twitter train + validation slice,
// facebook held-out test) from the installed emoji-datasource and emojibase-data packages, then print
// counts per split and style, missing images and the time taken. Safe to re-run: valid files are kept.
import { buildEmojiDataset, EMOJI_STYLES, type EmojiSplit, type EmojiStyle } from '../../engine/data/emoji.ts';
import { intFlag, parseFlags, UsageError, type Command } from '../command.ts';

export const dataEmoji: Command = {
  name: 'data emoji',
  summary: 'Build the emoji image-text dataset (HF imagefolder) from the bundled emoji packages',
  usage: 'data emoji --out DIR [--limit N] [--size 64] [--styles apple,google,twitter,facebook] [--only 1F34E,1F44B-1F3FD] [--concurrency N]',
  async run(argv) {
    const { values } = parseFlags(argv, {
      out: { type: 'string' },
      limit: { type: 'string' },
      size: { type: 'string' },
      styles: { type: 'string' },
      only: { type: 'string' },
      concurrency: { type: 'string' },
    });
    if (!values.out) throw new UsageError('--out is required');
    const styles = values.styles?.split(',').map((s) => s.trim()) ?? [...EMOJI_STYLES];
    for (const s of styles) if (!(EMOJI_STYLES as readonly string[]).includes(s)) throw new UsageError(`unknown style '${s}' (known: ${EMOJI_STYLES.join(', ')})`);
    const interactive = process.stderr.isTTY;
    let lastPct = -1;
    const summary = await buildEmojiDataset({
      out: values.out,
      limit: intFlag('limit', values.limit, 0),
      size: intFlag('size', values.size, 1) ?? 64,
      styles: styles as EmojiStyle[],
      only: values.only?.split(',').map((s) => s.trim()).filter(Boolean),
      concurrency: intFlag('concurrency', values.concurrency, 1),
      onProgress: (done, total) => {
        const pct = Math.floor((100 * done) / total);
        if (interactive && pct !== lastPct) process.stderr.write(`\r  images ${done}/${total} (${pct}%)`);
        lastPct = pct;
      },
    });
    if (interactive) process.stderr.write('\n');
    const splits: EmojiSplit[] = ['train', 'validation', 'test'];
    console.log(`emoji dataset in ${summary.out}: ${summary.rows} images, metadata.jsonl ${summary.metadataChanged ? 'written' : 'unchanged'}`);
    console.log(`  ${'split'.padEnd(12)}${styles.map((s) => s.padStart(10)).join('')}${'total'.padStart(10)}`);
    for (const sp of splits) {
      const counts = styles.map((s) => summary.counts[sp][s as EmojiStyle] ?? 0);
      console.log(`  ${sp.padEnd(12)}${counts.map((c) => String(c).padStart(10)).join('')}${String(counts.reduce((a, b) => a + b, 0)).padStart(10)}`);
    }
    const notDrawn = styles.map((s) => `${s} ${summary.notDrawn[s as EmojiStyle] ?? 0}`).join(', ');
    console.log(`  written ${summary.written}, already valid ${summary.skipped}; not drawn in a style: ${notDrawn}`);
    console.log(`  missing images: ${summary.missing.length}${summary.missing.length ? ` (${summary.missing.slice(0, 10).join(', ')}${summary.missing.length > 10 ? ', ...' : ''})` : ''}`);
    console.log(`  time ${summary.seconds.toFixed(1)} s`);
    return 0;
  },
};
