// The pixel nearest-neighbour reference that `eval lm` prints beside the model's figures
// (engine/infer/eval.ts pixelBaseline): on real emoji, a split made of copies of training images
// finds every label and category; the same images under labels no training image has find none;
// and evaluating the reference split against itself, or data without it, reports nothing.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFolder } from '../../src-main/engine/data/imagefolder.ts';
import { pixelBaseline } from '../../src-main/engine/infer/eval.ts';
import { tinyEmoji } from './helpers.ts';

describe('pixel nearest-neighbour reference', () => {
  it('finds copies of training images, misses labels it never saw, and stays out of its own split', async () => {
    const dir = await tinyEmoji(10);
    const meta = join(dir, 'metadata.jsonl');
    const rows = readFileSync(meta, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const train = rows.filter((r) => r.split === 'train');
    expect(train.length).toBeGreaterThan(10);
    const extra = [
      ...train.map((r) => ({ ...r, split: 'copy' })),
      ...train.map((r) => ({ ...r, split: 'renamed', text: `${r.text} (renamed)`, category: `${r.category} (renamed)` })),
    ];
    writeFileSync(meta, [...rows, ...extra].map((r) => JSON.stringify(r)).join('\n') + '\n');

    const at = async (split: string) => {
      const f = await loadImageFolder(dir, { split, size: 64 });
      return pixelBaseline({ dataDir: dir, split }, f.rows, f.rows.map((_, i) => i), f.images, 64);
    };
    expect(await at('copy')).toMatchObject({ baseline_nn_caption_exact: 1, baseline_nn_category_acc: 1 });
    expect(await at('renamed')).toMatchObject({ baseline_nn_caption_exact: 0, baseline_nn_category_acc: 0 });
    const held = await at('test');
    console.log(`pixel 1-NN on ${train.length} training images, facebook style: ${JSON.stringify(held)}`);
    expect(held.baseline_nn_caption_exact).toBeGreaterThanOrEqual(0);
    expect(held.baseline_nn_caption_exact).toBeLessThanOrEqual(1);
    expect(await at('train')).toEqual({});
    const f = await loadImageFolder(dir, { split: 'test', size: 64 });
    expect(await pixelBaseline({ dataDir: dir, split: 'test', baselineSplit: 'nowhere' }, f.rows, [0], f.images, 64)).toEqual({});
  }, 60_000);
});
