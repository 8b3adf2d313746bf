// The narrow surface the Electron preload exposes as window.tessera (see src-main/electron/preload.ts).
// Absent in browser mode.
import type { ApiEvent, IpcReply } from '../../src-main/contract/api.ts';

export interface TesseraBridge {
  call(method: string, request: unknown): Promise<IpcReply>;
  onEvent(listener: (e: ApiEvent) => void): () => void;
  platform: string;
  /** The native open dialog (Electron only); null when cancelled. */
  pickPath(kind: 'folder' | 'file'): Promise<string | null>;
}

declare global {
  interface Window { tessera?: TesseraBridge }
}

export function bridge(): TesseraBridge | undefined {
  return typeof window !== 'undefined' ? window.tessera : undefined;
}
