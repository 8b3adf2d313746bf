// safetensors reader and writer (the HF weights format): an 8-byte little-endian u64 header length N,
// N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}`,
// then the byte buffer (offsets are relative to its start). Decoding validates the whole file before
// returning anything; writing is atomic (temp file, fsync, rename, fsync of the directory).
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type SafeDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
export type SafeData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

/** One tensor. F16/BF16 hold the raw 16-bit patterns in a Uint16Array; BOOL holds 0/1 bytes. */
export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: SafeData;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

type ArrayCtor = { new (buf: ArrayBuffer, off: number, len: number): SafeData; new (len: number): SafeData; BYTES_PER_ELEMENT: number; name: string };
const CTOR: Record<SafeDType, ArrayCtor> = {
  F32: Float32Array, F16: Uint16Array, BF16: Uint16Array, F64: Float64Array, I64: BigInt64Array,
  I32: Int32Array, I16: Int16Array, I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array,
} as unknown as Record<SafeDType, ArrayCtor>;
export const DTYPE_SIZE: Record<SafeDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const MAX_HEADER = 100_000_000; // same cap as the reference implementation: a larger header is a corrupt file

function checkHostEndianness(): void {
  if (os.endianness() !== 'LE') throw new SafetensorsError('safetensors I/O needs a little-endian host');
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Encode tensors (+ optional string metadata) into safetensors bytes. Tensors are laid out by
 *  decreasing element size, then name, so every tensor starts aligned to its element size. */
export function encodeSafetensors(tensors: Record<string, SafeTensor> | Map<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array {
  checkHostEndianness();
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new SafetensorsError(`tensor name '__metadata__' is reserved`);
    if (!(t.dtype in DTYPE_SIZE)) throw new SafetensorsError(`tensor '${name}': unknown dtype '${t.dtype}'`);
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new SafetensorsError(`tensor '${name}': shape must be non-negative integers, got ${JSON.stringify(t.shape)}`);
    }
    const want = CTOR[t.dtype];
    if (!(t.data instanceof want)) throw new SafetensorsError(`tensor '${name}': dtype ${t.dtype} needs a ${want.name}, got ${t.data?.constructor?.name}`);
    if (t.data.length !== numel(t.shape)) {
      throw new SafetensorsError(`tensor '${name}': shape [${t.shape}] has ${numel(t.shape)} elements but data has ${t.data.length}`);
    }
  }
  entries.sort(([an, a], [bn, b]) => DTYPE_SIZE[b.dtype] - DTYPE_SIZE[a.dtype] || (an < bn ? -1 : an > bn ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`metadata '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    const n = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8; // pad with spaces so the buffer starts 8-aligned
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);

  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

interface RawEntry { name: string; dtype: SafeDType; shape: number[]; begin: number; end: number }

/** Decode safetensors bytes. Everything is validated before any tensor is built. Tensor data are
 *  views into `bytes` when suitably aligned (mutating them mutates `bytes`), copies otherwise. */
export function decodeSafetensors(bytes: Uint8Array, source = '<memory>'): SafetensorsFile {
  checkHostEndianness();
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${source}: ${msg}`);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) fail(`header length ${n64} is larger than the ${bytes.length - 8} bytes after the length field`);
  const n = Number(n64);
  if (n > MAX_HEADER) fail(`header length ${n} exceeds the ${MAX_HEADER}-byte limit`);

  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8'));
  } catch (err) {
    fail(`header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail(`header must be a JSON object, got ${header === null ? 'null' : Array.isArray(header) ? 'an array' : typeof header}`);
  }
  const bufStart = 8 + n;
  const bufLen = bytes.length - bufStart;

  const metadata: Record<string, string> = {};
  const raw: RawEntry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`__metadata__ must be an object of strings`);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__['${k}'] must be a string, got ${typeof v}`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`tensor '${name}': entry must be an object`);
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_SIZE)) {
      fail(`tensor '${name}': unknown dtype '${String(e.dtype)}' (known: ${Object.keys(DTYPE_SIZE).join(', ')})`);
    }
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      fail(`tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(e.shape)}`);
    }
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || offs.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      fail(`tensor '${name}': data_offsets must be two non-negative integers, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin || end > bufLen) fail(`tensor '${name}': data_offsets [${begin}, ${end}] are outside the ${bufLen}-byte buffer`);
    const dtype = e.dtype as SafeDType;
    const shape = e.shape as number[];
    const expected = numel(shape) * DTYPE_SIZE[dtype];
    if (end - begin !== expected) {
      fail(`tensor '${name}': has ${end - begin} bytes but shape [${shape}] × ${dtype} (${DTYPE_SIZE[dtype]} bytes) needs ${expected}`);
    }
    raw.push({ name, dtype, shape, begin, end });
  }

  // The tensors must tile the buffer exactly: no overlap, no gap, nothing left over.
  const sorted = [...raw].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev = '<start>';
  for (const r of sorted) {
    if (r.begin < cursor) fail(`tensor '${r.name}' [${r.begin}, ${r.end}] overlaps '${prev}' which ends at ${cursor}`);
    if (r.begin > cursor) fail(`bytes [${cursor}, ${r.begin}) before tensor '${r.name}' belong to no tensor`);
    cursor = r.end;
    prev = r.name;
  }
  if (cursor !== bufLen) fail(`tensors cover ${cursor} of the ${bufLen} buffer bytes; ${bufLen - cursor} trailing bytes belong to no tensor`);

  const tensors = new Map<string, SafeTensor>();
  for (const r of raw) {
    const ctor = CTOR[r.dtype];
    const abs = bytes.byteOffset + bufStart + r.begin;
    const count = (r.end - r.begin) / ctor.BYTES_PER_ELEMENT;
    let data: SafeData;
    if (abs % ctor.BYTES_PER_ELEMENT === 0) {
      data = new ctor(bytes.buffer as ArrayBuffer, abs, count);
    } else {
      data = new ctor(count);
      new Uint8Array(data.buffer).set(bytes.subarray(bufStart + r.begin, bufStart + r.end));
    }
    tensors.set(r.name, { dtype: r.dtype, shape: [...r.shape], data });
  }
  return { tensors, metadata };
}

export async function readSafetensors(file: string): Promise<SafetensorsFile> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    throw new SafetensorsError(`${file}: cannot read (${(err as Error).message})`);
  }
  return decodeSafetensors(bytes, file);
}

/** Write atomically: `file.tmp-<pid>`, fsync, rename over `file`, fsync the directory. */
export async function writeSafetensors(file: string, tensors: Record<string, SafeTensor> | Map<string, SafeTensor>, metadata?: Record<string, string>): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw new SafetensorsError(`${file}: cannot write (${(err as Error).message})`);
  }
  await fsyncDir(path.dirname(path.resolve(file)));
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch (err) {
    // Windows cannot open or fsync a directory; the rename is still atomic there.
    const code = (err as NodeJS.ErrnoException).code;
    if (!(process.platform === 'win32' || code === 'EISDIR' || code === 'EINVAL' || code === 'EPERM')) throw err;
  } finally {
    await fh?.close();
  }
}

// ---- dtype conversion -------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half bits -> number. */
export function f16BitsToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** number -> IEEE half bits, round to nearest even (overflow to ±Inf, NaN kept). */
export function floatToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const e = (b >>> 23) & 0xff;
  let m = b & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
  const he = e - 127 + 15;
  if (he >= 31) return sign | 0x7c00;
  if (he <= 0) {
    if (he < -10) return sign; // underflows to ±0
    m |= 0x800000; // subnormal half: shift the implicit bit in, round to nearest even
    const shift = 14 - he;
    const half = 1 << (shift - 1);
    let r = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = (he << 10) | (m >>> 13);
  const rest = m & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) r++; // may carry into the exponent: still right
  return sign | r;
}

/** bfloat16 bits -> number. */
export function bf16BitsToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/** number -> bfloat16 bits, round to nearest even (NaN kept quiet). */
export function floatToBF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Any tensor as float32 values. An F32 tensor's own array is returned (no copy). */
export function toFloat32(t: SafeTensor): Float32Array {
  const d = t.data;
  switch (t.dtype) {
    case 'F32':
      return d as Float32Array;
    case 'F16':
      return Float32Array.from(d as Uint16Array, f16BitsToFloat);
    case 'BF16': {
      const out = new Float32Array(d.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < d.length; i++) bits[i] = (d as Uint16Array)[i] << 16;
      return out;
    }
    case 'I64':
      return Float32Array.from(d as BigInt64Array, (v) => Number(v));
    default:
      return Float32Array.from(d as ArrayLike<number>);
  }
}

/** Build a tensor of the given dtype from float values (rounding for F16/BF16, truncation for ints). */
export function fromFloat32(values: ArrayLike<number>, shape: number[], dtype: SafeDType = 'F32'): SafeTensor {
  const n = values.length;
  let data: SafeData;
  switch (dtype) {
    case 'F16': data = Uint16Array.from({ length: n }, (_, i) => floatToF16Bits(values[i])); break;
    case 'BF16': data = Uint16Array.from({ length: n }, (_, i) => floatToBF16Bits(values[i])); break;
    case 'I64': data = BigInt64Array.from({ length: n }, (_, i) => BigInt(Math.trunc(values[i]))); break;
    case 'BOOL': data = Uint8Array.from({ length: n }, (_, i) => (values[i] ? 1 : 0)); break;
    default: {
      const ctor = CTOR[dtype] as unknown as { from(a: ArrayLike<number>): SafeData };
      data = ctor.from(values);
    }
  }
  if (data.length !== numel(shape)) throw new SafetensorsError(`fromFloat32: shape [${shape}] has ${numel(shape)} elements but ${n} values were given`);
  return { dtype, shape: [...shape], data };
}
