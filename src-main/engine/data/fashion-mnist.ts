// Fashion-MNIST loader: reads Debian's dataset-fashion-mnist IDX files (gzipped, or plain when no .gz
// exists) from /usr/share/datasets/fashion-mnist, validates them, and returns images as float32
// (N,1,28,28) in [0,1] with int32 labels. Pure Node (fs + zlib); no app-layer imports.
import { readFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { join } from 'node:path';

const gunzipAsync = promisify(gunzip);

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Class names in label order 0..9. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export type FashionMnistSplit = 'train' | 'test';

export interface FashionMnist {
  /** (n, 1, 28, 28) row-major, pixel / 255. */
  images: Float32Array;
  labels: Int32Array;
  n: number;
}

export interface FashionMnistOptions {
  /** Keep only the first `limit` examples. */
  limit?: number;
  /** Directory holding the *-ubyte.gz files; defaults to Debian's location. */
  dir?: string;
}

const IMAGE_MAGIC = 2051; // 0x00000803: unsigned byte, 3 dims
const LABEL_MAGIC = 2049; // 0x00000801: unsigned byte, 1 dim
const SIDE = 28;

/** Read an IDX file (gzip-compressed or not); `name` is the file name without `.gz`. */
async function readIdx(dir: string, name: string): Promise<{ bytes: Buffer; path: string }> {
  const gz = join(dir, `${name}.gz`);
  let raw: Buffer;
  let path = gz;
  try {
    raw = await readFile(gz);
  } catch (e: any) {
    if (e?.code !== 'ENOENT') throw new Error(`Fashion-MNIST: cannot read ${gz}: ${e?.message ?? e}`);
    path = join(dir, name);
    try {
      raw = await readFile(path);
    } catch (e2: any) {
      if (e2?.code !== 'ENOENT') throw new Error(`Fashion-MNIST: cannot read ${path}: ${e2?.message ?? e2}`);
      throw new Error(
        `Fashion-MNIST: missing file ${gz} (install Debian's dataset-fashion-mnist: apt-get install dataset-fashion-mnist, or pass opts.dir)`,
      );
    }
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return { bytes: await gunzipAsync(raw), path };
    } catch (e: any) {
      throw new Error(`Fashion-MNIST: malformed file ${path}: gzip decompression failed (${e?.message ?? e})`);
    }
  }
  return { bytes: raw, path };
}

function parseHeader(bytes: Buffer, path: string, magic: number, ndim: number): number[] {
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) {
    throw new Error(`Fashion-MNIST: malformed file ${path}: ${bytes.length} bytes is shorter than the ${headerLen}-byte IDX header`);
  }
  const got = bytes.readUInt32BE(0);
  if (got !== magic) {
    throw new Error(`Fashion-MNIST: malformed file ${path}: bad magic number ${got} (expected ${magic})`);
  }
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(bytes.readUInt32BE(4 + 4 * i));
  const expected = headerLen + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    throw new Error(
      `Fashion-MNIST: malformed file ${path}: size mismatch, header dims [${dims.join(', ')}] need ${expected} bytes but the file has ${bytes.length}`,
    );
  }
  return dims;
}

/** Load a Fashion-MNIST split ('train': 60000 examples, 'test': 10000). */
export async function loadFashionMnist(split: FashionMnistSplit, opts: FashionMnistOptions = {}): Promise<FashionMnist> {
  if (split !== 'train' && split !== 'test') throw new Error(`Fashion-MNIST: unknown split '${String(split)}' (use 'train' or 'test')`);
  const { limit } = opts;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new Error(`Fashion-MNIST: limit must be a non-negative integer, got ${limit}`);
  }
  const dir = opts.dir ?? FASHION_MNIST_DIR;
  const prefix = split === 'train' ? 'train' : 't10k';
  // both read at once; when both fail, the images file is the one named (not whichever failed first)
  const [img, lab] = (await Promise.allSettled([readIdx(dir, `${prefix}-images-idx3-ubyte`), readIdx(dir, `${prefix}-labels-idx1-ubyte`)]))
    .map((r) => { if (r.status === 'rejected') throw r.reason; return r.value; });

  const [count, rows, cols] = parseHeader(img.bytes, img.path, IMAGE_MAGIC, 3);
  if (rows !== SIDE || cols !== SIDE) {
    throw new Error(`Fashion-MNIST: malformed file ${img.path}: images are ${rows}x${cols}, expected ${SIDE}x${SIDE}`);
  }
  const [labelCount] = parseHeader(lab.bytes, lab.path, LABEL_MAGIC, 1);
  if (labelCount !== count) {
    throw new Error(`Fashion-MNIST: size mismatch: ${img.path} has ${count} images but ${lab.path} has ${labelCount} labels`);
  }

  const n = limit === undefined ? count : Math.min(limit, count);
  const pix = SIDE * SIDE;
  const images = new Float32Array(n * pix);
  const src = img.bytes.subarray(16, 16 + n * pix);
  for (let i = 0; i < src.length; i++) images[i] = src[i] / 255;

  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = lab.bytes[8 + i];
    if (v >= FASHION_MNIST_CLASSES.length) {
      throw new Error(`Fashion-MNIST: malformed file ${lab.path}: label ${v} at index ${i} is out of range 0..9`);
    }
    labels[i] = v;
  }
  return { images, labels, n };
}

/** A training batch of the given example indices: `pixels` (B, 1, 28, 28) float, `labels` (B) int64. */
export function fashionBatch(images: Float32Array, labels: Int32Array, idx: number[]) {
  const px = new Float32Array(idx.length * 784);
  const lb = new BigInt64Array(idx.length);
  idx.forEach((j, i) => {
    px.set(images.subarray(j * 784, (j + 1) * 784), i * 784);
    lb[i] = BigInt(labels[j]);
  });
  return {
    pixels: { dtype: 'float32' as const, shape: [idx.length, 1, 28, 28], data: px },
    labels: { dtype: 'int64' as const, shape: [idx.length], data: lb },
  };
}
