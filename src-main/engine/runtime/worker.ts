// The worker-thread side of WorkerRuntime: hosts onnxruntime sessions off the caller's event loop.
// Messages: create (model bytes + options), run (feeds), release. Output buffers are transferred
// back without copying; errors cross as { name, message }.
import { parentPort } from 'node:worker_threads';
import type { Tensor } from '../graph/graph.ts';
import { Session, type SessionOptions } from './session.ts';

export type Request =
  | { kind: 'create'; id: number; model: Uint8Array; options: SessionOptions }
  | { kind: 'run'; id: number; session: number; feeds: Record<string, Tensor>; outputs?: string[] }
  | { kind: 'release'; id: number; session: number };
export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { name: string; message: string } };

const sessions = new Map<number, Session>();
let next = 1;
const port = parentPort!;

port.on('message', async (req: Request) => {
  try {
    if (req.kind === 'create') {
      const s = await Session.create(req.model, req.options);
      const handle = next++;
      sessions.set(handle, s);
      port.postMessage({ id: req.id, ok: true, result: { handle, inputNames: s.inputNames, outputNames: s.outputNames } } satisfies Reply);
    } else if (req.kind === 'run') {
      const s = sessions.get(req.session);
      if (!s) throw new Error(`session ${req.session} was released`);
      const out = await s.run(req.feeds, req.outputs);
      const transfer = Object.values(out).map((t) => t.data.buffer as ArrayBuffer);
      port.postMessage({ id: req.id, ok: true, result: out } satisfies Reply, transfer);
    } else {
      await sessions.get(req.session)?.release();
      sessions.delete(req.session);
      port.postMessage({ id: req.id, ok: true, result: null } satisfies Reply);
    }
  } catch (err) {
    const e = err as Error;
    port.postMessage({ id: req.id, ok: false, error: { name: e.name, message: e.message } } satisfies Reply);
  }
});
