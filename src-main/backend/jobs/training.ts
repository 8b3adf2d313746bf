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

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `over` merged into `base`, recursively for plain objects (the advanced panel sends nested keys). */
function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlain(v) && isPlain(base[k]) ? deepMerge(base[k] as Record<string, unknown>, v) : v;
  return out;
}

export function startTraining(store: Store, runner: JobRunner, req: StartTraining): { job: JobRow; run: RunRow } {
  const e = recipeEntry(req.recipe);
  if (e.info.needsDataset && req.datasetId === undefined) throw new ValidationError('training.start', 'datasetId', `the ${req.recipe} recipe trains on a dataset: choose one`);
  if (e.info.needsBaseModel && req.baseModelId === undefined) throw new ValidationError('training.start', 'baseModelId', `the ${req.recipe} recipe fine-tunes a model: choose one`);
  const dataset = req.datasetId !== undefined ? store.datasets.get(req.datasetId) : undefined;
  const baseModel = req.baseModelId !== undefined ? store.models.get(req.baseModelId) : undefined;
  const merged = deepMerge(e.info.defaults, req.config);
  const config = e.prepare ? e.prepare(merged, { dataset, baseModel }) : merged;
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
