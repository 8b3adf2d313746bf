#!/usr/bin/env node
// `npm start`: the desktop app where Electron's binary is installed; otherwise says what is missing,
// how to get it, and starts the browser mode (`tessera serve`) instead. Builds the renderer (and
// the Electron main/preload) first when they are missing or older than their sources.
// Never calls require('electron'): when the binary is missing, that starts a download.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const electronPkg = join(root, 'node_modules', 'electron');
const passThrough = process.argv.slice(2);

/** The Electron executable if it is installed, else null (with the reason). */
export function findElectron() {
  if (!existsSync(join(electronPkg, 'package.json'))) return { path: null, why: 'the electron npm package is not installed (run npm install)' };
  const version = JSON.parse(readFileSync(join(electronPkg, 'package.json'), 'utf8')).version;
  const pathFile = join(electronPkg, 'path.txt');
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const distDir = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(electronPkg, 'dist');
  if (!rel && !process.env.ELECTRON_OVERRIDE_DIST_PATH) return { path: null, version, why: `electron ${version} is installed without its binary (node_modules/electron/path.txt is missing: the download did not happen)` };
  const exe = join(distDir, rel ?? 'electron');
  if (!existsSync(exe)) return { path: null, version, why: `electron ${version}'s binary is missing: ${exe} does not exist` };
  return { path: exe, version };
}

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function stale(output, ...sources) {
  if (!existsSync(output)) return true;
  const built = statSync(output).mtimeMs;
  return sources.some((s) => existsSync(s) && newest(s) > built);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function buildRenderer() {
  if (stale(join(root, 'dist', 'renderer', 'index.html'), join(root, 'src-renderer'), join(root, 'src-main', 'contract'))) {
    console.log('Building the interface (vite build → dist/renderer)…');
    run(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build']);
  }
}

const electron = findElectron();
if (electron.path) {
  buildRenderer();
  if (stale(join(root, 'dist', 'electron', 'main.js'), join(root, 'src-main'))) run(process.execPath, [join(root, 'scripts', 'build-electron.mjs')]);
  const child = spawn(electron.path, [root, ...passThrough], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(signal ? 1 : code ?? 0));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
} else {
  const v = electron.version ?? 'the version in package.json';
  console.log(`
Electron is not available: ${electron.why}.

To run the desktop app, install Electron's binary on a machine with network access:
  npx install-electron          (or: rm -rf node_modules/electron && npm install)
  check it with: npx electron --version
Behind a proxy or offline mirror, set ELECTRON_MIRROR (or ELECTRON_CUSTOM_DIR) before installing,
or point ELECTRON_OVERRIDE_DIST_PATH at an unpacked Electron ${v} folder.
See https://www.electronjs.org/docs/latest/tutorial/installation

Starting the browser mode instead: the same app, served on 127.0.0.1.
`);
  buildRenderer();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src-main', 'cli', 'main.ts'), 'serve', ...passThrough], { cwd: root, stdio: ['inherit', 'pipe', 'inherit'] });
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)/.exec(String(chunk))?.[1];
    // open a browser only when one is configured (BROWSER=firefox, BROWSER=chromium, …)
    if (url && process.env.BROWSER) spawn(process.env.BROWSER, [url], { stdio: 'ignore', detached: true }).on('error', (e) => console.error(`could not start $BROWSER (${process.env.BROWSER}): ${e.message}`)).unref();
  });
  child.on('exit', (code, signal) => process.exit(signal ? 1 : code ?? 0));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
}
