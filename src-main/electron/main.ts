// Electron main process: thin. Opens the backend (store, job runner with its worker threads) in the
// user's data folder, serves the renderer on app://tessera, bridges the API over IPC, and opens one
// hardened window: context isolation, sandbox, no Node in the page, strict CSP, no navigation or
// new windows, every permission denied. Heavy work runs in the backend's worker threads.
import { app, BrowserWindow, session } from 'electron';
import { openBackend, type Backend } from '../backend/api/backend.ts';
import { serveIpc } from './ipc.ts';
import { appPaths } from './paths.ts';
import { handleProtocol, registerScheme } from './protocol.ts';
import { APP_ORIGIN, hardenContents, hardenSession } from './security.ts';

app.enableSandbox();
registerScheme();

let backend: Backend | null = null;
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

async function start(): Promise<void> {
  await app.whenReady();
  const paths = appPaths(app.getAppPath(), process.resourcesPath, app.isPackaged, app.getPath('userData'));
  hardenSession(session.defaultSession);
  backend = await openBackend({ dataDir: paths.data, modelsDirs: [paths.models] });
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

let closing = false;
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
