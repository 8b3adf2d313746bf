// The emoji dataset builder and the imagefolder loader on the real emoji packages: catalogue labels,
// the hash split, a small build (rows, fields, splits, white background, 64×64 RGB PNGs), idempotency,
// the CLI command, loader shapes, cache hits and misses, and the loader's errors on broken folders.
import { describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildEmojiDataset, emojiSplit, listEmoji, packageDir, type EmojiRow } from '../../src-main/engine/data/emoji.ts';
import { loadImageFolder, ImageFolderError } from '../../src-main/engine/data/imagefolder.ts';
import { decodeImage, imageInfo } from '../../src-main/engine/io/image.ts';
import { dataEmoji } from '../../src-main/cli/commands/data-emoji.ts';

const ONLY = ['1F34E', '1F643', '1F44B-1F3FD', '1FAF1-1F3FB-200D-1FAF2-1F3FC', '1F680'];
const readRows = (dir: string): EmojiRow[] => readFileSync(path.join(dir, 'metadata.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('emoji catalogue and split', () => {
  it('labels every emoji from emojibase, skin tones included, and splits ~3% of emoji to validation', async () => {
    const items = await listEmoji();
    expect(items.length).toBeGreaterThan(3700);
    expect(items.every((it) => it.text.length > 0 && it.category.length > 0)).toBe(true);
    const by = new Map(items.map((it) => [it.unified, it]));
    expect(by.get('1F34E')).toMatchObject({ text: 'red apple', category: 'Food & Drink', subcategory: 'food-fruit' });
    expect(by.get('1F34E')!.tags).toEqual(expect.arrayContaining(['apple', 'fruit', 'red']));
    expect(by.get('1F44B-1F3FD')).toMatchObject({ text: 'waving hand: medium skin tone', base: '1F44B' });
    expect(by.get('1FAF1-1F3FB-200D-1FAF2-1F3FC')!.text).toBe('handshake: light skin tone, medium-light skin tone');

    const bases = [...new Set(items.map((it) => it.base))];
    const val = bases.filter((b) => emojiSplit(b, 'apple') === 'validation');
    expect(val.length / bases.length).toBeGreaterThan(0.02);
    expect(val.length / bases.length).toBeLessThan(0.045);
    for (const b of bases) {
      expect(emojiSplit(b, 'google')).toBe(emojiSplit(b, 'apple'));
      expect(emojiSplit(b, 'twitter')).toBe(emojiSplit(b, 'apple'));
      expect(emojiSplit(b, 'facebook')).toBe('test');
    }
    expect(emojiSplit('1F643', 'apple')).toBe('validation'); // the build test below relies on it
  });
});

describe('emoji dataset build', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'emoji-'));

  it('writes 64×64 RGB PNGs on white and one metadata.jsonl with the expected rows', async () => {
    const s = await buildEmojiDataset({ out, only: ONLY });
    const rows = readRows(out);
    expect(s.rows).toBe(rows.length);
    expect(rows.length).toBe(ONLY.length * 4);
    expect(s.written).toBe(rows.length);
    expect(s.missing).toEqual([]);
    let transparentCorners = 0;
    for (const r of rows) {
      expect(Object.keys(r)).toEqual(['file_name', 'text', 'tags', 'category', 'subcategory', 'style', 'split', 'unified']);
      expect(r.file_name).toBe(`${r.split}/${r.style}/${r.unified.toLowerCase()}.png`);
      expect(r.split).toBe(r.style === 'facebook' ? 'test' : r.unified === '1F643' ? 'validation' : 'train');
      const file = path.join(out, r.file_name);
      expect(await imageInfo(file)).toMatchObject({ width: 64, height: 64, format: 'png', hasAlpha: false });
      // pixels equal the source composited on white; transparent corners became exactly white
      const img = await decodeImage(file);
      const src = path.join(packageDir(`emoji-datasource-${r.style}`), 'img', r.style, '64', `${r.unified.toLowerCase()}.png`);
      const onWhite = await decodeImage(src), onBlack = await decodeImage(src, { background: [0, 0, 0] });
      expect(img.data).toEqual(onWhite.data);
      for (const i of [0, 63, 63 * 64, 4095]) {
        if (onBlack.data[i] === 0 && onWhite.data[i] === 1) {
          transparentCorners++;
          for (let c = 0; c < 3; c++) expect(img.data[c * 4096 + i], `${r.file_name} corner`).toBe(1);
        }
      }
    }
    expect(transparentCorners).toBeGreaterThan(rows.length * 2); // most corners were transparent
    expect(s.counts).toEqual({ train: { apple: 4, google: 4, twitter: 4 }, validation: { apple: 1, google: 1, twitter: 1 }, test: { facebook: 5 } });
    expect(rows.find((r) => r.unified === '1F44B-1F3FD' && r.style === 'google')!.text).toBe('waving hand: medium skin tone');
  });

  it('is idempotent: a second run writes nothing and changes no byte; a damaged file is redone', async () => {
    const before = readRows(out).map((r) => {
      const f = path.join(out, r.file_name);
      return [readFileSync(f).toString('base64'), statSync(f).mtimeMs];
    });
    const meta = readFileSync(path.join(out, 'metadata.jsonl'), 'utf8');
    const s = await buildEmojiDataset({ out, only: ONLY });
    expect([s.written, s.skipped, s.metadataChanged]).toEqual([0, ONLY.length * 4, false]);
    expect(readFileSync(path.join(out, 'metadata.jsonl'), 'utf8')).toBe(meta);
    expect(readRows(out).map((r) => [readFileSync(path.join(out, r.file_name)).toString('base64'), statSync(path.join(out, r.file_name)).mtimeMs])).toEqual(before);
    const victim = path.join(out, readRows(out)[0].file_name);
    truncateSync(victim, 100);
    const again = await buildEmojiDataset({ out, only: ONLY });
    expect([again.written, again.skipped]).toEqual([1, ONLY.length * 4 - 1]);
    expect(readFileSync(victim).toString('base64')).toBe(before[0][0]);
  });

  it('the CLI builds with --limit and prints the summary', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'emoji-cli-'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await dataEmoji.run(['--out', dir, '--limit', '3', '--styles', 'apple,facebook'])).toBe(0);
      const printed = log.mock.calls.map((c) => c.join(' ')).join('\n');
      expect(printed).toMatch(/6 images/);
      expect(printed).toMatch(/missing images: 0/);
    } finally {
      log.mockRestore();
    }
    expect(readRows(dir).map((r) => r.file_name)).toEqual([
      'train/apple/1f600.png', 'train/apple/1f603.png', 'train/apple/1f604.png',
      'test/facebook/1f600.png', 'test/facebook/1f603.png', 'test/facebook/1f604.png',
    ]);
    await expect(dataEmoji.run(['--out', dir, '--styles', 'emojione'])).rejects.toThrow(/unknown style 'emojione'/);
  });

  it('loads splits as (N, 3, H, W), caches them, and serves prefixes and resizes', async () => {
    const train = await loadImageFolder(out, { split: 'train' });
    expect([train.rows.length, train.height, train.width, train.images.length, train.cached]).toEqual([12, 64, 64, 12 * 3 * 64 * 64, false]);
    expect(train.rows.every((r) => r.split === 'train')).toBe(true);
    const first = await decodeImage(path.join(out, train.rows[0].file_name));
    expect(Array.from(train.images.subarray(0, 3 * 4096))).toEqual(Array.from(first.data));
    const hit = await loadImageFolder(out, { split: 'train' });
    expect(hit.cached).toBe(true);
    expect(hit.images).toEqual(train.images);
    expect(hit.rows).toEqual(train.rows);
    const prefix = await loadImageFolder(out, { split: 'train', limit: 5 });
    expect([prefix.cached, prefix.rows.length]).toEqual([true, 5]);
    expect(prefix.images).toEqual(train.images.subarray(0, 5 * 3 * 4096));
    const small = await loadImageFolder(out, { split: 'test', style: 'facebook', size: 16 });
    expect([small.rows.length, small.height, small.width, small.images.length]).toEqual([5, 16, 16, 5 * 3 * 256]);
    expect(statSync(path.join(out, '.cache', 'test-facebook-16.f32')).size).toBe(5 * 3 * 256 * 4);
    expect(JSON.parse(readFileSync(path.join(out, '.cache', 'test-facebook-16.json'), 'utf8')).files).toEqual(small.rows.map((r) => r.file_name));
    // a source file that changes (new mtime) invalidates the cache
    const f = path.join(out, train.rows[2].file_name);
    utimesSync(f, new Date(), new Date(Date.now() + 5000));
    expect((await loadImageFolder(out, { split: 'train' })).cached).toBe(false);
  });
});

describe('imagefolder loader errors', () => {
  const folder = (lines: string[]) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ifold-'));
    mkdirSync(path.join(dir, 'train'));
    cpSync(path.join(packageDir('emoji-datasource-apple'), 'img', 'apple', '64', '1f34e.png'), path.join(dir, 'train', 'a.png'));
    writeFileSync(path.join(dir, 'metadata.jsonl'), lines.join('\n') + '\n');
    return dir;
  };
  const good = '{"file_name": "train/a.png", "text": "red apple"}';

  it('names the file and line of a broken JSON line, a missing image, an escaping path', async () => {
    const broken = folder([good, '{"file_name": "train/a.png", "text": ']);
    await expect(loadImageFolder(broken, { split: 'train' })).rejects.toThrow(new RegExp(`metadata.jsonl:2: invalid JSON`));
    const missing = folder([good, '{"file_name": "train/b.png", "text": "x"}']);
    await expect(loadImageFolder(missing, { split: 'train' })).rejects.toThrow(/metadata.jsonl:2: image 'train\/b.png' does not exist/);
    const escape = folder(['{"file_name": "../../etc/passwd", "text": "x"}']);
    await expect(loadImageFolder(escape, { split: 'train' })).rejects.toThrow(/metadata.jsonl:1: file_name '..\/..\/etc\/passwd' escapes the folder/);
    const noText = folder(['{"file_name": "train/a.png"}']);
    await expect(loadImageFolder(noText, { split: 'train' })).rejects.toThrow(ImageFolderError);
  });

  it('infers the split from the folder when there is no split column, and says which splits exist', async () => {
    const dir = folder([good]);
    const r = await loadImageFolder(dir, { split: 'train', cache: false });
    expect([r.rows.length, r.height, r.cached]).toEqual([1, 64, false]);
    await expect(loadImageFolder(dir, { split: 'validation' })).rejects.toThrow(/no rows for split 'validation' \(splits: train\)/);
  });
});
