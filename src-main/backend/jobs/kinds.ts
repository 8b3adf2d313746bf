// What each job kind does inside its worker thread, one executor per kind, and whether the kind is
// heavy (one heavy job at a time, FIFO) or light (runs beside it). Executors report through `post`
// and honour `signal` (pause): they stop at a safe point, checkpointed, and return 'paused'.
import { join } from 'node:path';
import { ImageTokenizer } from '../../engine/models/image-tokenizer.ts';
import { importDataset, tokenizeDataset, type ImportSpec, type Progress } from '../datasets/index.ts';
import { openStore, type JobKind, type Store } from '../store/index.ts';
import { evaluateJob } from './evaluate.ts';
import { generateJob } from './generate.ts';
import { recipeEntry } from './recipes.ts';
import type { FromWorker, WorkerJob } from './protocol.ts';

export interface ExecContext {
  signal: AbortSignal;
  post(m: FromWorker): void;
}
export type Executor = (job: WorkerJob, ctx: ExecContext) => Promise<{ status: 'done' | 'paused'; result: Record<string, unknown> }>;

/**
 * heavy: compute-bound (one at a time, FIFO); light kinds run beside a heavy one. resident: the
 * worker outlives the job and runs the next job of its kind, keeping its loaded model (a chat's
 * next message does not load the model again). interactive: runs on the runtime's inference
 * threads (batch-1 decoding), the others on its job threads.
 */
export const JOB_KIND_TABLE: Readonly<Record<JobKind, { heavy: boolean; pausable: boolean; resident: boolean; interactive: boolean }>> = {
  train: { heavy: true, pausable: true, resident: false, interactive: false },
  tokenize: { heavy: true, pausable: false, resident: false, interactive: false },
  evaluate: { heavy: true, pausable: false, resident: false, interactive: false },
  import: { heavy: false, pausable: false, resident: false, interactive: false },
  generate: { heavy: false, pausable: false, resident: true, interactive: true },
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
    onNotice: (message) => post({ type: 'log', level: 'warn', message }),
    onSample: (s) => post(s.kind === 'text'
      ? { type: 'sample', step: s.step, kind: 'text', text: s.value, prompt: s.prompt }
      : { type: 'sample', step: s.step, kind: 'image', imagePath: s.value, prompt: s.prompt }),
  });
  return { status: r.status, result: { step: r.step, modelDir: r.modelDir ?? null, metrics: r.metrics ?? {} } };
};

/** params of an import job: the contract's datasets.import request. */
export interface ImportParams {
  kind: ImportSpec['kind'];
  path: string;
  name: string;
}

/** The token cache key of a tokenizer model: its id and name (a retrained model gets a new id). */
export const tokenizerIdOf = (m: { id: number; name: string }): string => `model-${m.id}:${m.name}`;

const curationProgress = (post: ExecContext['post']) => (p: Progress) =>
  post({ type: 'progress', progress: { step: p.done, total: p.total ?? 0, phase: p.phase, loss: null, etaSeconds: null, metrics: { bad: p.bad } } });

/** Import and tokenize write rows themselves: they open their own connection to the store (WAL). */
async function withStore<T>(job: WorkerJob, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(job.dbPath);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

const importJob: Executor = (job, { signal, post }) => withStore(job, async (store) => {
  const p = job.params as unknown as ImportParams;
  const spec: ImportSpec = p.kind === 'emoji'
    ? { kind: 'emoji', name: p.name, cacheDir: join(job.dataDir, 'emoji-set') }
    : { kind: p.kind, name: p.name, path: p.path } as ImportSpec;
  let announced = false;
  const progress = curationProgress(post);
  const s = await importDataset(store, spec, {
    signal,
    onProgress: (q) => {
      const ds = announced ? undefined : store.datasets.getByName(p.name);
      if (ds) { announced = true; post({ type: 'dataset', datasetId: ds.id }); }
      progress(q);
    },
  });
  post({ type: 'dataset', datasetId: s.datasetId });
  return { status: 'done', result: { ...s } };
});

const tokenizeJob: Executor = (job, { signal, post }) => withStore(job, async (store) => {
  const { datasetId, modelId } = job.params as { datasetId: number; modelId: number };
  const model = store.models.get(modelId);
  const codec = await ImageTokenizer.load(model.dir, { threads: job.threads });
  try {
    const s = await tokenizeDataset(store, datasetId, codec, { tokenizerId: tokenizerIdOf(model), signal, onProgress: curationProgress(post) });
    post({ type: 'dataset', datasetId });
    return { status: 'done', result: { ...s } };
  } finally {
    await codec.release();
  }
});

export const EXECUTORS: Readonly<Record<JobKind, Executor>> = {
  train,
  import: importJob,
  tokenize: tokenizeJob,
  evaluate: evaluateJob,
  generate: generateJob,
};
