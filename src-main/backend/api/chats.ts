// Handlers: chats (list, create, rename, delete, get, send with image attachments, regenerate),
// stopping a stream, generating images and the gallery. Uploaded images are checked (a real image,
// its size) and stored content-addressed under DATA/attachments. Replies and images come from the
// unified model in a 'generate' job's worker (jobs/generate.ts), streamed as stream.* events.
import { createHash, randomInt, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileUrl, ValidationError, type Chat, type Generation, type Message, type StreamStats } from '../../contract/api.ts';
import type { TextSampling } from '../../engine/infer/types.ts';
import { imageInfo } from '../../engine/io/image.ts';
import { UnavailableError } from '../jobs/errors.ts';
import type { GenerateParams } from '../jobs/generate.ts';
import { writeFileAtomic, type GenerationRow, type JobRow, type MessageRow } from '../store/index.ts';
import type { Ctx, Handlers } from './context.ts';

export const messageToApi = (m: MessageRow): Message => ({
  id: m.id, chatId: m.chatId, ordinal: m.ordinal, role: m.role, content: m.content, createdAt: m.createdAt,
  attachments: m.attachments.map((a) => ({ id: a.id, kind: 'image' as const, width: a.width, height: a.height, url: fileUrl('attachments', a.id) })),
  memory: m.memory,
  drawnFrom: m.drawnFrom,
});
export const generationToApi = (g: GenerationRow): Generation => ({ id: g.id, prompt: g.prompt, params: g.params, modelId: g.modelId, url: fileUrl('generations', g.id), createdAt: g.createdAt });

/** Decodes, checks and stores one uploaded image; errors name the attachment. */
async function saveUpload(ctx: Ctx, data: string, k: number) {
  const field = `attachments[${k}].data`;
  if (!/^[A-Za-z0-9+/=\s]*$/.test(data)) throw new ValidationError('chats.send', field, 'expected base64 bytes of an image file');
  const bytes = Buffer.from(data, 'base64');
  let info;
  try {
    info = await imageInfo(bytes, `attachment ${k + 1}`);
  } catch (e) {
    throw new ValidationError('chats.send', field, `not an image Tessera can read (${(e as Error).message})`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const dir = join(ctx.dataDir, 'attachments');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${sha256}.${info.format === 'jpeg' ? 'jpg' : info.format}`);
  await writeFileAtomic(path, bytes);
  return { kind: 'image' as const, path, sha256, width: info.width, height: info.height };
}

function unifiedModel(ctx: Ctx, modelId: number | null | undefined) {
  const m = modelId ? ctx.store.models.get(modelId) : ctx.store.models.list({ kind: 'unified' })[0];
  if (!m) throw new UnavailableError('no unified model is installed: import one in Models, or train one in Training');
  if (m.kind !== 'unified') throw new ValidationError('chats', 'modelId', `model "${m.name}" is a ${m.kind} model; chat and generation need a unified model`);
  return m;
}

/** Queues a 'generate' job (the model runs in its worker) whose events go out under a new stream id. */
function startStream(ctx: Ctx, title: string, params: Omit<GenerateParams, 'streamId'>): { streamId: string; jobId: number } {
  const streamId = randomUUID();
  const job = ctx.runner.submit({ kind: 'generate', title, params: { ...params, streamId } as unknown as Record<string, unknown> });
  const stop = new AbortController();
  stop.signal.addEventListener('abort', () => {
    try {
      ctx.runner.cancel(job.id);
    } catch {
      // already finished
    }
  });
  ctx.streams.set(streamId, stop);
  return { streamId, jobId: job.id };
}

function startReply(ctx: Ctx, chatId: number, sampling: TextSampling | undefined): string {
  const chat = ctx.store.chats.get(chatId);
  const m = unifiedModel(ctx, chat.modelId);
  return startStream(ctx, `Reply in "${chat.title}"`, { mode: 'chat', chatId, modelId: m.id, sampling: { ...sampling } }).streamId;
}

/** Turns a generate job's end into the stream's last event (called by the runner). */
export function settleStream(ctx: Ctx, job: JobRow): void {
  const params = job.params as unknown as GenerateParams;
  const streamId = params.streamId;
  if (job.status === 'paused' || job.status === 'queued' || job.status === 'running') return;
  ctx.streams.delete(streamId);
  if (job.status === 'failed') {
    ctx.emit({ type: 'stream.error', streamId, error: { name: 'GenerationError', message: job.error ?? 'the generation failed' } });
    return;
  }
  const r = (job.result ?? {}) as { reason?: 'eos' | 'length' | 'aborted'; messageId?: number; generationIds?: number[]; stats?: StreamStats };
  const message = r.messageId ? messageToApi(ctx.store.chats.message(r.messageId)) : null;
  const generations = (r.generationIds ?? []).map((id) => generationToApi(ctx.store.generations.get(id)));
  ctx.emit({ type: 'stream.done', streamId, reason: job.status === 'cancelled' ? 'aborted' : r.reason ?? 'eos', message, generations, stats: r.stats ?? null });
}

export function chatHandlers(ctx: Ctx): Pick<Handlers, 'chats.list' | 'chats.create' | 'chats.rename' | 'chats.delete' | 'chats.get' | 'chats.send' | 'chats.regenerate'
  | 'streams.stop' | 'generate.start' | 'gallery.list' | 'gallery.get' | 'gallery.delete'> {
  const { store } = ctx;
  const chat = (id: number): Chat => store.chats.get(id);
  return {
    'chats.list': () => ({ chats: store.chats.list() }),
    'chats.create': ({ title, modelId }) => {
      if (modelId !== undefined) store.models.get(modelId);
      return store.chats.create({ title, modelId: modelId ?? null });
    },
    'chats.rename': ({ id, title }) => store.chats.rename(id, title),
    'chats.delete': ({ id }) => ({ deleted: store.chats.delete(id) }),
    'chats.get': ({ id }) => ({ chat: chat(id), messages: store.chats.messages(id).map(messageToApi) }),
    'chats.send': async ({ chatId, text, attachments, sampling }) => {
      unifiedModel(ctx, chat(chatId).modelId); // refuse before storing anything when there is no model
      if (!text.trim() && attachments.length === 0) throw new ValidationError('chats.send', 'text', 'write a message or attach an image');
      const saved = [];
      for (const [k, a] of attachments.entries()) saved.push(await saveUpload(ctx, a.data, k));
      const userMessage = store.chats.append(chatId, { role: 'user', content: text, attachments: saved });
      return { streamId: startReply(ctx, chatId, sampling), userMessage: messageToApi(userMessage) };
    },
    'chats.regenerate': ({ chatId, messageId, sampling }) => {
      const msgs = store.chats.messages(chatId);
      const target = messageId !== undefined ? msgs.find((m) => m.id === messageId) : [...msgs].reverse().find((m) => m.role === 'assistant');
      if (messageId !== undefined && !target) throw new ValidationError('chats.regenerate', 'messageId', `message ${messageId} is not in chat ${chatId}`);
      if (target && target.role !== 'assistant') throw new ValidationError('chats.regenerate', 'messageId', `message ${target.id} is a ${target.role} message; regenerate an assistant reply`);
      if (target) store.chats.truncateFrom(target.id);
      return { streamId: startReply(ctx, chatId, sampling) };
    },
    'streams.stop': ({ streamId }) => {
      const s = ctx.streams.get(streamId);
      s?.abort();
      return { stopped: s !== undefined };
    },
    'generate.start': ({ prompt, n, seed, cfg, temperature, topK, examples, modelId }) => {
      const m = unifiedModel(ctx, modelId);
      const s = seed ?? randomInt(0, 0xffffffff);
      const { streamId, jobId } = startStream(ctx, `Generate ${n} × "${prompt.slice(0, 40)}"`, { mode: 'images', modelId: m.id, prompt, n, sampling: { seed: s, cfg, temperature, topK: topK || undefined, examples } });
      return { streamId, jobId, seed: s };
    },
    'gallery.list': ({ modelId, beforeId, limit }) => {
      const rows = store.generations.list({ modelId, beforeId, limit });
      return { generations: rows.map(generationToApi), nextBeforeId: rows.length === limit ? rows[rows.length - 1].id : null };
    },
    'gallery.get': ({ id }) => generationToApi(store.generations.get(id)),
    'gallery.delete': ({ id }) => ({ deleted: store.generations.delete(id) }),
  };
}
