// image.ts on real images made here with sharp: every input format, alpha flattening, EXIF orientation,
// area-averaging resize and fits, bad input (empty, random, truncated, a hand-built 30000×30000 PNG
// bomb, wrong extension), PNG tEXt/iTXt round trips checked with an independent CRC and parser.
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { decodeImage, encodePng, ImageError, imageInfo, readPngText, tensorToRgba, toRawRgb, type ImageTensor } from '../../src-main/engine/io/image.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'img-'));
const px = (img: ImageTensor, c: number, y: number, x: number) => img.data[c * img.height * img.width + y * img.width + x];
const rgb255 = (img: ImageTensor, y: number, x: number) => [0, 1, 2].map((c) => Math.round(px(img, c, y, x) * 255));

// CRC-32 (IEEE), written here independently of node:zlib to check the chunks image.ts writes.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunks(png: Uint8Array): { type: string; data: Buffer; crcOk: boolean }[] {
  const b = Buffer.from(png);
  const out = [];
  for (let pos = 8; pos < b.length; ) {
    const len = b.readUInt32BE(pos);
    const type = b.toString('latin1', pos + 4, pos + 8);
    out.push({ type, data: b.subarray(pos + 8, pos + 8 + len), crcOk: crc(b.subarray(pos + 4, pos + 8 + len)) === b.readUInt32BE(pos + 8 + len) });
    pos += 12 + len;
  }
  return out;
}
function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc(body), 8 + data.length);
  return out;
}

async function expectImageError(p: Promise<unknown>, code: string, file: string) {
  const err = await p.then(() => null, (e) => e);
  expect(err, `expected ImageError ${code}`).toBeInstanceOf(ImageError);
  expect(err.code).toBe(code);
  expect(err.file).toBe(file);
  expect(err.message).toContain(file);
}

describe('decodeImage formats', () => {
  it('decodes PNG, JPEG, WebP, GIF (first frame), AVIF, SVG and TIFF to CHW floats', async () => {
    const base = () => sharp({ create: { width: 6, height: 4, channels: 3, background: { r: 200, g: 40, b: 10 } } });
    const inputs: Record<string, Uint8Array> = {
      png: await base().png().toBuffer(),
      jpeg: await base().jpeg({ quality: 95 }).toBuffer(),
      webp: await base().webp({ lossless: true }).toBuffer(),
      avif: await base().avif({ lossless: true }).toBuffer(),
      tiff: await base().tiff().toBuffer(),
      svg: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="6" height="4"><rect width="6" height="4" fill="rgb(200,40,10)"/></svg>'),
    };
    const red = await sharp({ create: { width: 6, height: 4, channels: 3, background: { r: 200, g: 40, b: 10 } } }).png().toBuffer();
    const blue = await sharp({ create: { width: 6, height: 4, channels: 3, background: { r: 0, g: 0, b: 255 } } }).png().toBuffer();
    inputs.gif = await sharp([red, blue], { join: { animated: true } }).gif().toBuffer();
    for (const [fmt, bytes] of Object.entries(inputs)) {
      const img = await decodeImage(bytes, { source: fmt });
      expect([img.channels, img.height, img.width, img.data.length], fmt).toEqual([3, 4, 6, 72]);
      const [r, g, b] = rgb255(img, 2, 3);
      expect(Math.abs(r - 200) + Math.abs(g - 40) + Math.abs(b - 10), `${fmt} got ${[r, g, b]}`).toBeLessThan(fmt === 'gif' ? 40 : 12);
      expect((await imageInfo(bytes)).format).toBe(fmt);
    }
  });

  it('composites alpha on white by default, on the given background otherwise', async () => {
    const half = await sharp({ create: { width: 2, height: 2, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } } }).png().toBuffer();
    expect(rgb255(await decodeImage(half), 0, 0)).toEqual([255, 127, 127]); // alpha stored as 128/255
    expect(rgb255(await decodeImage(half, { background: [0, 0, 0] }), 1, 1)).toEqual([128, 0, 0]);
    const info = await imageInfo(half);
    expect(info).toEqual({ width: 2, height: 2, format: 'png', hasAlpha: true, bytes: half.length });
  });

  it('honours EXIF orientation 6: a 40×30 JPEG decodes as 30 wide, 40 high, rotated clockwise', async () => {
    const raw = Buffer.alloc(40 * 30 * 3);
    for (let y = 0; y < 30; y++) for (let x = 0; x < 40; x++) raw.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
    const jpeg = await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const img = await decodeImage(jpeg);
    expect([img.width, img.height]).toEqual([30, 40]);
    expect(rgb255(img, 5, 15)[0]).toBeGreaterThan(200); // left half (red) is now on top
    expect(rgb255(img, 35, 15)[2]).toBeGreaterThan(200); // right half (blue) at the bottom
    const info = await imageInfo(jpeg);
    expect([info.width, info.height, info.format]).toEqual([30, 40, 'jpeg']);
  });

  it('decodes by content: a PNG saved as .jpg and a file path both work', async () => {
    const png = await sharp({ create: { width: 5, height: 3, channels: 3, background: '#00ff00' } }).png().toBuffer();
    const file = path.join(tmp, 'really-a-png.jpg');
    writeFileSync(file, png);
    const img = await decodeImage(file);
    expect([img.width, img.height]).toEqual([5, 3]);
    expect(rgb255(img, 1, 1)).toEqual([0, 255, 0]);
    expect(await imageInfo(file)).toMatchObject({ format: 'png', bytes: png.length });
  });
});

describe('decodeImage resizing', () => {
  const fromRows = async (w: number, h: number, f: (x: number, y: number) => number) => {
    const raw = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.fill(f(x, y), (y * w + x) * 3, (y * w + x + 1) * 3);
    return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
  };

  it('shrinks by exact area averaging (2×2 blocks, a hard edge, a non-integer factor)', async () => {
    const dots = await fromRows(8, 8, (x, y) => (x % 2 === 0 && y % 2 === 0 ? 255 : 0));
    const a = await decodeImage(dots, { size: 4 });
    for (let i = 0; i < 16; i++) expect(a.data[i]).toBeCloseTo(0.25, 6);
    const edge = await fromRows(16, 2, (x) => (x >= 6 ? 255 : 0));
    const e = await decodeImage(edge, { size: [1, 8] });
    expect(Array.from(e.data.subarray(0, 8), (v) => Math.round(v * 255))).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
    const ramp = await fromRows(3, 1, (x) => [0, 90, 255][x]);
    const r = await decodeImage(ramp, { size: [1, 2] }); // each output covers 1.5 source pixels
    expect(r.data[0] * 255).toBeCloseTo((0 + 0.5 * 90) / 1.5, 3);
    expect(r.data[1] * 255).toBeCloseTo((0.5 * 90 + 255) / 1.5, 3);
  });

  it('fits: contain letterboxes on the background, cover centre-crops, fill stretches, enlarging works', async () => {
    const wide = await fromRows(8, 4, (x) => (x < 2 ? 0 : 255)); // 8 wide, 4 high
    const contain = await decodeImage(wide, { size: 4, fit: 'contain', background: [255, 0, 0] });
    expect([contain.height, contain.width]).toEqual([4, 4]);
    expect(rgb255(contain, 0, 0)).toEqual([255, 0, 0]); // bar
    expect(rgb255(contain, 1, 0)).toEqual([0, 0, 0]); // content starts at row 1
    const cover = await decodeImage(wide, { size: 4, fit: 'cover' });
    expect(Array.from({ length: 4 }, (_, x) => rgb255(cover, 0, x)[0])).toEqual([255, 255, 255, 255]); // x in [2,6)
    const fill = await decodeImage(wide, { size: [2, 4] });
    expect(Array.from({ length: 4 }, (_, x) => rgb255(fill, 0, x)[0])).toEqual([0, 255, 255, 255]);
    const big = await decodeImage(wide, { size: [16, 32] });
    expect([big.height, big.width]).toEqual([16, 32]);
    expect(rgb255(big, 8, 0)[0]).toBeLessThan(10);
    expect(rgb255(big, 8, 31)[0]).toBeGreaterThan(245);
  });
});

describe('decodeImage bad input', () => {
  it('empty buffer and empty file', async () => {
    await expectImageError(decodeImage(new Uint8Array(0), { source: 'none.png' }), 'empty', 'none.png');
    const file = path.join(tmp, 'empty.png');
    writeFileSync(file, '');
    await expectImageError(decodeImage(file), 'empty', file);
    await expectImageError(imageInfo(file), 'empty', file);
  });

  it('random bytes and text', async () => {
    const noise = Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24);
    await expectImageError(decodeImage(noise, { source: 'noise.bin' }), 'not-an-image', 'noise.bin');
    await expectImageError(imageInfo(Buffer.from('hello, world'), 'hello.txt'), 'not-an-image', 'hello.txt');
  });

  it('truncated PNG and JPEG', async () => {
    const raw = Uint8Array.from({ length: 96 * 96 * 3 }, (_, i) => (i * 2654435761) >>> 24);
    const png = await sharp(raw, { raw: { width: 96, height: 96, channels: 3 } }).png().toBuffer();
    const jpeg = await sharp(raw, { raw: { width: 96, height: 96, channels: 3 } }).jpeg().toBuffer();
    await expectImageError(decodeImage(png.subarray(0, png.length >> 1), { source: 'cut.png' }), 'truncated', 'cut.png');
    await expectImageError(decodeImage(png.subarray(0, 30), { source: 'head.png' }), 'truncated', 'head.png');
    await expectImageError(decodeImage(jpeg.subarray(0, jpeg.length >> 1), { source: 'cut.jpg' }), 'truncated', 'cut.jpg');
  });

  it('a decompression bomb (hand-built PNG claiming 30000×30000) is refused before decoding', async () => {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(30000, 0);
    ihdr.writeUInt32BE(30000, 4);
    ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
    const bomb = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
      chunk('IDAT', zlib.deflateSync(Buffer.alloc(1000))), chunk('IEND', Buffer.alloc(0))]);
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    await expectImageError(decodeImage(bomb, { source: 'bomb.png' }), 'too-large', 'bomb.png');
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 << 20);
    expect(await imageInfo(bomb)).toMatchObject({ width: 30000, height: 30000, format: 'png' }); // header only
    const small = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#000' } }).png().toBuffer();
    await expectImageError(decodeImage(small, { source: 's.png', limitInputPixels: 5000 }), 'too-large', 's.png');
  });
});

describe('PNG encoding with text metadata', () => {
  const img: ImageTensor = { channels: 3, height: 3, width: 4, data: Float32Array.from({ length: 36 }, (_, i) => (i * 7 % 256) / 255) };

  it('round-trips pixels exactly and text through tEXt (Latin-1) and iTXt (UTF-8)', async () => {
    const text = { prompt: 'a red apple', seed: '42', Comment: 'café', model: 'emoji 🍎 v1' };
    const png = await encodePng(img, text);
    expect(readPngText(png)).toEqual(text);
    const chunks = pngChunks(png);
    expect(chunks.map((c) => c.type).filter((t) => t !== 'pHYs')).toEqual(['IHDR', 'tEXt', 'tEXt', 'tEXt', 'iTXt', 'IDAT', 'IEND']);
    expect(chunks.every((c) => c.crcOk)).toBe(true);
    expect(chunks[1].data.toString('latin1')).toBe('prompt\0a red apple');
    // a standard reader (libvips/libpng via sharp) still reads the file and sees the text
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([4, 3, 'png']);
    expect(meta.comments).toContainEqual({ keyword: 'prompt', text: 'a red apple' });
    const back = await decodeImage(png);
    expect(Array.from(back.data)).toEqual(Array.from(img.data));
    expect(Array.from(toRawRgb(img).subarray(0, 3))).toEqual([0, 84, 168]); // pixel (0,0): channels at i=0,12,24
    expect(tensorToRgba(img).length).toBe(48);
  });

  it('rejects bad keywords and reports damaged or foreign files', async () => {
    await expect(encodePng(img, { '': 'x' })).rejects.toThrow(/keyword/);
    const png = Buffer.from(await encodePng(img, { k: 'v' }));
    png[42] ^= 0xff; // inside the tEXt chunk data
    expect(() => readPngText(png, 'bad.png')).toThrow(/bad.png: .*bad CRC/);
    expect(() => readPngText(Buffer.from('GIF89a....'), 'x.gif')).toThrow(ImageError);
    expect(() => readPngText(png.subarray(0, 36), 'cut.png')).toThrow(/runs past the end/);
    // zTXt written by an independent encoder is read too
    const z = Buffer.concat([Buffer.from('note\0\0', 'latin1'), zlib.deflateSync(Buffer.from('zipped words', 'latin1'))]);
    const plain = Buffer.from(await encodePng(img));
    const withZ = Buffer.concat([plain.subarray(0, 33), chunk('zTXt', z), plain.subarray(33)]);
    expect(readPngText(withZ)).toEqual({ note: 'zipped words' });
  });
});
