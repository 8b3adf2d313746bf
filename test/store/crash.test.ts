// SIGKILL safety: a child process commits small transactions and reports each commit; it is
// killed with SIGKILL mid-way. The reopened database must pass integrity_check and hold every row
// the child reported as committed (and only whole transactions: no half-inserted batch).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src-main/backend/store/index.ts';
import { checkAndClose, tempDir, track } from './helpers.ts';
import { runAndKill } from './kill.ts';

const fixture = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));

/** Runs the writer until it has reported `atLeast` items, then SIGKILLs it; returns the last report. */
async function runWriterAndKill(dbPath: string, atLeast: number): Promise<{ reported: number; signal: string | null }> {
  let reported = 0;
  const { signal } = await runAndKill(fixture, [dbPath], (line) => {
    const m = /^committed (\d+)$/.exec(line);
    if (m) reported = Number(m[1]);
    return reported >= atLeast;
  });
  return { reported, signal };
}

describe('crash safety', () => {
  it('keeps every reported commit after SIGKILL, twice in a row (the second run resumes)', async () => {
    const dbPath = join(tempDir(), 'crash.db');
    for (const target of [1500, 3000]) {
      const { reported, signal } = await runWriterAndKill(dbPath, target);
      expect(signal).toBe('SIGKILL');
      expect(reported).toBeGreaterThanOrEqual(target);
      const store = track(await openStore(dbPath));
      expect(store.integrityCheck()).toBe('ok');
      const ds = store.datasets.getByName('crash')!;
      const stats = store.items.stats(ds.id);
      // every reported row is there; at most the one in-flight batch beyond; only whole batches
      expect(stats.total).toBeGreaterThanOrEqual(reported);
      expect(stats.total).toBeLessThanOrEqual(reported + 5);
      expect(stats.total % 5).toBe(0);
      for (let k = 0; k < reported; k += 5) {
        const first = store.items.findByPath(ds.id, `img/${String(k).padStart(6, '0')}.png`);
        expect(first, `item ${k}`).toBeDefined();
        expect(store.captions.current(first!.id)?.text).toBe(`edited ${k}`);
        expect(store.captions.history(first!.id).length).toBe(2);
      }
      expect(store.items.query({ datasetId: ds.id, text: 'edited' }).total).toBe(stats.total / 5);
      console.log(`store: SIGKILL after ${reported} reported items; ${stats.total} on disk`);
      checkAndClose(store);
    }
  });
});
