// What each job kind does inside its worker thread, one executor per kind, and whether the kind is
// heavy (one heavy job at a time, FIFO) or light (runs beside it). Executors report through `post`
// and honour `signal` (pause): they stop at a safe point, checkpointed, and return 'paused'.
import type { JobKind } from '../store/index.ts';
import { recipeEntry } from './recipes.ts';
import { UnavailableError } from './errors.ts';
import type { FromWorker, WorkerJob } from './protocol.ts';

export interface ExecContext {
  signal: AbortSignal;
  post(m: FromWorker): void;
}
export type Executor = (job: WorkerJob, ctx: ExecContext) => Promise<{ status: 'done' | 'paused'; result: Record<string, unknown> }>;

/** heavy: compute-bound (one at a time, FIFO). Light kinds run beside a heavy one. */
export const JOB_KIND_TABLE: Readonly<Record<JobKind, { heavy: boolean; pausable: boolean }>> = {
  train: { heavy: true, pausable: true },
  tokenize: { heavy: true, pausable: false },
  evaluate: { heavy: true, pausable: false },
  import: { heavy: false, pausable: false },
  generate: { heavy: false, pausable: false },
};

/** params of a train job: the recipe's name and its config (already merged over the defaults). */
export interface TrainParams {
  recipe: string;
  config: Record<string, unknown>;
}

const train: Executor = async (job, { signal, post }) => {
  const p = job.params as unknown as TrainParams;
  const { recipe } = recipeEntry(p.recipe);
  const config = recipe.parseConfig(p.config, `job ${job.id} (${p.recipe}) config`);
  if (job.resume) post({ type: 'log', level: 'info', message: `resuming from the newest checkpoint in ${job.outDir}` });
  const r = await recipe.run(config, {
    outDir: job.outDir,
    resume: job.resume,
    signal,
    threads: job.threads,
    onProgress: (q) => post({ type: 'progress', progress: { step: q.step, total: q.totalSteps, phase: q.phase, loss: q.loss, etaSeconds: q.etaSeconds, metrics: q.metrics } }),
    onCheckpoint: (c) => post({ type: 'checkpoint', step: c.step, path: c.path }),
    onSample: (s) => post(s.kind === 'text'
      ? { type: 'sample', step: s.step, kind: 'text', text: s.value, prompt: s.prompt }
      : { type: 'sample', step: s.step, kind: 'image', imagePath: s.value, prompt: s.prompt }),
  });
  return { status: r.status, result: { step: r.step, modelDir: r.modelDir ?? null, metrics: r.metrics ?? {} } };
};

const missing = (what: string): Executor => async () => {
  throw new UnavailableError(what);
};

export const EXECUTORS: Readonly<Record<JobKind, Executor>> = {
  train,
  import: missing('dataset import is not available in this build yet (backend/datasets importDataset)'),
  tokenize: missing('dataset tokenization is not available in this build yet (backend/datasets tokenizeDataset)'),
  evaluate: missing('evaluation is not available in this build yet (it comes with the tokenizer and unified-model recipes)'),
  generate: missing('image generation is not available in this build yet (engine/infer has no model loader)'),
};
