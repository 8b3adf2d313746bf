// Sessions that run in a worker thread, so session.run never blocks the caller's event loop.
// One WorkerRuntime = one thread hosting any number of sessions; WorkerSession mirrors Session.
import type { Worker } from 'node:worker_threads';
import type { Tensor } from '../graph/graph.ts';
import { checkProvider, type SessionOptions } from './session.ts';
import { startWorker } from './threads.ts';
import type { Reply, Request } from './worker.ts';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Body = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class WorkerRuntime {
  private worker: Worker;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;

  constructor() {
    this.worker = startWorker(new URL(`./worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
    this.worker.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.ok) p.resolve(r.result);
      else p.reject(Object.assign(new Error(r.error.message), { name: r.error.name }));
    });
    const fail = (err: Error) => {
      this.dead = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`runtime worker exited (code ${code})`)));
    this.worker.unref();
  }

  call<T>(req: Body, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    this.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...req, id }, transfer);
    }).finally(() => {
      if (this.pending.size === 0) this.worker.unref();
    });
  }

  async createSession(model: Uint8Array, options: SessionOptions = {}): Promise<WorkerSession> {
    checkProvider(options.provider ?? 'cpu'); // fail here, with the caller's stack
    const r = await this.call<{ handle: number; inputNames: string[]; outputNames: string[] }>({ kind: 'create', model, options });
    return new WorkerSession(this, r.handle, r.inputNames, r.outputNames);
  }

  async terminate(): Promise<void> {
    this.dead = new Error('runtime terminated');
    await this.worker.terminate();
  }
}

export class WorkerSession {
  constructor(
    private readonly rt: WorkerRuntime,
    private readonly handle: number,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  /** Feeds are copied to the worker unless `transfer` is set (then the caller's buffers are detached). */
  run(feeds: Record<string, Tensor>, outputs?: string[], transfer = false): Promise<Record<string, Tensor>> {
    const buffers = transfer ? [...new Set(Object.values(feeds).map((t) => t.data.buffer as ArrayBuffer))] : [];
    return this.rt.call({ kind: 'run', session: this.handle, feeds, outputs }, buffers);
  }

  release(): Promise<void> {
    return this.rt.call({ kind: 'release', session: this.handle });
  }
}
