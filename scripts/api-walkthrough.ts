// The backend end to end, only through `tessera serve`'s HTTP + WebSocket API (contract/client.ts):
// build a small emoji imagefolder (the CLI), start serve as a child process, import it, curate it
// (find duplicates, edit a caption, assign splits, export the curated set and import that), cache
// its codes with the shipped image tokenizer, train a small image tokenizer, SIGKILL the server
// mid-training, restart it and watch the job resume from its checkpoint and finish, check its losses
// against an uninterrupted run of the same config, evaluate the trained tokenizer and the shipped
// unified model, and draw an image with models/tessera-emoji. Prints every step with its numbers.
//   npm run walkthrough [-- --work DIR] [--emoji N] [--steps N] [--no-generate] [--unified-eval N]
// test/server/walkthrough.test.ts runs the same function with tiny settings.
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { ApiEvent, Job } from '../src-main/contract/api.ts';
import { createHttpClient, type HttpClient, type WebSocketCtor } from '../src-main/contract/client.ts';
import { spawnServe, type ServeChild } from '../src-main/server/child.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface WalkthroughOptions {
  workDir: string;
  /** Emoji drawn in the set (each in four styles). */
  emoji: number;
  /** The tokenizer recipe's config (merged over its defaults by the server). */
  config: Record<string, unknown>;
  /** SIGKILL the server a few steps after the checkpoint of this step is recorded (those steps are redone). */
  killAfterCheckpoint: number;
  /** Images of the test split for the trained tokenizer's evaluation; 0 skips it. */
  evalLimit: number;
  /** Images for the shipped unified model's evaluation; 0 skips it. */
  unifiedEvalLimit: number;
  /** Draw an image with the shipped unified model. */
  generate: boolean;
  print(line: string): void;
}

export interface WalkthroughResult {
  datasetId: number;
  curatedId: number;
  duplicates: { exact: number; near: number };
  runId: number;
  jobId: number;
  killedAtStep: number;
  lastCheckpointBeforeKill: number;
  firstStepAfterRestart: number;
  checkpoints: number;
  losses: (number | null)[];
  referenceLosses: (number | null)[];
  evaluations: Record<string, unknown>[];
  generationUrl: string | null;
}

/** A client plus every event since it connected, with waiting on past or future events. */
class Session {
  readonly events: ApiEvent[] = [];
  private waiters: { pred: (e: ApiEvent) => boolean; resolve: (e: ApiEvent) => void }[] = [];
  private constructor(readonly serve: ServeChild, readonly api: HttpClient) {}

  static async open(serve: ServeChild, onEvent?: (e: ApiEvent) => void): Promise<Session> {
    const api = createHttpClient({ baseUrl: serve.base, token: serve.token, WebSocket: WebSocket as unknown as WebSocketCtor });
    const s = new Session(serve, api);
    api.onEvent((e) => {
      s.events.push(e);
      onEvent?.(e);
      s.waiters = s.waiters.filter((w) => (w.pred(e) ? (w.resolve(e), false) : true));
    });
    await api.ready();
    return s;
  }

  until<T extends ApiEvent = ApiEvent>(pred: (e: ApiEvent) => boolean, what: string, timeoutMs = 300_000): Promise<T> {
    const hit = this.events.find(pred);
    if (hit) return Promise.resolve(hit as T);
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (e) => { clearTimeout(t); resolve(e as T); } });
    });
  }

  /** Waits for the job to end (done, failed or cancelled); throws with its error unless done. */
  async job(id: number, what: string): Promise<Job> {
    const ended = (j: Job) => ['done', 'failed', 'cancelled'].includes(j.status);
    let j = await this.api.call('jobs.get', { id });
    if (!ended(j)) j = (await this.until<Extract<ApiEvent, { type: 'job.state' }>>((e) => e.type === 'job.state' && e.job.id === id && ended(e.job), what)).job;
    if (j.status !== 'done') throw new Error(`${what}: job ${id} ended ${j.status}${j.error ? `: ${j.error}` : ''}`);
    return j;
  }

  close(): void {
    this.api.close();
  }
}

function run(cmd: string[], what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...cmd], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${what} failed (exit ${code}):\n${out}`))));
  });
}

const fmt = (x: unknown) => (typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toFixed(4)) : String(x));
const lossesOf = async (api: HttpClient, runId: number) => (await api.call('runs.metrics', { id: runId })).points.map((p) => p.values.loss ?? null);

export async function walkthrough(o: WalkthroughOptions): Promise<WalkthroughResult> {
  const say = o.print;
  const dataDir = join(o.workDir, 'data');
  const src = join(o.workDir, 'emoji');

  // 0. the source files: a small emoji imagefolder, plus one exact copy of an image under a new name
  await run(['src-main/cli/main.ts', 'data', 'emoji', '--out', src, '--limit', String(o.emoji)], 'tessera data emoji');
  const first = JSON.parse(readFileSync(join(src, 'metadata.jsonl'), 'utf8').split('\n')[0]) as { file_name: string };
  const copyName = first.file_name.replace(/\.png$/, '-copy.png');
  copyFileSync(join(src, first.file_name), join(src, copyName));
  appendFileSync(join(src, 'metadata.jsonl'), JSON.stringify({ ...first, file_name: copyName }) + '\n');
  say(`0. built ${src}: ${o.emoji} emoji × 4 styles, plus ${copyName} (an exact copy)`);

  // 1. serve
  let serve = await spawnServe(dataDir);
  const alive = () => serve.child.exitCode === null && serve.child.signalCode === null;
  try {
    let s = await Session.open(serve);
    const { api } = s;
    say(`1. tessera serve (pid ${serve.child.pid}) at ${serve.base}`);

    // 2. import
    const imp = (await api.call('datasets.import', { kind: 'imagefolder', path: src, name: 'emoji-small' })).job;
    const imported = await s.job(imp.id, 'import');
    const datasetId = imported.datasetId!;
    const ds = (await api.call('datasets.get', { id: datasetId })).dataset;
    say(`2. imported dataset ${datasetId}: ${ds.total} items (${Object.entries(ds.byStatus).map(([k, v]) => `${k} ${v}`).join(', ')}), splits ${JSON.stringify(ds.bySplit)}, ${ds.importErrors} import errors`);

    // 3. curate
    const duplicates = await api.call('datasets.findDuplicates', { datasetId });
    const groups = (await api.call('datasets.duplicates', { datasetId })).groups;
    say(`3. duplicates: ${duplicates.exact} exact, ${duplicates.near} near; e.g. ${groups[0] ? `${groups[0].original.path} ← ${groups[0].duplicates.map((d) => d.path).join(', ')}` : 'none'}`);
    const item = (await api.call('datasets.items', { datasetId, status: 'ok', limit: 1 })).items[0];
    const edited = await api.call('datasets.editCaption', { itemId: item.id, text: `${item.caption ?? ''} (checked)`.trim() });
    say(`   caption of ${item.path}: ${JSON.stringify(item.caption)} → ${JSON.stringify(edited.item.caption)} (${edited.captions.length} versions kept)`);
    // by folder: apple and google train, twitter validation, facebook (the held-out style) test
    const split = await api.call('datasets.assignSplits', { datasetId, spec: { byPathPrefix: { 'train/apple/': 'train', 'train/google/': 'train', 'train/twitter/': 'validation', 'validation/': 'validation', 'test/': 'test' } } });
    say(`   splits by style folder: ${JSON.stringify(split.counts)}`);
    const exportDir = join(o.workDir, 'emoji-curated');
    const exported = await api.call('datasets.export', { datasetId, outDir: exportDir });
    const cur = (await api.call('datasets.import', { kind: 'imagefolder', path: exportDir, name: 'emoji-curated' })).job;
    const curatedId = (await s.job(cur.id, 'import of the curated export')).datasetId!;
    const curated = (await api.call('datasets.get', { id: curatedId })).dataset;
    say(`   exported ${exported.written} curated items (duplicates left out) and imported them as dataset ${curatedId}: splits ${JSON.stringify(curated.bySplit)}`);

    // 4. tokenize with the shipped image tokenizer
    const models = (await api.call('models.list', {})).models;
    const shippedTok = models.find((m) => m.kind === 'tokenizer');
    if (!shippedTok) throw new Error('no image tokenizer installed (models/emoji-image-tokenizer)');
    const tj = await s.job((await api.call('datasets.tokenize', { datasetId: curatedId, modelId: shippedTok.id })).job.id, 'tokenize');
    const usage = await api.call('datasets.codebookUsage', { datasetId: curatedId, modelId: shippedTok.id });
    say(`4. tokenized ${usage.items} images with "${shippedTok.name}" (${JSON.stringify(tj.result)}): ${usage.codes} codes, ${usage.distinct} of ${usage.codebookSize} codes used (${(usage.fraction * 100).toFixed(1)}%)`);

    // 5. train, kill -9 mid-way, restart, resume
    const started = await api.call('training.start', { recipe: 'tokenizer', datasetId: curatedId, config: o.config });
    const { run: trainRun, job: trainJob } = started;
    say(`5. training run ${trainRun.id} (job ${trainJob.id}): tokenizer recipe, ${(trainRun.config.train as { steps: number }).steps} steps`);
    await s.until((e) => e.type === 'job.log' && e.jobId === trainJob.id && e.message === `checkpoint at step ${o.killAfterCheckpoint}`, `the checkpoint at step ${o.killAfterCheckpoint}`);
    await s.until((e) => e.type === 'job.progress' && e.jobId === trainJob.id && e.progress.step >= o.killAfterCheckpoint + 2, `step ${o.killAfterCheckpoint + 2}`);
    // killed at once (a query first would let the worker run on to the next checkpoint meanwhile)
    const killTime = Date.now();
    serve.child.kill('SIGKILL');
    const killed = await serve.exited;
    s.close();
    const killedAtStep = Math.max(...s.events.flatMap((e) => (e.type === 'job.progress' && e.jobId === trainJob.id ? [e.progress.step] : [])));

    serve = await spawnServe(dataDir);
    s = await Session.open(serve);
    const api2 = s.api;
    // the checkpoints recorded before the kill (the resumed job records later ones)
    const lastCheckpointBeforeKill = Math.max(...(await api2.call('runs.get', { id: trainRun.id })).checkpoints.filter((c) => c.createdAt <= killTime).map((c) => c.step));
    say(`   SIGKILLed the server (${killed.signal}) at step ${killedAtStep}; newest checkpoint recorded: step ${lastCheckpointBeforeKill}`);
    say(`   restarted tessera serve (pid ${serve.child.pid}) at ${serve.base}: ${serve.output().split('\n').find((l) => /resumed|queued/.test(l)) ?? ''}`);
    const finished = await s.job(trainJob.id, 'the resumed training');
    const stepsAfter = s.events.flatMap((e) => (e.type === 'job.progress' && e.jobId === trainJob.id ? [e.progress.step] : []));
    const firstStepAfterRestart = stepsAfter.length ? Math.min(...stepsAfter) : NaN;
    const checkpoints = (await api2.call('runs.get', { id: trainRun.id })).checkpoints.length;
    say(`   the job resumed (first step seen after the restart: ${firstStepAfterRestart}) and finished: ${JSON.stringify(finished.result?.metrics ?? {})}`);
    const losses = await lossesOf(api2, trainRun.id);

    // the same config uninterrupted, for comparison
    const ref = await api2.call('training.start', { recipe: 'tokenizer', datasetId: curatedId, config: o.config });
    await s.job(ref.job.id, 'the reference training');
    const referenceLosses = await lossesOf(api2, ref.run.id);
    const same = losses.length === referenceLosses.length && losses.every((l, k) => l === referenceLosses[k]);
    say(`   losses of the resumed run ${same ? 'equal' : 'DIFFER FROM'} an uninterrupted run's at all ${losses.length} steps (first ${fmt(losses[0])}, last ${fmt(losses.at(-1))}; ${checkpoints} checkpoints)`);

    // 6. evaluate
    const evaluations: Record<string, unknown>[] = [];
    const evaluate = async (modelId: number, limit: number, runId?: number) => {
      const j = await s.job((await api2.call('runs.evaluate', { modelId, runId, datasetId: curatedId, split: 'test', limit })).job.id, `evaluation of model ${modelId}`);
      const m = (j.result as { metrics: Record<string, unknown> }).metrics;
      evaluations.push(m);
      return Object.entries(m).filter(([k]) => !['model_kind'].includes(k)).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
    };
    const trained = (await api2.call('runs.get', { id: trainRun.id })).run.modelId;
    if (o.evalLimit > 0 && trained) say(`6. trained tokenizer (model ${trained}) on the held-out test split: ${await evaluate(trained, o.evalLimit, trainRun.id)}`);
    const unified = (await api2.call('models.list', {})).models.find((m) => m.kind === 'unified');
    if (o.unifiedEvalLimit > 0 && unified) say(`   "${unified.name}" on the held-out test split: ${await evaluate(unified.id, o.unifiedEvalLimit)}`);

    // 7. generate
    let generationUrl: string | null = null;
    if (o.generate && unified) {
      const t0 = performance.now();
      const g = await api2.call('generate.start', { prompt: 'a red apple', seed: 7, n: 1 });
      const done = await s.until<Extract<ApiEvent, { type: 'stream.done' | 'stream.error' }>>((e) => (e.type === 'stream.done' || e.type === 'stream.error') && e.streamId === g.streamId, 'the generated image');
      if (done.type === 'stream.error') throw new Error(`generation failed: ${done.error.message}`);
      generationUrl = done.generations[0].url;
      const png = await fetch(`${serve.base}${generationUrl}?token=${serve.token}`);
      const file = join(o.workDir, 'red-apple.png');
      writeFileSync(file, Buffer.from(await png.arrayBuffer()));
      say(`7. "${unified.name}" drew "a red apple" (seed ${g.seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${generationUrl} → ${file}`);
    }

    s.close();
    serve.child.kill('SIGTERM');
    await serve.exited;
    return { datasetId, curatedId, duplicates, runId: trainRun.id, jobId: trainJob.id, killedAtStep, lastCheckpointBeforeKill, firstStepAfterRestart, checkpoints, losses, referenceLosses, evaluations, generationUrl };
  } finally {
    if (alive()) serve.child.kill('SIGKILL');
  }
}

/** A small tokenizer config (32×32 images, 48 codes): about a second per ten steps on two cores. */
export const smallTokenizerConfig = (steps: number, checkpointEvery: number) => ({
  model: { image_size: 32, channels: [8, 16], enc_blocks: [0, 1], dec_blocks: [0, 1], code_dim: 8, codebook_size: 48, first_token_id: 16, fold: 2, norm_groups: 4 },
  data: { eval_images: 16 },
  train: { steps, batch: 8, ae_warmup_steps: Math.floor(steps / 4), warmup_steps: 2, checkpoint_every: checkpointEvery, eval_every: 0 },
  codebook: { init_samples: 32, kmeans_iters: 3 },
});

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { work: { type: 'string' }, emoji: { type: 'string' }, steps: { type: 'string' }, 'no-generate': { type: 'boolean' }, 'unified-eval': { type: 'string' } } });
  const steps = Number(values.steps ?? 60);
  if (!Number.isInteger(steps) || steps < 20) throw new Error(`--steps must be an integer of at least 20 (the server is killed after a checkpoint mid-way), got ${values.steps}`);
  const workDir = values.work ?? mkdtempSync(join(tmpdir(), 'tessera-walkthrough-'));
  const t0 = performance.now();
  walkthrough({
    workDir, emoji: Number(values.emoji ?? 24), config: smallTokenizerConfig(steps, 10), killAfterCheckpoint: 10 * Math.floor(steps / 20),
    evalLimit: 32, unifiedEvalLimit: Number(values['unified-eval'] ?? 4), generate: !values['no-generate'], print: (l) => console.log(l),
  }).then((r) => {
    const ok = r.losses.length > 0 && r.losses.every((l, k) => l === r.referenceLosses[k]);
    console.log(`\nwalkthrough ${ok ? 'passed' : 'FAILED'} in ${((performance.now() - t0) / 1000).toFixed(0)} s; files under ${workDir}`);
    process.exitCode = ok ? 0 : 1;
  }, (e: unknown) => {
    console.error(`walkthrough failed: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  });
}
