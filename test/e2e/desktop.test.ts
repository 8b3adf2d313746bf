// The desktop shell without Electron's binary (as on this offline machine): the Electron build
// produces dist/electron/main.js + preload.cjs and a transpiled src-main whose backend really runs
// under Node (worker paths included); `npm start` says what is missing, how to get it, and serves
// the browser mode, whose health check answers with the printed token.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, test } from 'vitest';
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
