// Perceptual hashing for near-duplicate search: a 64-bit difference hash (dHash, Krawetz 2013):
// decode to 9×8 (area averaging, through engine/io/image.ts), take luma, and set bit (y, x) when
// pixel (y, x) is brighter than its right neighbour. Brightness, contrast and scale changes keep
// most bits; a different picture flips about half. Plus Hamming distance and the band split used
// to find candidate pairs without comparing all of them (LSH by pigeonhole).
import { decodeImage } from '../../engine/io/image.ts';

/** dHash of an image file or buffer: 16 lowercase hex characters (bit 63 = row 0, column 0). */
export async function dHash(input: string | Uint8Array, source?: string): Promise<string> {
  const img = await decodeImage(input, { size: [8, 9], source }); // (3, 8, 9)
  const hw = 8 * 9;
  let bits = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const at = (xx: number) => 0.299 * img.data[y * 9 + xx] + 0.587 * img.data[hw + y * 9 + xx] + 0.114 * img.data[2 * hw + y * 9 + xx];
      bits = (bits << 1n) | (at(x) > at(x + 1) ? 1n : 0n);
    }
  }
  return bits.toString(16).padStart(16, '0');
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** A 64-bit hash as two unsigned 32-bit halves, for fast distances. */
export function splitHash(hex: string): [number, number] {
  return [parseInt(hex.slice(0, 8), 16) >>> 0, parseInt(hex.slice(8, 16), 16) >>> 0];
}

/** Number of differing bits between two hashes given as [hi, lo] halves. */
export function hamming(a: readonly [number, number], b: readonly [number, number]): number {
  return popcount32((a[0] ^ b[0]) >>> 0) + popcount32((a[1] ^ b[1]) >>> 0);
}

/**
 * Splits 64 bits into `threshold + 1` bands. Two hashes within `threshold` bits differ in at most
 * `threshold` bands, so they agree exactly on at least one: bucketing by each band finds every such
 * pair. Returns, per band, a function from [hi, lo] to the band's value.
 */
export function bands(threshold: number): ((h: readonly [number, number]) => number)[] {
  const n = threshold + 1;
  const out: ((h: readonly [number, number]) => number)[] = [];
  let start = 0;
  for (let b = 0; b < n; b++) {
    const width = Math.floor(64 / n) + (b < 64 % n ? 1 : 0);
    const s = start, w = width;
    out.push((h) => {
      let v = 0;
      for (let k = s; k < s + w; k++) {
        const bit = k < 32 ? (h[0] >>> (31 - k)) & 1 : (h[1] >>> (63 - k)) & 1;
        v = v * 2 + bit;
      }
      return v;
    });
    start += width;
  }
  return out;
}
