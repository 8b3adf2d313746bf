// The app's fine-tune recipe builds the new model an example memory of the dataset: with the base
// model's memory encoder, mix and colour prior (the shipped model has one), else with its semantic encoder, and
// none when the base has neither or the user turned it off; the UI's switch never reaches the
// engine's config.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RECIPES } from '../../../src-main/backend/jobs/recipes.ts';
import type { DatasetRow, ModelRow } from '../../../src-main/backend/store/index.ts';
import { lmRecipe } from '../../../src-main/engine/train/recipes/lm.ts';

const SHIPPED = new URL('../../../models/tessera-emoji', import.meta.url).pathname;
const dataset = { id: 1, name: 'pets', sourceKind: 'imagefolder', rootPath: '/data/pets' } as DatasetRow;
const model = (dir: string) => ({ id: 2, name: 'base', kind: 'unified', dir } as ModelRow);
const prepare = (dir: string, over: Record<string, unknown> = {}) => {
  const e = RECIPES.finetune;
  const c = e.prepare!({ ...structuredClone(e.info.defaults), ...over }, { dataset, baseModel: model(dir) });
  lmRecipe.parseConfig(c, 'finetune'); // what the job runs must be a valid LM recipe
  return c;
};

describe('fine-tuning builds an example memory', () => {
  it("uses the base's memory encoder, else its semantic encoder, else none; off when asked", () => {
    expect(RECIPES.finetune.info.defaults.build_memory).toBe(true);
    expect(RECIPES.finetune.info.fields.find((f) => f.key === 'build_memory')?.type).toBe('boolean');
    const shipped = JSON.parse(readFileSync(join(SHIPPED, 'memory', 'memory.json'), 'utf8'));
    const c = prepare(SHIPPED);
    expect(c.memory).toEqual({ encoder: join(SHIPPED, 'memory'), split: 'train', k: shipped.k, tau: shipped.tau, lambda: shipped.lambda, variant_alpha: shipped.variants.alpha });
    expect(shipped.variants.alpha).toBe(1);
    expect(c).not.toHaveProperty('build_memory');
    expect(lmRecipe.parseConfig(c, 'finetune').memory?.encoder).toBe(join(SHIPPED, 'memory'));

    const semOnly = mkdtempSync(join(tmpdir(), 'tessera-base-'));
    mkdirSync(join(semOnly, 'image-tokenizer', 'semantic'), { recursive: true });
    writeFileSync(join(semOnly, 'image-tokenizer', 'semantic', 'config.json'), '{}');
    expect(prepare(semOnly).memory).toEqual({ encoder: join(semOnly, 'image-tokenizer', 'semantic'), split: 'train' });
    expect(prepare(mkdtempSync(join(tmpdir(), 'tessera-base-'))).memory).toBeNull();
    expect(prepare(SHIPPED, { build_memory: false }).memory).toBeNull();
    // the 'memory' recipe offers the prior's α among its fields
    expect(RECIPES.memory.info.fields.find((f) => f.key === 'variant_alpha')).toMatchObject({ type: 'number', min: 0, max: 10 });
  });
});
