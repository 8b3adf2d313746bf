// Tests for the Fashion-MNIST IDX loader (src-main/engine/data/fashion-mnist.ts): real Debian files
// (counts, balanced label histogram, pixel range, limit) and clear errors for missing or malformed files.
// The real-data tests need Debian's dataset-fashion-mnist (scripts/install-system-deps.sh installs it).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../../src-main/engine/data/fashion-mnist.ts';


function histogram(labels: Int32Array): number[] {
  const h = new Array(10).fill(0);
  for (const l of labels) h[l]++;
  return h;
}

function idx(magic: number, dims: number[], payload: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(payload)]);
}

describe('FASHION_MNIST_CLASSES', () => {
  it('lists the 10 classes in label order', () => {
    expect(FASHION_MNIST_CLASSES.length).toBe(10);
    expect(FASHION_MNIST_CLASSES[0]).toBe('T-shirt/top');
    expect(FASHION_MNIST_CLASSES[9]).toBe('Ankle boot');
  });
});

describe('loadFashionMnist on the Debian files', () => {
  it('loads 60000 training examples, 6000 per class, pixels in [0,1]', async () => {
    const d = await loadFashionMnist('train');
    expect(d.n).toBe(60000);
    expect(d.images.length).toBe(60000 * 28 * 28);
    expect(d.labels.length).toBe(60000);
    expect(histogram(d.labels)).toEqual(new Array(10).fill(6000));
    let min = Infinity;
    let max = -Infinity;
    for (const v of d.images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
  });

  it('loads 10000 test examples, 1000 per class', async () => {
    const d = await loadFashionMnist('test');
    expect(d.n).toBe(10000);
    expect(d.images.length).toBe(10000 * 784);
    expect(histogram(d.labels)).toEqual(new Array(10).fill(1000));
    // first test labels of the canonical files: Ankle boot, Pullover, Trouser, Trouser, Shirt
    expect(Array.from(d.labels.subarray(0, 5))).toEqual([9, 2, 1, 1, 6]);
  });

  it('honours limit', async () => {
    const d = await loadFashionMnist('test', { limit: 7 });
    expect(d.n).toBe(7);
    expect(d.images.length).toBe(7 * 784);
    expect(d.labels.length).toBe(7);
  });
});

describe('loadFashionMnist errors', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fmnist-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the missing file and the Debian package', async () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    await expect(loadFashionMnist('train', { dir: empty })).rejects.toThrow(/train-images-idx3-ubyte\.gz.*dataset-fashion-mnist/);
  });

  it('rejects a bad magic number, naming the file', async () => {
    const d = mkdtempSync(join(dir, 'magic-'));
    writeFileSync(join(d, 't10k-images-idx3-ubyte.gz'), gzipSync(idx(1234, [1, 28, 28], new Uint8Array(784))));
    writeFileSync(join(d, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx(2049, [1], new Uint8Array([3]))));
    await expect(loadFashionMnist('test', { dir: d })).rejects.toThrow(/t10k-images-idx3-ubyte\.gz.*bad magic number 1234/);
  });

  it('rejects a truncated file (size mismatch), naming the file', async () => {
    const d = mkdtempSync(join(dir, 'size-'));
    writeFileSync(join(d, 't10k-images-idx3-ubyte.gz'), gzipSync(idx(2051, [2, 28, 28], new Uint8Array(784))));
    writeFileSync(join(d, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx(2049, [2], new Uint8Array([3, 4]))));
    await expect(loadFashionMnist('test', { dir: d })).rejects.toThrow(/t10k-images-idx3-ubyte\.gz.*size mismatch/);
  });

  it('rejects a corrupt gzip stream', async () => {
    const d = mkdtempSync(join(dir, 'gz-'));
    writeFileSync(join(d, 't10k-images-idx3-ubyte.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5]));
    writeFileSync(join(d, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx(2049, [1], new Uint8Array([3]))));
    await expect(loadFashionMnist('test', { dir: d })).rejects.toThrow(/malformed file .*t10k-images-idx3-ubyte\.gz/);
  });

  it('parses a small well-formed synthetic file', async () => {
    const d = mkdtempSync(join(dir, 'ok-'));
    const px = new Uint8Array(2 * 784);
    px[0] = 255;
    px[784 + 1] = 51;
    writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), gzipSync(idx(2051, [2, 28, 28], px)));
    writeFileSync(join(d, 'train-labels-idx1-ubyte.gz'), gzipSync(idx(2049, [2], new Uint8Array([5, 0]))));
    const r = await loadFashionMnist('train', { dir: d });
    expect(r.n).toBe(2);
    expect(Array.from(r.labels)).toEqual([5, 0]);
    expect(r.images[0]).toBe(1);
    expect(r.images[785]).toBeCloseTo(0.2, 6);
  });
});
