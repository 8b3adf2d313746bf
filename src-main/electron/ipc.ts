// The IPC side of the API: the renderer invokes IPC_CALL with (method, request); only frames served
// from app:// are answered; the call is forwarded to the backend host (a utilityProcess), which
// validates it against the contract's schema and runs the same handler table as the HTTP server.
// Events from the host go to every app window on IPC_EVENT.
import { BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { IPC_CALL, IPC_EVENT, isMethod, type IpcReply } from '../contract/api.ts';
import type { RemoteBackend } from './host-protocol.ts';
import { isAppUrl } from './security.ts';

export const IPC_PICK_PATH = 'tessera:pick-path' as const;

function trusted(e: IpcMainInvokeEvent): boolean {
  return !!e.senderFrame && isAppUrl(e.senderFrame.url);
}

export function serveIpc(backend: RemoteBackend): () => void {
  ipcMain.handle(IPC_CALL, async (e, method: unknown, request: unknown): Promise<IpcReply> => {
    if (!trusted(e)) return { ok: false, error: { name: 'ForbiddenError', message: 'IPC is only answered for the app’s own pages' } };
    if (typeof method !== 'string' || !isMethod(method)) return { ok: false, error: { name: 'NotFoundError', message: `unknown API method ${JSON.stringify(method)}` } };
    const r = await backend.call(method, request);
    return r.ok ? { ok: true, result: r.result } : { ok: false, error: r.error };
  });
  ipcMain.handle(IPC_PICK_PATH, async (e, kind: unknown): Promise<string | null> => {
    if (!trusted(e) || (kind !== 'folder' && kind !== 'file')) return null;
    const win = BrowserWindow.fromWebContents(e.sender);
    const opts = { properties: [kind === 'folder' ? 'openDirectory' : 'openFile'] as ('openDirectory' | 'openFile')[] };
    const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
    return r.canceled ? null : r.filePaths[0] ?? null;
  });
  const off = backend.onEvent((ev) => {
    for (const w of BrowserWindow.getAllWindows()) if (!w.isDestroyed() && isAppUrl(w.webContents.getURL())) w.webContents.send(IPC_EVENT, ev);
  });
  return () => {
    off();
    ipcMain.removeHandler(IPC_CALL);
    ipcMain.removeHandler(IPC_PICK_PATH);
  };
}
