// Electron main process: thin. Starts the backend host (store, job runner with its worker threads,
// every native module) as a utilityProcess on the user's data folder, serves the renderer on
// app://tessera, forwards the API over IPC to the host, and opens one hardened window: context
// isolation, sandbox, no Node in the page, strict CSP, no navigation or new windows, every
// permission denied. Nothing heavy runs on this process's event loop.
import { app, BrowserWindow, dialog, session, utilityProcess } from 'electron';
import { fileURLToPath } from 'node:url';
import { connectHost, type FromHost, type HostOptions, type RemoteBackend } from './host-protocol.ts';
import { serveIpc } from './ipc.ts';
import { appPaths } from './paths.ts';
import { handleProtocol, registerScheme } from './protocol.ts';
import { APP_ORIGIN, hardenContents, hardenSession } from './security.ts';
import { engineHostEnv } from '../engine/runtime/host-env.ts';

app.enableSandbox();
registerScheme();

let backend: RemoteBackend | null = null;
let closing = false;
let stopIpc: (() => void) | null = null;

function createWindow(preload: string): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280, height: 820, minWidth: 880, minHeight: 560, show: false,
    title: 'Tessera', backgroundColor: '#14161b', autoHideMenuBar: true,
    webPreferences: {
      preload, contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false,
      webSecurity: true, allowRunningInsecureContent: false, webviewTag: false, spellcheck: false,
      devTools: !app.isPackaged,
    },
  });
  hardenContents(win.webContents);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(`${APP_ORIGIN}/index.html`);
  return win;
}

/** Forks backend-host.js (next to this file once built) as a utilityProcess and connects to it. */
function startHost(options: HostOptions): Promise<RemoteBackend> {
  const entry = fileURLToPath(new URL('./backend-host.js', import.meta.url));
  const child = utilityProcess.fork(entry, [], { serviceName: 'Tessera backend', stdio: 'inherit', env: engineHostEnv() });
  return connectHost({
    post: (m) => child.postMessage(m),
    onMessage: (l) => child.on('message', (m: FromHost) => l(m)),
    onExit: (l) => child.on('exit', (code) => {
      l(code);
      if (!closing) {
        dialog.showErrorBox('Tessera stopped working', `The backend process exited unexpectedly (code ${code}). Your data is safe; start Tessera again.`);
        app.exit(1);
      }
    }),
  }, options);
}

async function start(): Promise<void> {
  await app.whenReady();
  const paths = appPaths(app.getAppPath(), process.resourcesPath, app.isPackaged, app.getPath('userData'));
  hardenSession(session.defaultSession);
  backend = await startHost({ dataDir: paths.data, modelsDirs: [paths.models] });
  handleProtocol(paths.renderer, backend);
  stopIpc = serveIpc(backend);
  createWindow(paths.preload);
  app.on('second-instance', () => {
    const w = BrowserWindow.getAllWindows()[0];
    if (w) { if (w.isMinimized()) w.restore(); w.focus(); }
  });
  app.on('activate', () => { if (BrowserWindow.getAllWindows().length === 0) createWindow(paths.preload); });
}

app.on('web-contents-created', (_e, wc) => hardenContents(wc));
app.on('window-all-closed', () => { if (process.platform !== 'darwin') app.quit(); });

app.on('before-quit', (e) => {
  if (closing || !backend) return;
  // let running trainings checkpoint and the store close cleanly before exiting
  e.preventDefault();
  closing = true;
  stopIpc?.();
  void backend.close().finally(() => app.quit());
});

if (!app.requestSingleInstanceLock()) {
  app.quit(); // another Tessera window is open: it gets focused (second-instance)
} else {
  start().catch((e: unknown) => {
    console.error(`Tessera could not start: ${(e as Error)?.stack ?? String(e)}`);
    app.exit(1);
  });
}
