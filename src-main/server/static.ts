// Serves the built renderer (dist/renderer) with a strict Content-Security-Policy, correct MIME
// types, no directory listing and no way out of the folder; paths without an extension get
// index.html (client-side routes). Without a build, / explains how to make one.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, relative, resolve, sep } from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif',
  '.webp': 'image/webp', '.avif': 'image/avif', '.bmp': 'image/bmp', '.tif': 'image/tiff', '.tiff': 'image/tiff', '.ico': 'image/x-icon',
  '.woff': 'font/woff', '.woff2': 'font/woff2', '.ttf': 'font/ttf', '.txt': 'text/plain; charset=utf-8', '.wasm': 'application/wasm',
};

export const contentType = (path: string): string => MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';

/** The page may load only from its own origin and talk only to this server (HTTP and WebSocket). */
export const csp = (port: number): string => [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob: data:", "font-src 'self'",
  `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`, "object-src 'none'", "base-uri 'none'",
  "form-action 'none'", "frame-src 'none'", "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Tessera</title>
<h1>Tessera's API is running</h1><p>The web interface is not built in this checkout. Build it with
<code>npx vite build</code> (it goes to dist/renderer), then reload this page with its #token link.</p>`;

export async function serveStatic(req: IncomingMessage, res: ServerResponse, url: URL, dir: string, port: number): Promise<void> {
  const headers = {
    'content-security-policy': csp(port), 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-resource-policy': 'same-origin',
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...headers, 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' });
    return void res.end('method not allowed');
  }
  const root = resolve(dir);
  let rel: string;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    res.writeHead(400, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
    return void res.end('bad path encoding');
  }
  if (rel.includes('\0')) {
    res.writeHead(400, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
    return void res.end('bad path');
  }
  let file = resolve(root, `.${normalize(`/${rel}`)}`);
  const inside = relative(root, file);
  if (inside.startsWith('..') || inside.startsWith(sep)) {
    res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
    return void res.end('not found');
  }
  let st = await stat(file).catch(() => null);
  if (st?.isDirectory()) {
    file = join(file, 'index.html');
    st = await stat(file).catch(() => null);
  }
  if (!st?.isFile() && extname(file) === '') {
    file = join(root, 'index.html');
    st = await stat(file).catch(() => null);
  }
  if (!st?.isFile()) {
    const page = file === join(root, 'index.html');
    res.writeHead(page ? 200 : 404, { ...headers, 'content-type': page ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    return void res.end(page ? NOT_BUILT : 'not found');
  }
  const html = file.endsWith('.html');
  res.writeHead(200, { ...headers, 'content-type': contentType(file), 'content-length': st.size, 'cache-control': html ? 'no-store' : 'public, max-age=31536000, immutable' });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).pipe(res);
}
