// Chat replies and image generation on the shipped unified model (models/tessera-emoji) through the
// API, and the resident generate worker: the first message loads the model, the next ones reuse the
// worker and its loaded model (no second load, and a much faster reply), and so does drawing an image
// (a PNG with its prompt in a tEXt chunk, in the gallery); a copy of the model in
// another folder is a different model and loads afresh; close() shuts the idle worker down. Chat and
// drawing run on the runtime's inference threads, apart from the job threads, and another count
// loads the model afresh on it. A reply the model's example memory helped with says on which examples.
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../src-main/contract/api.ts';
import { startServer, type RunningServer } from '../../src-main/server/server.ts';
import type { EventLog } from '../backend/jobs/helpers.ts';
import { call, events, tempData } from './helpers.ts';

const MODEL = new URL('../../models/tessera-emoji', import.meta.url).pathname;
let s: RunningServer;
let dir: string;
beforeAll(async () => {
  dir = tempData();
  s = await startServer({ port: 0, dataDir: join(dir, 'data'), modelsDir: join(MODEL, '..') });
});
afterAll(async () => {
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

const APPLE = readFileSync(new URL('../../node_modules/emoji-datasource-apple/img/apple/64/1f34e.png', import.meta.url)).toString('base64');
const ASK = { text: 'What is this?', attachments: [{ data: APPLE }], sampling: { temperature: 0, maxNewTokens: 12 } };

/** Sends a message; resolves with the stream's end, the reply's job log and the elapsed ms. */
async function send(log: EventLog, chatId: number) {
  const t0 = performance.now();
  const r = await call(s.url, s.token, 'chats.send', { chatId, ...ASK });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  const end = await log.until<Extract<ApiEvent, { type: 'stream.done' | 'stream.error' }>>((e) => (e.type === 'stream.done' || e.type === 'stream.error') && e.streamId === r.json.streamId, 120_000, 'the reply');
  const ms = performance.now() - t0;
  expect(end.type, JSON.stringify(end)).toBe('stream.done');
  const jobId = (await call(s.url, s.token, 'jobs.list', { kind: 'generate' })).json.jobs[0].id;
  const logs = log.events.filter((e) => e.type === 'job.log' && e.jobId === jobId).map((e) => (e as { message: string }).message);
  return { end: end as Extract<ApiEvent, { type: 'stream.done' }>, logs, ms };
}

describe('chat on the shipped model', () => {
  it('loads the model once: the second message reuses the resident worker', async () => {
    const { log, ws } = await events(s.url, s.token);
    // the job threads at the machine's most; chat and drawing keep their own count (1 by default)
    const cores = (await call(s.url, s.token, 'app.info')).json.cores as number;
    expect((await call(s.url, s.token, 'runtime.set', { threads: cores })).json).toMatchObject({ threads: cores, inferenceThreads: 1 });
    const model = (await call(s.url, s.token, 'models.list')).json.models.find((m: { kind: string }) => m.kind === 'unified');
    const chat = (await call(s.url, s.token, 'chats.create', { title: 'apples', modelId: model.id })).json;
    const first = await send(log, chat.id);
    expect(first.logs.some((m) => /^loaded model "tessera-emoji-unicode" in \d+ ms$/.test(m))).toBe(true);
    // the reply is the model's (text, or an image attachment); what matters here is that it came
    expect(first.end.message?.role).toBe('assistant');
    expect(first.end.message!.content.length + first.end.message!.attachments.length).toBeGreaterThan(0);
    // the shipped model's example memory knows "What is this?": the reply keeps the examples it leaned
    // on (this apple-style image is one of them), and the job log names them
    expect(first.end.message!.memory?.[0]).toMatchObject({ answer: 'red apple' });
    expect(first.logs.some((m) => /^answered with the example memory \(λ 0\.7\): red apple \d+%/.test(m))).toBe(true);
    expect(s.backend.runner.idleWorkers).toBe(1);
    const second = await send(log, chat.id);
    expect(second.logs).toContain('model "tessera-emoji-unicode" already loaded in this worker');
    console.log(`chat reply: first message ${first.ms.toFixed(0)} ms (worker start + model load), second ${second.ms.toFixed(0)} ms`);
    expect(second.ms).toBeLessThan(first.ms);
    const messages = (await call(s.url, s.token, 'chats.get', { id: chat.id })).json.messages;
    expect(messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);

    // an image from the same resident worker and model: streamed previews, then a PNG in the gallery
    const t0 = performance.now();
    const g = (await call(s.url, s.token, 'generate.start', { prompt: 'a red apple', seed: 3, modelId: model.id })).json;
    const drawn = await log.until<Extract<ApiEvent, { type: 'stream.done' }>>((e) => e.type === 'stream.done' && e.streamId === g.streamId, 120_000, 'the image');
    console.log(`one image with the model already loaded: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(log.events.filter((e) => e.type === 'job.log' && e.jobId === g.jobId).map((e) => (e as { message: string }).message)).toContain('model "tessera-emoji-unicode" already loaded in this worker');
    expect(log.events.some((e) => e.type === 'stream.image-progress' && e.streamId === g.streamId)).toBe(true);
    expect(drawn.generations).toHaveLength(1);
    expect((await call(s.url, s.token, 'gallery.list')).json.generations[0]).toMatchObject({ id: drawn.generations[0].id, prompt: 'a red apple', params: { seed: 3 } });
    const png = await fetch(`${s.url}${drawn.generations[0].url}?token=${s.token}`);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await png.arrayBuffer()).includes('a red apple')).toBe(true); // the tEXt chunk
    // it ran on the inference threads, and says how long the drawing itself took
    expect(drawn.stats).toMatchObject({ threads: 1, images: 1 });
    expect(drawn.stats!.seconds).toBeGreaterThan(0);
    expect(drawn.stats!.seconds * 1000).toBeLessThan(performance.now() - t0);

    // another inference thread count is another session: the worker loads the model afresh with it
    if (cores > 1) {
      await call(s.url, s.token, 'runtime.set', { inferenceThreads: 2 });
      const g2 = (await call(s.url, s.token, 'generate.start', { prompt: 'a red apple', seed: 3, modelId: model.id })).json;
      const drawn2 = await log.until<Extract<ApiEvent, { type: 'stream.done' }>>((e) => e.type === 'stream.done' && e.streamId === g2.streamId, 120_000, 'the image on 2 threads');
      expect(drawn2.stats).toMatchObject({ threads: 2, images: 1 });
      expect(log.events.some((e) => e.type === 'job.log' && e.jobId === g2.jobId && /^loaded model "tessera-emoji-unicode" in \d+ ms$/.test((e as { message: string }).message))).toBe(true);
      console.log(`one image, model loaded: ${(drawn.stats!.seconds * 1000).toFixed(0)} ms on 1 thread, ${(drawn2.stats!.seconds * 1000).toFixed(0)} ms on 2`);
      await call(s.url, s.token, 'runtime.set', { inferenceThreads: 1 });
    }

    // a copy in another folder is another model: the worker releases the first and loads this one
    const copy = join(dir, 'copy');
    cpSync(MODEL, copy, { recursive: true });
    const other = (await call(s.url, s.token, 'models.import', { path: copy, name: 'copy' })).json;
    const chat2 = (await call(s.url, s.token, 'chats.create', { title: 'copy', modelId: other.id })).json;
    const third = await send(log, chat2.id);
    expect(third.logs.some((m) => /^loaded model "copy" in \d+ ms$/.test(m))).toBe(true);
    expect(third.end.message?.content).toBe(first.end.message?.content); // greedy: a fresh chat, the same first reply
    ws.close();
  }, 240_000);
});
