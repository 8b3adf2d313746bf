// Builds the Electron main process and preload into dist/electron/ (package.json "main" is
// dist/electron/main.js):
//   - every src-main module is transpiled file by file (not bundled) into dist/electron/app/, with
//     relative `.ts` specifiers rewritten to `.js`, so the backend's worker-thread entries
//     (new URL('./worker.ts', import.meta.url)) exist as files next to their parents;
//   - dist/electron/main.js imports the transpiled src-main/electron/main.js, which forks the backend
//     host (dist/electron/app/src-main/electron/backend-host.js) as a utilityProcess: the store, the
//     job runner and every native module live there, never in the main process;
//   - the preload is bundled to one CommonJS file (sandboxed preloads cannot load modules).
// Native modules (better-sqlite3, onnxruntime-node, sharp) stay in node_modules.
import { build } from 'esbuild';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist', 'electron');
const appOut = join(out, 'app');

async function walk(dir) {
  const files = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await walk(p)));
    else if ((e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) || e.name.endsWith('.mjs')) files.push(p);
  }
  return files;
}

const rewrite = (code) => code.replace(/(["'`])(\.{1,2}\/[^"'`\n]*?)\.ts\1/g, '$1$2.js$1');

const t0 = Date.now();
await rm(out, { recursive: true, force: true });
const sources = (await walk(join(root, 'src-main'))).filter((f) => !f.includes(`${join('src-main', 'electron', 'preload')}`));
const ts = sources.filter((f) => f.endsWith('.ts'));
await build({
  entryPoints: ts, outdir: join(appOut, 'src-main'), outbase: join(root, 'src-main'),
  bundle: false, format: 'esm', platform: 'node', target: 'node22', sourcemap: false, logLevel: 'warning',
});
for (const f of ts) {
  const js = join(appOut, relative(root, f)).replace(/\.ts$/, '.js');
  await writeFile(js, rewrite(await readFile(js, 'utf8')));
}
for (const f of sources.filter((s) => s.endsWith('.mjs'))) {
  const dest = join(appOut, relative(root, f));
  await mkdir(dirname(dest), { recursive: true });
  await writeFile(dest, await readFile(f));
}
// backend.ts reads its version from ../../../package.json relative to itself
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
await writeFile(join(appOut, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true }, null, 1));
await writeFile(join(out, 'main.js'), "// Entry of the desktop app (package.json \"main\"): the transpiled Electron main process.\nimport './app/src-main/electron/main.js';\n");
await build({
  entryPoints: [join(root, 'src-main', 'electron', 'preload.ts')], outfile: join(out, 'preload.cjs'),
  bundle: true, format: 'cjs', platform: 'node', target: 'node22', external: ['electron'], logLevel: 'warning',
});
const host = join(appOut, 'src-main', 'electron', 'backend-host.js');
await readFile(host).catch(() => { throw new Error(`build-electron: the backend host entry ${host} was not emitted`); });
console.log(`dist/electron: main.js, preload.cjs, the backend host and ${ts.length} modules in ${Date.now() - t0} ms`);
