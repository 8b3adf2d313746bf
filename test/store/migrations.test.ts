// Migrations: a fresh database reaches the newest schema with no backup; an older schema (only the
// first migration) upgrades with a backup written first and its data preserved (the backup itself
// restores); a newer schema is refused with a clear error and the file left byte-for-byte as it was.
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, openStore, SCHEMA_VERSION, SchemaTooNewError, type Migration } from '../../src-main/backend/store/index.ts';
import { checkAndClose, fakeItems, freshStore, sha256, tempDir, track } from './helpers.ts';

/** The SQLite header keeps user_version big-endian at byte 60. */
const headerUserVersion = (path: string) => readFileSync(path).readUInt32BE(60);

describe('migrations', () => {
  it('creates the newest schema on an empty file, without a backup', async () => {
    const { store, dir, path } = await freshStore();
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    expect(store.migration).toEqual({ from: 0, to: SCHEMA_VERSION, backupPath: null });
    checkAndClose(store);
    expect(readdirSync(dir).filter((f) => f.includes('.bak-'))).toEqual([]);
    expect(headerUserVersion(path)).toBe(SCHEMA_VERSION);
    // reopening a current database migrates nothing and writes no backup
    const again = track(await openStore(path));
    expect(again.migration).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, backupPath: null });
    checkAndClose(again);
  });

  it('upgrades an older schema after backing it up, keeping the data', async () => {
    const { store: old, dir, path } = await freshStore({ targetVersion: 1 });
    expect(old.schemaVersion).toBe(1);
    const ds = old.datasets.create({ name: 'emoji', sourceKind: 'emoji', rootPath: '/data/emoji' });
    const { ids } = old.items.insertMany(ds.id, fakeItems(50));
    old.captions.edit(ids[3]!, 'edited at v1', 'user');
    // a v2 table does not exist yet
    expect(() => old.runs.create({ kind: 'lm', recipe: 'r', config: {} })).toThrow(/no such table: runs/);
    checkAndClose(old);

    const store = track(await openStore(path));
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    expect(store.migration.from).toBe(1);
    expect(store.migration.to).toBe(SCHEMA_VERSION);
    const backup = store.migration.backupPath!;
    expect(backup).toMatch(/tessera\.db\.bak-v1-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
    expect(existsSync(backup)).toBe(true);
    // data preserved
    expect(store.datasets.getByName('emoji')?.rootPath).toBe('/data/emoji');
    expect(store.items.query({ datasetId: ds.id }).total).toBe(50);
    expect(store.captions.history(ids[3]!).map((c) => c.text)).toEqual(['edited at v1', 'a yellow emoji number 3']);
    expect(store.tags.list(ids[10]!)).toEqual(['emoji', 'tenth']);
    // the v4 search index was filled from the v1 rows
    expect(store.items.query({ datasetId: ds.id, text: 'Edited at' }).rows.map((r) => r.id)).toEqual([ids[3]]);
    expect(store.items.query({ datasetId: ds.id, text: 'yellow' }).total).toBe(11); // 3, 7, ..., 47 (12 items) minus the edited 3
    expect(store.items.query({ datasetId: ds.id, text: '000049.png' }).total).toBe(1);
    // the new tables work
    const run = store.runs.create({ kind: 'lm', recipe: 'unicode-stage2', config: { lr: 1e-3 } });
    expect(run.status).toBe('queued');
    expect(store.chats.create({ title: 'hello' }).title).toBe('hello');
    checkAndClose(store);

    // the backup is a sound v1 database with the same data; it restores and upgrades again
    expect(headerUserVersion(backup)).toBe(1);
    const restoredPath = join(tempDir(), 'restored.db');
    copyFileSync(backup, restoredPath);
    const ro = track(await openStore(restoredPath, { readonly: true, targetVersion: 1 }));
    expect(ro.schemaVersion).toBe(1);
    expect(ro.captions.current(ids[3]!)?.text).toBe('edited at v1');
    checkAndClose(ro);
    const restored = track(await openStore(restoredPath));
    expect(restored.schemaVersion).toBe(SCHEMA_VERSION);
    expect(restored.items.stats(ds.id).total).toBe(50);
    checkAndClose(restored);
    expect(readdirSync(dir).filter((f) => f.includes('.bak-v1-')).length).toBe(1);
  });

  it('refuses a database newer than the code and changes nothing', async () => {
    const { store, dir, path } = await freshStore();
    store.datasets.create({ name: 'd', sourceKind: 'folder', rootPath: '/x' });
    checkAndClose(store);
    expect(existsSync(`${path}-wal`)).toBe(false);
    const bytes = readFileSync(path);
    const newer = SCHEMA_VERSION + 1;
    bytes.writeUInt32BE(newer, 60); // as if written by a newer Tessera
    writeFileSync(path, bytes);
    const before = sha256(readFileSync(path));
    const filesBefore = readdirSync(dir).sort();

    const err = await openStore(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaTooNewError);
    expect((err as Error).message).toContain(`database schema v${newer} is newer than this Tessera (v${SCHEMA_VERSION}); upgrade Tessera`);
    await expect(openStore(path, { readonly: true })).rejects.toThrow(`database schema v${newer} is newer than this Tessera`);

    expect(sha256(readFileSync(path))).toBe(before);
    expect(readdirSync(dir).sort()).toEqual(filesBefore);
  });

  it('rolls back a failing migration: the database stays at the previous version, backed up', async () => {
    const { store, path } = await freshStore();
    const ds = store.datasets.create({ name: 'kept', sourceKind: 'folder', rootPath: '/k' });
    store.items.insertMany(ds.id, fakeItems(3));
    checkAndClose(store);
    const next = (fail: boolean): Migration => ({
      version: SCHEMA_VERSION + 1,
      name: 'add a table',
      up: (db) => {
        db.exec('CREATE TABLE later (x INTEGER)');
        if (fail) throw new Error('disk on fire');
      },
    });
    const err = await openStore(path, { migrations: [...MIGRATIONS, next(true)] }).then(() => new Error('the migration did not fail'), (e: unknown) => e as Error);
    expect(err.message).toMatch(new RegExp(`^migration v${SCHEMA_VERSION + 1} \\(add a table\\) failed on .*tessera\\.db; the database stays at v${SCHEMA_VERSION}, backup at .*\\.bak-v${SCHEMA_VERSION}-.*: disk on fire$`));
    const same = track(await openStore(path));
    expect(same.schemaVersion).toBe(SCHEMA_VERSION);
    expect(same.items.stats(ds.id).total).toBe(3);
    checkAndClose(same);
    // the half-made table was rolled back: the fixed migration can create it again
    const fixed = track(await openStore(path, { migrations: [...MIGRATIONS, next(false)] }));
    expect(fixed.schemaVersion).toBe(SCHEMA_VERSION + 1);
    checkAndClose(fixed);
    // and this Tessera now refuses the file as too new
    await expect(openStore(path)).rejects.toThrow(`database schema v${SCHEMA_VERSION + 1} is newer than this Tessera (v${SCHEMA_VERSION}); upgrade Tessera`);
  });

  it('refuses to open an older schema read-only, and a missing file read-only', async () => {
    const { store, path } = await freshStore({ targetVersion: 2 });
    checkAndClose(store);
    await expect(openStore(path, { readonly: true })).rejects.toThrow(`database schema v2 at ${path} is older than this Tessera (v${SCHEMA_VERSION}); open it read-write once to upgrade it`);
    await expect(openStore(join(tempDir(), 'nope.db'), { readonly: true })).rejects.toThrow(/unable to open database file|does not exist/);
  });

  it('uses WAL, foreign keys and a busy timeout', async () => {
    const { store, path } = await freshStore();
    store.datasets.create({ name: 'd', sourceKind: 'folder', rootPath: '/x' });
    expect(existsSync(`${path}-wal`)).toBe(true);
    // foreign keys are enforced: an item for a missing dataset is refused by SQLite itself
    expect(() => store.importErrors.add(999, 'a.png', 'bad')).toThrow(/FOREIGN KEY constraint failed/);
    checkAndClose(store);
  });
});
