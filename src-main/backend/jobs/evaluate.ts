// The 'evaluate' job kind, inside its worker: measures an installed model on a dataset split of the
// store and records the numbers as an evaluations row (evaluations.list, runs.get, models.get).
//   tokenizer (tessera-vqtok): reconstruction PSNR / SSIM, codebook usage and perplexity
//     (engine/train/tokenizer.ts evaluateReconstruction, as `tessera eval tokenizer`), plus a grid
//     of originals above their reconstructions as the job's image sample;
//   unified: captions, category and yes/no answers, answer perplexity and image-code NLL
//     (engine/infer/eval.ts evaluateModel, as `tessera eval lm` without generation).
// The split is written as a small imagefolder under the job's folder first (datasets/eval-folder.ts).
import { join } from 'node:path';
import { loadImageFolder } from '../../engine/data/imagefolder.ts';
import { evaluateModel } from '../../engine/infer/eval.ts';
import { loadUnifiedModel } from '../../engine/infer/unified.ts';
import { DEFAULT_VIEWS } from '../../engine/infer/views.ts';
import { encodePng } from '../../engine/io/image.ts';
import { tileImages } from '../../engine/models/image-grid.ts';
import { ImageTokenizer } from '../../engine/models/image-tokenizer.ts';
import { evaluateReconstruction } from '../../engine/train/tokenizer.ts';
import { writeEvalFolder } from '../datasets/index.ts';
import { openStore, writeFileAtomic, type ModelRow, type Split } from '../store/index.ts';
import type { ExecContext, Executor } from './kinds.ts';

/** params of an evaluate job (the contract's runs.evaluate request, the dataset resolved). */
export interface EvaluateParams {
  modelId: number;
  runId: number | null;
  datasetId: number;
  split: Split;
  limit: number;
}

type Metrics = Record<string, number | string | null>;

const finite = (m: Record<string, number>): Metrics => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number.isFinite(v) ? v : null]));

function progress(post: ExecContext['post'], phase: string, step: number, total: number, t0: number): void {
  const elapsed = (performance.now() - t0) / 1000;
  const eta = step > 0 && step < total ? (elapsed / step) * (total - step) : null;
  post({ type: 'progress', progress: { step, total, phase, loss: null, etaSeconds: eta, metrics: {} } });
}

async function evalTokenizer(model: ModelRow, dataDir: string, p: EvaluateParams, threads: number, ctx: ExecContext, outDir: string): Promise<Metrics> {
  const tok = await ImageTokenizer.load(model.dir, { threads });
  try {
    const set = await loadImageFolder(dataDir, { split: p.split, size: tok.imageSize, cache: false });
    const n = set.rows.length;
    const t0 = performance.now();
    let done = 0;
    progress(ctx.post, 'reconstruct', 0, n, t0);
    const e = await evaluateReconstruction(
      (px, m) => {
        ctx.signal.throwIfAborted();
        return tok.encodeCodes(px, m);
      },
      async (codes, m) => {
        const px = await tok.decodeCodes(codes, m);
        progress(ctx.post, 'reconstruct', (done += m), n, t0);
        return px;
      },
      set.images, n, tok.imageSize, tok.codebookSize,
    );
    const seconds = (performance.now() - t0) / 1000;
    const k = Math.min(8, n), per = 3 * tok.imageSize * tok.imageSize;
    const grid = tileImages([set.images.subarray(0, k * per), e.recon.subarray(0, k * per)], k, tok.imageSize);
    const gridPath = join(outDir, 'reconstructions.png');
    await writeFileAtomic(gridPath, await encodePng(grid, { Description: 'top: originals, bottom: reconstructions', Model: model.name }));
    ctx.post({ type: 'sample', step: n, kind: 'image', imagePath: gridPath, prompt: `${k} ${p.split} images (top) and their reconstructions (bottom)` });
    return finite({
      psnr: e.psnr, ssim: e.ssim, usage: e.usage, perplexity: e.perplexity, images: n,
      bits_per_image: tok.positions * tok.depth * Math.log2(tok.codebookSize), positions_per_image: tok.positions, codes_per_position: tok.depth,
      images_per_s: n / seconds,
    });
  } finally {
    await tok.release();
  }
}

async function evalUnified(model: ModelRow, dataDir: string, p: EvaluateParams, threads: number, ctx: ExecContext): Promise<Metrics> {
  const m = await loadUnifiedModel(model.dir, { threads });
  try {
    const t0 = performance.now();
    progress(ctx.post, 'questions', 0, p.limit, t0);
    const r = await evaluateModel(m, {
      dataDir, split: p.split, limit: p.limit, generate: 0, views: DEFAULT_VIEWS,
      onProgress: (what, done, total) => {
        ctx.signal.throwIfAborted();
        progress(ctx.post, what, done, total, t0);
        if (what === 'questions' && done === total) ctx.post({ type: 'log', level: 'info', message: 'questions answered; measuring answer perplexity and image-code NLL' });
      },
    });
    return finite(r);
  } finally {
    await m.release();
  }
}

export const evaluateJob: Executor = async (job, ctx) => {
  const p = job.params as unknown as EvaluateParams;
  const store = await openStore(job.dbPath);
  try {
    const model = store.models.get(p.modelId);
    if (model.kind === 'lm') throw new Error(`model "${model.name}" is a text-only LM; evaluation needs an image tokenizer or a unified model`);
    const t0 = performance.now();
    const set = await writeEvalFolder(store, p.datasetId, join(job.outDir, 'eval-set'), { split: p.split, limit: p.limit, requireCaption: model.kind === 'unified' });
    ctx.post({ type: 'dataset', datasetId: p.datasetId });
    ctx.post({ type: 'log', level: 'info', message: `evaluating "${model.name}" on ${set.images} of ${set.available} '${p.split}' images${set.uncaptioned ? ` (${set.uncaptioned} without a caption left out)` : ''}` });
    const measured = model.kind === 'tokenizer'
      ? await evalTokenizer(model, set.dir, p, job.threads, ctx, job.outDir)
      : await evalUnified(model, set.dir, p, job.threads, ctx);
    const metrics: Metrics = { ...measured, model_kind: model.kind, seconds: (performance.now() - t0) / 1000 };
    const row = store.evaluations.add({ modelId: model.id, runId: p.runId, datasetId: p.datasetId, split: p.split, metrics });
    return { status: 'done', result: { evaluationId: row.id, modelId: model.id, datasetId: p.datasetId, split: p.split, metrics } };
  } finally {
    store.close();
  }
};
