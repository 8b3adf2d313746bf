// `tessera serve`: the API over HTTP + WebSocket on 127.0.0.1 with a per-launch token, plus the web
// interface at the printed URL. Runs until SIGINT/SIGTERM, then shuts down cleanly: running
// trainings save a checkpoint and resume at the next start. Jobs a crash interrupted resume on start.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../server/server.ts';
import { intFlag, parseFlags, type Command } from '../command.ts';

/** Where Tessera keeps its data by default, following each OS's convention. */
export function defaultDataDir(): string {
  if (process.env.TESSERA_DATA) return resolve(process.env.TESSERA_DATA);
  const home = homedir();
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Tessera');
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'Tessera');
  return join(process.env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'tessera');
}

const SHIPPED_MODELS = fileURLToPath(new URL('../../../models', import.meta.url));

export const serve: Command = {
  name: 'serve',
  summary: 'serve the app and its API on 127.0.0.1 (prints the URL with its access token)',
  usage: 'serve [--port N] [--data DIR] [--models DIR]',
  async run(argv) {
    const { values } = parseFlags(argv, { port: { type: 'string' }, data: { type: 'string' }, models: { type: 'string' } });
    const port = intFlag('port', values.port, 0, 0);
    if (port > 65535) throw new Error(`--port must be at most 65535, got ${port}`);
    const dataDir = values.data ? resolve(values.data) : defaultDataDir();
    const server = await startServer({ port, dataDir, modelsDir: [SHIPPED_MODELS, ...(values.models ? [resolve(values.models)] : [])] });
    const recovered = server.backend.store.jobs.list({ status: 'running' }).length + server.backend.store.jobs.list({ status: 'queued' }).length;
    console.log(`Tessera is serving ${dataDir}`);
    if (recovered) console.log(`${recovered} job(s) queued or resumed from their checkpoints`);
    console.log(`Open ${server.url}/#token=${server.token}`);
    console.log('Press Ctrl+C to stop (running trainings save a checkpoint and continue at the next start).');
    await new Promise<void>((done) => {
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return void console.log(`${sig}: already stopping (waiting for the checkpoint)`);
        stopping = true;
        console.log(`\n${sig}: stopping; pausing running jobs with a checkpoint…`);
        server.close().then(() => { console.log('stopped cleanly'); done(); }, (e) => { console.error(`shutdown failed: ${(e as Error).message}`); process.exitCode = 1; done(); });
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
  },
};
