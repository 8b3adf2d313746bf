// The API over HTTP + WebSocket on 127.0.0.1 only (browser mode, scripts, tests). Every /api request
// needs the per-launch token (Authorization: Bearer, or ?token= for <img> URLs and the WebSocket);
// the Host header must name this server (DNS-rebinding guard) and an Origin, when sent, must be its
// own. POST /api/<method> with a JSON body calls the handler table; GET /api/files/<kind>/<id> serves
// images; /api/events streams ApiEvents; anything else is the built renderer (dist/renderer).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { API_PREFIX, API_VERSION, EVENTS_PATH, FILE_KINDS, HEALTH_PATH, type ApiError, type FileKind } from '../contract/api.ts';
import { openBackend, type Backend } from '../backend/api/backend.ts';
import { NotFoundError } from '../backend/jobs/errors.ts';
import { contentType, serveStatic } from './static.ts';

export interface ServerOptions {
  /** 0 picks a free port. */
  port?: number;
  dataDir: string;
  modelsDir?: string | string[];
  /** The built renderer; default dist/renderer of this checkout. */
  rendererDir?: string;
  /** Largest accepted request body (default 64 MiB: a few images as base64). */
  maxBodyBytes?: number;
}

export interface RunningServer {
  url: string;
  token: string;
  port: number;
  backend: Backend;
  /** Stops accepting requests, pauses running trainings with a checkpoint, closes the store. */
  close(): Promise<void>;
}

const DEFAULT_RENDERER = fileURLToPath(new URL('../../dist/renderer', import.meta.url));

class HttpError extends Error {
  constructor(readonly status: number, name: string, message: string) {
    super(message);
    this.name = name;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(text);
}

const sendError = (res: ServerResponse, status: number, e: ApiError) => sendJson(res, status, e);

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, 'PayloadTooLargeError', `request body of ${declared} bytes is over the limit of ${limit} bytes`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new HttpError(413, 'PayloadTooLargeError', `request body is over the limit of ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = randomBytes(32).toString('base64url');
  const tokenBytes = Buffer.from(token);
  const limit = opts.maxBodyBytes ?? 64 * 1024 * 1024;
  const rendererDir = opts.rendererDir ?? DEFAULT_RENDERER;
  const modelsDirs = opts.modelsDir === undefined ? [] : Array.isArray(opts.modelsDir) ? opts.modelsDir : [opts.modelsDir];
  const backend = await openBackend({ dataDir: opts.dataDir, modelsDirs });
  let port = 0;

  const hostOk = (host: string | undefined) => host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  const originOk = (origin: string | undefined) => origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
  const tokenOk = (req: IncomingMessage, url: URL) => {
    const auth = req.headers.authorization;
    const given = auth?.startsWith('Bearer ') ? auth.slice(7) : url.searchParams.get('token');
    if (!given) return false;
    const b = Buffer.from(given);
    return b.length === tokenBytes.length && timingSafeEqual(b, tokenBytes);
  };
  /** The guards every request passes, in order; null when it may go on. */
  const guard = (req: IncomingMessage, url: URL, api: boolean): [number, ApiError] | null => {
    if (!hostOk(req.headers.host)) return [403, { name: 'ForbiddenError', message: `Host ${JSON.stringify(req.headers.host ?? '')} is not this server (use http://127.0.0.1:${port}/)` }];
    if (!originOk(req.headers.origin)) return [403, { name: 'ForbiddenError', message: `requests from origin ${req.headers.origin} are not allowed; only this server's own pages may call it` }];
    if (api && !tokenOk(req, url)) return [401, { name: 'UnauthorizedError', message: 'missing or wrong access token: send "Authorization: Bearer TOKEN" (the token printed by tessera serve)' }];
    return null;
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const path = url.pathname;
    if (path === HEALTH_PATH && req.method === 'GET') {
      const r = await backend.call('app.health', {});
      return r.ok ? sendJson(res, 200, r.result) : sendError(res, r.status, r.error);
    }
    const file = path.match(/^\/api\/files\/([a-z]+)\/(\d+)$/);
    if (file && (req.method === 'GET' || req.method === 'HEAD')) {
      if (!(FILE_KINDS as readonly string[]).includes(file[1])) throw new HttpError(404, 'NotFoundError', `no file kind ${JSON.stringify(file[1])}; the kinds are ${FILE_KINDS.join(', ')}`);
      const p = backend.filePath(file[1] as FileKind, Number(file[2]));
      const st = await stat(p).catch(() => null);
      if (!st?.isFile()) throw new HttpError(404, 'NotFoundError', `the file of ${file[1]} ${file[2]} is missing on disk (${p})`);
      res.writeHead(200, { 'content-type': contentType(p), 'content-length': st.size, 'cache-control': 'private, max-age=3600', 'x-content-type-options': 'nosniff' });
      if (req.method === 'HEAD') return res.end();
      createReadStream(p).pipe(res);
      return;
    }
    const method = path.slice(API_PREFIX.length + 1);
    if (req.method !== 'POST') throw new HttpError(405, 'MethodNotAllowedError', `use POST ${path} with a JSON body (GET is only for ${HEALTH_PATH} and /api/files/...)`);
    const ct = String(req.headers['content-type'] ?? '');
    if (!ct.startsWith('application/json')) throw new HttpError(415, 'UnsupportedMediaTypeError', `send the request as JSON (Content-Type: application/json), not ${JSON.stringify(ct || 'nothing')}`);
    const raw = await readBody(req, limit);
    let body: unknown = {};
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (e) {
        throw new HttpError(400, 'MalformedJsonError', `the body of ${method} is not valid JSON: ${(e as Error).message}`);
      }
    }
    const r = await backend.call(method, body);
    if (r.ok) sendJson(res, 200, r.result);
    else sendError(res, r.status, r.error);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const api = url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`);
    const refused = guard(req, url, api);
    if (refused) return sendError(res, refused[0], refused[1]);
    const work = api ? handleApi(req, res, url) : serveStatic(req, res, url, rendererDir, port);
    work.catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : e instanceof NotFoundError ? 404 : 500;
      if (status === 500) console.error(`${req.method} ${url.pathname}: ${(e as Error)?.stack ?? e}`);
      if (res.headersSent) return void res.destroy();
      sendError(res, status, { name: (e as Error).name ?? 'Error', message: (e as Error).message ?? String(e) });
    });
  });

  // ---- events over WebSocket ----
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  const off = backend.onEvent((e) => {
    const text = JSON.stringify(e);
    for (const s of sockets) if (s.readyState === s.OPEN) s.send(text);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refused = url.pathname === EVENTS_PATH ? guard(req, url, true) : ([404, { name: 'NotFoundError', message: `no WebSocket at ${url.pathname}; use ${EVENTS_PATH}` }] as [number, ApiError]);
    if (refused) {
      const text = JSON.stringify(refused[1]);
      socket.end(`HTTP/1.1 ${refused[0]} ${refused[0] === 401 ? 'Unauthorized' : refused[0] === 403 ? 'Forbidden' : 'Not Found'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.send(JSON.stringify({ type: 'hello', version: backend.version, apiVersion: API_VERSION }));
    });
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  if (!existsSync(rendererDir)) console.warn(`tessera serve: no built renderer at ${rendererDir}; the API works, the page at / explains how to build it`);

  let closing: Promise<void> | null = null;
  return {
    url, token, port, backend,
    close() {
      closing ??= (async () => {
        off();
        for (const s of sockets) s.close(1001, 'server shutting down');
        wss.close();
        await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
        await backend.close();
      })();
      return closing;
    },
  };
}
