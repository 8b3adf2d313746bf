// The backend host: the process that owns the store, the job runner (with its worker threads) and
// every native module, so the Electron main process stays responsive. Main starts it with
// utilityProcess.fork (messages over process.parentPort); under plain Node it runs the same way
// from child_process.fork (process.send / 'message'), which is how the tests start it. It speaks
// host-protocol.ts: `open` → `ready`, `call` → `reply`, `file` → `file`, `close` → `closed`, and
// forwards every backend event as `event`.
import { toApiError } from '../contract/api.ts';
import type { Backend } from '../backend/api/backend.ts';
import type { FromHost, ToHost } from './host-protocol.ts';

interface Port {
  send(m: FromHost): void;
  onMessage(listener: (m: ToHost) => void): void;
}

/** Electron's utilityProcess (parentPort) or Node's forked child (process.send). */
function parentPort(): Port {
  const electronPort = (process as { parentPort?: { on(e: 'message', l: (ev: { data: unknown }) => void): void; postMessage(m: unknown): void } }).parentPort;
  if (electronPort) {
    return {
      send: (m) => electronPort.postMessage(m),
      onMessage: (l) => electronPort.on('message', (ev) => l(ev.data as ToHost)),
    };
  }
  if (process.send) {
    const send = process.send.bind(process);
    return {
      send: (m) => { if (process.connected) send(m); },
      onMessage: (l) => process.on('message', (m) => l(m as ToHost)),
    };
  }
  throw new Error('backend-host must be started by the Electron main process (utilityProcess.fork) or with child_process.fork; it has no parent to talk to');
}

const port = parentPort();
let backend: Backend | null = null;
let closing = false;

async function shutdown(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  try {
    await backend?.close();
  } catch (e) {
    console.error(`backend-host: closing the backend failed: ${(e as Error)?.stack ?? String(e)}`);
    code = code || 1;
  }
  port.send({ type: 'closed' });
  // let the last message leave before exiting
  setTimeout(() => process.exit(code), 50);
}

port.onMessage((m) => {
  switch (m.type) {
    case 'open':
      if (backend || closing) return;
      // loaded here, not at the top, so a missing native module is reported as `failed` to main
      void import('../backend/api/backend.ts').then(({ openBackend }) => openBackend(m.options)).then((b) => {
        backend = b;
        b.onEvent((event) => port.send({ type: 'event', event }));
        port.send({ type: 'ready', version: b.version, pid: process.pid });
      }, (e: unknown) => {
        port.send({ type: 'failed', error: toApiError(e) });
        setTimeout(() => process.exit(1), 50);
      });
      return;
    case 'call':
      if (!backend) return port.send({ type: 'reply', id: m.id, result: { ok: false, status: 503, error: { name: 'NotReadyError', message: 'the backend is not open yet' } } });
      void backend.call(m.method, m.request).then((result) => port.send({ type: 'reply', id: m.id, result }));
      return;
    case 'file':
      try {
        if (!backend) throw Object.assign(new Error('the backend is not open yet'), { name: 'NotReadyError' });
        port.send({ type: 'file', id: m.id, path: backend.filePath(m.kind, m.fileId), error: null });
      } catch (e) {
        port.send({ type: 'file', id: m.id, path: null, error: toApiError(e) });
      }
      return;
    case 'close':
      void shutdown(0);
      return;
  }
});

// the parent went away without `close` (main crashed, or the test's process ended): close cleanly
process.on('disconnect', () => void shutdown(0));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void shutdown(0));
