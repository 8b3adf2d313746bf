// Streams (chat replies, generate jobs) by owner key ("chat:3", "generate"), kept outside React so
// a reply keeps streaming while the user switches views (and survives the thread remounting when a
// new chat gets its id). Events can arrive before the call that started the stream answers with
// its id: they wait in a short buffer and are replayed on register.
import { useSyncExternalStore } from 'react';
import type { ApiEvent, Message, StreamStats } from '../../src-main/contract/api.ts';
import { onApiEvent } from './events.ts';

export interface StreamImage { index: number; positions: number; done: number; dataUrl: string | null; url: string | null }
export interface StreamState {
  streamId: string;
  key: string;
  text: string;
  images: StreamImage[];
  finished: boolean;
  reason: 'eos' | 'length' | 'aborted' | null;
  message: Message | null;
  /** The finished generation's time and threads. */
  stats: StreamStats | null;
  error: { name: string; message: string } | null;
}

type StreamEvent = Extract<ApiEvent, { streamId: string }>;
const byKey = new Map<string, StreamState>();
const keyOf = new Map<string, string>();
const early = new Map<string, StreamEvent[]>();
const subs = new Set<() => void>();
const notify = () => { for (const s of subs) s(); };

function apply(s: StreamState, e: StreamEvent): StreamState {
  const img = (index: number, patch: Partial<StreamImage>): StreamImage[] => {
    const list = s.images.some((i) => i.index === index) ? s.images : [...s.images, { index, positions: 0, done: 0, dataUrl: null, url: null }];
    return list.map((i) => (i.index === index ? { ...i, ...patch } : i));
  };
  switch (e.type) {
    case 'stream.text': return { ...s, text: s.text + e.delta };
    case 'stream.image-start': return { ...s, images: img(e.index, { positions: e.positions }) };
    case 'stream.image-progress': return { ...s, images: img(e.index, { done: e.done, positions: e.positions, dataUrl: e.dataUrl }) };
    case 'stream.image-done': return { ...s, images: img(e.index, { url: e.url, done: s.images.find((i) => i.index === e.index)?.positions ?? 0 }) };
    case 'stream.done': return { ...s, finished: true, reason: e.reason, message: e.message, stats: e.stats };
    case 'stream.error': return { ...s, finished: true, error: e.error };
  }
}

let listening = false;
function listen(): void {
  if (listening) return;
  listening = true;
  onApiEvent((e) => {
    if (!('streamId' in e)) return;
    const key = keyOf.get(e.streamId);
    if (key === undefined) {
      const buf = early.get(e.streamId) ?? [];
      buf.push(e);
      early.set(e.streamId, buf);
      setTimeout(() => early.delete(e.streamId), 30_000);
      return;
    }
    const s = byKey.get(key);
    if (!s || s.streamId !== e.streamId) return;
    byKey.set(key, apply(s, e));
    notify();
  });
}

export function registerStream(key: string, streamId: string): void {
  listen();
  keyOf.set(streamId, key);
  let s: StreamState = { streamId, key, text: '', images: [], finished: false, reason: null, message: null, stats: null, error: null };
  for (const e of early.get(streamId) ?? []) s = apply(s, e);
  early.delete(streamId);
  byKey.set(key, s);
  notify();
}

export function clearStream(key: string): void {
  if (byKey.delete(key)) notify();
}

export function useStream(key: string | null): StreamState | undefined {
  listen();
  return useSyncExternalStore(
    (cb) => { subs.add(cb); return () => subs.delete(cb); },
    () => (key == null ? undefined : byKey.get(key)),
  );
}

/** Make sure the event subscription exists before a send (so no early event is missed). */
export const ensureListening = listen;
