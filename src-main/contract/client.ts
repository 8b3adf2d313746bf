// A typed client for the API over HTTP + WebSocket (browser mode, scripts, tests). The Electron
// renderer uses the same ApiClient shape over IPC. No Node imports: fetch and WebSocket are the
// platform's (pass a WebSocket class where there is no global one, e.g. `ws` under Node 20).
import { ApiEvent, API_PREFIX, EVENTS_PATH, type ApiError, type Method, type Req, type Res } from './api.ts';

export interface ApiClient {
  call<M extends Method>(method: M, request: Req<M>): Promise<Res<M>>;
  /** Subscribes to server events; returns an unsubscribe function. */
  onEvent(listener: (e: ApiEvent) => void): () => void;
}

/** An error answered by the backend, with its name, message and HTTP status (0 over IPC). */
export class ApiCallError extends Error {
  readonly details: unknown;
  constructor(readonly method: string, readonly status: number, e: ApiError) {
    super(e.message);
    this.name = e.name;
    this.details = e.details;
  }
}

export interface WebSocketLike {
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onopen: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}
export type WebSocketCtor = new (url: string) => WebSocketLike;

export interface HttpClientOptions {
  /** e.g. http://127.0.0.1:5123 (no trailing slash). */
  baseUrl: string;
  token: string;
  WebSocket?: WebSocketCtor;
}

export interface HttpClient extends ApiClient {
  /** Resolves once the event socket is open (events are only delivered after that). */
  ready(): Promise<void>;
  close(): void;
}

export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const listeners = new Set<(e: ApiEvent) => void>();
  const Ws = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  let socket: WebSocketLike | null = null;
  let opened: Promise<void> | null = null;
  const connect = () => {
    if (opened) return opened;
    if (!Ws) return (opened = Promise.reject(new Error('no WebSocket implementation: pass opts.WebSocket')));
    const url = `${opts.baseUrl.replace(/^http/, 'ws')}${EVENTS_PATH}?token=${encodeURIComponent(opts.token)}`;
    opened = new Promise<void>((resolve, reject) => {
      const s = (socket = new Ws(url));
      s.onopen = () => resolve();
      s.onerror = () => reject(new Error(`could not open the event socket at ${opts.baseUrl}${EVENTS_PATH}`));
      s.onclose = () => { socket = null; opened = null; };
      s.onmessage = (ev) => {
        const r = ApiEvent.safeParse(JSON.parse(String(ev.data)));
        if (r.success) for (const l of listeners) l(r.data);
      };
    });
    return opened;
  };
  return {
    async call(method, request) {
      const res = await fetch(`${opts.baseUrl}${API_PREFIX}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.token}` },
        body: JSON.stringify(request ?? {}),
      });
      const body = await res.json().catch(() => ({ name: 'Error', message: `HTTP ${res.status} with a body that is not JSON` }));
      if (!res.ok) throw new ApiCallError(method, res.status, body as ApiError);
      return body;
    },
    onEvent(listener) {
      listeners.add(listener);
      void connect().catch(() => undefined);
      return () => listeners.delete(listener);
    },
    ready: connect,
    close() {
      socket?.close();
    },
  };
}
