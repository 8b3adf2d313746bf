// What every handler shares: the store, the job runner, the folders, the event emitter, the runtime
// settings, the live streams (chat replies, generations) that can be stopped; and the Handlers type,
// one function per contract method, transport-agnostic (HTTP, WebSocket and Electron IPC call the
// same table through Backend.call).
import type { ApiEvent, Method, ParsedReq, Res } from '../../contract/api.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { Store } from '../store/index.ts';

export interface RuntimeChoice {
  provider: 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu';
  /** Background jobs: training, tokenizing, evaluation. */
  threads: number;
  /** Chat replies, captions and drawing. */
  inferenceThreads: number;
}

export interface Ctx {
  store: Store;
  runner: JobRunner;
  dataDir: string;
  modelsDirs: string[];
  emit(e: ApiEvent): void;
  runtime: RuntimeChoice;
  saveRuntime(r: RuntimeChoice): Promise<void>;
  /** Live streams by id: stopping one aborts it. */
  streams: Map<string, AbortController>;
  startedAt: number;
  version: string;
}

export type Handler<M extends Method> = (req: ParsedReq<M>) => Res<M> | Promise<Res<M>>;
export type Handlers = { [M in Method]: Handler<M> };
