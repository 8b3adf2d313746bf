// The example memory's colour prior over label variants (engine/infer/variant-prior.ts): which
// qualifiers count as variants, the colour histogram, a prior fitted on real emoji of three styles
// that reads skin tone off a fourth style's images, and a memory that stores it, weighs a label
// question's neighbours by it (and nothing else), and names the file and field when it is broken.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEmojiDataset } from '../../src-main/engine/data/emoji.ts';
import { loadImageFolder } from '../../src-main/engine/data/imagefolder.ts';
import { ExampleMemory, type Neighbour } from '../../src-main/engine/infer/memory.ts';
import { buildMemory } from '../../src-main/engine/infer/memory-build.ts';
import { colourHistogram, labelQualifier, VariantPrior, variantClasses } from '../../src-main/engine/infer/variant-prior.ts';
import { readSafetensors, writeSafetensors } from '../../src-main/engine/io/safetensors.ts';
import type { SemanticConfig } from '../../src-main/engine/models/semantic.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';
import { TINY_SEMANTIC_SHAPES, tinySemanticWeights, tmp } from './helpers.ts';

const TONES = ['1F3FB', '1F3FC', '1F3FD', '1F3FE', '1F3FF'];
/** 22 hand emoji of the training split, each with its five skin tones. */
const HANDS = ['1F44B', '1F91A', '270B', '1F596', '1FAF1', '1FAF2', '1FAF3', '1FAF4', '1F44C', '1F90C', '1F90F', '1F91E', '1F91F', '1F918', '1F919', '1F448', '1F449', '1F446', '1F447', '1F44D', '1F44E', '270A'];

describe('label variants', () => {
  it('are the first part of a qualifier that enough bases share', () => {
    expect(labelQualifier('waving hand: medium skin tone')).toEqual({ base: 'waving hand', part: 'medium skin tone' });
    expect(labelQualifier('kiss: light skin tone, dark skin tone')).toEqual({ base: 'kiss', part: 'light skin tone' });
    expect(labelQualifier('red apple')).toEqual({ base: 'red apple', part: '' });
    const labels = ['a: dark', 'b: dark', 'c: dark', 'a: light', 'b: light, left', 'c: light', 'flag: France', 'flag: Peru', 'plain', 'a: left'];
    expect(variantClasses(labels, 3)).toEqual(['dark', 'light']);
    expect(variantClasses(labels, 4)).toEqual([]);
  });

  it('read colour as the square roots of the non-white pixels\' histogram shares', () => {
    const S = 4, px = new Float32Array(3 * S * S).fill(1);
    expect([...colourHistogram(px, S, 4, 0.92)].every((v) => v === 0)).toBe(true);
    // three pixels of (0.9, 0.6, 0.3) and one of black; the rest white
    for (const p of [0, 1, 2]) [0.9, 0.6, 0.3].forEach((v, ch) => (px[ch * S * S + p] = v));
    for (let ch = 0; ch < 3; ch++) px[ch * S * S + 5] = 0;
    const h = colourHistogram(px, S, 4, 0.92);
    expect(h[(3 * 4 + 2) * 4 + 1]).toBeCloseTo(Math.sqrt(3 / 4), 6);
    expect(h[0]).toBeCloseTo(Math.sqrt(1 / 4), 6);
    expect(h.reduce((a, v) => a + v * v, 0)).toBeCloseTo(1, 6);
    expect(() => colourHistogram(px.subarray(1), S, 4, 0.92)).toThrow(/47 values is not 3×4×4/);
  });
});

describe('a colour prior on real emoji', () => {
  let dataDir: string, encoderDir: string;
  beforeAll(async () => {
    dataDir = tmp('hands');
    await buildEmojiDataset({ out: dataDir, only: HANDS.flatMap((h) => [h, ...TONES.map((t) => `${h}-${t}`)]) });
    encoderDir = tmp('sem');
    const c: SemanticConfig = { model_type: 'tessera-semantic', image_size: 16, input_size: 16, width: 8, embed_dim: 16, depth: 2, codebook_size: 16, first_token_id: 16 };
    writeFileSync(join(encoderDir, 'config.json'), JSON.stringify(c));
    await writeSafetensors(join(encoderDir, 'model.safetensors'), new Map([...tinySemanticWeights(new Rng(5))].map(([n, d]) => [n, { dtype: 'F32' as const, shape: TINY_SEMANTIC_SHAPES[n], data: d }])), { format: 'pt' });
  }, 90_000);

  it('fitted on three styles, names the skin tone of a fourth style\'s images far above chance', async () => {
    const train = await loadImageFolder(dataDir, { split: 'train', size: 64 });
    const test = await loadImageFolder(dataDir, { split: 'test', size: 64 });
    const per = 3 * 64 * 64, trainAt = (i: number) => train.images.subarray(i * per, (i + 1) * per);
    const prior = VariantPrior.fit(train.rows.map((r) => r.text), trainAt, { field: 'label', size: 64, alpha: 1 })!;
    expect([...prior.config.classes].sort()).toEqual(['dark skin tone', 'light skin tone', 'medium skin tone', 'medium-dark skin tone', 'medium-light skin tone']);
    expect(prior.config.prior.map((p) => p.toFixed(2))).toEqual(Array(5).fill('0.20'));
    let right = 0, toned = 0;
    test.rows.forEach((r, i) => {
      const c = prior.classOf(r.text);
      if (c < 0) return;
      toned++;
      const p = prior.probabilities(test.images.subarray(i * per, (i + 1) * per));
      if (p.indexOf(Math.max(...p)) === c) right++;
    });
    console.log(`variant prior: ${right} of ${toned} facebook hands' tones named`);
    expect(toned).toBeGreaterThanOrEqual(50);
    // chance is 20%; the tones differ from style to style, so this is no copy of the training colours
    expect(right / toned).toBeGreaterThan(0.5);
    // fewer bases than a variant needs: no prior
    expect(VariantPrior.fit(train.rows.map((r) => r.text), trainAt, { field: 'label', size: 64, alpha: 1, minBases: 23 })).toBeNull();
  }, 60_000);

  it('is stored by a memory build and weighs the neighbours of a label question alone', async () => {
    const out = join(tmp('mem'), 'memory');
    const f = await buildMemory({ encoderDir, dataDir, split: 'train', out, threads: 1 });
    expect(f.variants).toMatchObject({ field: 'label', bins: 8, size: 16, alpha: 1 });
    const st = await readSafetensors(join(out, 'features.safetensors'));
    expect(st.tensors.get('variant_weight')!.shape).toEqual([5, 512]);
    const mem = await ExampleMemory.load(out);
    try {
      const test = await loadImageFolder(dataDir, { split: 'test', size: 16 });
      const per = 3 * 16 * 16, labels = mem.file.answers.label;
      // a dark-skinned facebook hand against its base's five tones in the training styles, equally weighted
      const i = test.rows.findIndex((r) => r.text === 'thumbs up: dark skin tone');
      const px = test.images.subarray(i * per, (i + 1) * per);
      const five: Neighbour[] = labels.flatMap((l, entry) => (l.startsWith('thumbs up: ') ? [{ entry, similarity: 0.5, weight: 1 / 15 }] : []));
      expect(five).toHaveLength(15);
      const weighed = mem.weigh(five, 'label', px);
      expect(weighed.reduce((a, n) => a + n.weight, 0)).toBeCloseTo(1, 9);
      const share = (tone: string) => weighed.filter((n) => labels[n.entry].endsWith(`: ${tone}`)).reduce((a, n) => a + n.weight, 0);
      expect(share('dark skin tone')).toBeGreaterThan(share('light skin tone'));
      expect(share('dark skin tone') + share('medium-dark skin tone')).toBeGreaterThan(0.4);
      // the category question's neighbours, and a neighbour without a variant, keep their weights
      expect(mem.weigh(five, 'category', px)).toEqual(five);
      const plain = labels.findIndex((l) => l === 'thumbs up');
      const mixed = mem.weigh([{ entry: plain, similarity: 0.9, weight: 0.5 }, { ...five[0], weight: 0.5 }], 'label', px);
      expect(mixed[0].weight / mixed[1].weight).toBeCloseTo(1 / prior(mem, five[0].entry, px), 6);
    } finally {
      await mem.release();
    }
    // α 0: none built
    expect((await buildMemory({ encoderDir, dataDir, split: 'train', out, threads: 1, variantAlpha: 0 })).variants).toBeUndefined();
  }, 90_000);

  it('names the file and field when a memory\'s prior is broken', async () => {
    const out = join(tmp('mem'), 'memory');
    await buildMemory({ encoderDir, dataDir, split: 'train', out, threads: 1 });
    const json = readFileSync(join(out, 'memory.json'), 'utf8'), features = join(out, 'features.safetensors');
    const edit = (fn: (m: Record<string, any>) => void) => {
      const m = JSON.parse(json);
      fn(m);
      writeFileSync(join(out, 'memory.json'), JSON.stringify(m));
    };
    edit((m) => (m.variants.field = 'colour'));
    await expect(ExampleMemory.load(out)).rejects.toThrow(/memory\.json: field 'variants\.field': 'answers' holds no field 'colour'/);
    edit((m) => (m.variants.size = 32));
    await expect(ExampleMemory.load(out)).rejects.toThrow(/memory\.json: field 'variants\.size' is 32, the encoder reads 16/);
    edit((m) => m.variants.prior.pop());
    await expect(ExampleMemory.load(out)).rejects.toThrow(/memory\.json: variants\.prior: prior needs one share per class/);
    edit((m) => (m.variants.bins = 4));
    await expect(ExampleMemory.load(out)).rejects.toThrow(/features\.safetensors: tensor 'variant_weight' is F32\[5,512\], memory\.json's variant prior needs F32\[5,64\]/);
    writeFileSync(join(out, 'memory.json'), json);
    const st = await readSafetensors(features);
    st.tensors.delete('variant_bias');
    await writeSafetensors(features, st.tensors, { format: 'pt' });
    await expect(ExampleMemory.load(out)).rejects.toThrow(/features\.safetensors: tensor 'variant_bias' is missing \(memory\.json's variant prior needs F32\[5\]\)/);
  }, 90_000);
});

/** The factor the memory's prior gives entry `entry` for image `px`. */
function prior(mem: ExampleMemory, entry: number, px: ArrayLike<number>): number {
  return mem.variants!.factors(px)[mem.variants!.classOf(mem.file.answers.label[entry])];
}
