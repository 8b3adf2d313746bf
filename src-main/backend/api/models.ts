// Handlers: app health and info, installed models (cards and metrics from tessera.json, import of a
// model folder, discovery of the folders shipped in models/), and the runtime settings (execution
// provider and threads; an unavailable provider is refused with the reason).
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { API_VERSION, ValidationError, type Model } from '../../contract/api.ts';
import { providerStatus, ProviderUnavailableError } from '../../engine/runtime/session.ts';
import { readFolderModel } from '../jobs/model-card.ts';
import { MODEL_KINDS, SCHEMA_VERSION, type ModelRow, type Store } from '../store/index.ts';
import type { Ctx, Handlers } from './context.ts';

const metricsOf = (card: Record<string, unknown>): Model['metrics'] => {
  const m = card.metrics;
  if (!m || typeof m !== 'object') return {};
  return Object.fromEntries(Object.entries(m as Record<string, unknown>).filter(([, v]) => typeof v === 'number').map(([k, v]) => [k, Number.isFinite(v) ? (v as number) : null]));
};

export const modelToApi = (r: ModelRow): Model => ({ id: r.id, name: r.name, kind: r.kind, dir: r.dir, card: r.card, metrics: metricsOf(r.card), createdAt: r.createdAt });

/** Registers a model folder (a unified model's tessera.json, or an image tokenizer's config.json); errors name the file. */
export async function importModelFolder(store: Store, path: string, name?: string): Promise<ModelRow> {
  const dir = resolve(path);
  if (!existsSync(dir)) throw new ValidationError('models.import', 'path', `no folder at ${dir}`);
  let found;
  try {
    found = await readFolderModel(dir);
  } catch (e) {
    throw new ValidationError('models.import', 'path', (e as Error).message);
  }
  if (!found) throw new ValidationError('models.import', 'path', `${dir} is not a Tessera model folder: it needs a tessera.json (format tessera-model/1, or a kind of ${MODEL_KINDS.join('/')}) or an image tokenizer's config.json`);
  const existing = store.models.list().find((m) => resolve(m.dir) === dir);
  if (existing) return existing;
  let unique = name ?? found.name;
  if (!name) for (let k = 2; store.models.getByName(unique); k++) unique = `${found.name} (${k})`;
  return store.models.create({ name: unique, kind: found.kind, dir, card: found.card });
}

/** Registers every model folder (with a tessera.json) under the shipped models dirs not yet known. */
export async function discoverModels(store: Store, dirs: readonly string[]): Promise<void> {
  for (const root of dirs) {
    if (!existsSync(root)) continue;
    const candidates = [root, ...(await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => join(root, d.name))];
    for (const dir of candidates) {
      if (!existsSync(join(dir, 'tessera.json')) && !existsSync(join(dir, 'config.json'))) continue;
      try {
        await importModelFolder(store, dir);
      } catch (e) {
        console.warn(`models: skipping ${dir}: ${(e as Error).message}`);
      }
    }
  }
}

function runtimeInfo(ctx: Ctx) {
  return { ...ctx.runtime, maxThreads: availableParallelism(), providers: providerStatus() };
}

export function modelHandlers(ctx: Ctx): Pick<Handlers, 'app.health' | 'app.info' | 'models.list' | 'models.get' | 'models.import' | 'models.delete' | 'runtime.get' | 'runtime.set'> {
  const { store } = ctx;
  return {
    'app.health': () => ({ ok: true, version: ctx.version, apiVersion: API_VERSION, schemaVersion: SCHEMA_VERSION, uptimeSeconds: (Date.now() - ctx.startedAt) / 1000 }),
    'app.info': () => ({ version: ctx.version, platform: process.platform, arch: process.arch, cores: availableParallelism(), dataDir: ctx.dataDir, modelsDirs: ctx.modelsDirs }),
    'models.list': () => ({ models: store.models.list().map(modelToApi) }),
    'models.get': ({ id }) => ({ model: modelToApi(store.models.get(id)), evaluations: store.evaluations.list({ modelId: id }) }),
    'models.import': async ({ path, name }) => modelToApi(await importModelFolder(store, path, name)),
    'models.delete': ({ id }) => ({ deleted: store.models.delete(id) }),
    'runtime.get': () => runtimeInfo(ctx),
    'runtime.set': async ({ provider, threads, inferenceThreads }) => {
      if (provider !== undefined) {
        const s = providerStatus().find((p) => p.name === provider)!;
        if (!s.available) throw new ProviderUnavailableError(`the ${provider} execution provider is not available here: ${s.reason}. Tessera keeps running on ${ctx.runtime.provider}.`);
      }
      const max = availableParallelism();
      for (const [field, n] of [['threads', threads], ['inferenceThreads', inferenceThreads]] as const)
        if (n !== undefined && n > max) throw new ValidationError('runtime.set', field, `this machine has ${max} cores; choose 1 to ${max} threads, not ${n}`);
      ctx.runtime = { provider: provider ?? ctx.runtime.provider, threads: threads ?? ctx.runtime.threads, inferenceThreads: inferenceThreads ?? ctx.runtime.inferenceThreads };
      await ctx.saveRuntime(ctx.runtime);
      return runtimeInfo(ctx);
    },
  };
}
