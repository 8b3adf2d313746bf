// Huge-page malloc for processes that host the engine (engine/runtime/host-env.ts): the environment
// it adds, and the CLI's relaunch with it — checked on real processes: the relaunched CLI reports the
// tunable and a 64 MiB probe on huge pages, TESSERA_HUGE_PAGES=0 turns it off, and killing the
// launcher outright (SIGKILL) takes the relaunched server along.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { engineHostEnv, HUGE_PAGES_TUNABLE, hugePagesWanted } from '../../src-main/engine/runtime/host-env.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tmps: string[] = [];
afterAll(async () => {
  for (const d of tmps) await rm(d, { recursive: true, force: true });
});

/** `tessera info --json` started the way npm scripts start it (the launcher, not the relaunched process). */
async function info(env: NodeJS.ProcessEnv) {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src-main/cli/main.ts', 'info', '--json'], { cwd: repoRoot, env });
  return JSON.parse(stdout) as { huge_pages: { wanted: boolean; tunables: string | null; thp_mode: string | null; probe_mib: number | null } };
}

const plainEnv = () => {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  delete env.TESSERA_HUGE_PAGES;
  return env;
};

describe('huge-page malloc for engine processes', () => {
  it('adds the glibc tunable on Linux only, keeps other tunables, and respects TESSERA_HUGE_PAGES=0', () => {
    expect(engineHostEnv({}, 'linux').GLIBC_TUNABLES).toBe(HUGE_PAGES_TUNABLE);
    expect(engineHostEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux').GLIBC_TUNABLES).toBe(`glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}`);
    const already = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' };
    expect(engineHostEnv(already, 'linux')).toBe(already); // the user's own choice stands
    const off = { TESSERA_HUGE_PAGES: '0' };
    expect(engineHostEnv(off, 'linux')).toBe(off);
    for (const p of ['darwin', 'win32'] as const) {
      expect(hugePagesWanted({}, p)).toBe(false);
      expect(engineHostEnv({}, p).GLIBC_TUNABLES).toBeUndefined();
    }
  });

  it.runIf(process.platform === 'linux')('the CLI relaunches itself with it, and the memory really lands on huge pages', async () => {
    const on = (await info(plainEnv())).huge_pages;
    expect(on.wanted).toBe(true);
    expect(on.tunables).toBe(HUGE_PAGES_TUNABLE);
    // THP in 'madvise' or 'always' mode: the probe must be (almost) all on huge pages; 'never': none can be
    if (on.thp_mode === 'madvise' || on.thp_mode === 'always') expect(on.probe_mib).toBeGreaterThanOrEqual(32);
    else expect(on.probe_mib ?? 0).toBe(0);

    const off = (await info({ ...plainEnv(), TESSERA_HUGE_PAGES: '0' })).huge_pages;
    expect(off.wanted).toBe(false);
    expect(off.tunables).toBeNull();
    if (on.thp_mode === 'madvise') expect(off.probe_mib).toBe(0); // without the tunable nothing asks for huge pages
  });

  it.runIf(process.platform === 'linux')('a SIGKILLed launcher takes the relaunched server along', async () => {
    const data = await mkdtemp(join(tmpdir(), 'tessera-hp-'));
    tmps.push(data);
    const launcher = spawn(process.execPath, ['--import', 'tsx', 'src-main/cli/main.ts', 'serve', '--port', '0', '--data', data], { cwd: repoRoot, env: plainEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const base = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no URL in 60 s:\n${out}`)), 60_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        }
      };
      launcher.stdout.on('data', onData);
      launcher.stderr.on('data', onData);
    });
    const up = () => fetch(`${base}/`).then(() => true, () => false);
    expect(await up()).toBe(true);
    launcher.kill('SIGKILL');
    const t0 = Date.now();
    while ((await up()) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 100));
    expect(await up()).toBe(false); // the server (the relaunched process) is gone too
  }, 90_000);
});
