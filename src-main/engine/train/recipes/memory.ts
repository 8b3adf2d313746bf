// Recipe 'memory': teach an installed unified model a dataset's names without training. The base
// model's folder is copied to outDir/model and given an example memory (infer/memory.ts) of the
// dataset's split, with the base's memory encoder (or its semantic encoder, or `encoder`): the new
// model's captions and category answers lean on the dataset's nearest labelled images. The LM is the
// base's, so the card keeps its LM figures and drops those of the base's own memory. Seconds, not
// hours; an abort before the end leaves nothing behind and a resume starts over.
import { cp, readFile, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../io/atomic.ts';
import { MEMORY_DEFAULTS, MEMORY_DIR, readMemoryFile, VARIANT_ALPHA } from '../../infer/memory.ts';
import { buildMemory, MemoryEncoders, MemorySplit } from '../../infer/memory-build.ts';
import { loadModelFolder, PARTS, type ModelCard } from '../../infer/model-folder.ts';
import { parseConfigWith, RecipeConfigError, type Recipe } from '../recipe.ts';

export const MemoryRecipeSchema = z.object({
  /** The unified model folder to start from. */
  base: z.string().min(1),
  /** The split whose images it remembers, or several joined by commas (train,validation). */
  data: z.object({ dir: z.string().min(1), split: MemorySplit.default('train') }).strict(),
  /** A semantic encoder folder or a memory folder, or several semantic encoder folders (an ensemble);
   *  null: the base's memory/, else its image-tokenizer/semantic. */
  encoder: MemoryEncoders.nullable().default(null),
  name: z.string().min(1).default('tessera-memory'),
  /** null: the base memory's value, else MEMORY_DEFAULTS. */
  k: z.int().min(1).nullable().default(null),
  tau: z.number().positive().nullable().default(null),
  lambda: z.number().min(0).max(1).nullable().default(null),
  /** α of the colour prior over the labels' variants; null: the base memory's, else VARIANT_ALPHA. 0: none. */
  variant_alpha: z.number().min(0).max(10).nullable().default(null),
  /** Store each example's image codes (written by the base's image tokenizer) so the model can draw by example. */
  drawing: z.boolean().default(true),
}).strict();
export type MemoryRecipeConfig = z.infer<typeof MemoryRecipeSchema>;

export const memoryRecipe: Recipe<MemoryRecipeConfig> = {
  kind: 'memory',
  parseConfig: (json, source) => parseConfigWith(MemoryRecipeSchema, json, source),

  async run(cfg, opts) {
    const base = await loadModelFolder(cfg.base); // a model folder, checked, before anything is copied
    const baseMemory = join(cfg.base, MEMORY_DIR), baseSemantic = join(base.imageTokenizerDir, 'semantic');
    const hasMemory = existsSync(join(baseMemory, 'memory.json'));
    const encoderDir = cfg.encoder ?? (hasMemory ? baseMemory : existsSync(join(baseSemantic, 'config.json')) ? baseSemantic : null);
    if (!encoderDir) throw new RecipeConfigError('memory recipe', 'encoder', `${cfg.base} has no example memory and no semantic encoder (${baseSemantic}); give an encoder folder`);
    const from = hasMemory ? await readMemoryFile(baseMemory) : null;
    const mix = { k: cfg.k ?? from?.k ?? MEMORY_DEFAULTS.k, tau: cfg.tau ?? from?.tau ?? MEMORY_DEFAULTS.tau, lambda: cfg.lambda ?? from?.lambda ?? MEMORY_DEFAULTS.lambda };
    const variantAlpha = cfg.variant_alpha ?? from?.variants?.alpha ?? VARIANT_ALPHA;
    const modelDir = join(opts.outDir, 'model'), tmp = `${modelDir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    try {
      await cp(cfg.base, tmp, { recursive: true, filter: (src) => src !== baseMemory });
      let total = 0;
      const f = await buildMemory({
        encoderDir, dataDir: cfg.data.dir, split: cfg.data.split, out: join(tmp, MEMORY_DIR), mix, variantAlpha, threads: opts.threads, ...(cfg.drawing ? { model: tmp } : {}),
        onProgress: (done, n) => {
          total = n;
          if (opts.signal?.aborted) throw new DOMException('paused', 'AbortError');
          opts.onProgress?.({ step: done, totalSteps: n, phase: 'features', loss: 0, metrics: {}, etaSeconds: null });
        },
      });
      const cardFile = join(tmp, 'tessera.json');
      const card = JSON.parse(await readFile(cardFile, 'utf8')) as ModelCard;
      const metrics = Object.fromEntries(Object.entries(card.metrics ?? {}).filter(([k]) => !k.includes('memory')));
      Object.assign(metrics, { memory_entries: f.entries, memory_split: cfg.data.split });
      const next: ModelCard = { ...card, name: cfg.name, parts: { ...PARTS, ...card.parts }, recipe: { kind: 'memory', ...cfg, ...mix, encoder: encoderDir, base_recipe: card.recipe }, metrics };
      await writeFileAtomic(cardFile, JSON.stringify(next, null, 2) + '\n');
      await rm(modelDir, { recursive: true, force: true });
      await rename(tmp, modelDir);
      return { status: 'done', step: total, modelDir, metrics: { memory_entries: f.entries } };
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if (opts.signal?.aborted) return { status: 'paused', step: 0 };
      throw err;
    }
  },
};
