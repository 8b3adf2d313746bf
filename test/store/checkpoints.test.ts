// Crash-safe checkpoint files: writeFileAtomic leaves no temp files and never a partial target;
// registerCheckpoint writes the file before the row; latestValid falls back past checkpoints whose
// file is truncated, corrupt or missing, and ignores a file that never got its row.
import { existsSync, readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerCheckpoint, sha256File, writeFileAtomic } from '../../src-main/backend/store/index.ts';
import { checkAndClose, freshStore, sha256, tempDir } from './helpers.ts';

const payload = (step: number) => Buffer.alloc(4096 + step, step % 251);

describe('atomic files', () => {
  it('replaces a file atomically and leaves no temp files', async () => {
    const dir = tempDir();
    const p = join(dir, 'model.safetensors');
    await writeFileAtomic(p, 'first');
    await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(p)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    expect(await sha256File(p)).toBe(sha256(new Uint8Array([1, 2, 3])));
    await expect(writeFileAtomic(join(dir, 'missing', 'x.bin'), 'x')).rejects.toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });
});

describe('checkpoints', () => {
  it('registers after the file is complete, and latestValid skips bad files', async () => {
    const { store, dir } = await freshStore();
    const run = store.runs.create({ kind: 'lm', recipe: 'r', config: {} });
    const paths: string[] = [];
    for (const step of [100, 200, 300]) {
      const p = join(dir, `ckpt-${step}.bin`);
      paths.push(p);
      const row = await registerCheckpoint(store, run.id, step, p, async (tmp) => {
        expect(existsSync(p)).toBe(false); // the final name appears only after the writer is done
        await writeFile(tmp, payload(step));
      });
      expect(row).toMatchObject({ runId: run.id, step, path: p, bytes: 4096 + step, sha256: sha256(payload(step)) });
    }
    expect((store as any).db.raw.pragma('synchronous', { simple: true })).toBe(1); // back to NORMAL
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(store.checkpoints.list(run.id).map((c) => c.step)).toEqual([100, 200, 300]);
    expect((await store.checkpoints.latestValid(run.id))?.step).toBe(300);

    // a crash after the file but before the row: the orphan file is not a checkpoint
    await writeFileAtomic(join(dir, 'ckpt-400.bin'), payload(400));
    expect(store.checkpoints.latest(run.id)?.step).toBe(300);

    // the newest file truncated (e.g. a disk filled up): fall back to 200, and say why
    truncateSync(paths[2], 1000);
    const skipped: string[] = [];
    const v = await store.checkpoints.latestValid(run.id, { onSkip: (row, reason) => skipped.push(`${row.step}: ${reason}`) });
    expect(v?.step).toBe(200);
    expect(skipped).toEqual([`300: file ${paths[2]} has 1000 bytes, the row records 4396`]);

    // same size, different bytes: caught by the sha256
    const bytes = readFileSync(paths[1]);
    bytes[17] ^= 0xff;
    writeFileSync(paths[1], bytes);
    expect((await store.checkpoints.latestValid(run.id))?.step).toBe(100);

    unlinkSync(paths[0]);
    const reasons: string[] = [];
    expect(await store.checkpoints.latestValid(run.id, { onSkip: (_r, why) => reasons.push(why) })).toBeNull();
    expect(reasons[2]).toBe(`file ${paths[0]} is missing (ENOENT)`);

    // re-saving a step replaces its row; a resumed run can go on from there
    const again = await registerCheckpoint(store, run.id, 200, paths[1], async (tmp) => writeFile(tmp, payload(201)));
    expect(again.sha256).toBe(sha256(payload(201)));
    expect(store.checkpoints.list(run.id).length).toBe(3);
    expect((await store.checkpoints.latestValid(run.id))?.step).toBe(200);
    checkAndClose(store);
  });

  it('inserts no row and leaves no file when the writer fails', async () => {
    const { store, dir } = await freshStore();
    const run = store.runs.create({ kind: 'lm', recipe: 'r', config: {} });
    const p = join(dir, 'ckpt.bin');
    await expect(registerCheckpoint(store, run.id, 5, p, async (tmp) => {
      await writeFile(tmp, 'half');
      throw new Error('out of memory');
    })).rejects.toThrow(`registerCheckpoint: writing run ${run.id} step 5 to ${p} failed: out of memory`);
    expect(store.checkpoints.list(run.id)).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.startsWith('ckpt') || f.includes('.tmp-'))).toEqual([]);
    expect(() => store.checkpoints.register(run.id, { step: 1, path: p, bytes: 1, sha256: 'nope' })).toThrow(/checkpoints\.register: sha256: expected a sha256/);
    expect(() => store.checkpoints.register(999, { step: 1, path: p, bytes: 1, sha256: sha256('x') })).toThrow('checkpoints.register: runId: run 999 does not exist');
    checkAndClose(store);
  });
});
