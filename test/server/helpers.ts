// Helpers for the server tests: raw HTTP requests (any Host/Origin header, which fetch will not
// send), a WebSocket collecting events, and a temp data folder per server.
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { EventLog } from '../backend/jobs/helpers.ts';

export const tempData = (): string => mkdtempSync(join(tmpdir(), 'tessera-server-'));

export interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: string; json: any }

/** One HTTP request with exactly these headers (Host included). */
export function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: opts.method ?? 'GET', headers: opts.headers, setHost: !opts.headers?.host }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: any = null;
        try { json = JSON.parse(body); } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** POST /api/<method> with the token; returns status and parsed body. */
export async function call(base: string, token: string, method: string, body: unknown = {}): Promise<{ status: number; json: any }> {
  const r = await fetch(`${base}/api/${method}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

/** Opens the event socket; resolves once the server's hello arrived. */
export async function events(base: string, token: string): Promise<{ log: EventLog; ws: WebSocket }> {
  const log = new EventLog();
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/events?token=${token}`);
  ws.on('message', (d) => log.push(JSON.parse(String(d))));
  await log.until((e) => e.type === 'hello', 10_000, 'hello');
  return { log, ws };
}
