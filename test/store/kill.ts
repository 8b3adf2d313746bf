// The SIGKILL harness shared by the crash tests: runs a TypeScript child (node --import tsx) that
// prints one line per committed unit of work, hands each stdout line to `onLine`, and SIGKILLs the
// child as soon as `onLine` returns true. Lines already in the pipe when the kill lands are still
// read (they were printed after a commit, so they count). Rejects if the child exits by itself.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export function runAndKill(script: string, args: string[], onLine: (line: string) => boolean, timeoutMs = 60_000): Promise<{ signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '', err = '', killed = false;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${script} too slow: not killed after ${timeoutMs} ms; stderr: ${err}`)); }, timeoutMs);
    const feed = (lines: string[]) => {
      for (const line of lines) {
        if (onLine(line) && !killed) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      feed(lines);
    });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      // 'close' comes after stdout is drained: lines already in the pipe when the kill landed count
      feed(buf.split('\n').filter((l) => l !== ''));
      if (!killed) reject(new Error(`${script} exited by itself (signal ${signal}); stderr: ${err}`));
      else resolve({ signal, stderr: err });
    });
  });
}
