// The backend as one object both transports use: openBackend() opens the store in the data folder,
// starts the job runner (resuming jobs a crash interrupted), discovers shipped models, and exposes
// call(method, body) (validate → handler → validated response, or {name, message} with a status),
// events, the files behind image URLs, and a clean close (running trainings checkpoint first).
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { parseRequest, parseResponse, PROVIDERS, toApiError, ValidationError, type ApiError, type ApiEvent, type FileKind, type Method } from '../../contract/api.ts';
import { ConflictError, NotFoundError, UnavailableError } from '../jobs/errors.ts';
import { JobRunner } from '../jobs/runner.ts';
import { IllegalJobTransitionError, IllegalRunTransitionError, openStore, StoreInputError, writeFileAtomic, type Store } from '../store/index.ts';
import { chatHandlers, settleStream } from './chats.ts';
import type { Ctx, Handlers, RuntimeChoice } from './context.ts';
import { datasetHandlers } from './datasets.ts';
import { discoverModels, modelHandlers } from './models.ts';
import { trainingHandlers } from './training.ts';

export interface BackendOptions {
  dataDir: string;
  /** Folders holding model folders to register at start (the shipped models/). */
  modelsDirs?: string[];
}

export type CallResult = { ok: true; result: unknown } | { ok: false; status: number; error: ApiError };

export interface Backend {
  readonly store: Store;
  readonly runner: JobRunner;
  readonly dataDir: string;
  readonly version: string;
  call(method: string, body: unknown): Promise<CallResult>;
  onEvent(listener: (e: ApiEvent) => void): () => void;
  /** The file behind /api/files/<kind>/<id>; NotFoundError when there is none. */
  filePath(kind: FileKind, id: number): string;
  close(): Promise<void>;
}

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** HTTP status for an error thrown by a handler. */
export function statusOf(e: unknown): number {
  if (e instanceof ValidationError || e instanceof StoreInputError || e instanceof RangeError) return 400;
  if (e instanceof NotFoundError) return 404;
  if (e instanceof ConflictError || e instanceof IllegalJobTransitionError || e instanceof IllegalRunTransitionError) return 409;
  if (e instanceof UnavailableError || (e as Error)?.name === 'ProviderUnavailableError') return 422;
  if ((e as Error)?.name === 'DatasetImportError' || (e as Error)?.name === 'RecipeConfigError') return 400;
  if (e instanceof Error && / does not exist$/.test(e.message)) return 404;
  return 500;
}

function asApiError(e: unknown, status: number): ApiError {
  const err = toApiError(e);
  if (status === 404 && err.name === 'Error') err.name = 'NotFoundError';
  return err;
}

/** settings.json's fields: one that is missing takes its default; one that is invalid too, with a warning naming it. */
const RUNTIME_FIELDS = { provider: z.enum(PROVIDERS), threads: z.int().min(1).max(256), inferenceThreads: z.int().min(1).max(256) };

async function loadRuntime(path: string): Promise<RuntimeChoice> {
  const fallback: RuntimeChoice = { provider: 'cpu', threads: Math.min(availableParallelism(), 4), inferenceThreads: 1 };
  if (!existsSync(path)) return fallback;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('not a JSON object');
  } catch (e) {
    console.warn(`settings: ignoring ${path}, which is not a valid settings file (${(e as Error).message}); using the CPU`);
    return fallback;
  }
  const out: Record<string, unknown> = { ...fallback };
  for (const [field, schema] of Object.entries(RUNTIME_FIELDS)) {
    if (raw[field] === undefined) continue;
    const r = schema.safeParse(raw[field]);
    if (r.success) out[field] = r.data;
    else console.warn(`settings: ${path}: ${field} ${JSON.stringify(raw[field])} is not valid (${r.error.issues[0]?.message}); using ${JSON.stringify(out[field])}`);
  }
  return out as unknown as RuntimeChoice;
}

export async function openBackend(opts: BackendOptions): Promise<Backend> {
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  const store = await openStore(join(dataDir, 'tessera.db'));
  const listeners = new Set<(e: ApiEvent) => void>();
  const emit = (e: ApiEvent) => {
    for (const l of listeners) {
      try {
        l(e);
      } catch (err) {
        console.error(`event listener failed on ${e.type}: ${(err as Error).message}`);
      }
    }
  };
  const settingsPath = join(dataDir, 'settings.json');
  const ctx: Ctx = {
    store, dataDir, emit, version: VERSION, startedAt: Date.now(), streams: new Map(),
    modelsDirs: (opts.modelsDirs ?? []).map((d) => resolve(d)),
    runtime: await loadRuntime(settingsPath),
    saveRuntime: (r) => writeFileAtomic(settingsPath, JSON.stringify(r, null, 1)),
    runner: undefined as unknown as JobRunner,
  };
  ctx.runner = new JobRunner({
    store, dataDir, emit, threads: () => ctx.runtime.threads, inferenceThreads: () => ctx.runtime.inferenceThreads, provider: () => ctx.runtime.provider,
    // a generate job's stream events go out under its stream id; its end closes the stream
    onMessage: (job, m) => {
      if (job.kind === 'generate' && m.type === 'stream') emit({ ...m.event, streamId: (job.params as { streamId: string }).streamId } as ApiEvent);
    },
    onSettled: (job) => {
      if (job.kind === 'generate') settleStream(ctx, job);
    },
  });
  const handlers: Handlers = { ...modelHandlers(ctx), ...trainingHandlers(ctx), ...datasetHandlers(ctx), ...chatHandlers(ctx) };
  await discoverModels(store, ctx.modelsDirs);
  ctx.runner.start();

  const inside = (root: string, rel: string) => {
    const full = resolve(root, rel);
    const r = relative(resolve(root), full);
    if (r.startsWith('..') || r.startsWith(sep) || resolve(r) === r) throw new NotFoundError(`item path ${JSON.stringify(rel)} leaves its dataset folder`);
    return full;
  };

  return {
    store, dataDir, runner: ctx.runner, version: VERSION,
    async call(method, body) {
      try {
        if (!Object.prototype.hasOwnProperty.call(handlers, method)) throw new NotFoundError(`unknown API method ${JSON.stringify(method)}`);
        const m = method as Method;
        const req = parseRequest(m, body);
        const result = await (handlers[m] as (r: unknown) => unknown)(req);
        return { ok: true, result: parseResponse(m, result) };
      } catch (e) {
        const status = statusOf(e);
        if (status === 500) console.error(`${method}: ${(e as Error)?.stack ?? String(e)}`);
        return { ok: false, status, error: asApiError(e, status) };
      }
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    filePath(kind, id) {
      try {
        switch (kind) {
          case 'items': {
            const item = store.items.get(id);
            return inside(store.datasets.get(item.datasetId).rootPath, item.path);
          }
          case 'generations': return store.generations.get(id).imagePath;
          case 'attachments': return store.chats.attachment(id).path;
          case 'samples': {
            const s = store.jobs.sample(id);
            if (s.imagePath === null) throw new NotFoundError(`sample ${id} is a text sample; it has no image`);
            return s.imagePath;
          }
        }
      } catch (e) {
        if (e instanceof NotFoundError) throw e;
        throw new NotFoundError((e as Error).message);
      }
    },
    async close() {
      for (const s of ctx.streams.values()) s.abort();
      await ctx.runner.close();
      store.close();
    },
  };
}
