// Real image fixtures for the dataset tests and their child processes (no vitest import here):
// deterministic 16×16 noise images per seed, PNG bytes through engine/io/image.ts encodePng, a
// brightened copy (a near duplicate), and many distinct PNG files made cheaply by giving one encoded
// image a different tEXt chunk each (valid PNGs, distinct bytes, same pixels).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodePng, type ImageTensor } from '../../../src-main/engine/io/image.ts';
import { insertPngTextChunks } from '../../../src-main/engine/io/png-text.ts';

/** A 16×16 (or size×size) image of smooth-ish noise, different for every seed. */
export function noiseImage(seed: number, size = 16): ImageTensor {
  const data = new Float32Array(3 * size * size); // (3, H, W)
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = Math.sin(seed * 12.9898 + y * 78.233 + x * 37.719 + c * 4.1) * 43758.5453;
        data[c * size * size + y * size + x] = v - Math.floor(v);
      }
    }
  }
  return { data, channels: 3, height: size, width: size };
}

/** The same picture a little brighter (+8%, clipped at white: an affine change of every channel). */
export function brighten(img: ImageTensor, gain = 1, offset = 0.08): ImageTensor {
  return { ...img, data: img.data.map((v) => Math.min(1, v * gain + offset)) };
}

/** A flat-colour image. */
export function flatImage(rgb: [number, number, number], size = 16): ImageTensor {
  const data = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) data.fill(rgb[c], c * size * size, (c + 1) * size * size);
  return { data, channels: 3, height: size, width: size };
}

export async function writePng(file: string, img: ImageTensor): Promise<Uint8Array> {
  mkdirSync(path.dirname(file), { recursive: true });
  const bytes = await encodePng(img);
  writeFileSync(file, bytes);
  return bytes;
}

/**
 * Writes `n` distinct valid PNGs `<dir>/d<k % dirs>/img<k>.png` (one encode, a tEXt chunk each),
 * each padded to about `padBytes` with a comment chunk (to make holding them all in memory visible).
 */
export async function writeManyPngs(dir: string, n: number, dirs = 10, padBytes = 0): Promise<string[]> {
  const plain = await encodePng(noiseImage(1));
  const base = padBytes ? insertPngTextChunks(plain, { Comment: 'x'.repeat(padBytes) }) : plain;
  const rels: string[] = [];
  for (let d = 0; d < dirs; d++) mkdirSync(path.join(dir, `d${d}`), { recursive: true });
  for (let k = 0; k < n; k++) {
    const rel = `d${k % dirs}/img${String(k).padStart(6, '0')}.png`;
    writeFileSync(path.join(dir, rel), insertPngTextChunks(base, { n: String(k) }));
    rels.push(rel);
  }
  return rels;
}

export function writeJsonl(file: string, rows: readonly unknown[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)) + '\n').join(''));
}
