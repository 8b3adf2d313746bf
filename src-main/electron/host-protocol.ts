// The message protocol between the Electron main process and the backend host (backend-host.ts,
// a utilityProcess; a child_process.fork under plain Node), and the main side's client for it.
// Main stays thin and never loads the store, ONNX Runtime or sharp: every API call, file lookup
// and event crosses this channel as a structured-clone/JSON-safe message.
import type { ApiError, ApiEvent, FileKind } from '../contract/api.ts';

export interface HostOptions { dataDir: string; modelsDirs: string[] }
export type CallResult = { ok: true; result: unknown } | { ok: false; status: number; error: ApiError };

/** main → host */
export type ToHost =
  | { type: 'open'; options: HostOptions }
  | { type: 'call'; id: number; method: string; request: unknown }
  | { type: 'file'; id: number; kind: FileKind; fileId: number }
  | { type: 'close' };

/** host → main */
export type FromHost =
  | { type: 'ready'; version: string; pid: number }
  | { type: 'failed'; error: ApiError }
  | { type: 'reply'; id: number; result: CallResult }
  | { type: 'file'; id: number; path: string | null; error: ApiError | null }
  | { type: 'event'; event: ApiEvent }
  | { type: 'closed' };

/** What the main side needs from a message channel: utilityProcess and ChildProcess both fit. */
export interface HostChannel {
  post(message: ToHost): void;
  onMessage(listener: (message: FromHost) => void): void;
  /** Called with the exit code when the host process ends. */
  onExit(listener: (code: number | null) => void): void;
}

/** The backend as the main process sees it: the same surface the IPC and protocol handlers use. */
export interface RemoteBackend {
  readonly version: string;
  readonly pid: number;
  call(method: string, request: unknown): Promise<CallResult>;
  onEvent(listener: (e: ApiEvent) => void): () => void;
  /** The file behind /api/files/<kind>/<id>; rejects with a NotFoundError-named error when there is none. */
  filePath(kind: FileKind, id: number): Promise<string>;
  /** Asks the host to close the backend (running trainings checkpoint) and waits for it to exit. */
  close(): Promise<void>;
}

const hostGone = (what: string, code: number | null): ApiError => ({
  name: 'BackendExitedError',
  message: `the backend process exited${code === null ? '' : ` with code ${code}`} before ${what} was answered; restart Tessera`,
});

/** Sends `open`, waits for `ready` (or rejects with the host's reason), and returns the client. */
export function connectHost(channel: HostChannel, options: HostOptions, timeoutMs = 120_000): Promise<RemoteBackend> {
  let next = 1;
  let exited: number | null | undefined;
  const calls = new Map<number, (r: CallResult) => void>();
  const files = new Map<number, { resolve: (p: string) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(e: ApiEvent) => void>();
  let closed: (() => void) | null = null;
  const exitWaiters: (() => void)[] = [];

  return new Promise<RemoteBackend>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the backend process did not start within ${timeoutMs / 1000} s`)), timeoutMs);
    const client = (version: string, pid: number): RemoteBackend => ({
      version, pid,
      call(method, request) {
        if (exited !== undefined) return Promise.resolve({ ok: false, status: 503, error: hostGone(method, exited) });
        const id = next++;
        return new Promise<CallResult>((res) => { calls.set(id, res); channel.post({ type: 'call', id, method, request }); });
      },
      onEvent(listener) {
        listeners.add(listener);
        return () => { listeners.delete(listener); };
      },
      filePath(kind, fileId) {
        if (exited !== undefined) return Promise.reject(Object.assign(new Error(hostGone('a file lookup', exited).message), { name: 'BackendExitedError' }));
        const id = next++;
        return new Promise<string>((res, rej) => { files.set(id, { resolve: res, reject: rej }); channel.post({ type: 'file', id, kind, fileId }); });
      },
      close() {
        if (exited !== undefined) return Promise.resolve();
        return new Promise<void>((res) => {
          closed = res;
          exitWaiters.push(res);
          channel.post({ type: 'close' });
        });
      },
    });
    channel.onMessage((m) => {
      switch (m.type) {
        case 'ready': clearTimeout(timer); resolve(client(m.version, m.pid)); break;
        case 'failed': clearTimeout(timer); reject(Object.assign(new Error(m.error.message), { name: m.error.name })); break;
        case 'reply': calls.get(m.id)?.(m.result); calls.delete(m.id); break;
        case 'file': {
          const f = files.get(m.id);
          files.delete(m.id);
          if (!f) break;
          if (m.path !== null) f.resolve(m.path);
          else f.reject(Object.assign(new Error(m.error?.message ?? 'no such file'), { name: m.error?.name ?? 'NotFoundError' }));
          break;
        }
        case 'event': for (const l of listeners) l(m.event); break;
        case 'closed': closed?.(); break;
      }
    });
    channel.onExit((code) => {
      exited = code;
      clearTimeout(timer);
      reject(new Error(`the backend process exited with code ${code} while starting`));
      for (const [id, res] of calls) { res({ ok: false, status: 503, error: hostGone('call', code) }); calls.delete(id); }
      for (const [id, f] of files) { f.reject(Object.assign(new Error(hostGone('a file lookup', code).message), { name: 'BackendExitedError' })); files.delete(id); }
      for (const w of exitWaiters.splice(0)) w();
    });
    channel.post({ type: 'open', options });
  });
}
