// The server's boundary with real HTTP and WebSocket connections: the token (header, ?token=),
// the Host (DNS rebinding) and Origin guards, malformed JSON, schema violations naming the field,
// body limit, content type, the event socket's auth, and the static renderer (CSP, MIME types, no
// traversal), plus an image served by URL.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodePng } from '../../src-main/engine/io/image.ts';
import { startServer, type RunningServer } from '../../src-main/server/server.ts';
import { call, events, raw, tempData } from './helpers.ts';

let s: RunningServer;
let dir: string;
const auth = () => ({ authorization: `Bearer ${s.token}` });

beforeAll(async () => {
  dir = tempData();
  const renderer = join(dir, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Tessera</title><script type="module" src="./assets/app.js"></script>');
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'do not serve me');
  s = await startServer({ port: 0, dataDir: join(dir, 'data'), rendererDir: renderer, maxBodyBytes: 4096 });
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('authentication and origin guards', () => {
  it('GET /api/health answers 200 with the token and 401 without or with a wrong one', async () => {
    const ok = await raw(`${s.url}/api/health`, { headers: auth() });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ ok: true, apiVersion: 1 });
    const none = await raw(`${s.url}/api/health`);
    expect(none.status).toBe(401);
    expect(none.json).toEqual({ name: 'UnauthorizedError', message: expect.stringContaining('missing or wrong access token') });
    expect((await raw(`${s.url}/api/health`, { headers: { authorization: `Bearer ${s.token.slice(1)}x` } })).status).toBe(401);
    expect((await raw(`${s.url}/api/health?token=${s.token}`)).status).toBe(200);
    expect((await raw(`${s.url}/api/models.list`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
  });

  it('refuses a Host that is not this server (DNS rebinding) with 403, even with the token', async () => {
    const r = await raw(`${s.url}/api/health`, { headers: { ...auth(), host: `evil.example:${s.port}` } });
    expect(r.status).toBe(403);
    expect(r.json.message).toContain('Host "evil.example');
    expect((await raw(`${s.url}/`, { headers: { host: `127.0.0.1:${s.port + 1}` } })).status).toBe(403);
    expect((await raw(`${s.url}/api/health`, { headers: { ...auth(), host: `localhost:${s.port}` } })).status).toBe(200);
  });

  it('refuses a cross Origin with 403 and accepts its own', async () => {
    const r = await raw(`${s.url}/api/health`, { headers: { ...auth(), origin: 'http://evil.example' } });
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ name: 'ForbiddenError', message: expect.stringContaining('origin http://evil.example') });
    expect((await raw(`${s.url}/api/health`, { headers: { ...auth(), origin: s.url } })).status).toBe(200);
  });

  it('authenticates the event socket and sends hello', async () => {
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${s.url.replace('http', 'ws')}/api/events`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(refused).toBe(401);
    const crossOrigin = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${s.url.replace('http', 'ws')}/api/events?token=${s.token}`, { origin: 'http://evil.example' });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(crossOrigin).toBe(403);
    const { log, ws } = await events(s.url, s.token);
    expect(log.events[0]).toMatchObject({ type: 'hello', apiVersion: 1 });
    ws.close();
  });
});

describe('request validation', () => {
  const post = (method: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    raw(`${s.url}/api/${method}`, { method: 'POST', headers: { ...auth(), ...headers }, body });

  it('answers malformed JSON with 400 and a useful message', async () => {
    const r = await post('chats.create', '{"title": ');
    expect(r.status).toBe(400);
    expect(r.json.name).toBe('MalformedJsonError');
    expect(r.json.message).toMatch(/^the body of chats.create is not valid JSON: /);
  });

  it('answers schema violations with 400 naming the field', async () => {
    const r = await post('chats.rename', JSON.stringify({ id: 'seven', title: 'x' }));
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ name: 'ValidationError', message: 'chats.rename: id: Invalid input: expected number, received string' });
    const nested = await post('datasets.assignSplits', JSON.stringify({ datasetId: 1, spec: { seed: -1, fractions: { train: 1, validation: 0, test: 0 } } }));
    expect(nested.status).toBe(400);
    expect(nested.json.message).toMatch(/^datasets.assignSplits: spec/);
    const extra = await post('chats.create', JSON.stringify({ title: 'a', colour: 'red' }));
    expect(extra.json.message).toBe('chats.create: colour: unknown field (this method accepts no field named "colour")');
    const cfg = await post('training.start', JSON.stringify({ recipe: 'classifier', config: { batchSize: 0 } }));
    expect(cfg.status).toBe(400);
    expect(cfg.json.message).toBe('training.start: config.batchSize: Too small: expected number to be >=1');
  });

  it('answers unknown methods 404, missing rows 404, wrong content type 415, big bodies 413', async () => {
    expect((await post('nope.nothing', '{}')).status).toBe(404);
    const missing = await post('chats.get', JSON.stringify({ id: 999 }));
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ name: 'NotFoundError', message: 'chat 999 does not exist' });
    expect((await post('chats.list', '{}', { 'content-type': 'text/plain' })).status).toBe(415);
    const big = await post('chats.create', JSON.stringify({ title: 'x'.repeat(5000) }));
    expect(big.status).toBe(413);
    expect(big.json.message).toContain('over the limit of 4096 bytes');
    expect((await raw(`${s.url}/api/chats.list`, { headers: auth() })).status).toBe(405);
  });

  it('runs a valid call end to end', async () => {
    const c = await call(s.url, s.token, 'chats.create', { title: 'hello' });
    expect(c.status).toBe(200);
    expect((await call(s.url, s.token, 'chats.list')).json.chats.map((x: { title: string }) => x.title)).toEqual(['hello']);
    // no unified model installed: chat and generation say so, and nothing is stored
    const send = await call(s.url, s.token, 'chats.send', { chatId: c.json.id, text: 'hi' });
    expect(send).toEqual({ status: 422, json: { name: 'UnavailableError', message: 'no unified model is installed: import one in Models, or train one in Training' } });
    expect((await call(s.url, s.token, 'chats.get', { id: c.json.id })).json.messages).toEqual([]);
    expect((await call(s.url, s.token, 'generate.start', { prompt: 'a red apple' })).status).toBe(422);
    const badImport = await call(s.url, s.token, 'models.import', { path: dir });
    expect(badImport.status).toBe(400);
    expect(badImport.json.message).toContain(`${dir} is not a Tessera model folder`);
  });
});

describe('static renderer and files', () => {
  it('serves index.html with a strict CSP and the right MIME types, never outside the folder', async () => {
    const page = await raw(`${s.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'; script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect((await raw(`${s.url}/assets/app.js`)).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await raw(`${s.url}/datasets/12`)).body).toContain('<title>Tessera</title>'); // client route
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const r = await raw(`${s.url}${p}`);
      expect(r.body).not.toContain('do not serve me');
    }
    expect((await raw(`${s.url}/missing.js`)).status).toBe(404);
  });

  it('serves an item image by URL with the token (header or ?token=), 404 for unknown ids', async () => {
    const root = join(dir, 'images');
    mkdirSync(root, { recursive: true });
    const png = await encodePng({ data: new Float32Array(3 * 4 * 4).fill(0.5), channels: 3, height: 4, width: 4 });
    writeFileSync(join(root, 'a.png'), png);
    const store = s.backend.store;
    const ds = store.datasets.create({ name: 'pics', sourceKind: 'folder', rootPath: root });
    const [itemId] = store.items.insertMany(ds.id, [{ path: 'a.png', contentHash: 'a'.repeat(64), bytes: png.length, width: 4, height: 4 }]).ids;
    const r = await fetch(`${s.url}/api/files/items/${itemId}?token=${s.token}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await r.arrayBuffer()).equals(Buffer.from(png))).toBe(true);
    expect((await raw(`${s.url}/api/files/items/${itemId}`)).status).toBe(401);
    expect((await raw(`${s.url}/api/files/items/99999`, { headers: auth() })).status).toBe(404);
    expect((await raw(`${s.url}/api/files/secrets/1`, { headers: auth() })).status).toBe(404);
  });
});
