// A recipe run in a worker thread of its own, so two recipes can train at once in one process: each
// session's run is synchronous in onnxruntime-node and would otherwise hold the caller's thread, and
// with it any other recipe's steps. The pipeline's second lane (train/pipeline.ts: memory.beside)
// trains the example memory's encoders this way beside the LM's stages, one thread each: on a
// two-core machine the small conv nets keep both cores busier that way than with two threads each
// in turn. The thread's side is recipe-worker.ts; this side mirrors Recipe.run: progress, checkpoints,
// samples and notices come back as calls of the options' callbacks (when this thread's event loop
// is next free), an abort of `signal` pauses the recipe at its next step (it checkpoints and returns
// 'paused'), and an error thrown there is thrown here, with its name and message.
import type { RecipeResult, RecipeRunOptions } from './recipe.ts';
import { startWorker } from '../runtime/threads.ts';
import type { FromRecipeThread, ThreadRecipeKind } from './recipe-worker.ts';

const ENTRY = new URL(`./recipe-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** Run recipe `kind` with `config` (its parsed config: plain JSON) in a new worker thread. */
export function runRecipeInThread(kind: ThreadRecipeKind, config: unknown, o: RecipeRunOptions): Promise<RecipeResult> {
  const worker = startWorker(ENTRY);
  // the pause as a flag in shared memory, read at every step: a message would wait for the thread's
  // event loop, which a recipe's synchronous session runs hold for many steps at a time
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const abort = () => Atomics.store(stop, 0, 1);
  return new Promise<RecipeResult>((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', abort);
      f();
    };
    worker.on('message', (m: FromRecipeThread) => {
      if (m.type === 'progress') o.onProgress?.(m.progress);
      else if (m.type === 'checkpoint') o.onCheckpoint?.(m.checkpoint);
      else if (m.type === 'sample') o.onSample?.(m.sample);
      else if (m.type === 'notice') o.onNotice?.(m.message);
      else if (m.type === 'done') settle(() => resolve(m.result));
      else settle(() => reject(Object.assign(new Error(m.error.message), { name: m.error.name })));
    });
    worker.on('error', (e) => settle(() => reject(e)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the ${kind} recipe's thread exited (code ${code}) before it finished`))));
    if (o.signal?.aborted) abort();
    else o.signal?.addEventListener('abort', abort, { once: true });
    worker.postMessage({ type: 'run', kind, config, outDir: o.outDir, resume: o.resume, threads: o.threads, stop });
  });
}
