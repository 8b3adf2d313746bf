// Worker-thread entry of recipe-thread.ts: receives {type:'run', kind, config, ...}, runs that recipe
// with its callbacks posted back, and ends with {type:'done', result} or {type:'error', error}.
// The caller's pause is the shared flag `stop`, read as the recipe reports each step: the recipe's
// signal aborts then, and it checkpoints at the step it reached and returns 'paused'.
import { parentPort } from 'node:worker_threads';
import type { RecipeProgress, RecipeResult, RecipeSample } from './recipe.ts';
import { semanticRecipe } from './recipes/semantic.ts';

/** The recipes a thread runs (those a pipeline lane needs). */
const RECIPES = { semantic: semanticRecipe } as const;
export type ThreadRecipeKind = keyof typeof RECIPES;

export type ToRecipeThread = { type: 'run'; kind: ThreadRecipeKind; config: unknown; outDir: string; resume: boolean; threads?: number; stop: Int32Array };
export type FromRecipeThread =
  | { type: 'progress'; progress: RecipeProgress }
  | { type: 'checkpoint'; checkpoint: { step: number; path: string } }
  | { type: 'sample'; sample: RecipeSample }
  | { type: 'notice'; message: string }
  | { type: 'done'; result: RecipeResult }
  | { type: 'error'; error: { name: string; message: string } };

const port = parentPort;
if (port) {
  const post = (m: FromRecipeThread) => port.postMessage(m);
  port.once('message', (m: ToRecipeThread) => {
    const stop = new AbortController();
    const poll = () => Atomics.load(m.stop, 0) !== 0 && !stop.signal.aborted && stop.abort();
    poll();
    void RECIPES[m.kind].run(m.config as never, {
      outDir: m.outDir, resume: m.resume, threads: m.threads, signal: stop.signal,
      onProgress: (progress) => {
        post({ type: 'progress', progress });
        poll();
      },
      onCheckpoint: (checkpoint) => post({ type: 'checkpoint', checkpoint }),
      onSample: (sample) => post({ type: 'sample', sample }),
      onNotice: (message) => post({ type: 'notice', message }),
    }).then(
      (result) => post({ type: 'done', result }),
      (e: unknown) => post({ type: 'error', error: { name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) } }),
    ).finally(() => setImmediate(() => process.exit(0))); // the loader's ports keep an idle thread alive
  });
}
