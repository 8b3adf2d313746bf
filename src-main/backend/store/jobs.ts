// The job queue (schema v6): one row per import, tokenize, train, evaluate or generate job, with a
// status state machine (JOB_TRANSITIONS), FIFO order by queued_at, the last progress, the result,
// and `attempts` (how many times it started: > 0 means a restart resumes from a checkpoint).
// Samples are what a running job shows (a text, or an image file), tied to the job and its run.
import { z } from 'zod';
import { Db, must, now } from './db.ts';
import { count, id, jsonObject, nonEmpty, parse, StoreInputError, toJson } from './validate.ts';

export const JOB_KINDS = ['import', 'tokenize', 'train', 'evaluate', 'generate'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export const JOB_STATUSES = ['queued', 'running', 'paused', 'done', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * Legal next states. running -> queued is the crash recovery (and a shutdown that could not pause):
 * the job keeps its place (queued_at) and resumes from its newest checkpoint. paused -> queued is
 * resume: the job goes to the back of the queue.
 */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['running', 'failed', 'cancelled'],
  running: ['paused', 'done', 'failed', 'cancelled', 'queued'],
  paused: ['queued', 'failed', 'cancelled'],
  done: [],
  failed: [],
  cancelled: [],
};

export class IllegalJobTransitionError extends Error {
  override name = 'IllegalJobTransitionError';
  constructor(readonly jobId: number, readonly from: JobStatus, readonly to: JobStatus) {
    const legal = JOB_TRANSITIONS[from];
    super(`job ${jobId} is ${from} and cannot become ${to} (from ${from} it may go to ${legal.length ? legal.join(', ') : 'nothing: it is finished'})`);
  }
}

export interface JobRow {
  id: number;
  kind: JobKind;
  title: string;
  params: Record<string, unknown>;
  status: JobStatus;
  progress: Record<string, unknown> | null;
  error: string | null;
  result: Record<string, unknown> | null;
  runId: number | null;
  datasetId: number | null;
  attempts: number;
  queuedAt: number;
  createdAt: number;
  updatedAt: number;
}

export interface SampleRow {
  id: number;
  jobId: number;
  runId: number | null;
  step: number;
  kind: 'text' | 'image';
  text: string | null;
  imagePath: string | null;
  prompt: string | null;
  createdAt: number;
}

const NewJob = z.object({ kind: z.enum(JOB_KINDS), title: nonEmpty, params: jsonObject, runId: id.nullish(), datasetId: id.nullish() });
export type NewJob = z.input<typeof NewJob>;
const NewSample = z.object({
  jobId: id, runId: id.nullish(), step: count, kind: z.enum(['text', 'image']),
  text: z.string().nullish(), imagePath: nonEmpty.nullish(), prompt: z.string().nullish(),
}).refine((s) => (s.kind === 'text') === (s.text != null) && (s.kind === 'image') === (s.imagePath != null),
  { message: "a text sample needs `text`, an image sample needs `imagePath` (and not the other)", path: ['kind'] });
export type NewSample = z.input<typeof NewSample>;

const COLS = `id, kind, title, params, status, progress, error, result, run_id AS runId, dataset_id AS datasetId,
  attempts, queued_at AS queuedAt, created_at AS createdAt, updated_at AS updatedAt`;
const toJob = (r: any): JobRow => ({
  ...r, params: JSON.parse(r.params), progress: r.progress === null ? null : JSON.parse(r.progress), result: r.result === null ? null : JSON.parse(r.result),
});
const SCOLS = `id, job_id AS jobId, run_id AS runId, step, kind, text, image_path AS imagePath, prompt, created_at AS createdAt`;

// JSON has no NaN/Infinity: a diverged loss in a progress object is stored as null.
const finiteJson = (op: string, field: string, v: unknown) =>
  toJson(op, field, JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x))));

export class JobsRepo {
  constructor(private readonly db: Db) {}

  /** Creates a job in status 'queued' at the back of the queue. */
  create(input: NewJob): JobRow {
    const op = 'jobs.create';
    const j = parse(op, '', NewJob, input);
    const t = now();
    const r = this.db.stmt(`INSERT INTO jobs (kind, title, params, status, run_id, dataset_id, queued_at, created_at, updated_at)
      VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?)`).run(j.kind, j.title, toJson(op, 'params', j.params), j.runId ?? null, j.datasetId ?? null, t, t, t);
    return this.get(Number(r.lastInsertRowid));
  }

  get(jobId: number): JobRow {
    return must(this.find(jobId), 'job', jobId);
  }

  find(jobId: number): JobRow | undefined {
    const r = this.db.stmt(`SELECT ${COLS} FROM jobs WHERE id = ?`).get(jobId);
    return r === undefined ? undefined : toJob(r);
  }

  /** Newest first, optionally of one kind / status. */
  list(filter: { kind?: JobKind; status?: JobStatus; limit?: number } = {}): JobRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.kind !== undefined) { where.push('kind = ?'); args.push(filter.kind); }
    if (filter.status !== undefined) { where.push('status = ?'); args.push(filter.status); }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return this.db.stmt(`SELECT ${COLS} FROM jobs ${w} ORDER BY id DESC LIMIT ?`).all(...args, filter.limit ?? 500).map(toJob);
  }

  /** The queued jobs in the order they should run (FIFO by queued_at, then id). */
  queue(): JobRow[] {
    return this.db.stmt(`SELECT ${COLS} FROM jobs WHERE status = 'queued' ORDER BY queued_at, id`).all().map(toJob);
  }

  /** The job of a training run (the newest, if several). */
  byRun(runId: number): JobRow | undefined {
    const r = this.db.stmt(`SELECT ${COLS} FROM jobs WHERE run_id = ? ORDER BY id DESC LIMIT 1`).get(runId);
    return r === undefined ? undefined : toJob(r);
  }

  /**
   * Moves the job to `to` (checked against JOB_TRANSITIONS). Starting it counts an attempt; resuming
   * a paused job puts it at the back of the queue; 'failed' needs `error`; 'done' may carry `result`.
   */
  setStatus(jobId: number, to: JobStatus, opts: { error?: string; result?: Record<string, unknown> } = {}): JobRow {
    const op = 'jobs.setStatus';
    parse(op, 'status', z.enum(JOB_STATUSES), to);
    if (to === 'failed' && !opts.error) throw new StoreInputError(op, 'error', "a message is required when status is 'failed'");
    return this.db.tx(() => {
      const from = this.get(jobId).status;
      if (!JOB_TRANSITIONS[from].includes(to)) throw new IllegalJobTransitionError(jobId, from, to);
      const t = now();
      this.db.stmt(`UPDATE jobs SET status = ?, error = ?, updated_at = ?, attempts = attempts + ?, queued_at = CASE WHEN ? THEN ? ELSE queued_at END,
        result = coalesce(?, result) WHERE id = ?`).run(to, opts.error ?? null, t, to === 'running' ? 1 : 0, from === 'paused' && to === 'queued' ? 1 : 0, t,
        opts.result === undefined ? null : toJson(op, 'result', opts.result), jobId);
      return this.get(jobId);
    });
  }

  /** Records the latest progress (step, loss, ETA, …) of a running job. */
  setProgress(jobId: number, progress: Record<string, unknown>): void {
    this.db.stmt(`UPDATE jobs SET progress = ?, updated_at = ? WHERE id = ?`).run(finiteJson('jobs.setProgress', 'progress', progress), now(), jobId);
  }

  /** Links the job to the dataset it created or works on. */
  setDataset(jobId: number, datasetId: number | null): void {
    this.db.stmt(`UPDATE jobs SET dataset_id = ?, updated_at = ? WHERE id = ?`).run(datasetId, now(), jobId);
  }

  addSample(input: NewSample): SampleRow {
    const op = 'samples.add';
    const s = parse(op, '', NewSample, input);
    const r = this.db.stmt(`INSERT INTO samples (job_id, run_id, step, kind, text, image_path, prompt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(s.jobId, s.runId ?? null, s.step, s.kind, s.text ?? null, s.imagePath ?? null, s.prompt ?? null, now());
    return this.sample(Number(r.lastInsertRowid));
  }

  sample(sampleId: number): SampleRow {
    return must(this.db.stmt(`SELECT ${SCOLS} FROM samples WHERE id = ?`).get(sampleId), 'sample', sampleId) as SampleRow;
  }

  /** A run's (or job's) samples, oldest first, at most `limit` of the newest. */
  samples(filter: { runId: number } | { jobId: number }, limit = 200): SampleRow[] {
    const [col, v] = 'runId' in filter ? ['run_id', filter.runId] : ['job_id', filter.jobId];
    const rows = this.db.stmt(`SELECT ${SCOLS} FROM samples WHERE ${col} = ? ORDER BY id DESC LIMIT ?`).all(v, limit) as SampleRow[];
    return rows.reverse();
  }
}
