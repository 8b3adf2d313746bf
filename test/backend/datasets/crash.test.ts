// SIGKILL during an import and during caption edits (test/store/kill.ts): the reopened store passes
// integrity_check, holds every batch the child reported as committed (and only whole batches), and
// re-running the import completes it without duplicating a row.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importDataset } from '../../../src-main/backend/datasets/index.ts';
import { openStore } from '../../../src-main/backend/store/index.ts';
import { runAndKill } from '../../store/kill.ts';
import { checkAndClose, itemsOf, tempDir, track, writeManyPngs } from './helpers.ts';

const child = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
const FILES = 1200;

async function importAndKill(db: string, root: string, atLeast: number) {
  const reported: number[] = [];
  const { signal } = await runAndKill(child, ['import', db, root], (line) => {
    const m = /^committed ([\d,]*)$/.exec(line);
    if (m && m[1]) reported.push(...m[1].split(',').map(Number));
    return reported.length >= atLeast;
  });
  return { reported, signal };
}

describe('SIGKILL during dataset work', () => {
  it('an import killed mid-way keeps every reported batch; re-running it completes without duplicates', async () => {
    const dir = tempDir();
    const root = join(dir, 'images');
    const rels = await writeManyPngs(root, FILES, 8);
    const db = join(dir, 'tessera.db');
    const { reported, signal } = await importAndKill(db, root, 400);
    expect(signal).toBe('SIGKILL');

    let store = track(await openStore(db));
    expect(store.integrityCheck()).toBe('ok');
    const ds = store.datasets.getByName('big')!;
    expect(ds.importStatus).toBe('importing'); // never mistaken for a finished import
    const onDisk = store.items.stats(ds.id).total;
    expect(onDisk).toBeGreaterThanOrEqual(reported.length);
    expect(onDisk).toBeLessThanOrEqual(reported.length + 100);
    expect(onDisk % 100).toBe(0); // whole batches only
    const before = new Map(reported.map((id) => [id, store.items.get(id).path]));
    console.log(`datasets: import SIGKILLed after ${reported.length} reported items; ${onDisk} on disk of ${FILES}`);
    store.close();

    store = track(await openStore(db));
    const s = await importDataset(store, { kind: 'folder', path: root, name: 'big' });
    expect(s).toMatchObject({ datasetId: ds.id, skipped: onDisk, imported: FILES - onDisk, bad: 0 });
    const all = itemsOf(store, ds.id);
    expect(all.map((r) => r.path)).toEqual([...rels].sort());
    for (const [id, p] of before) expect(store.items.get(id).path).toBe(p);
    expect(store.datasets.get(ds.id).importStatus).toBe('done');
    checkAndClose(store);
  });

  it('caption edits killed mid-way keep every reported transaction, whole', async () => {
    const dir = tempDir();
    const root = join(dir, 'images');
    await writeManyPngs(root, 200, 2);
    const db = join(dir, 'tessera.db');
    let store = track(await openStore(db));
    const { datasetId } = await importDataset(store, { kind: 'folder', path: root, name: 'big' });
    store.close();

    let reported = 0;
    const { signal } = await runAndKill(child, ['edit', db], (line) => {
      const m = /^edited (\d+)$/.exec(line);
      if (m) reported = Number(m[1]);
      return reported >= 3000;
    });
    expect(signal).toBe('SIGKILL');
    store = track(await openStore(db));
    expect(store.integrityCheck()).toBe('ok');
    const items = itemsOf(store, datasetId);
    const ids = items.map((r) => r.id).sort((a, b) => a - b);
    // edit j went to ids[j % n]: count the edits on disk, and check each item's latest one
    let edits = 0;
    for (const id of ids) edits += store.captions.history(id).filter((c) => c.source === 'user').length;
    expect([reported, reported + 50]).toContain(edits);
    ids.forEach((id, k) => {
      const last = k + Math.floor((edits - 1 - k) / ids.length) * ids.length; // the last edit j < edits with j % n = k
      expect(store.captions.current(id)!.text, `item ${id}`).toBe(`edit ${last}`);
    });
    console.log(`datasets: caption edits SIGKILLed after ${reported} reported; ${edits} on disk`);
    checkAndClose(store);
  });
});
