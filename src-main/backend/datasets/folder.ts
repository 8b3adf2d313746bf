// A folder tree of images as an import source: walked depth-first in name order (one folder's
// listing in memory at a time), each image captioned by a sidecar `<basename>.txt` beside it when
// there is one, uncaptioned otherwise. Hidden entries (.cache, .git) are skipped; a symbolic link
// to a folder is recorded and not followed (links could loop or leave the dataset).
import { promises as fsp, type Dirent } from 'node:fs';
import path from 'node:path';
import { isImageName } from './files.ts';
import type { Entry } from './ingest.ts';

/** Image paths under `root` ('/'-separated, relative), and errors for folders that cannot be read. */
async function* walk(root: string, rel = ''): AsyncGenerator<{ rel: string; dirent: Dirent } | { error: string; rel: string }> {
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(path.join(root, rel), { withFileTypes: true });
  } catch (e) {
    yield { rel: rel || '.', error: `${rel || '.'}: cannot list folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); skipped` };
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of entries) {
    if (d.name.startsWith('.')) continue;
    const child = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) yield* walk(root, child);
    else yield { rel: child, dirent: d };
  }
}

async function readSidecar(root: string, rel: string): Promise<{ caption: string | null; error?: string }> {
  const txt = rel.slice(0, rel.length - path.posix.extname(rel).length) + '.txt';
  try {
    const text = await fsp.readFile(path.join(root, ...txt.split('/')), 'utf8');
    return { caption: text.replace(/^\uFEFF/, '').trim() };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { caption: null };
    return { caption: null, error: `${txt}: cannot read the caption file (${code ?? (e as Error).message}); image imported uncaptioned` };
  }
}

/** Number of image files under root (the import's total), walking names only. */
export async function countImages(root: string): Promise<number> {
  let n = 0;
  for await (const e of walk(root)) if ('dirent' in e && isImageName(e.rel)) n++;
  return n;
}

export async function* folderEntries(root: string): AsyncGenerator<Entry> {
  for await (const e of walk(root)) {
    if ('error' in e) { yield { kind: 'error', path: e.rel, reason: e.error }; continue; }
    if (!isImageName(e.rel)) continue;
    if (e.dirent.isSymbolicLink()) {
      const target = await fsp.stat(path.join(root, ...e.rel.split('/'))).catch(() => null);
      if (target?.isDirectory()) { yield { kind: 'error', path: e.rel, reason: `${e.rel}: is a symbolic link to a folder; not followed` }; continue; }
    }
    const side = await readSidecar(root, e.rel);
    yield { kind: 'file', given: e.rel, caption: side.caption, note: side.error };
  }
}
