// Worker-thread entry: receives {type:'start', job}, runs the executor of its kind (kinds.ts) off
// the API's event loop, reports progress, checkpoints and samples to the runner, and ends the job
// with 'finished' (done or paused) or 'failed'. {type:'pause'} aborts the executor's signal: it
// saves a checkpoint at the step it reached and finishes as 'paused'. {type:'cancel'} aborts the
// same way (the runner records 'cancelled'): terminating a thread inside onnxruntime aborts the process.
// A worker of a resident kind (generate) stays after its job, keeping its loaded model
// (model-cache.ts) for the next one, until the runner sends {type:'shutdown'}; the others exit.
import { parentPort } from 'node:worker_threads';
import { toApiError } from '../../contract/api.ts';
import { EXECUTORS } from './kinds.ts';
import { releaseCachedModel } from './model-cache.ts';
import type { FromWorker, ToWorker, WorkerJob } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('backend/jobs/worker.ts must run in a worker thread (the job runner starts it)');
/** The running job's stop signal; a pause/cancel that arrives before its job's start waits in `early`. */
let current: { id: number; stop: AbortController } | null = null;
const early = new Map<number, string>();
const post = (m: FromWorker) => port.postMessage(m);

async function exit(): Promise<void> {
  await releaseCachedModel().catch((e: unknown) => console.error(`worker: could not release its model: ${(e as Error).message}`));
  // The loader's ports keep an idle thread alive: end it (its sessions are released by now).
  setImmediate(() => process.exit(0));
}

async function run(job: WorkerJob): Promise<void> {
  const stop = new AbortController();
  current = { id: job.id, stop };
  if (early.has(job.id)) stop.abort(early.get(job.id));
  early.delete(job.id);
  try {
    const r = await EXECUTORS[job.kind](job, { signal: stop.signal, post });
    post({ type: 'finished', status: r.status, result: r.result });
  } catch (e) {
    post({ type: 'failed', error: toApiError(e) });
  }
  current = null;
  if (!job.resident) await exit();
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'start') void run(m.job);
  else if (m.type === 'pause' || m.type === 'cancel') {
    if (current?.id === m.jobId) current.stop.abort(m.type);
    else early.set(m.jobId, m.type);
  }
  else if (m.type === 'shutdown') void exit();
});
