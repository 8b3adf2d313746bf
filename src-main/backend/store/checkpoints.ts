// Checkpoint rows of a training run: where each step's checkpoint file lies, with its size and
// sha256. Registration commits with synchronous=FULL so a row that points at a file survives power
// loss; latestValid() re-verifies the files and skips rows whose file is missing, truncated or
// corrupt, so a resume always starts from a checkpoint that is really there.
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { Db, now } from './db.ts';
import { sha256File } from './files.ts';
import { count, id, nonEmpty, parse, sha256Hex, StoreInputError } from './validate.ts';

export interface CheckpointRow {
  id: number;
  runId: number;
  step: number;
  path: string;
  bytes: number;
  sha256: string;
  createdAt: number;
}

const NewCheckpoint = z.object({ step: count, path: nonEmpty, bytes: count, sha256: sha256Hex });
export type NewCheckpoint = z.input<typeof NewCheckpoint>;

const COLS = `id, run_id AS runId, step, path, bytes, sha256, created_at AS createdAt`;

export class CheckpointsRepo {
  constructor(private readonly db: Db, private readonly readonly: boolean) {}

  /**
   * Records a checkpoint whose file is already complete and fsynced at `path` (see files.ts
   * registerCheckpoint). A checkpoint of the same (run, step) is replaced.
   */
  register(runId: number, input: NewCheckpoint): CheckpointRow {
    const op = 'checkpoints.register';
    parse(op, 'runId', id, runId);
    const c = parse(op, '', NewCheckpoint, input);
    const insert = () => {
      if (!this.db.stmt(`SELECT 1 FROM runs WHERE id = ?`).get(runId)) throw new StoreInputError(op, 'runId', `run ${runId} does not exist`);
      this.db.stmt(`INSERT INTO checkpoints (run_id, step, path, bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (run_id, step) DO UPDATE SET path = excluded.path, bytes = excluded.bytes, sha256 = excluded.sha256, created_at = excluded.created_at`)
        .run(runId, c.step, c.path, c.bytes, c.sha256, now());
    };
    // The store runs with synchronous=NORMAL (see store.ts). This one commit is made durable before
    // we return: the caller may delete older checkpoint files once register() returns.
    // (The pragma has no effect inside an open transaction; then the outer commit decides.)
    if (this.readonly || this.db.raw.inTransaction) insert();
    else {
      this.db.raw.pragma('synchronous = FULL');
      try {
        insert();
      } finally {
        this.db.raw.pragma('synchronous = NORMAL');
      }
    }
    return this.db.stmt(`SELECT ${COLS} FROM checkpoints WHERE run_id = ? AND step = ?`).get(runId, c.step) as CheckpointRow;
  }

  /** The run's checkpoints in step order. */
  list(runId: number): CheckpointRow[] {
    return this.db.stmt(`SELECT ${COLS} FROM checkpoints WHERE run_id = ? ORDER BY step`).all(runId) as CheckpointRow[];
  }

  /** The newest row, without looking at the file. */
  latest(runId: number): CheckpointRow | undefined {
    return this.db.stmt(`SELECT ${COLS} FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1`).get(runId) as CheckpointRow | undefined;
  }

  /** Checks that the row's file exists with the recorded size and sha256; returns the problem or null. */
  async verify(row: CheckpointRow): Promise<string | null> {
    let size: number;
    try {
      size = (await stat(row.path)).size;
    } catch (e) {
      return `file ${row.path} is missing (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
    }
    if (size !== row.bytes) return `file ${row.path} has ${size} bytes, the row records ${row.bytes}`;
    const sha = await sha256File(row.path);
    if (sha !== row.sha256) return `file ${row.path} has sha256 ${sha.slice(0, 12)}..., the row records ${row.sha256.slice(0, 12)}...`;
    return null;
  }

  /**
   * The newest checkpoint whose file verifies, or null. Rows that fail are skipped (newest first),
   * and each skip is reported to `onSkip` so the caller can say why it resumed from an older step.
   */
  async latestValid(runId: number, opts: { onSkip?: (row: CheckpointRow, reason: string) => void } = {}): Promise<CheckpointRow | null> {
    const rows = this.list(runId).reverse();
    for (const row of rows) {
      const problem = await this.verify(row);
      if (problem === null) return row;
      opts.onSkip?.(row, problem);
    }
    return null;
  }

  /** Deletes one checkpoint row (not its file); returns whether it existed. */
  remove(checkpointId: number): boolean {
    return this.db.stmt(`DELETE FROM checkpoints WHERE id = ?`).run(checkpointId).changes > 0;
  }
}
