// The job runner: a persistent queue (store.jobs) drained by worker threads, one job per worker, so
// no job ever runs on the API's event loop. One heavy job at a time in FIFO order; light kinds run
// beside it. Pause asks the worker to checkpoint and stop; resume re-queues; cancel stops it at the
// next safe point.
// Crash recovery: start() finds jobs left 'running' by a dead process and re-queues them in their
// old place; a job that started before runs with resume=true and continues from its checkpoint.
// Resident kinds (generate) hand their worker back when the job ends: one idle worker is kept (with
// its loaded model) for the next job of that kind, and shut down after IDLE_MS or at close().
import { existsSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { ApiEvent, Job } from '../../contract/api.ts';
import { startWorker } from '../../engine/runtime/threads.ts';
import { fsReason } from '../../engine/io/fs-errors.ts';
import { sha256File, type JobRow, type JobStatus, type NewJob, type RunStatus, RUN_TRANSITIONS, type Store } from '../store/index.ts';
import { ConflictError } from './errors.ts';
import { JOB_KIND_TABLE } from './kinds.ts';
import { readFolderModel } from './model-card.ts';
import type { FromWorker, ToWorker, WorkerJob } from './protocol.ts';
import { sampleToApi } from './convert.ts';

export interface RunnerOptions {
  store: Store;
  dataDir: string;
  emit(e: ApiEvent): void;
  /** Intra-op threads and execution provider handed to each job: interactive kinds (chat, drawing)
   *  get `inferenceThreads`, the others `threads`. */
  threads?: () => number;
  inferenceThreads?: () => number;
  provider?: () => string;
  /** Kind-specific handling of worker messages the runner does not own (generate streams). */
  onMessage?(job: JobRow, m: FromWorker): void;
  /** Called when a job reaches a final state or pauses. */
  onSettled?(job: JobRow): void;
}

interface Active {
  job: JobRow;
  worker: Worker;
  pausing: boolean;
  cancelling: boolean;
  shuttingDown: boolean;
  settled: boolean;
  lastProgressWrite: number;
  done: Promise<void>;
  /** Resident kinds: stop listening to the worker and keep it for the next job (the job is over). */
  detach(): void;
}

/** How long an idle resident worker keeps its model before it is shut down. */
export const IDLE_MS = 10 * 60_000;

export function jobToApi(r: JobRow): Job {
  return {
    id: r.id, kind: r.kind, status: r.status, title: r.title, params: r.params, error: r.error,
    progress: (r.progress as Job['progress']) ?? null, runId: r.runId, datasetId: r.datasetId, result: r.result,
    createdAt: r.createdAt, updatedAt: r.updatedAt,
  };
}

const WORKER = new URL('./worker.ts', import.meta.url);

export class JobRunner {
  private readonly active = new Map<number, Active>();
  private closed = false;
  /** The idle resident worker (kept with its loaded model), and what ends it. */
  private idle: { worker: Worker; timer: NodeJS.Timeout; gone: () => void } | null = null;
  constructor(private readonly o: RunnerOptions) {}

  /** The folder of a job's files (checkpoints, samples, the finished model). */
  jobDir(jobId: number): string {
    return join(this.o.dataDir, 'jobs', `job-${String(jobId).padStart(6, '0')}`);
  }

  /** Re-queues jobs a dead process left 'running' (they resume from their checkpoints), then starts the queue. */
  start(): JobRow[] {
    // A generation's stream died with the process that served it: nobody waits for it any more.
    for (const j of [...this.o.store.jobs.list({ status: 'running', kind: 'generate' }), ...this.o.store.jobs.list({ status: 'queued', kind: 'generate' })]) {
      if (!this.active.has(j.id)) this.setStatus(j.id, j.status === 'running' ? 'failed' : 'cancelled', j.status === 'running' ? { error: 'the app stopped while this generation ran; start it again' } : {});
    }
    const recovered = this.o.store.jobs.list({ status: 'running' }).filter((j) => !this.active.has(j.id));
    for (const j of recovered) {
      this.setStatus(j.id, 'queued');
      this.log(j.id, 'warn', 'this job was interrupted (the app stopped while it ran); it resumes from its newest checkpoint');
    }
    this.pump();
    return recovered;
  }

  submit(input: NewJob): JobRow {
    if (this.closed) throw new ConflictError('the job runner is shutting down; try again after the restart');
    const row = this.o.store.jobs.create(input);
    this.o.emit({ type: 'job.state', job: jobToApi(row) });
    this.pump();
    return this.o.store.jobs.get(row.id);
  }

  pause(jobId: number): JobRow {
    const j = this.o.store.jobs.get(jobId);
    const a = this.active.get(jobId);
    if (j.status !== 'running' || !a) throw new ConflictError(`job ${jobId} is ${j.status}; only a running job can be paused`);
    if (!JOB_KIND_TABLE[j.kind].pausable) throw new ConflictError(`a ${j.kind} job cannot be paused (it keeps no checkpoint); cancel it instead`);
    a.pausing = true;
    a.worker.postMessage({ type: 'pause', jobId } satisfies ToWorker);
    this.log(jobId, 'info', 'pausing: saving a checkpoint at the current step');
    return j;
  }

  resume(jobId: number): JobRow {
    const j = this.o.store.jobs.get(jobId);
    if (j.status !== 'paused') throw new ConflictError(`job ${jobId} is ${j.status}; only a paused job can be resumed`);
    const row = this.setStatus(jobId, 'queued');
    this.pump();
    return this.o.store.jobs.get(row.id);
  }

  cancel(jobId: number): JobRow {
    const j = this.o.store.jobs.get(jobId);
    const a = this.active.get(jobId);
    if (a) {
      // Cooperative: the executor stops at its next step boundary. Terminating a worker while
      // onnxruntime runs in it aborts the whole process, so a hard stop is only the last resort.
      a.cancelling = true;
      a.worker.postMessage({ type: 'cancel', jobId } satisfies ToWorker);
      setTimeout(() => { if (!a.settled) void a.worker.terminate(); }, 120_000).unref();
      this.log(jobId, 'info', 'cancelling at the next safe point');
      return j;
    }
    if (j.status !== 'queued' && j.status !== 'paused') throw new ConflictError(`job ${jobId} is ${j.status}; it cannot be cancelled`);
    return this.setStatus(jobId, 'cancelled');
  }

  /** Resolves when the job is no longer running in this process (settled, paused or stopped). */
  async settled(jobId: number): Promise<void> {
    await this.active.get(jobId)?.done;
  }

  /**
   * Stops taking jobs; pausable running jobs save a checkpoint and go back to 'queued' (the next
   * start resumes them); the others stop at a safe point and are re-queued (import resumes where
   * it stopped, the rest restart).
   */
  async close(timeoutMs = 30_000): Promise<void> {
    this.closed = true;
    const waits = [...this.active.values()].map(async (a) => {
      a.shuttingDown = true;
      a.worker.postMessage({ type: JOB_KIND_TABLE[a.job.kind].pausable ? 'pause' : 'cancel', jobId: a.job.id } satisfies ToWorker);
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
      if ((await Promise.race([a.done, timer])) === 'timeout') await a.worker.terminate();
      await a.done;
    });
    await Promise.all(waits);
    await this.shutdownIdle();
  }

  /** Whether an idle resident worker is kept (for tests and diagnostics). */
  get idleWorkers(): number {
    return this.idle ? 1 : 0;
  }

  // ---- internals ----

  private pump(): void {
    if (this.closed) return;
    let heavyBusy = [...this.active.values()].some((a) => JOB_KIND_TABLE[a.job.kind].heavy);
    for (const j of this.o.store.jobs.queue()) {
      if (this.active.has(j.id)) continue;
      const heavy = JOB_KIND_TABLE[j.kind].heavy;
      if (heavy && heavyBusy) continue;
      if (heavy) heavyBusy = true;
      this.launch(j);
    }
  }

  private launch(queued: JobRow): void {
    const job = this.setStatus(queued.id, 'running');
    const outDir = this.jobDir(job.id);
    const { resident, interactive } = JOB_KIND_TABLE[job.kind];
    const threads = (interactive ? this.o.inferenceThreads : this.o.threads)?.() ?? 2;
    const w: WorkerJob = {
      id: job.id, kind: job.kind, params: job.params, resume: job.attempts > 1, outDir,
      dbPath: this.o.store.path, dataDir: this.o.dataDir, threads, provider: this.o.provider?.() ?? 'cpu',
      runId: job.runId, datasetId: job.datasetId, resident,
    };
    const worker = (resident ? this.takeIdle() : null) ?? startWorker(WORKER);
    let resolveDone!: () => void;
    const a: Active = {
      job, worker, pausing: false, cancelling: false, shuttingDown: false, settled: false, lastProgressWrite: 0, done: new Promise((r) => (resolveDone = r)),
      detach: () => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        this.active.delete(job.id);
        resolveDone();
        this.park(worker);
        this.pump();
      },
    };
    this.active.set(job.id, a);
    const finish = (status: JobStatus, opts: { error?: string; result?: Record<string, unknown> } = {}) => {
      if (a.settled) return;
      a.settled = true;
      try {
        const row = this.setStatus(job.id, status, opts);
        if (opts.error) this.o.emit({ type: 'job.error', jobId: job.id, error: { name: 'JobError', message: opts.error } });
        this.o.onSettled?.(row);
      } catch (e) {
        console.error(`job ${job.id}: could not record its end (${status}): ${(e as Error).message}`);
      }
    };
    // Reports are handled one after another (a checkpoint row is written before the pause that follows it).
    let chain = Promise.resolve();
    const onMessage = (m: FromWorker) => {
      chain = chain.then(() => this.onMessage(a, m, finish)).catch((e) => this.log(job.id, 'error', `could not record a report of the worker: ${(e as Error).message}`));
    };
    const onError = (e: Error) => finish('failed', { error: `the job's worker crashed: ${e.message}` });
    const onExit = (code: number) => void chain.then(() => {
      if (a.cancelling) finish('cancelled');
      else if (a.shuttingDown) finish('queued');
      else finish('failed', { error: `the job's worker stopped unexpectedly (exit code ${code})` });
      this.active.delete(job.id);
      resolveDone();
      this.pump();
    });
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    void mkdir(outDir, { recursive: true }).then(
      () => worker.postMessage({ type: 'start', job: w } satisfies ToWorker),
      (err: unknown) => {
        // the worker never got the job: it fails with the reason and the worker goes back to the pool
        finish('failed', { error: `cannot make the job's folder ${outDir}: ${fsReason(err)}` });
        a.detach();
      },
    );
  }

  private async onMessage(a: Active, m: FromWorker, finish: (s: JobStatus, o?: { error?: string; result?: Record<string, unknown> }) => void): Promise<void> {
    const { store } = this.o;
    const job = a.job;
    switch (m.type) {
      case 'progress': {
        const p = m.progress;
        if (job.runId !== null) store.metrics.append(job.runId, p.step, { loss: p.loss, ...p.metrics });
        const t = Date.now();
        if (t - a.lastProgressWrite > 250 || p.step === p.total) {
          a.lastProgressWrite = t;
          store.jobs.setProgress(job.id, p as unknown as Record<string, unknown>);
        }
        this.o.emit({ type: 'job.progress', jobId: job.id, runId: job.runId, progress: { ...p, loss: finiteOrNull(p.loss), metrics: finiteMetrics(p.metrics) } });
        break;
      }
      case 'checkpoint': {
        if (job.runId !== null) {
          const file = statSync(m.path).isDirectory() && existsSync(join(m.path, 'model.safetensors')) ? join(m.path, 'model.safetensors') : m.path;
          const [bytes, sha256] = [(await stat(file)).size, await sha256File(file)];
          store.checkpoints.register(job.runId, { step: m.step, path: file, bytes, sha256 });
        }
        this.log(job.id, 'info', `checkpoint at step ${m.step}`);
        break;
      }
      case 'sample': {
        const row = store.jobs.addSample({ jobId: job.id, runId: job.runId, step: m.step, kind: m.kind, text: m.text ?? null, imagePath: m.imagePath ?? null, prompt: m.prompt ?? null });
        this.o.emit({ type: 'job.sample', jobId: job.id, runId: job.runId, sample: sampleToApi(row) });
        break;
      }
      case 'log':
        this.log(job.id, m.level, m.message);
        break;
      case 'dataset':
        store.jobs.setDataset(job.id, m.datasetId);
        this.o.emit({ type: 'dataset.changed', datasetId: m.datasetId });
        break;
      case 'finished':
        if (m.status === 'paused') finish(a.cancelling ? 'cancelled' : a.shuttingDown ? 'queued' : 'paused');
        else {
          await this.registerModel(job, m.result);
          finish('done', { result: m.result });
        }
        this.reap(a);
        break;
      case 'failed':
        if (a.cancelling) finish('cancelled');
        else if (a.shuttingDown) finish('queued');
        else finish('failed', { error: `${m.error.name === 'Error' ? '' : `${m.error.name}: `}${m.error.message}` });
        this.reap(a);
        break;
      default:
        break;
    }
    this.o.onMessage?.(job, m);
  }

  /** The job's last report: a resident worker is handed back; the others exit by themselves (terminated only if they linger). */
  private reap(a: Active): void {
    if (JOB_KIND_TABLE[a.job.kind].resident && !this.closed) return a.detach();
    if (JOB_KIND_TABLE[a.job.kind].resident) a.worker.postMessage({ type: 'shutdown' } satisfies ToWorker);
    setTimeout(() => { if (this.active.get(a.job.id) === a) void a.worker.terminate(); }, 10_000).unref();
  }

  /** Keeps a resident worker whose job ended for the next job of its kind (one at most; others are shut down). */
  private park(worker: Worker): void {
    if (this.closed || this.idle) return void this.shutdown(worker);
    const gone = () => {
      if (this.idle?.worker !== worker) return;
      clearTimeout(this.idle.timer);
      this.idle = null;
    };
    worker.on('exit', gone).on('error', gone);
    worker.unref();
    this.idle = { worker, gone, timer: setTimeout(() => void this.shutdownIdle(), IDLE_MS).unref() };
  }

  private takeIdle(): Worker | null {
    const i = this.idle;
    if (!i) return null;
    this.idle = null;
    clearTimeout(i.timer);
    i.worker.off('exit', i.gone).off('error', i.gone);
    i.worker.ref();
    return i.worker;
  }

  private async shutdownIdle(): Promise<void> {
    const w = this.takeIdle();
    if (w) await this.shutdown(w);
  }

  /** Asks a worker with no job to release its model and exit; terminates it if it does not within 10 s. */
  private shutdown(worker: Worker): Promise<void> {
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    worker.on('error', () => undefined);
    worker.postMessage({ type: 'shutdown' } satisfies ToWorker);
    const timer = setTimeout(() => void worker.terminate(), 10_000);
    return exited.finally(() => clearTimeout(timer));
  }

  /** A finished training that wrote a model folder Tessera knows (model-card.ts) becomes an installed model. */
  private async registerModel(job: JobRow, result: Record<string, unknown>): Promise<void> {
    const dir = typeof result.modelDir === 'string' ? result.modelDir : null;
    if (!dir || job.runId === null || !existsSync(dir)) return;
    const found = await readFolderModel(dir);
    if (!found) return;
    let name = found.name === 'model' ? `run ${job.runId}` : found.name;
    for (let k = 2, base = name; this.o.store.models.getByName(name); k++) name = `${base} (${k})`;
    const model = this.o.store.models.create({ name, kind: found.kind, dir, card: found.card });
    this.o.store.runs.setModel(job.runId, model.id);
    this.log(job.id, 'info', `installed the trained model as "${name}"`);
  }

  /** Sets the job's status, mirrors it onto its training run, and tells clients. */
  private setStatus(jobId: number, to: JobStatus, opts: { error?: string; result?: Record<string, unknown> } = {}): JobRow {
    const row = this.o.store.jobs.setStatus(jobId, to, opts);
    if (row.runId !== null) {
      const run = this.o.store.runs.get(row.runId);
      const target = to as RunStatus;
      if (run.status !== target && RUN_TRANSITIONS[run.status].includes(target)) this.o.store.runs.setStatus(row.runId, target, to === 'failed' ? opts.error : undefined);
    }
    const a = this.active.get(jobId);
    if (a) a.job = row;
    this.o.emit({ type: 'job.state', job: jobToApi(row) });
    return row;
  }

  private log(jobId: number, level: 'info' | 'warn' | 'error', message: string): void {
    this.o.emit({ type: 'job.log', jobId, level, message, time: Date.now() });
  }
}

const finiteOrNull = (x: number | null) => (x === null || Number.isFinite(x) ? x : null);
const finiteMetrics = (m: Record<string, number | null>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, finiteOrNull(v)]));
