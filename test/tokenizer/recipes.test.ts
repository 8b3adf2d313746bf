// Every recipe file shipped in recipes/ parses with its recipe (the one `tessera train <kind>
// --config` would use), so a typo is caught here rather than hours into `npm run train:default`;
// and every file there is one of them, so a new recipe file gets checked too.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipelineRecipe } from '../../src-main/engine/train/pipeline.ts';
import { lmRecipe } from '../../src-main/engine/train/recipes/lm.ts';
import { semanticRecipe } from '../../src-main/engine/train/recipes/semantic.ts';
import { tokenizerRecipe } from '../../src-main/engine/train/tokenizer.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const RECIPES: Record<string, { parseConfig(json: unknown, source: string): unknown }> = {
  'recipes/default/pipeline.json': pipelineRecipe,
  'recipes/default/semantic.json': semanticRecipe,
  'recipes/default/tokenizer.json': tokenizerRecipe,
  'recipes/fast/pipeline.json': pipelineRecipe,
  'recipes/lm-semantic-read.json': lmRecipe,
  'recipes/lm-stage1.json': lmRecipe,
  'recipes/lm-stage2.json': lmRecipe,
  'recipes/semantic-memory.json': semanticRecipe,
  'recipes/semantic-memory-seed2.json': semanticRecipe,
  'recipes/semantic-memory-seed3.json': semanticRecipe,
  'recipes/semantic-memory-seed4.json': semanticRecipe,
  'recipes/semantic-words.json': semanticRecipe,
  'recipes/tiny-tokenizer.json': tokenizerRecipe,
  'recipes/v11/pipeline.json': pipelineRecipe,
};

describe('shipped recipes', () => {
  it('are all known here', () => {
    const files = readdirSync(join(ROOT, 'recipes'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json')).map((f) => relative(ROOT, join(ROOT, 'recipes', f)));
    expect(files.sort()).toEqual(Object.keys(RECIPES).sort());
  });

  it.each(Object.entries(RECIPES))('%s parses', (file, recipe) => {
    expect(() => recipe.parseConfig(JSON.parse(readFileSync(join(ROOT, file), 'utf8')), file)).not.toThrow();
  });

  it('the default pipeline trains its memory with an ensemble of three encoders differing only in seed, beside the LM', () => {
    const p = JSON.parse(readFileSync(join(ROOT, 'recipes/default/pipeline.json'), 'utf8')) as { memory: { encoder: string[]; beside: boolean } };
    expect(p.memory.beside).toBe(true);
    const members = p.memory.encoder.map((ref) => JSON.parse(readFileSync(join(ROOT, 'recipes/default', ref), 'utf8')) as { train: { seed: number } });
    expect(members.map((m) => m.train.seed)).toEqual([1, 2, 3]);
    for (const m of members) expect({ ...m, train: { ...m.train, seed: 1 } }).toEqual(members[0]);
  });
});
