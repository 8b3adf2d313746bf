// app://tessera/ serves the built renderer and the images behind /api/files/<kind>/<id> from disk,
// with the CSP header (file lookups are answered by the backend host); nothing outside the renderer
// folder is reachable by path.
import { protocol } from 'electron';
import { readFile } from 'node:fs/promises';
import { extname, relative, resolve, sep } from 'node:path';
import { FILE_KINDS, type FileKind } from '../contract/api.ts';
import type { RemoteBackend } from './host-protocol.ts';
import { APP_SCHEME, CSP } from './security.ts';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg',
  '.gif': 'image/gif', '.webp': 'image/webp', '.bmp': 'image/bmp', '.ico': 'image/x-icon', '.woff2': 'font/woff2',
};

/** Must run before app 'ready': app:// behaves like https (secure context, fetch, relative URLs). */
export function registerScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

const respond = (status: number, body: BodyInit | null, type = 'text/plain; charset=utf-8') =>
  new Response(body, { status, headers: { 'content-type': type, 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' } });

export function handleProtocol(rendererDir: string, backend: RemoteBackend): void {
  const root = resolve(rendererDir);
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const files = /^\/api\/files\/([a-z]+)\/(\d+)$/.exec(url.pathname);
    try {
      if (files) {
        if (!(FILE_KINDS as readonly string[]).includes(files[1])) return respond(404, 'no such file kind');
        const path = await backend.filePath(files[1] as FileKind, Number(files[2]));
        return respond(200, new Uint8Array(await readFile(path)), MIME[extname(path).toLowerCase()] ?? 'application/octet-stream');
      }
      const rel = decodeURIComponent(url.pathname);
      const full = resolve(root, `.${rel === '/' || !extname(rel) ? '/index.html' : rel}`);
      const r = relative(root, full);
      if (rel.includes('\0') || r.startsWith('..') || r.startsWith(sep)) return respond(404, 'not found');
      return respond(200, new Uint8Array(await readFile(full)), MIME[extname(full).toLowerCase()] ?? 'application/octet-stream');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return respond(err.code === 'ENOENT' || err.name === 'NotFoundError' ? 404 : 500, err.message);
    }
  });
}
