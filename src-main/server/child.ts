// `tessera serve` as a child process, for scripts and tests that drive the app only through its
// API and may kill it (SIGKILL) to check crash recovery: spawns node with the tsx loader on this
// checkout's CLI (no npm wrapper, so a kill reaches the server itself), and resolves with the URL
// and token it prints. From source only (the CLI as .ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { engineHostEnv } from '../engine/runtime/host-env.ts';

export interface ServeChild {
  child: ChildProcess;
  /** http://127.0.0.1:PORT */
  base: string;
  token: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when the process is gone (with its exit code or signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Starts `tessera serve --port 0 --data DATA_DIR`; rejects with its output if no URL comes within `timeoutMs`. */
export function spawnServe(dataDir: string, opts: { timeoutMs?: number; args?: string[] } = {}): Promise<ServeChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src-main/cli/main.ts', 'serve', '--port', '0', '--data', dataDir, ...(opts.args ?? [])], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: engineHostEnv({ ...process.env, TESSERA_DATA: '' }), // started with what a relaunch would add, so a kill reaches the server itself
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return new Promise((resolve, reject) => {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tessera serve printed no URL in ${timeoutMs / 1000} s:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)\/#token=([\w-]+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ child, base: m[1], token: m[2], output: () => out, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(t);
      reject(new Error(`tessera serve exited (${signal ?? code}) before printing its URL:\n${out}`));
    });
  });
}
