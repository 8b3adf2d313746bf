// The runtime settings (execution provider, job threads, chat-and-drawing threads): defaults, a
// change that persists in settings.json across a restart of the backend, a thread count above the
// machine's cores refused naming the field, and a hand-edited settings file whose bad fields fall
// back to their defaults (the good ones kept) with a warning naming the field.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openBackend, type Backend } from '../../src-main/backend/api/backend.ts';

const dirs: string[] = [];
const open: Backend[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  vi.restoreAllMocks();
});
async function backend(dataDir: string): Promise<Backend> {
  const b = await openBackend({ dataDir });
  open.push(b);
  return b;
}
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tessera-runtime-'));
  dirs.push(d);
  return d;
}
const cores = availableParallelism();

describe('runtime settings', () => {
  it('default to the CPU, up to 4 job threads and 1 inference thread; a change persists across a restart', async () => {
    const dir = tempDir();
    const a = await backend(dir);
    const got = await a.call('runtime.get', {});
    expect(got.ok && got.result).toMatchObject({ provider: 'cpu', threads: Math.min(cores, 4), inferenceThreads: 1, maxThreads: cores });
    const set = await a.call('runtime.set', { inferenceThreads: cores, threads: 1 });
    expect(set.ok && set.result).toMatchObject({ threads: 1, inferenceThreads: cores });
    await a.close();
    open.length = 0;
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8'))).toEqual({ provider: 'cpu', threads: 1, inferenceThreads: cores });
    const b = await backend(dir);
    const again = await b.call('runtime.get', {});
    expect(again.ok && again.result).toMatchObject({ threads: 1, inferenceThreads: cores });
  });

  it('refuses more threads than cores, naming the field, and keeps what was set', async () => {
    const a = await backend(tempDir());
    const r = await a.call('runtime.set', { inferenceThreads: cores + 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.status).toBe(400);
      expect(r.error.message).toContain('inferenceThreads');
      expect(r.error.message).toContain(`this machine has ${cores} cores`);
    }
    const zero = await a.call('runtime.set', { inferenceThreads: 0 });
    expect(zero.ok).toBe(false);
    const got = await a.call('runtime.get', {});
    expect(got.ok && got.result).toMatchObject({ inferenceThreads: 1 });
  });

  it('a hand-edited settings file: bad fields take their defaults with a warning naming them, good ones stay', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ provider: 'cpu', threads: 1, inferenceThreads: 'two' }));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const a = await backend(dir);
    const got = await a.call('runtime.get', {});
    expect(got.ok && got.result).toMatchObject({ provider: 'cpu', threads: 1, inferenceThreads: 1 });
    expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/settings\.json: inferenceThreads "two" is not valid .*; using 1/);

    // a file that is not JSON at all: every default, and a warning naming the file
    await a.close();
    open.length = 0;
    writeFileSync(join(dir, 'settings.json'), '{"threads": 1,');
    const b = await backend(dir);
    const fresh = await b.call('runtime.get', {});
    expect(fresh.ok && fresh.result).toMatchObject({ provider: 'cpu', threads: Math.min(cores, 4), inferenceThreads: 1 });
    expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/ignoring .*settings\.json, which is not a valid settings file/);
  });
});
