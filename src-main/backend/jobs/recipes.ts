// The training recipes the app offers, by name: the engine's Recipe plus what the Training view
// shows (title, description, defaults, the fields of the advanced panel) and whether it needs a
// dataset or a base model. Add a recipe here to make it startable through the API.
import type { RecipeInfo } from '../../contract/api.ts';
import { ClassifierRecipeConfig, classifierRecipe } from '../../engine/train/recipes/classifier.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MEMORY_DIR } from '../../engine/infer/memory.ts';
import { PARTS } from '../../engine/infer/model-folder.ts';
import type { Recipe } from '../../engine/train/recipe.ts';
import { lmRecipe, LmRecipeSchema } from '../../engine/train/recipes/lm.ts';
import { memoryRecipe, MemoryRecipeSchema } from '../../engine/train/recipes/memory.ts';
import { pipelineRecipe } from '../../engine/train/pipeline.ts';
import { tokenizerRecipe, TokenizerRecipeSchema } from '../../engine/train/tokenizer.ts';
import type { DatasetRow, ModelRow } from '../store/index.ts';
import { ValidationError } from '../../contract/api.ts';
import { NotFoundError } from './errors.ts';

export interface RecipeEntry {
  recipe: Recipe<any>;
  info: RecipeInfo;
  /** Fills the config's paths from the chosen dataset and base model (before validation). */
  prepare?(config: Record<string, any>, with_: { dataset?: DatasetRow; baseModel?: ModelRow }): Record<string, any>;
}

/** Datasets the image recipes can read: an imagefolder with train/validation splits (the emoji set is one). */
function imagefolderDir(d: DatasetRow | undefined, recipe: string): string {
  if (!d) throw new Error(`the ${recipe} recipe needs a dataset`);
  if (d.sourceKind !== 'imagefolder' && d.sourceKind !== 'emoji') {
    throw new ValidationError('training.start', 'datasetId', `the ${recipe} recipe reads an imagefolder with train/validation splits; dataset "${d.name}" was imported from a ${d.sourceKind} source (export it as an imagefolder and import that)`);
  }
  return d.rootPath;
}

const withDefaultsFor = <T extends Record<string, any>>(parsed: T, blank: (c: T) => void): T => {
  blank(parsed);
  return parsed;
};

const field = (key: string, label: string, type: RecipeInfo['fields'][number]['type'], advanced: boolean, extra: Partial<RecipeInfo['fields'][number]> = {}) =>
  ({ key, label, type, advanced, ...extra });

export const RECIPES: Record<string, RecipeEntry> = {
  classifier: {
    recipe: classifierRecipe,
    info: {
      name: 'classifier',
      title: 'Fashion-MNIST classifier (demo)',
      description: 'Trains a small conv net from scratch on Fashion-MNIST through the engine: a quick way to watch training, pause, resume and evaluate.',
      needsDataset: false,
      needsBaseModel: false,
      defaults: ClassifierRecipeConfig.parse({}),
      fields: [
        field('steps', 'Steps', 'int', false, { min: 1, max: 100_000 }),
        field('batchSize', 'Batch size', 'int', false, { min: 1, max: 1024 }),
        field('lr', 'Learning rate', 'number', true, { min: 0, max: 1 }),
        field('warmupSteps', 'Warmup steps', 'int', true, { min: 0 }),
        field('weightDecay', 'Weight decay', 'number', true, { min: 0 }),
        field('checkpointEvery', 'Checkpoint every (steps)', 'int', true, { min: 1 }),
        field('sampleEvery', 'Show predictions every (steps)', 'int', true, { min: 0, help: '0: only at the end' }),
        field('trainLimit', 'Training images', 'int', true, { min: 1, max: 60_000 }),
        field('evalImages', 'Held-out images', 'int', true, { min: 1, max: 10_000 }),
        field('widthMult', 'Width multiplier', 'int', true, { min: 1, max: 8 }),
        field('seed', 'Seed', 'int', true, { min: 0 }),
      ],
    },
  },
  tokenizer: {
    recipe: tokenizerRecipe,
    info: {
      name: 'tokenizer',
      title: 'Image tokenizer (UniCode VQ)',
      description: 'Trains the VQ image tokenizer on a dataset: autoencoder warm-up, k-means codebook init, EMA codes with dead-code restart. Reports PSNR and codebook usage.',
      needsDataset: true,
      needsBaseModel: false,
      defaults: withDefaultsFor(TokenizerRecipeSchema.parse({ data: { dir: '-' }, train: { steps: 2000 } }) as Record<string, any>, (c) => { c.data.dir = ''; }),
      fields: [
        field('train.steps', 'Steps', 'int', false, { min: 1 }),
        field('train.batch', 'Batch size', 'int', false, { min: 1 }),
        field('train.lr', 'Learning rate', 'number', true, { min: 0 }),
        field('train.ae_warmup_steps', 'Autoencoder warm-up steps', 'int', true, { min: 0, help: 'plain autoencoder training before quantization switches on' }),
        field('train.checkpoint_every', 'Checkpoint every (steps)', 'int', true, { min: 1 }),
        field('train.eval_every', 'Evaluate every (steps)', 'int', true, { min: 0 }),
        field('codebook.ema_decay', 'Codebook EMA decay', 'number', true, { min: 0, max: 1 }),
        field('codebook.dead_threshold', 'Dead-code threshold', 'number', true, { min: 0 }),
        field('train.seed', 'Seed', 'int', true),
      ],
    },
    prepare: (c, w) => ({ ...c, data: { ...c.data, dir: imagefolderDir(w.dataset, 'tokenizer') } }),
  },
  unified: {
    recipe: pipelineRecipe,
    info: {
      name: 'unified',
      title: 'Unified model from scratch (UniCode)',
      description: 'The whole UniCode recipe on a dataset: a text BPE, an image tokenizer whose codes are the LM\'s token ids, Stage I (the codebook pulled toward the LM), then Stage II instruction tuning. About an hour on a 2-core CPU.',
      needsDataset: true,
      needsBaseModel: false,
      defaults: {
        data_dir: '-', work_dir: '(the job folder)', model_dir: '(the job folder)/model',
        text_tokenizer: { vocab_size: 2048, min_frequency: 2 },
        tokenizer: TokenizerRecipeSchema.parse({ data: { dir: '-' }, train: { steps: 1500, ae_warmup_steps: 300 } }),
        tokenizer_artifact: null,
        stage1: {
          rounds: 1, lm_steps_per_round: 400, tokenizer_steps_per_round: 100, tokenizer_lr: 5e-4, pull_lambda: 0.9, pull_every: 50,
          lm: LmRecipeSchema.parse({ stage: 'stage1', data: { dir: '-' }, image_tokenizer: '-', text_tokenizer: '-', train: { steps: 400, lr: 3e-3, eval_every: 250 } }),
        },
        stage2: { steps: 1200, lm: LmRecipeSchema.parse({ stage: 'stage2', data: { dir: '-' }, image_tokenizer: '-', text_tokenizer: '-', name: 'my-unicode-model', train: { steps: 1200, lr: 1.5e-3, seed: 2, eval_every: 250 } }) },
        decoder: null,
      },
      fields: [
        field('tokenizer.train.steps', 'Image tokenizer steps', 'int', false, { min: 1 }),
        field('stage1.rounds', 'Stage I rounds', 'int', false, { min: 0, max: 10, help: 'LM training alternating with the tokenizer pulled toward the LM table' }),
        field('stage1.lm_steps_per_round', 'Stage I LM steps per round', 'int', false, { min: 1 }),
        field('stage2.steps', 'Stage II steps (instruction tuning)', 'int', false, { min: 1 }),
        field('stage2.lm.name', 'Name of the new model', 'string', false),
        field('text_tokenizer.vocab_size', 'Vocabulary size (text and image codes)', 'int', true, { min: 300, help: 'at least the image codebook size + 16' }),
        field('tokenizer.model.codebook_size', 'Image codebook size', 'int', true, { min: 2 }),
        field('stage1.tokenizer_steps_per_round', 'Stage I tokenizer steps per round', 'int', true, { min: 1 }),
        field('stage1.pull_lambda', 'Codebook pull λ (C′ = λC + (1−λ)·LM table)', 'number', true, { min: 0, max: 1 }),
        field('stage1.pull_every', 'Pull every (steps)', 'int', true, { min: 1 }),
        field('stage2.lm.train.lr', 'Stage II learning rate', 'number', true, { min: 0 }),
        field('stage2.lm.train.batch', 'Stage II batch size', 'int', true, { min: 1 }),
      ],
    },
    prepare: (c, w) => ({ ...c, data_dir: imagefolderDir(w.dataset, 'unified') }),
  },
  finetune: {
    recipe: lmRecipe,
    info: {
      name: 'finetune',
      title: 'Fine-tune a unified model on a dataset',
      description: 'Instruction-tunes an installed unified model (its image tokenizer frozen) on a dataset: captioning, questions, text-to-image and decompression, loss on answers only. With an example memory, the new model also names images by their nearest labelled examples of the dataset.',
      needsDataset: true,
      needsBaseModel: true,
      defaults: withDefaultsFor(LmRecipeSchema.parse({ data: { dir: '-' }, image_tokenizer: '-', text_tokenizer: '-', stage: 'stage2', train: { steps: 500 } }) as Record<string, any>, (c) => {
        c.data.dir = '';
        c.image_tokenizer = '';
        c.text_tokenizer = '';
        c.build_memory = true;
      }),
      fields: [
        field('train.steps', 'Steps', 'int', false, { min: 1 }),
        field('train.batch', 'Batch size', 'int', false, { min: 1 }),
        field('train.lr', 'Learning rate', 'number', true, { min: 0 }),
        field('train.warmup_steps', 'Warmup steps', 'int', true, { min: 0 }),
        field('train.checkpoint_every', 'Checkpoint every (steps)', 'int', true, { min: 1 }),
        field('train.eval_every', 'Evaluate every (steps)', 'int', true, { min: 0 }),
        field('train.cfg_dropout', 'Caption dropout (for CFG)', 'number', true, { min: 0, max: 1 }),
        field('name', 'Name of the new model', 'string', false),
        field('build_memory', 'Example memory of the dataset', 'boolean', false, { help: "the new model's captions and category answers also lean on the dataset's nearest labelled images (with the base model's memory encoder, or its semantic encoder; off when it has neither)" }),
        field('train.seed', 'Seed', 'int', true),
      ],
    },
    prepare: (c, w) => {
      const base = w.baseModel;
      if (!base || base.kind !== 'unified') throw new ValidationError('training.start', 'baseModelId', `fine-tuning starts from a unified model${base ? `; "${base.name}" is a ${base.kind} model` : ''}`);
      const { build_memory: wantMemory, ...rest } = c;
      return {
        ...rest, stage: 'stage2', init_from: base.dir, image_tokenizer: join(base.dir, PARTS.imageTokenizer), text_tokenizer: base.dir,
        data: { ...c.data, dir: imagefolderDir(w.dataset, 'finetune') },
        memory: wantMemory === false ? null : memoryFrom(base, c.data?.train_split ?? 'train'),
      };
    },
  },
  memory: {
    recipe: memoryRecipe,
    info: {
      name: 'memory',
      title: 'Teach names by example (example memory)',
      description: "No training: an installed unified model gets an example memory of a dataset. Its captions and category answers then lean on the dataset's nearest labelled images, mixed token by token with the model's own answer, and a drawing asked for by one of the dataset's names is drawn by example. Seconds, not hours.",
      needsDataset: true,
      needsBaseModel: true,
      defaults: withDefaultsFor(MemoryRecipeSchema.parse({ base: '-', data: { dir: '-' } }) as Record<string, any>, (c) => {
        c.base = '';
        c.data.dir = '';
      }),
      fields: [
        field('name', 'Name of the new model', 'string', false),
        field('data.split', 'Split whose images it remembers', 'string', false, { help: 'one split, or several joined by commas: train,validation' }),
        field('lambda', 'Weight of the memory (0–1; empty: the base model\'s)', 'number', true, { min: 0, max: 1 }),
        field('k', 'Neighbours consulted (empty: the base model\'s)', 'int', true, { min: 1 }),
        field('variant_alpha', 'Colour prior over label variants, α (0: none; empty: the base model\'s)', 'number', true, { min: 0, max: 10, help: 'where labels name colour variants of a base ("waving hand: medium skin tone"), the colours of an image weigh its neighbours by their variant' }),
        field('drawing', 'Draw by example', 'boolean', true, { help: "store each image's codes, so that a drawing prompt naming one of the dataset's labels has the model redraw one of its images" }),
      ],
    },
    prepare: (c, w) => {
      const base = w.baseModel;
      if (!base || base.kind !== 'unified') throw new ValidationError('training.start', 'baseModelId', `an example memory is for a unified model${base ? `; "${base.name}" is a ${base.kind} model` : ''}`);
      return { ...c, base: base.dir, data: { ...c.data, dir: imagefolderDir(w.dataset, 'memory') } };
    },
  },
};

/**
 * The example memory a fine-tune of `base` builds from its dataset: with the base's memory encoder
 * (and mix) when it has a memory, else with its semantic encoder; none when it has neither.
 */
function memoryFrom(base: ModelRow, split: string): Record<string, unknown> | null {
  const memDir = join(base.dir, MEMORY_DIR), semDir = join(base.dir, PARTS.imageTokenizer, 'semantic');
  if (existsSync(join(memDir, 'memory.json'))) {
    // the base's mix when its memory.json reads; a broken one is named by the build itself
    const f = ((): { k?: number; tau?: number; lambda?: number; variants?: { alpha?: number } } => {
      try {
        return JSON.parse(readFileSync(join(memDir, 'memory.json'), 'utf8'));
      } catch {
        return {};
      }
    })();
    return { encoder: memDir, split, k: f.k, tau: f.tau, lambda: f.lambda, variant_alpha: f.variants?.alpha };
  }
  return existsSync(join(semDir, 'config.json')) ? { encoder: semDir, split } : null;
}

export function recipeEntry(name: string): RecipeEntry {
  const e = RECIPES[name];
  if (!e) throw new NotFoundError(`unknown recipe ${JSON.stringify(name)}; the recipes are: ${Object.keys(RECIPES).join(', ')}`);
  return e;
}
