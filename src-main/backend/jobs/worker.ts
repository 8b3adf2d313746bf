// Worker-thread entry for one job: receives {type:'start', job}, runs the executor of its kind
// (kinds.ts) off the API's event loop, reports progress, checkpoints and samples to the runner, and
// ends with 'finished' (done or paused) or 'failed'. {type:'pause'} aborts the executor's signal:
// it saves a checkpoint at the step it reached and finishes as 'paused'. {type:'cancel'} aborts the
// same way (the runner records 'cancelled'): terminating a thread inside onnxruntime aborts the process.
import { parentPort } from 'node:worker_threads';
import { toApiError } from '../../contract/api.ts';
import { EXECUTORS } from './kinds.ts';
import type { FromWorker, ToWorker, WorkerJob } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('backend/jobs/worker.ts must run in a worker thread (the job runner starts it)');
const pause = new AbortController();
const post = (m: FromWorker) => port.postMessage(m);

async function run(job: WorkerJob): Promise<void> {
  try {
    const r = await EXECUTORS[job.kind](job, { signal: pause.signal, post });
    post({ type: 'finished', status: r.status, result: r.result });
  } catch (e) {
    post({ type: 'failed', error: toApiError(e) });
  }
  // The loader's ports keep an idle thread alive: end it (its sessions are released by now).
  setImmediate(() => process.exit(0));
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'start') void run(m.job);
  else if (m.type === 'pause' || m.type === 'cancel') pause.abort(m.type);
});
