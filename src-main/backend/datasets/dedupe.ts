// findDuplicates: exact duplicates (same sha256) and near duplicates (pHash within `threshold`
// bits) of a dataset, found and marked. Missing perceptual hashes are computed first, a page at a
// time (an image that fails to decode is marked 'broken' with the reason). Near pairs come from
// LSH buckets (threshold + 1 bands: every pair within the threshold shares a band) and union-find;
// each connected component is then cut into stars (largest image first, every member within the
// threshold of its keeper), so chains of look-alikes never join unlike images. Marks are rewritten
// in one transaction: a re-run replaces the previous result and an abort leaves the old one.
import path from 'node:path';
import type { ItemRow, Store } from '../store/index.ts';
import { mapPool } from './files.ts';
import { bands, hamming, pHash, splitHash } from './phash.ts';
import type { RunOptions } from './types.ts';

export interface DedupeOptions extends RunOptions {
  /** Near duplicates differ in at most this many of 64 pHash bits (default 6, at most 24: unrelated images differ in ~32). */
  threshold?: number;
  /** Images decoded at once while hashing (default 4). */
  concurrency?: number;
}

export interface DuplicateGroup {
  kind: 'exact' | 'near';
  /** The item kept: lowest id for exact groups; the largest image (then lowest id) for near ones. */
  keeper: number;
  /** The others, marked 'duplicate' / 'near-duplicate' with duplicateOf = keeper. */
  members: number[];
  /** Largest pHash distance from the keeper (0 for exact groups). */
  maxDistance: number;
}

export interface DedupeSummary {
  groups: DuplicateGroup[];
  exact: number;
  near: number;
  /** Perceptual hashes computed in this run, and images found undecodable while hashing. */
  hashed: number;
  broken: number;
  seconds: number;
}

const PAGE = 256;

class UnionFind {
  private readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, k) => k);
  }
  find(a: number): number {
    while (this.parent[a] !== a) a = this.parent[a] = this.parent[this.parent[a]];
    return a;
  }
  union(a: number, b: number): void {
    const ra = this.find(a), rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/** Computes missing perceptual hashes; returns every hashable item as (id, hash, area). */
async function hashAll(store: Store, datasetId: number, opts: DedupeOptions, counts: { hashed: number; broken: number }) {
  const root = store.datasets.get(datasetId).rootPath;
  const st = store.items.stats(datasetId);
  const total = st.total - st.byStatus.broken;
  const out: { id: number; hash: [number, number]; area: number }[] = [];
  let afterId = 0, done = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    const page = store.items.scan(datasetId, { afterId, limit: PAGE, statuses: ['ok', 'duplicate', 'near-duplicate'] });
    if (page.length === 0) break;
    afterId = page[page.length - 1].id;
    const todo = page.filter((it) => it.perceptualHash === null);
    const results = await mapPool(todo, opts.concurrency ?? 4, async (it: ItemRow) => {
      try {
        return { it, hash: await pHash(path.join(root, ...it.path.split('/')), it.path) };
      } catch (e) {
        return { it, error: (e as Error).message };
      }
    });
    opts.signal?.throwIfAborted();
    store.transaction(() => {
      const ok = results.filter((r): r is { it: ItemRow; hash: string } => 'hash' in r);
      store.items.setPerceptualHashes(ok.map((r) => ({ itemId: r.it.id, hash: r.hash })));
      for (const r of ok) r.it.perceptualHash = r.hash;
      for (const r of results) {
        if (!('error' in r)) continue;
        store.items.setStatus(r.it.id, 'broken', { reason: `${r.error} (while hashing)` });
        store.importErrors.add(datasetId, r.it.path, `${r.error} (found while hashing for duplicates)`);
        r.it.status = 'broken';
      }
      counts.hashed += ok.length;
      counts.broken += results.length - ok.length;
    });
    for (const it of page) if (it.status !== 'broken' && it.perceptualHash) out.push({ id: it.id, hash: splitHash(it.perceptualHash), area: (it.width ?? 0) * (it.height ?? 0) });
    done += page.length;
    opts.onProgress?.({ phase: 'hash', done, total, bad: counts.broken });
  }
  return out;
}

/** Connected components of "within `threshold` bits" among `items` (indices into it), via bands + union-find. */
export function nearGroups(items: { hash: [number, number] }[], threshold: number): number[][] {
  const uf = new UnionFind(items.length);
  // identical hashes first: one representative each goes through the buckets
  const byHash = new Map<string, number>();
  const reps: number[] = [];
  items.forEach((it, k) => {
    const key = `${it.hash[0]}:${it.hash[1]}`;
    const r = byHash.get(key);
    if (r === undefined) { byHash.set(key, k); reps.push(k); } else uf.union(r, k);
  });
  for (const band of bands(threshold)) {
    const buckets = new Map<number, number[]>();
    for (const k of reps) {
      const v = band(items[k].hash);
      const b = buckets.get(v);
      if (b) b.push(k); else buckets.set(v, [k]);
    }
    for (const b of buckets.values()) {
      for (let i = 0; i < b.length; i++) {
        for (let j = i + 1; j < b.length; j++) {
          if (uf.find(b[i]) !== uf.find(b[j]) && hamming(items[b[i]].hash, items[b[j]].hash) <= threshold) uf.union(b[i], b[j]);
        }
      }
    }
  }
  const groups = new Map<number, number[]>();
  items.forEach((_, k) => {
    const r = uf.find(k);
    const g = groups.get(r);
    if (g) g.push(k); else groups.set(r, [k]);
  });
  return [...groups.values()].filter((g) => g.length > 1);
}

/** Cuts a component into stars: the largest (then lowest-id) unassigned image keeps all unassigned ones within `threshold`. */
export function stars(its: { id: number; hash: [number, number]; area: number }[], threshold: number): DuplicateGroup[] {
  const left = [...its].sort((a, b) => b.area - a.area || a.id - b.id);
  const out: DuplicateGroup[] = [];
  while (left.length > 1) {
    const keeper = left.shift()!;
    const near = left.filter((m) => hamming(m.hash, keeper.hash) <= threshold);
    if (near.length === 0) continue;
    for (const m of near) left.splice(left.indexOf(m), 1);
    near.sort((a, b) => a.id - b.id);
    out.push({ kind: 'near', keeper: keeper.id, members: near.map((m) => m.id), maxDistance: Math.max(...near.map((m) => hamming(m.hash, keeper.hash))) });
  }
  return out;
}

/** Finds and marks the dataset's exact and near duplicates; returns the groups. */
export async function findDuplicates(store: Store, datasetId: number, opts: DedupeOptions = {}): Promise<DedupeSummary> {
  const t0 = performance.now();
  const threshold = opts.threshold ?? 6;
  if (!Number.isInteger(threshold) || threshold < 0 || threshold > 24) throw new RangeError(`findDuplicates: threshold must be an integer number of bits in 0..24 (unrelated images differ in about 32 of 64), got ${threshold}`);
  const counts = { hashed: 0, broken: 0 };
  const hashed = await hashAll(store, datasetId, opts, counts);

  const groups: DuplicateGroup[] = [];
  const exactLoser = new Set<number>();
  for (const g of store.items.contentHashGroups(datasetId)) {
    groups.push({ kind: 'exact', keeper: g.ids[0], members: g.ids.slice(1), maxDistance: 0 });
    for (const m of g.ids.slice(1)) exactLoser.add(m);
  }
  const candidates = hashed.filter((it) => !exactLoser.has(it.id));
  for (const component of nearGroups(candidates, threshold)) groups.push(...stars(component.map((k) => candidates[k]), threshold));
  opts.signal?.throwIfAborted();
  const hashOf = new Map(candidates.map((c) => [c.id, c.hash]));
  store.transaction(() => {
    store.items.clearDuplicates(datasetId);
    for (const g of groups) {
      for (const m of g.members) {
        const reason = g.kind === 'exact' ? `same bytes as item ${g.keeper}` : `looks like item ${g.keeper} (pHash distance ${hamming(hashOf.get(m)!, hashOf.get(g.keeper)!)} of 64 bits)`;
        store.items.setStatus(m, g.kind === 'exact' ? 'duplicate' : 'near-duplicate', { duplicateOf: g.keeper, reason });
      }
    }
  });
  const exact = groups.filter((g) => g.kind === 'exact').reduce((n, g) => n + g.members.length, 0);
  const near = groups.filter((g) => g.kind === 'near').reduce((n, g) => n + g.members.length, 0);
  opts.onProgress?.({ phase: 'dedupe', done: exact + near, total: exact + near, bad: counts.broken });
  return { groups, exact, near, ...counts, seconds: (performance.now() - t0) / 1000 };
}
