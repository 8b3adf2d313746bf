// One subscription to the backend's event stream, fanned out to the views, with reconnection in
// browser mode (the socket is re-opened every few seconds while it is down) and a connection state.
import { useEffect, useRef, useSyncExternalStore } from 'react';
import type { ApiEvent } from '../../src-main/contract/api.ts';
import type { HttpClient } from '../../src-main/contract/client.ts';
import { api, transport } from './transport.ts';

type Listener = (e: ApiEvent) => void;
const listeners = new Set<Listener>();
let connected = transport === 'ipc';
const stateListeners = new Set<() => void>();

function setConnected(v: boolean): void {
  if (v === connected) return;
  connected = v;
  for (const l of stateListeners) l();
}

let started = false;
function start(): void {
  if (started) return;
  started = true;
  api.onEvent((e) => { for (const l of listeners) l(e); });
  if (transport === 'http') {
    const http = api as HttpClient;
    const check = () => http.ready().then(() => setConnected(true), () => setConnected(false));
    void check();
    setInterval(() => {
      // ready() resolves at once while open and re-opens a closed socket; probe health too so a
      // dead server shows as disconnected even before the socket notices.
      void check();
      void api.call('app.health', {}).then(() => undefined, () => setConnected(false));
    }, 3000);
  }
}

export function onApiEvent(listener: Listener): () => void {
  start();
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Subscribes for the component's lifetime; the latest handler is always called. */
export function useApiEvent(handler: Listener): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => onApiEvent((e) => ref.current(e)), []);
}

export function useConnected(): boolean {
  start();
  return useSyncExternalStore(
    (cb) => { stateListeners.add(cb); return () => stateListeners.delete(cb); },
    () => connected,
  );
}
