// Duplicates on real PNGs in a real store: an exact byte copy is found by content hash, a brightened
// copy by pHash, different pictures are left alone; an image that fails to decode while hashing is
// marked broken; marks are replaced on a re-run and queryable by the duplicate filters. The LSH
// bucketing is checked against brute-force all-pairs grouping on synthetic hashes.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nearGroups, stars } from '../../../src-main/backend/datasets/dedupe.ts';
import { pHash, findDuplicates, hamming, importDataset } from '../../../src-main/backend/datasets/index.ts';
import { splitHash } from '../../../src-main/backend/datasets/phash.ts';
import { SplitMix32 } from '../../../src-main/backend/store/index.ts';
import { brighten, checkAndClose, freshStore, noiseImage, reasons, tempDir, writePng } from './helpers.ts';

async function fixtureFolder() {
  const root = tempDir();
  await writePng(path.join(root, 'a.png'), noiseImage(1));
  copyFileSync(path.join(root, 'a.png'), path.join(root, 'a-copy.png'));
  await writePng(path.join(root, 'a-bright.png'), brighten(noiseImage(1)));
  await writePng(path.join(root, 'b.png'), noiseImage(2));
  await writePng(path.join(root, 'c.png'), noiseImage(3, 24));
  const whole = readFileSync(path.join(root, 'b.png'));
  writeFileSync(path.join(root, 'truncated.png'), whole.subarray(0, 400)); // header intact, pixels cut
  return root;
}

describe('findDuplicates', () => {
  it('marks exact and near duplicates, leaves different images, and marks undecodable ones broken', async () => {
    const root = await fixtureFolder();
    const { store } = await freshStore();
    const imp = await importDataset(store, { kind: 'folder', path: root });
    expect(imp.exactDuplicates).toBe(1);
    const id = (p: string) => store.items.findByPath(imp.datasetId, p)!.id;
    expect(store.items.get(id('truncated.png')).status).toBe('ok'); // the header alone looks fine

    const a = await pHash(path.join(root, 'a.png'));
    const bright = await pHash(path.join(root, 'a-bright.png'));
    const b = await pHash(path.join(root, 'b.png'));
    const dNear = hamming(splitHash(a), splitHash(bright));
    const dFar = hamming(splitHash(a), splitHash(b));
    console.log(`pHash distance: brightened copy ${dNear}, different image ${dFar} (of 64)`);
    expect(dNear).toBeLessThanOrEqual(4);
    expect(dFar).toBeGreaterThan(16);

    const phases = new Set<string>();
    const s = await findDuplicates(store, imp.datasetId, { onProgress: (p) => phases.add(p.phase) });
    expect([...phases]).toEqual(['hash', 'dedupe']);
    expect(s).toMatchObject({ exact: 1, near: 1, hashed: 5, broken: 1 });
    expect(s.groups).toEqual([
      // files are walked in name order: a-bright.png, a-copy.png, a.png, ...; the lowest id is kept
      { kind: 'exact', keeper: id('a-copy.png'), members: [id('a.png')], maxDistance: 0 },
      { kind: 'near', keeper: id('a-bright.png'), members: [id('a-copy.png')], maxDistance: dNear },
    ]);
    expect(store.items.get(id('a.png'))).toMatchObject({ status: 'duplicate', duplicateOf: id('a-copy.png'), statusReason: `same bytes as item ${id('a-copy.png')}` });
    expect(store.items.get(id('a-copy.png'))).toMatchObject({ status: 'near-duplicate', duplicateOf: id('a-bright.png'), statusReason: `looks like item ${id('a-bright.png')} (pHash distance ${dNear} of 64 bits)` });
    expect(store.items.get(id('b.png')).status).toBe('ok');
    expect(store.items.get(id('c.png')).status).toBe('ok');
    expect(store.items.get(id('a.png')).perceptualHash).toBe(a);
    expect(store.items.get(id('truncated.png'))).toMatchObject({ status: 'broken', statusReason: expect.stringMatching(/^truncated\.png: .*\(while hashing\)$/) });
    expect(reasons(store, imp.datasetId)).toEqual([expect.stringMatching(/^truncated\.png: .*\(found while hashing for duplicates\)$/)]);

    // the duplicate filters
    const q = (f: object) => store.items.query({ datasetId: imp.datasetId, ...f }).rows.map((r) => r.path).sort();
    expect(q({ duplicate: true })).toEqual(['a-copy.png', 'a.png']);
    expect(q({ duplicate: false })).toEqual(['a-bright.png', 'b.png', 'c.png', 'truncated.png']);
    expect(q({ duplicateOf: id('a-copy.png') })).toEqual(['a.png']);
    expect(q({ status: 'near-duplicate' })).toEqual(['a-copy.png']);

    // threshold 0 finds only identical pHashes; the marks of the previous run are replaced
    const strict = await findDuplicates(store, imp.datasetId, { threshold: dNear - 1 });
    expect(strict).toMatchObject({ exact: 1, near: 0, hashed: 0, broken: 0 });
    expect(store.items.get(id('a-copy.png')).status).toBe('ok');
    expect(store.items.get(id('a.png')).status).toBe('duplicate');
    await expect(findDuplicates(store, imp.datasetId, { threshold: 40 })).rejects.toThrow('findDuplicates: threshold must be an integer number of bits in 0..24');
    checkAndClose(store);
  });

  it('an aborted run leaves the earlier marks as they were', async () => {
    const root = await fixtureFolder();
    const { store } = await freshStore();
    const imp = await importDataset(store, { kind: 'folder', path: root });
    await findDuplicates(store, imp.datasetId);
    const before = store.items.query({ datasetId: imp.datasetId, duplicate: true }).total;
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(findDuplicates(store, imp.datasetId, { signal: ac.signal })).rejects.toThrow('stop');
    expect(store.items.query({ datasetId: imp.datasetId, duplicate: true }).total).toBe(before);
    checkAndClose(store);
  });
});

describe('LSH bands', () => {
  it('group exactly like brute-force all-pairs single linkage', () => {
    const rng = new SplitMix32(7);
    const items: { hash: [number, number] }[] = [];
    for (let k = 0; k < 1000; k++) items.push({ hash: [rng.nextU32(), rng.nextU32()] });
    // plant near copies at distances 0..7 and small chains
    for (let k = 0; k < 200; k++) {
      const src = items[rng.below(items.length)].hash;
      const h: [number, number] = [src[0], src[1]];
      for (let f = rng.below(8); f > 0; f--) {
        const bit = rng.below(64);
        if (bit < 32) h[0] = (h[0] ^ (1 << bit)) >>> 0; else h[1] = (h[1] ^ (1 << (bit - 32))) >>> 0;
      }
      items.push({ hash: h });
    }
    for (const t of [0, 2, 4, 6]) {
      const parent = items.map((_, k) => k);
      const find = (a: number): number => (parent[a] === a ? a : (parent[a] = find(parent[a])));
      for (let i = 0; i < items.length; i++) {
        for (let j = i + 1; j < items.length; j++) {
          if (hamming(items[i].hash, items[j].hash) <= t) parent[Math.max(find(i), find(j))] = Math.min(find(i), find(j));
        }
      }
      const brute = new Map<number, number[]>();
      items.forEach((_, k) => brute.set(find(k), [...(brute.get(find(k)) ?? []), k]));
      const want = [...brute.values()].filter((g) => g.length > 1).map((g) => g.join(',')).sort();
      const got = nearGroups(items, t).map((g) => [...g].sort((x, y) => x - y).join(',')).sort();
      expect(got.length, `threshold ${t}`).toBeGreaterThan(0);
      expect(got, `threshold ${t}`).toEqual(want);
    }
  });

  it('cut chains into stars: a member is always within the threshold of its keeper', () => {
    // A~B and B~C at 3 bits, A and C 6 bits apart: one component, but C must not join A's group
    const h = (lo: number): [number, number] => [0, lo];
    const a = { id: 1, hash: h(0b000000), area: 400 }, b = { id: 2, hash: h(0b000111), area: 256 }, c = { id: 3, hash: h(0b111111), area: 256 };
    expect(nearGroups([a, b, c], 4)).toEqual([[0, 1, 2]]);
    expect(stars([a, b, c], 4)).toEqual([{ kind: 'near', keeper: 1, members: [2], maxDistance: 3 }]);
    expect(stars([c, b, a], 6)).toEqual([{ kind: 'near', keeper: 1, members: [2, 3], maxDistance: 6 }]);
  });
});
