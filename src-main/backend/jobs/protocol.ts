// Messages between the job runner (on the API's event loop) and the worker thread that executes one
// job. The worker reports; the runner owns the store (except for kinds that write rows themselves,
// such as import, which open their own connection in the worker) and turns reports into rows and
// API events.
import type { ApiError } from '../../contract/api.ts';
import type { JobKind } from '../store/index.ts';

/** What the worker needs to run one job. */
export interface WorkerJob {
  id: number;
  kind: JobKind;
  params: Record<string, unknown>;
  /** Started before (paused or interrupted): continue from the newest checkpoint. */
  resume: boolean;
  /** The job's own folder (checkpoints, samples, the finished model). */
  outDir: string;
  dbPath: string;
  dataDir: string;
  threads: number;
  provider: string;
  runId: number | null;
  datasetId: number | null;
  /** The worker stays after this job for the next of its kind (keeping its loaded model). */
  resident: boolean;
}

export type ToWorker =
  | { type: 'start'; job: WorkerJob }
  /** Pause job `jobId`: stop at the next step boundary after saving a checkpoint. */
  | { type: 'pause'; jobId: number }
  /** Cancel job `jobId`: abort at the next safe point (never a hard terminate while native code runs). */
  | { type: 'cancel'; jobId: number }
  /** An idle resident worker: release what it holds and exit. */
  | { type: 'shutdown' };

export interface WorkerProgress {
  step: number;
  total: number;
  phase: string;
  loss: number | null;
  etaSeconds: number | null;
  metrics: Record<string, number | null>;
}

export type FromWorker =
  | { type: 'progress'; progress: WorkerProgress }
  /** `path`: a checkpoint folder (engine/train/checkpoint.ts) or file. */
  | { type: 'checkpoint'; step: number; path: string }
  /** Text, or an image: `imagePath` a PNG under outDir. */
  | { type: 'sample'; step: number; kind: 'text' | 'image'; text?: string; imagePath?: string; prompt?: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  /** The job created or uses this dataset (import). */
  | { type: 'dataset'; datasetId: number }
  /** A stream event of a generate job (see StreamEvent in kinds.ts). */
  | { type: 'stream'; event: Record<string, unknown> }
  | { type: 'finished'; status: 'done' | 'paused'; result: Record<string, unknown> }
  | { type: 'failed'; error: ApiError };
