// Preload (sandboxed, context-isolated): exposes window.tessera, a narrow bridge with exactly three
// functions: call an API method, listen to API events, pick a path with the native dialog. The page
// never sees ipcRenderer. Channel names are checked against the contract at type level only, so
// this file bundles to a few lines with no dependencies but electron.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { IPC_CALL as CALL, IPC_EVENT as EVENT } from '../contract/api.ts';
import type { IPC_PICK_PATH as PICK } from './ipc.ts';

const IPC_CALL: typeof CALL = 'tessera:call';
const IPC_EVENT: typeof EVENT = 'tessera:event';
const IPC_PICK_PATH: typeof PICK = 'tessera:pick-path';

contextBridge.exposeInMainWorld('tessera', {
  platform: process.platform,
  call: (method: string, request: unknown) => {
    if (typeof method !== 'string') throw new TypeError('method must be a string');
    return ipcRenderer.invoke(IPC_CALL, method, request);
  },
  onEvent: (listener: (e: unknown) => void) => {
    const on = (_e: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(IPC_EVENT, on);
    return () => { ipcRenderer.removeListener(IPC_EVENT, on); };
  },
  pickPath: (kind: 'folder' | 'file') => ipcRenderer.invoke(IPC_PICK_PATH, kind === 'file' ? 'file' : 'folder'),
});
