// Handlers: recipes, starting a training, runs with their metric series, checkpoints, samples and
// evaluations, and the jobs (list, get, pause, resume, cancel). A run's pause/resume/cancel go
// through its job (run.jobId).
import { ValidationError, type ParsedReq, type Run } from '../../contract/api.ts';
import type { EvaluateParams } from '../jobs/evaluate.ts';
import { sampleToApi } from '../jobs/convert.ts';
import { RECIPES } from '../jobs/recipes.ts';
import { jobToApi } from '../jobs/runner.ts';
import { startTraining } from '../jobs/training.ts';
import type { RunRow, Store } from '../store/index.ts';
import type { Ctx, Handlers } from './context.ts';

function runToApi(store: Store, r: RunRow): Run {
  const last = store.metrics.lastStep(r.id);
  const lastMetrics = last === null ? null : store.metrics.list(r.id, { sinceStep: last - 1 })[0]?.values ?? null;
  const nul = (v: Record<string, number | null> | null) => v && Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x !== null && Number.isFinite(x) ? x : null]));
  return { ...r, jobId: store.jobs.byRun(r.id)?.id ?? null, lastStep: last, lastMetrics: nul(lastMetrics) };
}

/** Checks an evaluation request (model kind, the dataset and its split) and queues the evaluate job. */
function startEvaluation(ctx: Ctx, req: ParsedReq<'runs.evaluate'>) {
  const { store, runner } = ctx;
  const model = store.models.get(req.modelId);
  if (model.kind === 'lm') throw new ValidationError('runs.evaluate', 'modelId', `model "${model.name}" is a text-only LM; evaluate an image tokenizer or a unified model`);
  if (req.runId !== undefined) store.runs.get(req.runId);
  const datasetId = req.datasetId ?? (req.runId !== undefined ? store.jobs.byRun(req.runId)?.datasetId ?? undefined : undefined);
  if (datasetId === undefined) throw new ValidationError('runs.evaluate', 'datasetId', req.runId !== undefined ? `run ${req.runId} trained on no dataset of the store: choose the dataset to evaluate on` : 'choose the dataset to evaluate on');
  const ds = store.datasets.get(datasetId);
  const available = store.items.query({ datasetId, split: req.split, status: 'ok', limit: 1 }).total;
  if (available === 0) {
    const counts = store.items.stats(datasetId).bySplit;
    throw new ValidationError('runs.evaluate', 'split', `dataset "${ds.name}" has no usable items in split '${req.split}' (train ${counts.train}, validation ${counts.validation}, test ${counts.test}, none ${counts.none}); assign splits first or choose another split`);
  }
  const params: EvaluateParams = { modelId: model.id, runId: req.runId ?? null, datasetId, split: req.split, limit: req.limit };
  // the job is not tied to the run (runId): that link would mirror its state and progress onto the training run
  return runner.submit({ kind: 'evaluate', title: `Evaluate ${model.name} on ${ds.name} (${req.split}, ${Math.min(req.limit, available)} images)`, params: { ...params }, datasetId });
}

export function trainingHandlers(ctx: Ctx): Pick<Handlers, 'training.recipes' | 'training.start' | 'runs.list' | 'runs.get' | 'runs.metrics' | 'runs.evaluate' | 'evaluations.list'
  | 'jobs.list' | 'jobs.get' | 'jobs.pause' | 'jobs.resume' | 'jobs.cancel'> {
  const { store, runner } = ctx;
  return {
    'training.recipes': () => ({ recipes: Object.values(RECIPES).map((e) => e.info) }),
    'training.start': (req) => {
      const { job, run } = startTraining(store, runner, req);
      return { job: jobToApi(job), run: runToApi(store, run) };
    },
    'runs.list': () => ({ runs: store.runs.list().map((r) => runToApi(store, r)) }),
    'runs.get': ({ id }) => {
      const run = store.runs.get(id);
      return {
        run: runToApi(store, run),
        checkpoints: store.checkpoints.list(id).map(({ id: cid, step, path, bytes, createdAt }) => ({ id: cid, step, path, bytes, createdAt })),
        evaluations: store.evaluations.list({ runId: id }),
        samples: store.jobs.samples({ runId: id }).map(sampleToApi),
      };
    },
    'runs.metrics': ({ id, sinceStep }) => {
      store.runs.get(id);
      const points = store.metrics.list(id, { sinceStep }).map((m) => ({
        step: m.step, values: Object.fromEntries(Object.entries(m.values).map(([k, v]) => [k, v !== null && Number.isFinite(v) ? v : null])),
      }));
      return { points };
    },
    'runs.evaluate': (req) => ({ job: jobToApi(startEvaluation(ctx, req)) }),
    'evaluations.list': ({ modelId, runId }) => ({ evaluations: store.evaluations.list({ modelId, runId }) }),
    'jobs.list': ({ kind, status }) => ({ jobs: store.jobs.list({ kind, status }).map(jobToApi) }),
    'jobs.get': ({ id }) => jobToApi(store.jobs.get(id)),
    'jobs.pause': ({ id }) => jobToApi(runner.pause(id)),
    'jobs.resume': ({ id }) => jobToApi(runner.resume(id)),
    'jobs.cancel': ({ id }) => jobToApi(runner.cancel(id)),
  };
}
