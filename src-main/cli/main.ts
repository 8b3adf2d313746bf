// `tessera`: the command line. Run as `npm run tessera -- <command> [flags]`.
// On Linux the process first relaunches itself with huge-page malloc (engine/runtime/host-env.ts:
// glibc reads it only at start), then dispatch.ts runs the command. The relaunched process is the
// real one; this one waits for it, leaves Ctrl-C to it (the terminal sends it to both), passes
// SIGTERM/SIGHUP on and exits the way it exits; killed outright, it takes the relaunched one along.
import { spawn } from 'node:child_process';
import { engineHostEnv } from '../engine/runtime/host-env.ts';

const env = engineHostEnv();
if (env === process.env) {
  // relaunched: if the launcher is killed outright (SIGKILL cannot be passed on), do not outlive it
  const launcher = Number(process.env.TESSERA_PARENT_PID);
  delete process.env.TESSERA_PARENT_PID;
  if (launcher) setInterval(() => process.ppid !== launcher && process.kill(process.pid, 'SIGKILL'), 250).unref();
  await import('./dispatch.ts');
} else {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...env, TESSERA_PARENT_PID: String(process.pid) } });
  process.on('SIGINT', () => {});
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  child.on('error', (e) => {
    console.error(`tessera: could not start ${process.execPath}: ${e.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}
