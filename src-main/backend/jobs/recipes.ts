// The training recipes the app offers, by name: the engine's Recipe plus what the Training view
// shows (title, description, defaults, the fields of the advanced panel) and whether it needs a
// dataset or a base model. Add a recipe here to make it startable through the API.
import type { RecipeInfo } from '../../contract/api.ts';
import { ClassifierRecipeConfig, classifierRecipe } from '../../engine/train/recipes/classifier.ts';
import type { Recipe } from '../../engine/train/recipe.ts';
import { NotFoundError } from './errors.ts';

export interface RecipeEntry {
  recipe: Recipe<any>;
  info: RecipeInfo;
}

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
};

export function recipeEntry(name: string): RecipeEntry {
  const e = RECIPES[name];
  if (!e) throw new NotFoundError(`unknown recipe ${JSON.stringify(name)}; the recipes are: ${Object.keys(RECIPES).join(', ')}`);
  return e;
}
