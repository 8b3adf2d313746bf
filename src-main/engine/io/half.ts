// IEEE 754 binary16 ⇄ float32 for storing tensors as safetensors F16 (raw 16-bit patterns in a
// Uint16Array, as io/safetensors.ts holds them). Rounding is to nearest, ties to even; values past
// the half range become ±Infinity, values below it subnormals or ±0, NaN stays NaN.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflow to ±0
    man |= 0x800000; // the implicit bit, then shift into a subnormal
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = man >>> shift;
    const rest = man & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = man >>> 13;
  const rest = man & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

export const halfArray = (x: ArrayLike<number>): Uint16Array => Uint16Array.from({ length: x.length }, (_, i) => toHalf(x[i]));
export const floatArray = (h: Uint16Array): Float32Array => Float32Array.from(h, fromHalf);
