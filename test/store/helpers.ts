// Shared helpers for the store tests: a fresh temp folder per test (removed afterwards), a store
// opened in it, deterministic fake items, and a close that first asserts PRAGMA integrity_check.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { openStore, type OpenStoreOptions, type Store } from '../../src-main/backend/store/index.ts';

const dirs: string[] = [];
const stores: Store[] = [];

afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tessera-store-'));
  dirs.push(d);
  return d;
}

/** Opens a store in a new temp folder; it is closed after the test if still open. */
export async function freshStore(opts: OpenStoreOptions = {}, file = 'tessera.db'): Promise<{ store: Store; dir: string; path: string }> {
  const dir = tempDir();
  const path = join(dir, file);
  const store = await openStore(path, opts);
  stores.push(store);
  return { store, dir, path };
}

/** Tracks a store opened by the test itself so it is closed afterwards. */
export function track(store: Store): Store {
  stores.push(store);
  return store;
}

/** Asserts the database is sound, then closes it. */
export function checkAndClose(store: Store): void {
  expect(store.integrityCheck()).toBe('ok');
  store.close();
}

export { fakeItems, sha256 } from './fixtures/items.ts';
