// Crash-safe files for the store: writeFileAtomic (temp file in the same folder, fsync, rename,
// fsync the folder), sha256 of a file, and registerCheckpoint, which writes a checkpoint file
// atomically first and only then inserts its row, so a row never points at a half-written file.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CheckpointRow, CheckpointsRepo } from './checkpoints.ts';

/** fsync a folder so a rename inside it is durable (a no-op where folders cannot be opened: Windows). */
async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch (e) {
    if (process.platform === 'win32') return;
    throw e;
  }
  try {
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR') throw e;
  } finally {
    await fh.close();
  }
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A temp path beside `path` (same folder, hence same filesystem, so rename is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Replaces `path` with `bytes` atomically: readers see the old file or the new one, never a part. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dirname(path));
}

/** sha256 of a file as lowercase hex, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Saves a checkpoint crash-safely: `writer` writes the file at the temp path it is given; the file
 * is then fsynced, hashed, renamed to `path` and its folder fsynced; only then is the row inserted
 * (durably). A crash before the row leaves an orphan file and the previous checkpoint stays latest.
 */
export async function registerCheckpoint(
  store: { readonly checkpoints: CheckpointsRepo },
  runId: number,
  step: number,
  path: string,
  writer: (tmpPath: string) => Promise<void>,
): Promise<CheckpointRow> {
  const tmp = tempPathFor(path);
  let sha256: string, bytes: number;
  try {
    await writer(tmp);
    await fsyncFile(tmp);
    bytes = (await stat(tmp)).size;
    sha256 = await sha256File(tmp);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new Error(`registerCheckpoint: writing run ${runId} step ${step} to ${path} failed: ${(e as Error).message}`, { cause: e });
  }
  await fsyncDir(dirname(path));
  return store.checkpoints.register(runId, { step, path, bytes, sha256 });
}
