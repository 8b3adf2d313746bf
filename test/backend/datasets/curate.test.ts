// Curation on a real store over real PNGs: filters (text, tag, split, size, duplicate state), bulk
// caption edits (all or nothing), tag add/remove by filter, splits by tag and seeded fractions, the
// imagefolder export round trip (export, re-import: same captions, tags, splits), and tokenizing
// into the token cache with a real deterministic codec, checked against engine/quant/metrics.ts.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addTag, assignSplits, editCaptions, exportImagefolder, findDuplicates, importDataset, matchingIds, removeTag, tokenizeDataset,
} from '../../../src-main/backend/datasets/index.ts';
import type { ImageCodec } from '../../../src-main/engine/models/image-codec.ts';
import { codePerplexity, codeUsage } from '../../../src-main/engine/quant/metrics.ts';
import { checkAndClose, flatImage, freshStore, itemsOf, noiseImage, tempDir, writeJsonl, writePng } from './helpers.ts';

/** Six captioned images (two 24×24), tags, splits, one exact copy and one broken file. */
async function sampleSet() {
  const root = tempDir();
  const rows = [];
  for (let k = 0; k < 6; k++) {
    await writePng(path.join(root, `img/${k}.png`), noiseImage(k + 1, k < 2 ? 24 : 16));
    rows.push({ file_name: `img/${k}.png`, text: `${k % 2 ? 'a blue' : 'a red'} shape number ${k}`, tags: k % 3 === 0 ? ['round'] : ['square'], split: k < 4 ? 'train' : 'test' });
  }
  writeFileSync(path.join(root, 'img/copy.png'), readFileSync(path.join(root, 'img/5.png')));
  writeFileSync(path.join(root, 'img/bad.png'), 'not a png');
  rows.push({ file_name: 'img/copy.png', text: 'a copy', tags: ['square', 'copy'], split: 'test' });
  rows.push({ file_name: 'img/bad.png', text: 'broken', split: 'train' });
  writeJsonl(path.join(root, 'metadata.jsonl'), rows);
  return root;
}

describe('filters and edits', () => {
  it('filters by caption text, tag, split, size and duplicate state', async () => {
    const root = await sampleSet();
    const { store } = await freshStore();
    const { datasetId } = await importDataset(store, { kind: 'imagefolder', path: root, name: 's' });
    await findDuplicates(store, datasetId);
    const q = (f: object) => store.items.query({ datasetId, ...f }).rows.map((r) => r.path).sort();
    expect(q({ text: 'BLUE' })).toEqual(['img/1.png', 'img/3.png', 'img/5.png']);
    expect(q({ tag: 'round' })).toEqual(['img/0.png', 'img/3.png']);
    expect(q({ split: 'test' })).toEqual(['img/4.png', 'img/5.png', 'img/copy.png']);
    expect(q({ minWidth: 20 })).toEqual(['img/0.png', 'img/1.png']);
    expect(q({ duplicate: true })).toEqual(['img/copy.png']);
    expect(q({ status: 'broken' })).toEqual(['img/bad.png']);
    expect(q({ split: 'test', duplicate: false, text: 'shape' })).toEqual(['img/4.png', 'img/5.png']);
    checkAndClose(store);
  });

  it('edits captions in bulk, all or nothing, keeping the history', async () => {
    const root = await sampleSet();
    const { store } = await freshStore();
    const { datasetId } = await importDataset(store, { kind: 'imagefolder', path: root, name: 's' });
    const [a, b] = matchingIds(store, datasetId, { tag: 'round' });
    expect(editCaptions(store, [{ itemId: a, text: 'a red ball' }, { itemId: b, text: 'a blue ball' }])).toBe(2);
    expect(store.captions.history(a).map((c) => [c.text, c.source])).toEqual([['a red ball', 'user'], ['a red shape number 0', 'import']]);
    expect(() => editCaptions(store, [{ itemId: a, text: 'never saved' }, { itemId: 99999, text: 'x' }])).toThrow('captions.edit: itemId: item 99999 does not exist');
    expect(store.captions.current(a)!.text).toBe('a red ball');
    expect(store.items.query({ datasetId, text: 'ball' }).total).toBe(2);
    checkAndClose(store);
  });

  it('adds and removes tags on everything a filter matches', async () => {
    const root = await sampleSet();
    const { store } = await freshStore();
    const { datasetId } = await importDataset(store, { kind: 'imagefolder', path: root, name: 's' });
    expect(addTag(store, { datasetId, filter: { text: 'blue' } }, 'blue')).toBe(3);
    expect(addTag(store, { datasetId, filter: { text: 'blue' } }, 'blue')).toBe(0);
    expect(store.items.query({ datasetId, tag: 'blue' }).total).toBe(3);
    expect(removeTag(store, { datasetId, filter: { split: 'test' } }, 'blue')).toBe(1);
    expect(removeTag(store, { itemIds: matchingIds(store, datasetId, { tag: 'blue' }) }, 'blue')).toBe(2);
    expect(store.tags.counts(datasetId).find((t) => t.tag === 'blue')).toBeUndefined();
    checkAndClose(store);
  });

  it('assigns splits by tag (first listed tag wins) and by seeded fractions, reproducibly', async () => {
    const root = await sampleSet();
    const { store } = await freshStore();
    const { datasetId } = await importDataset(store, { kind: 'imagefolder', path: root, name: 's' });
    const counts = assignSplits(store, datasetId, { byTag: { copy: 'validation', round: 'test' }, otherwise: 'train' });
    expect(counts).toEqual({ train: 4, validation: 1, test: 2, none: 1 });
    expect(itemsOf(store, datasetId).map((r) => [r.path, r.split])).toEqual([
      ['img/0.png', 'test'], ['img/1.png', 'train'], ['img/2.png', 'train'], ['img/3.png', 'test'],
      ['img/4.png', 'train'], ['img/5.png', 'train'], ['img/bad.png', null], ['img/copy.png', 'validation'],
    ]);
    const spec = { seed: 3, fractions: { train: 0.5, validation: 0.25, test: 0.25 } };
    expect(assignSplits(store, datasetId, spec)).toEqual({ train: 3, validation: 2, test: 2, none: 1 }); // 3.5, 1.75, 1.75 by largest remainder
    const first = itemsOf(store, datasetId).map((r) => r.split);
    assignSplits(store, datasetId, { byTag: {} });
    assignSplits(store, datasetId, spec);
    expect(itemsOf(store, datasetId).map((r) => r.split)).toEqual(first);
    expect(() => assignSplits(store, datasetId, { byTag: { x: 'dev' as any } })).toThrow('assignSplits: byTag["x"]: unknown split "dev"');
    checkAndClose(store);
  });
});

describe('export to imagefolder', () => {
  it('round-trips captions, tags and splits; leaves out broken items and duplicates; writes atomically', async () => {
    const root = await sampleSet();
    const { store } = await freshStore();
    const { datasetId } = await importDataset(store, { kind: 'imagefolder', path: root, name: 's' });
    await findDuplicates(store, datasetId);
    const a = matchingIds(store, datasetId, { tag: 'round' })[0];
    store.captions.edit(a, 'an edited caption, with "quotes"\nand a newline', 'user');
    store.tags.add(a, 'edited');
    const parent = tempDir();
    const out = path.join(parent, 'export');
    const s = await exportImagefolder(store, datasetId, out);
    expect(s).toMatchObject({ outDir: out, exported: 6, missing: [] });
    expect(readdirSync(parent)).toEqual(['export']); // no temp folder left behind
    const lines = readFileSync(path.join(out, 'metadata.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ file_name: 'img/0.png', text: 'an edited caption, with "quotes"\nand a newline', tags: ['edited', 'round'], split: 'train' });
    expect(readFileSync(path.join(out, 'img/3.png'))).toEqual(readFileSync(path.join(root, 'img/3.png')));

    const back = await importDataset(store, { kind: 'imagefolder', path: out, name: 'back' });
    expect(back).toMatchObject({ imported: 6, bad: 0 });
    const strip = (rows: ReturnType<typeof itemsOf>) => rows.map(({ id: _, ...r }) => r);
    const kept = itemsOf(store, datasetId).filter((r) => r.status === 'ok');
    expect(strip(itemsOf(store, back.datasetId))).toEqual(strip(kept));

    await expect(exportImagefolder(store, datasetId, out)).rejects.toThrow(`${out}: already exists; choose a new folder or pass overwrite`);
    const testOnly = await exportImagefolder(store, datasetId, out, { overwrite: true, filter: { split: 'test' }, includeDuplicates: true });
    expect(testOnly.exported).toBe(3);
    expect(readFileSync(path.join(out, 'metadata.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(3);
    expect(existsSync(path.join(out, 'img/0.png'))).toBe(false);
    expect(readdirSync(parent)).toEqual(['export']);
    checkAndClose(store);
  });

  it('an aborted export leaves no folder', async () => {
    const root = await sampleSet();
    const { store } = await freshStore();
    const { datasetId } = await importDataset(store, { kind: 'imagefolder', path: root, name: 's' });
    const parent = tempDir();
    const ac = new AbortController();
    ac.abort(new Error('user cancelled'));
    await expect(exportImagefolder(store, datasetId, path.join(parent, 'x'), { signal: ac.signal })).rejects.toThrow('user cancelled');
    expect(readdirSync(parent)).toEqual([]);
    checkAndClose(store);
  });
});

/**
 * A real, non-learned image codec (not a mock): each 8×8 block of a 16×16 image becomes the index
 * of its mean colour quantized to 4 levels per channel (a 64-colour palette): 4 positions × depth 1,
 * token id = 500 + index. decode paints each block with its palette colour.
 */
class PaletteCodec implements ImageCodec {
  readonly imageSize = 16; readonly gridSide = 2; readonly positions = 4; readonly depth = 1;
  readonly codebookSize = 64; readonly firstTokenId = 500;
  async encode(pixels: Float32Array, n: number): Promise<Int32Array> {
    const S = 16, out = new Int32Array(n * 4); // (N, 4, 1)
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < 4; p++) {
        const [by, bx] = [Math.floor(p / 2) * 8, (p % 2) * 8];
        let code = 0;
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let y = by; y < by + 8; y++) for (let x = bx; x < bx + 8; x++) sum += pixels[((i * 3 + c) * S + y) * S + x];
          code = code * 4 + Math.min(3, Math.round((sum / 64) * 3));
        }
        out[i * 4 + p] = this.firstTokenId + code;
      }
    }
    return out;
  }
  async decode(tokens: Int32Array, n: number): Promise<Float32Array> {
    const S = 16, out = new Float32Array(n * 3 * S * S);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < 4; p++) {
        const code = tokens[i * 4 + p] - this.firstTokenId;
        const rgb = [Math.floor(code / 16) % 4, Math.floor(code / 4) % 4, code % 4].map((l) => l / 3);
        const [by, bx] = [Math.floor(p / 2) * 8, (p % 2) * 8];
        for (let c = 0; c < 3; c++) for (let y = by; y < by + 8; y++) for (let x = bx; x < bx + 8; x++) out[((i * 3 + c) * S + y) * S + x] = rgb[c];
      }
    }
    return out;
  }
  async release(): Promise<void> {}
}

describe('tokenizeDataset', () => {
  it('caches codes for every ok item, resumes, marks undecodable images broken, and reports codebook usage', async () => {
    const root = tempDir();
    mkdirSync(root, { recursive: true });
    await writePng(path.join(root, 'red.png'), flatImage([1, 0, 0]));
    await writePng(path.join(root, 'big-red.png'), flatImage([1, 0, 0], 48)); // resized to 16 by the job
    for (let k = 0; k < 10; k++) await writePng(path.join(root, `n${k}.png`), noiseImage(k + 1));
    const png = readFileSync(path.join(root, 'n0.png'));
    writeFileSync(path.join(root, 'cut.png'), png.subarray(0, 400));
    const { store } = await freshStore();
    const { datasetId } = await importDataset(store, { kind: 'folder', path: root });
    const codec = new PaletteCodec();
    const progress: number[] = [];
    const s = await tokenizeDataset(store, datasetId, codec, { tokenizerId: 'palette@1', batchSize: 5, onProgress: (p) => progress.push(p.done) });
    expect(s).toMatchObject({ encoded: 12, cached: 0, broken: 1, codes: 48 });
    expect(progress).toEqual([0, 5, 10, 13]);
    const red = store.items.findByPath(datasetId, 'red.png')!.id;
    const cached = store.tokenCache.get(red, 'palette@1')!;
    expect([...cached.codes]).toEqual([48, 48, 48, 48]); // (3, 0, 0) in base 4
    expect(cached.shape).toEqual([4, 1]);
    expect([...store.tokenCache.get(store.items.findByPath(datasetId, 'big-red.png')!.id, 'palette@1')!.codes]).toEqual([48, 48, 48, 48]);
    expect(store.items.findByPath(datasetId, 'cut.png')!.status).toBe('broken');

    // usage and perplexity equal engine/quant/metrics.ts over every cached code
    const all: number[] = [];
    for (const id of matchingIds(store, datasetId, { status: 'ok' })) all.push(...store.tokenCache.get(id, 'palette@1')!.codes);
    expect(all).toHaveLength(48);
    expect(s.usage).toBeCloseTo(codeUsage(all, 64), 12);
    expect(s.perplexity).toBeCloseTo(codePerplexity(all, 64), 10);
    expect(s.usage).toBeGreaterThan(0.1);

    const again = await tokenizeDataset(store, datasetId, codec, { tokenizerId: 'palette@1' });
    expect(again).toMatchObject({ encoded: 0, cached: 12, broken: 0, usage: s.usage, perplexity: s.perplexity });
    checkAndClose(store);
  });
});
