// Crash-safe files for the store: writeFileAtomic (temp file in the same folder, fsync, rename,
// fsync the folder), sha256 of a file, and registerCheckpoint, which writes a checkpoint file
// atomically first and only then inserts its row, so a row never points at a half-written file.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CheckpointRow, CheckpointsRepo } from './checkpoints.ts';

export { fsyncDir, fsyncFile, tempPathFor, writeFileAtomic } from '../../engine/io/atomic.ts';
import { fsyncDir, fsyncFile, tempPathFor } from '../../engine/io/atomic.ts';

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
