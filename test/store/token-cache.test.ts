// The token cache: packing round trips for uint16 and uint32 codes (checked against bytes written
// by hand), replacement on re-put, shape validation, missing items, and codebook usage.
import { describe, expect, it } from 'vitest';
import { packCodes, unpackCodes } from '../../src-main/backend/store/index.ts';
import { checkAndClose, fakeItems, freshStore } from './helpers.ts';

describe('token cache', () => {
  it('packs little-endian uint16 when codes fit, else uint32', () => {
    const small = packCodes([0, 1, 258, 65535]);
    expect(small.dtype).toBe('uint16');
    expect([...small.blob]).toEqual([0, 0, 1, 0, 2, 1, 255, 255]);
    const big = packCodes([1, 65536, 0xffffffff]);
    expect(big.dtype).toBe('uint32');
    expect([...big.blob]).toEqual([1, 0, 0, 0, 0, 0, 1, 0, 255, 255, 255, 255]);
    expect([...unpackCodes(big.blob, 'uint32')]).toEqual([1, 65536, 0xffffffff]);
    // an unaligned view decodes too (SQLite hands back Buffers at any offset)
    const shifted = Buffer.concat([Buffer.from([9]), small.blob]).subarray(1);
    expect([...unpackCodes(shifted, 'uint16')]).toEqual([0, 1, 258, 65535]);
    expect(() => packCodes([1, -1])).toThrow('packCodes: codes[1]: expected an integer code in [0, 2^32), got -1');
    expect(() => packCodes([1.5])).toThrow(/codes\[0\]/);
  });

  it('round-trips codes through the database and reports codebook usage', async () => {
    const { store } = await freshStore();
    const d = store.datasets.create({ name: 'd', sourceKind: 'folder', rootPath: '/d' });
    const ids = store.items.insertMany(d.id, fakeItems(6)).ids as number[];
    const tok = 'unicode-vq@3f2a9c';
    // (h, w, D) = (4, 4, 2) stacked codes
    const codesA = Uint32Array.from({ length: 32 }, (_, k) => (k * 37) % 512);
    expect(store.tokenCache.put(ids[0], tok, codesA, [4, 4, 2])).toEqual({ dtype: 'uint16', bytes: 64 });
    const got = store.tokenCache.get(ids[0], tok)!;
    expect(got.dtype).toBe('uint16');
    expect(got.shape).toEqual([4, 4, 2]);
    expect(got.codes).toBeInstanceOf(Uint16Array);
    expect([...got.codes]).toEqual([...codesA]);

    const codesB = [70000, 3, 100_000, 5];
    expect(store.tokenCache.put(ids[1], 'lavit@1', codesB, [4])).toEqual({ dtype: 'uint32', bytes: 16 });
    const gotB = store.tokenCache.get(ids[1], 'lavit@1')!;
    expect(gotB.codes).toBeInstanceOf(Uint32Array);
    expect([...gotB.codes]).toEqual(codesB);
    expect(store.tokenCache.get(ids[1], tok)).toBeUndefined();

    // re-put replaces (unique item, tokenizer)
    store.tokenCache.putMany(tok, [
      { itemId: ids[1], codes: [0, 1, 2, 3], shape: [2, 2] },
      { itemId: ids[2], codes: [511, 511], shape: [2] },
      { itemId: ids[1], codes: [4, 5], shape: [2] },
    ]);
    expect([...store.tokenCache.get(ids[1], tok)!.codes]).toEqual([4, 5]);
    expect(store.tokenCache.missing(d.id, tok)).toEqual(ids.slice(3));

    // distinct codes now cached under tok: item 0's 32 codes, item 1's [4, 5], item 2's [511, 511]
    const expected = new Set([...codesA, 4, 5, 511]);
    const u = store.tokenCache.usage(d.id, tok, 512);
    expect(u).toEqual({ fraction: expected.size / 512, distinct: expected.size, codebookSize: 512, items: 3, codes: 32 + 2 + 2 });
    expect(() => store.tokenCache.usage(d.id, tok, 256)).toThrow(`tokenCache.usage: codebookSize: 256 is too small: item ${ids[0]} holds code`);
    expect(store.tokenCache.usage(d.id, 'nobody@0', 16)).toMatchObject({ fraction: 0, items: 0 });

    expect(() => store.tokenCache.put(ids[3], tok, [1, 2, 3], [2, 2])).toThrow('tokenCache.put: shape: [2, 2] holds 4 codes but 3 were given');
    expect(() => store.tokenCache.put(ids[3], '', [1], [1])).toThrow('tokenCache.put: tokenizerId: must not be empty');
    expect(() => store.tokenCache.put(9999, tok, [1], [1])).toThrow('tokenCache.put: itemId: item 9999 does not exist');
    expect(store.tokenCache.deleteTokenizer(tok)).toBe(3);
    checkAndClose(store);
  });
});
