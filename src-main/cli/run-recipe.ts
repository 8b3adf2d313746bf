// Shared driver for `tessera train <kind> --config FILE [--resume] [--metrics FILE.jsonl] [--out DIR]`:
// reads and validates the config, runs the recipe with a live progress line (step, loss, metrics,
// ETA), appends one JSON object per step to --metrics, and turns Ctrl-C into a pause (the recipe
// checkpoints and stops; run again with --resume to continue exactly).
import { appendFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Recipe, RecipeProgress } from '../engine/train/recipe.ts';
import { intFlag, parseFlags, UsageError } from './command.ts';

export const RECIPE_USAGE = '--config FILE.json [--resume] [--metrics FILE.jsonl] [--out DIR] [--threads N]';

function fmtEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
}

const SHOWN = ['lr', 'text_loss', 'image_loss', 'eval_loss', 'psnr', 'usage', 'perplexity', 'accuracy', 'eval_psnr', 'eval_ssim', 'eval_usage', 'nn_top1'];

export function progressLine(p: RecipeProgress): string {
  const parts = [`step ${String(p.step).padStart(6)}/${p.totalSteps}`, p.phase.padEnd(11), `loss ${p.loss.toFixed(4)}`];
  for (const k of SHOWN) {
    const v = p.metrics[k];
    if (v === undefined) continue;
    parts.push(`${k} ${k === 'lr' ? v.toExponential(2) : k.includes('usage') ? `${(v * 100).toFixed(1)}%` : v.toFixed(k.includes('psnr') ? 2 : 3)}`);
  }
  parts.push(`ETA ${fmtEta(p.etaSeconds)}`);
  return parts.join('  ');
}

/** Ctrl-C aborts the returned signal (the recipe checkpoints and pauses); a second Ctrl-C quits. */
export function pauseOnSigint(): { signal: AbortSignal; release(): void } {
  const ctl = new AbortController();
  const onSignal = () => {
    if (ctl.signal.aborted) process.exit(130);
    console.log('\npausing: writing a checkpoint (Ctrl-C again to quit at once)…');
    ctl.abort();
  };
  process.on('SIGINT', onSignal);
  return { signal: ctl.signal, release: () => process.off('SIGINT', onSignal) };
}

export async function runRecipeCommand<C>(recipe: Recipe<C>, argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    config: { type: 'string' },
    resume: { type: 'boolean' },
    metrics: { type: 'string' },
    out: { type: 'string' },
    threads: { type: 'string' },
    'log-every': { type: 'string' },
  });
  if (!values.config) throw new UsageError('--config is required');
  const source = resolve(values.config);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(source, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read config ${source}: ${(err as Error).message}`);
  }
  const config = recipe.parseConfig(json, source);
  const outDir = resolve(values.out ?? join('runs', basename(source, extname(source))));
  const threads = intFlag('threads', values.threads, 1);
  const logEvery = intFlag('log-every', values['log-every'], 1, 10);
  const metricsFile = values.metrics ? resolve(values.metrics) : null;
  if (metricsFile) await mkdir(dirname(metricsFile), { recursive: true });
  await mkdir(outDir, { recursive: true });

  const { signal, release } = pauseOnSigint();
  console.log(`${recipe.kind} recipe: ${source} → ${outDir}${values.resume ? ' (resuming)' : ''}`);
  try {
    const r = await recipe.run(config, {
      outDir, resume: values.resume ?? false, signal, threads,
      onProgress(p) {
        if (metricsFile) appendFileSync(metricsFile, JSON.stringify({ step: p.step, phase: p.phase, loss: p.loss, ...p.metrics }) + '\n');
        if (p.phase === 'eval' || p.step % logEvery === 0 || p.step === 1 || p.step === p.totalSteps) console.log(progressLine(p));
      },
      onCheckpoint: (ck) => console.log(`checkpoint ${ck.path}`),
      onSample: (s) => console.log(`sample @${s.step}${s.prompt ? ` [${s.prompt}]` : ''}: ${s.value}`),
      onNotice: (m) => console.error(`warning: ${m}`),
    });
    if (r.status === 'paused') {
      console.log(`paused at step ${r.step}; continue with --resume`);
      return 0;
    }
    console.log(`done at step ${r.step}: ${r.modelDir ?? ''}`);
    if (r.metrics) console.log(JSON.stringify(r.metrics));
    return 0;
  } finally {
    release();
  }
}
