// Starting a training: the recipe's defaults merged with the caller's config, validated by the
// recipe before anything is stored (an error names the field), then a run row (config, metrics,
// checkpoints) and a queued train job that drives it.
import { ValidationError } from '../../contract/api.ts';
import { RecipeConfigError } from '../../engine/train/recipe.ts';
import type { JobRow, RunRow, Store } from '../store/index.ts';
import { recipeEntry } from './recipes.ts';
import type { JobRunner } from './runner.ts';

export interface StartTraining {
  recipe: string;
  config: Record<string, unknown>;
  datasetId?: number;
  baseModelId?: number;
}

export function startTraining(store: Store, runner: JobRunner, req: StartTraining): { job: JobRow; run: RunRow } {
  const e = recipeEntry(req.recipe);
  if (e.info.needsDataset && req.datasetId === undefined) throw new ValidationError('training.start', 'datasetId', `the ${req.recipe} recipe trains on a dataset: choose one`);
  if (e.info.needsBaseModel && req.baseModelId === undefined) throw new ValidationError('training.start', 'baseModelId', `the ${req.recipe} recipe fine-tunes a model: choose one`);
  if (req.datasetId !== undefined) store.datasets.get(req.datasetId);
  if (req.baseModelId !== undefined) store.models.get(req.baseModelId);
  const config = { ...e.info.defaults, ...req.config };
  try {
    e.recipe.parseConfig(config, 'config');
  } catch (err) {
    if (err instanceof RecipeConfigError) throw new ValidationError('training.start', `config.${err.field}`, err.message.replace(/^config: [^:]+: /, ''));
    throw err;
  }
  const run = store.runs.create({ kind: 'train', recipe: req.recipe, config });
  const job = runner.submit({ kind: 'train', title: `${e.info.title}: run ${run.id}`, params: { recipe: req.recipe, config, datasetId: req.datasetId ?? null, baseModelId: req.baseModelId ?? null }, runId: run.id, datasetId: req.datasetId ?? null });
  return { job, run: store.runs.get(run.id) };
}
