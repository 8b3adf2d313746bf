// The one place that decides how the renderer reaches the backend: Electron IPC through the preload
// bridge when present, otherwise HTTP + WebSocket to this page's own origin with the token from the
// URL fragment (#token=…; kept in sessionStorage so a reload stays signed in).
import { ApiEvent, TOKEN_FRAGMENT, type Method, type Req, type Res } from '../../src-main/contract/api.ts';
import { ApiCallError, createHttpClient, type ApiClient } from '../../src-main/contract/client.ts';
import { bridge, type TesseraBridge } from './bridge.ts';

const TOKEN_KEY = 'tessera.token';

export type TransportKind = 'ipc' | 'http';

function readToken(): string {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const fromHash = params.get(TOKEN_FRAGMENT);
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    params.delete(TOKEN_FRAGMENT);
    const rest = params.toString();
    history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
    return fromHash;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function ipcClient(b: TesseraBridge): ApiClient {
  return {
    async call<M extends Method>(method: M, request: Req<M>): Promise<Res<M>> {
      const reply = await b.call(method, request);
      if (!reply.ok) throw new ApiCallError(method, 0, reply.error);
      return reply.result as Res<M>;
    },
    onEvent(listener) {
      return b.onEvent((e) => {
        const r = ApiEvent.safeParse(e);
        if (r.success) listener(r.data);
      });
    },
  };
}

function connect(): { kind: TransportKind; client: ApiClient; token: string } {
  const b = bridge();
  if (b) return { kind: 'ipc', client: ipcClient(b), token: '' };
  const token = readToken();
  return { kind: 'http', client: createHttpClient({ baseUrl: location.origin, token }), token };
}

const conn = connect();
export const transport: TransportKind = conn.kind;
export const api: ApiClient = conn.client;
export const hasToken = conn.kind === 'ipc' || conn.token !== '';

/** A server-relative file URL (/api/files/…) usable in <img src> and downloads. */
export function mediaUrl(url: string): string {
  if (conn.kind === 'ipc' || !url.startsWith('/')) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(conn.token)}`;
}
