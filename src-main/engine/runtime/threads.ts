// Starting worker threads whose entry is a module of ours: from source (.ts, under tsx or vitest)
// through boot.mjs, which registers the TypeScript loader; from a build (.js) directly.
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(entry: URL, options: WorkerOptions = {}): Worker {
  if (entry.pathname.endsWith('.ts')) {
    const boot = new URL('./boot.mjs', import.meta.url);
    return new Worker(boot, { ...options, workerData: { ...(options.workerData ?? {}), __entry: entry.href } });
  }
  return new Worker(entry, options);
}
