// Training runs and their metrics. A run's status follows a state machine (RUN_TRANSITIONS):
// queued -> running -> (paused <-> running) -> done | failed | cancelled; a queued or paused run may
// also fail or be cancelled. Metrics are one JSON object per (run, step); re-logging a step (a
// resumed run) replaces it. Non-finite numbers (a diverged loss) round-trip as NaN/Infinity.
import { z } from 'zod';
import { Db, must, now } from './db.ts';
import { count, id, jsonObject, nonEmpty, parse, StoreInputError, toJson } from './validate.ts';

export const RUN_STATUSES = ['queued', 'running', 'paused', 'done', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Legal next states of each state; done, failed and cancelled are final. */
export const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ['running', 'failed', 'cancelled'],
  running: ['paused', 'done', 'failed', 'cancelled'],
  paused: ['running', 'failed', 'cancelled'],
  done: [],
  failed: [],
  cancelled: [],
};

export class IllegalRunTransitionError extends Error {
  override name = 'IllegalRunTransitionError';
  constructor(readonly runId: number, readonly from: RunStatus, readonly to: RunStatus) {
    const legal = RUN_TRANSITIONS[from];
    super(`run ${runId}: illegal status transition ${from} -> ${to} (from ${from} the run may go to ${legal.length ? legal.join(', ') : 'nothing: it is final'})`);
  }
}

export interface RunRow {
  id: number;
  kind: string;
  recipe: string;
  config: Record<string, unknown>;
  status: RunStatus;
  error: string | null;
  modelId: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface MetricRow {
  runId: number;
  step: number;
  values: Record<string, number | null>;
  createdAt: number;
}

const NewRun = z.object({ kind: nonEmpty, recipe: nonEmpty, config: jsonObject, modelId: id.nullish() });
export type NewRun = z.input<typeof NewRun>;

const COLS = `id, kind, recipe, config, status, error, model_id AS modelId, created_at AS createdAt, updated_at AS updatedAt`;
const toRun = (r: any): RunRow => ({ ...r, config: JSON.parse(r.config) });

export class RunsRepo {
  constructor(private readonly db: Db) {}

  /** Creates a run in status 'queued'. */
  create(input: NewRun): RunRow {
    const r = parse('runs.create', '', NewRun, input);
    const t = now();
    const res = this.db.stmt(`INSERT INTO runs (kind, recipe, config, status, model_id, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?)`)
      .run(r.kind, r.recipe, toJson('runs.create', 'config', r.config), r.modelId ?? null, t, t);
    return this.get(Number(res.lastInsertRowid));
  }

  get(runId: number): RunRow {
    return toRun(must(this.db.stmt(`SELECT ${COLS} FROM runs WHERE id = ?`).get(runId), 'run', runId));
  }

  list(filter: { status?: RunStatus } = {}): RunRow[] {
    const rows = filter.status === undefined
      ? this.db.stmt(`SELECT ${COLS} FROM runs ORDER BY id DESC`).all()
      : this.db.stmt(`SELECT ${COLS} FROM runs WHERE status = ? ORDER BY id DESC`).all(filter.status);
    return rows.map(toRun);
  }

  /**
   * Moves the run to `to`, checking the transition against RUN_TRANSITIONS (throws
   * IllegalRunTransitionError naming both states). `error` is required for 'failed', refused otherwise.
   */
  setStatus(runId: number, to: RunStatus, error?: string): RunRow {
    const op = 'runs.setStatus';
    parse(op, 'status', z.enum(RUN_STATUSES), to);
    if (to === 'failed' && !error) throw new StoreInputError(op, 'error', "a message is required when status is 'failed'");
    if (to !== 'failed' && error !== undefined) throw new StoreInputError(op, 'error', `only allowed with status 'failed', not '${to}'`);
    return this.db.tx(() => {
      const from = this.get(runId).status;
      if (!RUN_TRANSITIONS[from].includes(to)) throw new IllegalRunTransitionError(runId, from, to);
      this.db.stmt(`UPDATE runs SET status = ?, error = ?, updated_at = ? WHERE id = ?`).run(to, error ?? null, now(), runId);
      return this.get(runId);
    });
  }

  /** Links the run to the model it produced. */
  setModel(runId: number, modelId: number | null): RunRow {
    this.get(runId);
    this.db.stmt(`UPDATE runs SET model_id = ?, updated_at = ? WHERE id = ?`).run(modelId, now(), runId);
    return this.get(runId);
  }

  /** Deletes the run with its metrics and checkpoint rows (not the checkpoint files). */
  delete(runId: number): boolean {
    return this.db.stmt(`DELETE FROM runs WHERE id = ?`).run(runId).changes > 0;
  }
}

// Any number, NaN and ±Infinity included: a diverged loss must be recorded as what it was.
const anyNumber = z.custom<number>((v) => typeof v === 'number', 'expected a number (NaN and Infinity allowed) or null');
const metricValues = z.record(z.string().min(1, 'metric names must not be empty'), anyNumber.nullable());

// JSON has no NaN/Infinity: encode them as strings and decode them back.
const encode = (v: Record<string, number | null>) =>
  JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));
const decode = (s: string): Record<string, number | null> => {
  const o = JSON.parse(s) as Record<string, number | string | null>;
  for (const k of Object.keys(o)) if (typeof o[k] === 'string') o[k] = Number(o[k]);
  return o as Record<string, number | null>;
};

export class MetricsRepo {
  constructor(private readonly db: Db) {}

  /** Logs the metrics of one step; a step already logged for this run is replaced. */
  append(runId: number, step: number, values: Record<string, number | null>): void {
    const op = 'metrics.append';
    parse(op, 'runId', id, runId);
    parse(op, 'step', count, step);
    const v = parse(op, 'values', metricValues, values);
    try {
      this.db.stmt(`INSERT INTO metrics (run_id, step, "values", created_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (run_id, step) DO UPDATE SET "values" = excluded."values", created_at = excluded.created_at`).run(runId, step, encode(v), now());
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new StoreInputError(op, 'runId', `run ${runId} does not exist`);
      throw e;
    }
  }

  /** Many steps in one transaction. */
  appendMany(runId: number, rows: readonly { step: number; values: Record<string, number | null> }[]): void {
    this.db.tx(() => rows.forEach((r) => this.append(runId, r.step, r.values)));
  }

  /** The run's metrics in step order; with `sinceStep`, only steps strictly after it (live charts). */
  list(runId: number, opts: { sinceStep?: number; limit?: number } = {}): MetricRow[] {
    const rows = this.db.stmt(`SELECT run_id AS runId, step, "values" AS v, created_at AS createdAt FROM metrics
      WHERE run_id = ? AND step > ? ORDER BY step LIMIT ?`).all(runId, opts.sinceStep ?? -1, opts.limit ?? -1) as { runId: number; step: number; v: string; createdAt: number }[];
    return rows.map(({ v, ...r }) => ({ ...r, values: decode(v) }));
  }

  /** The highest logged step of the run, or null when none. */
  lastStep(runId: number): number | null {
    return (this.db.stmt(`SELECT max(step) AS s FROM metrics WHERE run_id = ?`).get(runId) as { s: number | null }).s;
  }
}
