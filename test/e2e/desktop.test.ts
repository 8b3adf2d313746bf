// The desktop shell without Electron's binary (as on this offline machine): the Electron build
// produces dist/electron/main.js + preload.cjs and a transpiled src-main whose backend really runs
// under Node (worker paths included); the built backend host (the utilityProcess entry) runs under
// plain Node from child_process.fork and answers API calls, file lookups and events over the same
// message protocol main uses; `npm start` says what is missing, how to get it, and serves the
// browser mode, whose health check answers with the printed token.
import { fork, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import type { ApiEvent } from '../../src-main/contract/api.ts';
import { connectHost, type FromHost } from '../../src-main/electron/host-protocol.ts';
import { writeImageFolder } from './fixtures.ts';
import { ROOT } from './harness.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tessera-desktop-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('build:electron emits main, a sandbox-ready preload, and a backend that runs', async () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-electron.mjs')], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const out = join(ROOT, 'dist', 'electron');
  expect(readFileSync(join(out, 'main.js'), 'utf8')).toContain("import './app/src-main/electron/main.js'");
  const preload = readFileSync(join(out, 'preload.cjs'), 'utf8');
  // a sandboxed preload can require only electron: one file, no other module, no zod
  expect([...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])).toEqual(['electron']);
  expect(preload).toContain('exposeInMainWorld("tessera"');
  expect(existsSync(join(out, 'app', 'src-main', 'backend', 'jobs', 'worker.js'))).toBe(true);
  const mod = await import(pathToFileURL(join(out, 'app', 'src-main', 'backend', 'api', 'backend.js')).href) as typeof import('../../src-main/backend/api/backend.ts');
  const backend = await mod.openBackend({ dataDir: join(tmp, 'built-data') });
  try {
    const h = await backend.call('app.health', {});
    expect(h.ok).toBe(true);
    const bad = await backend.call('datasets.get', { id: 'x' });
    expect(bad.ok ? null : bad.error.name).toBe('ValidationError');
  } finally {
    await backend.close();
  }
});

test('the built backend host runs under plain Node: calls, events and files cross its message protocol', async () => {
  const out = join(ROOT, 'dist', 'electron');
  const entry = join(out, 'app', 'src-main', 'electron', 'backend-host.js');
  if (!existsSync(entry)) expect(spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-electron.mjs')], { cwd: ROOT }).status).toBe(0);
  // main loads the host through a message channel only: no store, no ONNX Runtime in its process
  const main = readFileSync(join(out, 'app', 'src-main', 'electron', 'main.js'), 'utf8');
  expect(main).toContain('utilityProcess.fork');
  expect(main).not.toMatch(/backend\/api\/backend|better-sqlite3|onnxruntime/);

  const child = fork(entry, [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const host = await connectHost({
    post: (m) => child.send(m),
    onMessage: (l) => child.on('message', (m) => l(m as FromHost)),
    onExit: (l) => child.once('exit', (code) => l(code)),
  }, { dataDir: join(tmp, 'host-data'), modelsDirs: [] });
  try {
    expect(host.pid).toBe(child.pid);
    expect(host.pid).not.toBe(process.pid);
    const h = await host.call('app.health', {});
    expect(h.ok && (h.result as { ok: boolean }).ok).toBe(true);
    const bad = await host.call('datasets.get', { id: 'x' });
    expect(bad.ok ? null : [bad.status, bad.error.name]).toEqual([400, 'ValidationError']);

    // an import job: its events arrive through the host, and its files are found by the host
    const dir = join(tmp, 'host-shapes');
    const { files } = await writeImageFolder(dir);
    const events: ApiEvent[] = [];
    const done = new Promise<ApiEvent>((resolve) => host.onEvent((e) => {
      events.push(e);
      if (e.type === 'job.state' && e.job.kind === 'import' && ['done', 'failed'].includes(e.job.status)) resolve(e);
    }));
    const started = await host.call('datasets.import', { kind: 'imagefolder', path: dir, name: 'shapes' });
    expect(started.ok, JSON.stringify(started)).toBe(true);
    const end = await done;
    expect(end.type === 'job.state' && end.job.status).toBe('done');
    expect(events.some((e) => e.type === 'dataset.changed')).toBe(true);
    const items = await host.call('datasets.items', { datasetId: (end as Extract<ApiEvent, { type: 'job.state' }>).job.datasetId! });
    const first = (items.ok ? (items.result as { items: { id: number; path: string }[] }).items : [])[0];
    expect(first?.path).toBe(files[0]);
    expect(await host.filePath('items', first.id)).toBe(join(dir, files[0]));
    await expect(host.filePath('items', 999_999)).rejects.toMatchObject({ name: 'NotFoundError' });
  } finally {
    await host.close();
  }
  expect(await exited).toBe(0);
  // after the host is gone a call answers with a sentence instead of hanging
  const late = await host.call('app.health', {});
  expect(late.ok ? null : late.error.name).toBe('BackendExitedError');
});

test('npm start without the Electron binary explains and serves the browser mode', async () => {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'start.mjs'), '--port', '0', '--data', join(tmp, 'start-data')], {
    cwd: ROOT, env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: join(tmp, 'no-electron-here'), BROWSER: '' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => { out += String(c); });
  child.stderr.on('data', (c) => { out += String(c); });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no URL printed in 90 s:\n${out}`)), 90_000);
      child.stdout.on('data', () => {
        const m = /(http:\/\/127\.0\.0\.1:\d+)\/#token=([\w-]+)/.exec(out);
        if (m) { clearTimeout(t); resolve(`${m[1]} ${m[2]}`); }
      });
      child.on('exit', (code) => reject(new Error(`start.mjs exited with ${code}:\n${out}`)));
    });
    expect(out).toMatch(/Electron is not available: .*binary is missing/);
    expect(out).toContain('npx install-electron');
    expect(out).toContain('ELECTRON_MIRROR');
    expect(out).toContain('Starting the browser mode instead');
    const [base, token] = url.split(' ');
    expect((await fetch(`${base}/api/health`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${base}/api/health`)).status).toBe(401);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});
