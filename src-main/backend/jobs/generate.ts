// The 'generate' job kind, inside its (resident) worker: loads the unified model (engine/infer), or
// reuses the one the worker loaded for an earlier job (model-cache.ts), and either
// draws n images for a prompt or writes the next assistant turn of a chat, streaming what it makes:
// text deltas, partial images as PNG data URLs, finished images written as PNG (prompt, seed,
// settings and model in a tEXt chunk) and recorded as generations or chat attachments.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiEvent } from '../../contract/api.ts';
import { decodeImage, encodePng } from '../../engine/io/image.ts';
import type { ChatTurn, GenerationEvent, ImageSampling, TextSampling } from '../../engine/infer/types.ts';
import { loadUnifiedModel } from '../../engine/infer/unified.ts';
import { describeDrawnFrom, describeExamples, exampleShares } from '../../engine/infer/memory.ts';
import { openStore, writeFileAtomic, type NewMessage } from '../store/index.ts';
import { cachedModel, modelKey } from './model-cache.ts';
import type { Executor } from './kinds.ts';

export interface GenerateParams {
  mode: 'images' | 'chat';
  streamId: string;
  modelId: number;
  /** images */
  prompt?: string;
  n?: number;
  sampling: ImageSampling & TextSampling;
  /** chat: the conversation to continue */
  chatId?: number;
}

type StreamEvent = DistributiveOmit<ApiEvent & { streamId: string }, 'streamId'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const png = (pixels: Float32Array, size: number, text?: Record<string, string>) => encodePng({ data: pixels, channels: 3, height: size, width: size }, text);

export const generateJob: Executor = async (job, { signal, post }) => {
  const p = job.params as unknown as GenerateParams;
  const store = await openStore(job.dbPath);
  const stream = (event: StreamEvent) => post({ type: 'stream', event: event as Record<string, unknown> });
  try {
    const model = store.models.get(p.modelId);
    const t0 = performance.now();
    const { model: m, reused } = await cachedModel(modelKey(model.dir, job), () => loadUnifiedModel(model.dir, { threads: job.threads }));
    post({ type: 'log', level: 'info', message: reused ? `model "${model.name}" already loaded in this worker` : `loaded model "${model.name}" in ${Math.round(performance.now() - t0)} ms` });
    const t1 = performance.now();
    const dir = join(job.outDir, 'images');
    await mkdir(dir, { recursive: true });
    const pending: Promise<unknown>[] = [];
    const saved: { index: number; path: string; sha256: string; size: number; bytes: Uint8Array }[] = [];
    const generationIds: number[] = [];
    let text = '';
    let reason: 'eos' | 'length' | 'aborted' = 'eos';
    let memory: { answer: string; share: number }[] | null = null;
    const drawnFrom = new Map<number, { label: string; example: number; of: number }>(); // image index → the example it redraws
    const meta = (index: number) => ({ prompt: p.prompt ?? '', seed: String(p.sampling.seed ?? ''), settings: JSON.stringify({ ...p.sampling, index }), model: model.name });
    const onEvent = (e: GenerationEvent) => {
      if (e.type === 'text') { text += e.delta; stream({ type: 'stream.text', delta: e.delta }); }
      else if (e.type === 'image-start') stream({ type: 'stream.image-start', index: e.index, positions: e.positions });
      else if (e.type === 'image-progress') {
        const n = p.n ?? 1;
        post({ type: 'progress', progress: { step: e.index * e.positions + e.done, total: n * e.positions, phase: 'generate', loss: null, etaSeconds: null, metrics: {} } });
        pending.push(png(e.pixels, e.size).then((b) => stream({ type: 'stream.image-progress', index: e.index, done: e.done, positions: e.positions, dataUrl: `data:image/png;base64,${Buffer.from(b).toString('base64')}` })));
      } else if (e.type === 'image-done') {
        pending.push(png(e.pixels, e.size, meta(e.index)).then(async (bytes) => {
          const sha256 = createHash('sha256').update(bytes).digest('hex');
          const path = join(dir, `${String(e.index).padStart(3, '0')}-${sha256.slice(0, 12)}.png`);
          await writeFileAtomic(path, bytes);
          saved.push({ index: e.index, path, sha256, size: e.size, bytes });
          if (p.mode === 'images') {
            const example = drawnFrom.get(e.index);
            const g = store.generations.add({ prompt: p.prompt ?? '', params: { ...p.sampling, seed: p.sampling.seed ?? 0, cfg: p.sampling.cfg ?? 3, temperature: p.sampling.temperature ?? 1, index: e.index, n: p.n ?? 1, ...(example ? { example } : {}) }, modelId: model.id, imagePath: path });
            generationIds.push(g.id);
            stream({ type: 'stream.image-done', index: e.index, url: `/api/files/generations/${g.id}`, generationId: g.id, attachmentId: null });
          }
        }));
      } else if (e.type === 'example') {
        drawnFrom.set(e.index, { label: e.label, example: e.example, of: e.of });
        post({ type: 'log', level: 'info', message: `image ${e.index + 1} is drawn ${describeDrawnFrom(e)}` });
      } else if (e.type === 'memory') {
        post({ type: 'log', level: 'info', message: `answered with the example memory (λ ${e.lambda}): ${describeExamples(e.examples)}` });
        memory = exampleShares(e.examples);
      } else if (e.type === 'done') reason = e.reason;
    };
    if (p.mode === 'images') {
      await m.generateImages(p.prompt ?? '', p.n ?? 1, p.sampling, onEvent, signal);
      if (signal.aborted) reason = 'aborted';
    } else {
      const turns: ChatTurn[] = [];
      for (const msg of store.chats.messages(p.chatId!)) {
        const parts: ChatTurn['parts'] = [];
        for (const a of msg.attachments) {
          const img = await decodeImage(a.path, { size: m.codec.imageSize, fit: 'contain' });
          parts.push({ type: 'image', pixels: img.data, size: m.codec.imageSize });
        }
        if (msg.content) parts.push({ type: 'text', text: msg.content });
        turns.push({ role: msg.role, parts });
      }
      await m.chat(turns, { ...p.sampling, image: { cfg: p.sampling.cfg, seed: p.sampling.seed } }, onEvent, signal);
    }
    await Promise.all(pending);
    const stats = { seconds: (performance.now() - t1) / 1000, threads: job.threads, images: saved.length };
    if (p.mode === 'chat') {
      const attachments: NewMessage['attachments'] = saved.sort((a, b) => a.index - b.index).map((s) => ({ kind: 'image', path: s.path, sha256: s.sha256, width: s.size, height: s.size }));
      const order = saved.map((s) => s.index); // already sorted: the reply's images in order
      const drawnFromList = [...drawnFrom].map(([index, d]) => ({ index: order.indexOf(index), ...d })).filter((d) => d.index >= 0);
      const message = store.chats.append(p.chatId!, { role: 'assistant', content: text, attachments, memory, drawnFrom: drawnFromList.length ? drawnFromList : null });
      message.attachments.forEach((a, k) => stream({ type: 'stream.image-done', index: saved[k].index, url: `/api/files/attachments/${a.id}`, generationId: null, attachmentId: a.id }));
      return { status: 'done', result: { reason, messageId: message.id, stats } };
    }
    return { status: 'done', result: { reason, generationIds, stats } };
  } finally {
    store.close();
  }
};
