// Importers against a real store file and real PNGs: HF imagefolder (root metadata and split
// folders), sidecar-caption folders, COCO captions, CSV; each fed malformed input (broken JSON
// lines, missing files, paths escaping the folder, symlinks out, non-images, 0-byte files,
// duplicate names, wrong columns, quoting) that must be recorded while the import goes on, and
// whole-file failures that must throw naming the file and leave no dataset claiming success.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetImportError, importDataset, parseCsv, type Progress } from '../../../src-main/backend/datasets/index.ts';
import { checkAndClose, flatImage, freshStore, itemsOf, noiseImage, reasons, tempDir, writeJsonl, writePng } from './helpers.ts';

async function records(text: string, chunk = 3) {
  const parts: string[] = [];
  for (let k = 0; k < text.length; k += chunk) parts.push(text.slice(k, k + chunk));
  const out = [];
  for await (const r of parseCsv(parts)) out.push(r);
  return out;
}

describe('parseCsv (RFC 4180)', () => {
  it('handles quotes, doubled quotes, delimiters and newlines inside quotes, CRLF, BOM and blank lines, across chunk borders', async () => {
    const text = '\uFEFFfile_name,text\r\na.png,"red, round"\r\n\r\n"b.png","say ""hi""\nthen leave"\nc.png,\n"",x\n';
    const recs = await records(text);
    expect(recs.map((r) => [r.fields, r.line])).toEqual([
      [['file_name', 'text'], 1],
      [['a.png', 'red, round'], 2],
      [['b.png', 'say "hi"\nthen leave'], 4],
      [['c.png', ''], 6],
      [['', 'x'], 7],
    ]);
    expect(recs.every((r) => r.error === undefined)).toBe(true);
    // chunking never changes the result
    expect(await records(text, 1)).toEqual(recs);
    expect(await records(text, 1000)).toEqual(recs);
  });

  it('flags malformed records and keeps going', async () => {
    const recs = await records('a,b\nx"y,1\n"p"q,2\nok,3\n"never closed,4\n');
    expect(recs[1].error).toMatch(/line 2: a quote inside an unquoted field/);
    expect(recs[2].error).toMatch(/line 3: unexpected "q" after a closing quote/);
    expect(recs[3]).toEqual({ fields: ['ok', '3'], line: 4 });
    expect(recs[4].error).toBe('a quoted field opened on line 5 is never closed');
  });
});

describe('imagefolder import', () => {
  it('imports rows with captions, tags, splits and extra fields as tags, reporting progress', async () => {
    const root = tempDir();
    await writePng(path.join(root, 'train/a.png'), noiseImage(1));
    await writePng(path.join(root, 'train/b.png'), noiseImage(2, 24));
    await writePng(path.join(root, 'test/c.png'), noiseImage(3));
    writeJsonl(path.join(root, 'metadata.jsonl'), [
      { file_name: 'train/a.png', text: 'a red apple', tags: ['fruit', 'red'], split: 'train', style: 'apple', size: 3 },
      { file_name: 'train/b.png', text: 'a green pear', split: 'val' },
      { file_name: 'test/c.png', split: 'test' },
    ]);
    const { store } = await freshStore();
    const progress: Progress[] = [];
    const s = await importDataset(store, { kind: 'imagefolder', path: root, name: 'fruit' }, { onProgress: (p) => progress.push(p) });
    expect(s).toMatchObject({ name: 'fruit', seen: 3, imported: 3, bad: 0, broken: 0, skipped: 0, errors: 0, exactDuplicates: 0 });
    expect(itemsOf(store, s.datasetId).map(({ id: _, ...r }) => r)).toEqual([
      { path: 'test/c.png', status: 'ok', caption: null, tags: [], split: 'test' },
      { path: 'train/a.png', status: 'ok', caption: 'a red apple', tags: ['fruit', 'red', 'size:3', 'style:apple'], split: 'train' },
      { path: 'train/b.png', status: 'ok', caption: 'a green pear', tags: [], split: 'validation' },
    ]);
    const b = store.items.findByPath(s.datasetId, 'train/b.png')!;
    expect([b.width, b.height, b.contentHash.length, b.bytes > 0]).toEqual([24, 24, 64, true]);
    expect(store.datasets.get(s.datasetId)).toMatchObject({ importStatus: 'done', importError: null, sourceKind: 'imagefolder', rootPath: root });
    expect(progress[0]).toEqual({ phase: 'scan', done: 0, total: null, bad: 0 });
    expect(progress.at(-1)).toEqual({ phase: 'import', done: 3, total: 3, bad: 0 });
    checkAndClose(store);
  });

  it('reads split folders, each with its own metadata.jsonl', async () => {
    const root = tempDir();
    await writePng(path.join(root, 'train/x/a.png'), noiseImage(1));
    await writePng(path.join(root, 'validation/b.png'), noiseImage(2));
    writeJsonl(path.join(root, 'train/metadata.jsonl'), [{ file_name: 'x/a.png', text: 'one' }]);
    writeJsonl(path.join(root, 'validation/metadata.jsonl'), [{ file_name: 'b.png', text: 'two' }]);
    const { store } = await freshStore();
    const s = await importDataset(store, { kind: 'imagefolder', path: root });
    expect(s.name).toBe(path.basename(root));
    expect(itemsOf(store, s.datasetId).map((r) => [r.path, r.caption, r.split])).toEqual([
      ['train/x/a.png', 'one', 'train'],
      ['validation/b.png', 'two', 'validation'],
    ]);
    checkAndClose(store);
  });

  it('records every malformed row or file with a reason naming it, and imports the rest', async () => {
    const root = tempDir();
    const outside = tempDir();
    await writePng(path.join(root, 'good.png'), noiseImage(1));
    await writePng(path.join(root, 'dup.png'), noiseImage(2));
    await writePng(path.join(outside, 'secret.png'), noiseImage(3));
    symlinkSync(path.join(outside, 'secret.png'), path.join(root, 'link-out.png'));
    writeFileSync(path.join(root, 'empty.png'), '');
    writeFileSync(path.join(root, 'notes.png'), 'these are notes, not pixels');
    writeJsonl(path.join(root, 'metadata.jsonl'), [
      { file_name: 'good.png', text: 'fine' },
      '{"file_name": "broken.png", "text": ',
      { file_name: 'missing.png', text: 'gone' },
      { file_name: '../outside.png', text: 'escape' },
      { file_name: path.join(outside, 'secret.png'), text: 'absolute' },
      { file_name: 'link-out.png', text: 'symlink out' },
      { file_name: 'empty.png', text: 'zero bytes' },
      { file_name: 'notes.png', text: 'not an image' },
      { file_name: 'dup.png', text: 'first' },
      { file_name: 'dup.png', text: 'second' },
      { text: 'no file name' },
      { file_name: 'good.png', text: 42 },
      '[1, 2]',
    ]);
    const { store } = await freshStore();
    const s = await importDataset(store, { kind: 'imagefolder', path: root, name: 'messy' });
    expect(s).toMatchObject({ seen: 13, imported: 2, broken: 2, bad: 11 });
    expect(itemsOf(store, s.datasetId).map((r) => [r.path, r.status, r.caption])).toEqual([
      ['dup.png', 'ok', 'first'],
      ['empty.png', 'broken', 'zero bytes'],
      ['good.png', 'ok', 'fine'],
      ['notes.png', 'broken', 'not an image'],
    ]);
    expect(store.items.findByPath(s.datasetId, 'empty.png')!.statusReason).toBe('empty.png: file is empty (0 bytes)');
    const r = reasons(store, s.datasetId);
    expect(r).toHaveLength(11);
    const expected = [
      /^metadata\.jsonl line 2: not valid JSON \(.+\); line skipped$/,
      /^missing\.png: file not found \(metadata\.jsonl line 3\)$/,
      /^"\.\.\/outside\.png" points outside the dataset folder \('\.\.'\) \(metadata\.jsonl line 4\)$/,
      /is an absolute path; paths must be relative to the dataset folder \(metadata\.jsonl line 5\)$/,
      /^link-out\.png: is a symbolic link to .*secret\.png, outside the dataset folder .*; not imported \(metadata\.jsonl line 6\)$/,
      /^empty\.png: file is empty \(0 bytes\) \(metadata\.jsonl line 7\)$/,
      /^notes\.png: not an image \(content matches no supported format.*\) \(metadata\.jsonl line 8\)$/,
      /^dup\.png: listed again \(metadata\.jsonl line 10\); already listed at metadata\.jsonl line 9, which was kept$/,
      /^metadata\.jsonl line 11: 'file_name' must be a non-empty string, got nothing; line skipped$/,
      /^metadata\.jsonl line 12: 'text' must be a string, got number; line skipped$/,
      /^metadata\.jsonl line 13: expected a JSON object, got an array; line skipped$/,
    ];
    for (const re of expected) expect(r.some((x) => re.test(x)), `${re} in\n${r.join('\n')}`).toBe(true);
    expect(store.datasets.get(s.datasetId).importStatus).toBe('done');
    checkAndClose(store);
  });

  it('refuses a folder without metadata as a whole, creating no dataset', async () => {
    const root = tempDir();
    await writePng(path.join(root, 'a.png'), noiseImage(1));
    const { store } = await freshStore();
    const err = await importDataset(store, { kind: 'imagefolder', path: root }).catch((e) => e);
    expect(err).toBeInstanceOf(DatasetImportError);
    expect(err.message).toBe(`${root}: no metadata.jsonl here nor in train/, validation/ or test/; is this an HF imagefolder? (a plain folder of images imports with kind 'folder')`);
    await expect(importDataset(store, { kind: 'folder', path: path.join(root, 'nope') })).rejects.toThrow(`${path.join(root, 'nope')}: no such folder`);
    expect(store.datasets.list()).toEqual([]);
    checkAndClose(store);
  });

  it('resumes: a re-run skips what is there and adds what is new; a different source under the same name is refused', async () => {
    const root = tempDir();
    await writePng(path.join(root, 'a.png'), noiseImage(1));
    writeJsonl(path.join(root, 'metadata.jsonl'), [{ file_name: 'a.png', text: 'a' }, { file_name: 'gone.png', text: 'x' }]);
    const { store } = await freshStore();
    const first = await importDataset(store, { kind: 'imagefolder', path: root, name: 'r' });
    await writePng(path.join(root, 'b.png'), noiseImage(2));
    writeJsonl(path.join(root, 'metadata.jsonl'), [{ file_name: 'a.png', text: 'a' }, { file_name: 'gone.png', text: 'x' }, { file_name: 'b.png', text: 'b' }]);
    const again = await importDataset(store, { kind: 'imagefolder', path: root, name: 'r' });
    expect(again).toMatchObject({ datasetId: first.datasetId, imported: 1, skipped: 1, bad: 1, errors: 0 });
    expect(itemsOf(store, first.datasetId).map((r) => r.path)).toEqual(['a.png', 'b.png']);
    expect(reasons(store, first.datasetId)).toEqual(['gone.png: file not found (metadata.jsonl line 2)']);
    await expect(importDataset(store, { kind: 'folder', path: root, name: 'r' })).rejects.toThrow(`a dataset named "r" already exists, imported as imagefolder from ${root}; choose another name`);
    checkAndClose(store);
  });
});

describe('folder import (sidecar captions)', () => {
  it('captions from <name>.txt, uncaptioned without one; skips hidden files, records non-images and folder links', async () => {
    const root = tempDir();
    await writePng(path.join(root, 'cat.png'), noiseImage(1));
    writeFileSync(path.join(root, 'cat.txt'), 'a grey cat\n');
    await writePng(path.join(root, 'sub/dog.png'), noiseImage(2));
    await writePng(path.join(root, '.cache/x.png'), noiseImage(3));
    writeFileSync(path.join(root, 'fake.jpg'), '<html>not a jpeg</html>');
    writeFileSync(path.join(root, 'readme.md'), '# ignored');
    symlinkSync(path.join(root, 'sub'), path.join(root, 'loop.png'));
    const { store } = await freshStore();
    const s = await importDataset(store, { kind: 'folder', path: root });
    expect(s).toMatchObject({ seen: 4, imported: 2, broken: 1, bad: 2 });
    expect(itemsOf(store, s.datasetId).map((r) => [r.path, r.status, r.caption])).toEqual([
      ['cat.png', 'ok', 'a grey cat'],
      ['fake.jpg', 'broken', null],
      ['sub/dog.png', 'ok', null],
    ]);
    expect(reasons(store, s.datasetId).sort()).toEqual([
      expect.stringMatching(/^fake\.jpg: not an image/),
      'loop.png: is a symbolic link to a folder; not followed',
    ]);
    checkAndClose(store);
  });
});

describe('COCO captions import', () => {
  it('keeps the first caption current and the others in the history; records bad annotations and images', async () => {
    const root = tempDir();
    await writePng(path.join(root, 'images/1.png'), noiseImage(1));
    await writePng(path.join(root, 'images/2.png'), noiseImage(2));
    const coco = {
      images: [{ id: 1, file_name: '1.png' }, { id: 2, file_name: '2.png' }, { id: 3, file_name: '3.png' }, { id: 4 }, { id: 5, file_name: '1.png' }],
      annotations: [
        { image_id: 1, caption: 'a first caption' },
        { image_id: 2, caption: 'only one' },
        { image_id: 1, caption: 'a second caption' },
        { image_id: 9, caption: 'orphan' },
        { image_id: 1, caption: 'a third caption' },
        { image_id: 2 },
      ],
    };
    writeFileSync(path.join(root, 'captions.json'), JSON.stringify(coco));
    const { store } = await freshStore();
    const s = await importDataset(store, { kind: 'coco', path: path.join(root, 'captions.json'), imagesDir: path.join(root, 'images'), split: 'validation' });
    expect(s).toMatchObject({ name: 'captions', imported: 2, bad: 5 });
    const one = store.items.findByPath(s.datasetId, '1.png')!;
    expect(one.split).toBe('validation');
    expect(store.captions.history(one.id).map((c) => [c.text, c.isCurrent, c.source])).toEqual([
      ['a first caption', true, 'import'],
      ['a second caption', false, 'import'],
      ['a third caption', false, 'import'],
    ]);
    expect(store.captions.revert(store.captions.history(one.id)[2].id).text).toBe('a third caption');
    expect(reasons(store, s.datasetId)).toEqual([
      'captions.json: annotations[3] refers to image_id 9, which is not in images[]; skipped',
      'captions.json: annotations[5] has no caption text; skipped',
      '3.png: file not found (captions.json images[2])',
      'captions.json images[3]: has no file_name; skipped',
      '1.png: listed again (captions.json images[4]); already listed at captions.json images[0], which was kept',
    ]);
    checkAndClose(store);
  });

  it('refuses unparseable JSON and files that are not COCO captions, leaving no dataset', async () => {
    const root = tempDir();
    const bad = path.join(root, 'bad.json');
    writeFileSync(bad, '{"images": [ {"id": 1, ');
    const { store } = await freshStore();
    const err = await importDataset(store, { kind: 'coco', path: bad }).catch((e) => e);
    expect(err).toBeInstanceOf(DatasetImportError);
    expect(err.message).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: is not valid JSON \\(.+\\); expected a COCO captions file$`));
    writeFileSync(bad, JSON.stringify({ images: [] }));
    await expect(importDataset(store, { kind: 'coco', path: bad })).rejects.toThrow(`${bad}: has no 'annotations' array; expected a COCO captions file (images[] and annotations[])`);
    expect(store.datasets.list()).toEqual([]);
    checkAndClose(store);
  });
});

describe('CSV import', () => {
  it('finds the path and caption columns, parses quoted fields, records wrong rows', async () => {
    const root = tempDir();
    await writePng(path.join(root, 'img/a.png'), noiseImage(1));
    await writePng(path.join(root, 'img/b.png'), noiseImage(2));
    await writePng(path.join(root, 'img/c.png'), flatImage([1, 0, 0]));
    const csv = [
      'id,Image,Caption,tags,split',
      '1,img/a.png,"a cat, sitting","pet|cat",train',
      '2,img/b.png,"a ""quoted""\ndog",pet;dog,test',
      '3,img/c.png,extra,column,train,oops',
      '4,img/c.png,"red square","[""shape"", ""red""]",weird',
      '5,../up.png,escape,,',
    ].join('\r\n');
    writeFileSync(path.join(root, 'list.csv'), csv);
    const { store } = await freshStore();
    const s = await importDataset(store, { kind: 'csv', path: path.join(root, 'list.csv') });
    expect(s).toMatchObject({ name: 'list', imported: 3, bad: 2 });
    expect(itemsOf(store, s.datasetId).map(({ id: _, ...r }) => r)).toEqual([
      { path: 'img/a.png', status: 'ok', caption: 'a cat, sitting', tags: ['cat', 'pet'], split: 'train' },
      { path: 'img/b.png', status: 'ok', caption: 'a "quoted"\ndog', tags: ['dog', 'pet'], split: 'test' },
      { path: 'img/c.png', status: 'ok', caption: 'red square', tags: ['red', 'shape'], split: null },
    ]);
    expect(reasons(store, s.datasetId)).toEqual([
      'list.csv line 5: has 6 fields but the header has 5; record skipped',
      'img/c.png: unknown split "weird" (expected train, validation or test); imported without a split (list.csv line 6)',
      `"../up.png" points outside the dataset folder ('..') (list.csv line 7)`, // the quoted newline in record 2 shifts the lines
    ]);
    checkAndClose(store);
  });

  it('takes column names from the spec; refuses a CSV without the path column, naming its columns', async () => {
    const root = tempDir();
    await writePng(path.join(root, 'a.png'), noiseImage(1));
    writeFileSync(path.join(root, 'x.csv'), 'picture;words\na.png;hello; world\n');
    const { store } = await freshStore();
    const file = path.join(root, 'x.csv');
    await expect(importDataset(store, { kind: 'csv', path: file, delimiter: ';' })).rejects.toThrow(
      `${file}: has no file path column (looked for file_name, image, path, file, filename, image_path, file_path); its columns are "picture", "words"; name it with pathColumn / --path-column`);
    await expect(importDataset(store, { kind: 'csv', path: file, delimiter: ';', pathColumn: 'pic' })).rejects.toThrow(`${file}: has no file path column "pic"; its columns are "picture", "words"`);
    expect(store.datasets.list()).toEqual([]);
    writeFileSync(file, 'picture;words\na.png;"hello; world"\n');
    const s = await importDataset(store, { kind: 'csv', path: file, delimiter: ';', pathColumn: 'picture', captionColumn: 'WORDS' });
    expect(itemsOf(store, s.datasetId).map((r) => r.caption)).toEqual(['hello; world']);
    checkAndClose(store);
  });
});

describe('emoji sample', () => {
  it('builds the emoji set into the cache folder when missing and imports it with style and category tags', async () => {
    const cache = path.join(tempDir(), 'emoji');
    const { store } = await freshStore();
    const phases = new Set<string>();
    const s = await importDataset(store, { kind: 'emoji', cacheDir: cache, limit: 2 }, { onProgress: (p) => phases.add(p.phase) });
    expect([...phases]).toEqual(['build', 'scan', 'import']);
    expect(s.name).toBe('emoji');
    expect(s.imported).toBeGreaterThanOrEqual(6);
    expect(s.bad).toBe(0);
    const items = itemsOf(store, s.datasetId);
    const fb = items.filter((r) => r.tags.includes('style:facebook'));
    expect(fb.length).toBeGreaterThan(0);
    expect(fb.every((r) => r.split === 'test' && r.path.startsWith('test/facebook/'))).toBe(true);
    expect(items.every((r) => r.caption && r.tags.some((t) => t.startsWith('category:')))).toBe(true);
    expect(items.some((r) => r.tags.some((t) => t.startsWith('unified:')))).toBe(false);
    // second click: nothing rebuilt, nothing re-imported
    mkdirSync(cache, { recursive: true });
    const again = await importDataset(store, { kind: 'emoji', cacheDir: cache });
    expect(again).toMatchObject({ imported: 0, skipped: s.imported });
    checkAndClose(store);
  });
});
