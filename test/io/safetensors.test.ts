// safetensors reader/writer: round trips for every dtype, each malformed-file error, a hand-built file
// with a known byte layout, and a fixture written by an independent Python writer (torch + struct).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  decodeSafetensors, encodeSafetensors, floatToBF16Bits, floatToF16Bits, f16BitsToFloat, fromFloat32,
  readSafetensors, SafetensorsError, toFloat32, writeSafetensors, type SafeTensor,
} from '../../src-main/engine/io/safetensors.ts';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'st-reference.safetensors');

const vals = (t: SafeTensor): unknown[] => Array.from(t.data as ArrayLike<unknown>);

/** Build a file by hand: header object as given (no padding), then the buffer bytes. */
function handmade(header: unknown, buffer: Uint8Array | number[], headerText?: string): Uint8Array {
  const json = Buffer.from(headerText ?? JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(buffer, 8 + json.length);
  return out;
}

function expectError(bytes: Uint8Array, ...parts: (string | RegExp)[]) {
  let err: unknown;
  try {
    decodeSafetensors(bytes, 'bad.safetensors');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SafetensorsError);
  const msg = (err as Error).message;
  expect(msg).toContain('bad.safetensors');
  for (const p of parts) expect(msg).toMatch(p);
}

describe('safetensors round trip', () => {
  const all: Record<string, SafeTensor> = {
    f32: { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1.5, -2, 3.25, 0, -0, 1e-30]) },
    f16: { dtype: 'F16', shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x7bff]) },
    bf16: { dtype: 'BF16', shape: [1, 2], data: Uint16Array.from([0x3f80, 0xc2f7]) },
    f64: { dtype: 'F64', shape: [2], data: Float64Array.from([Math.PI, -1e300]) },
    i64: { dtype: 'I64', shape: [3], data: BigInt64Array.from([-(2n ** 62n), 0n, 2n ** 53n + 1n]) },
    i32: { dtype: 'I32', shape: [2], data: Int32Array.from([-(2 ** 31), 2 ** 31 - 1]) },
    i16: { dtype: 'I16', shape: [2], data: Int16Array.from([-32768, 32767]) },
    i8: { dtype: 'I8', shape: [3], data: Int8Array.from([-128, 127, 1]) },
    u8: { dtype: 'U8', shape: [1, 1, 3], data: Uint8Array.from([0, 255, 9]) },
    bool: { dtype: 'BOOL', shape: [4], data: Uint8Array.from([1, 0, 0, 1]) },
    scalar: { dtype: 'F32', shape: [], data: Float32Array.from([7]) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  };

  it('keeps every dtype, shape and value, and the metadata', () => {
    const bytes = encodeSafetensors(all, { format: 'pt', note: 'ünïcode ✓' });
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt', note: 'ünïcode ✓' });
    expect([...tensors.keys()].sort()).toEqual(Object.keys(all).sort());
    for (const [name, t] of Object.entries(all)) {
      const got = tensors.get(name)!;
      expect(got.dtype, name).toBe(t.dtype);
      expect(got.shape, name).toEqual(t.shape);
      expect(got.data.constructor, name).toBe(t.data.constructor);
      expect(Array.from(got.data as ArrayLike<unknown>), name).toEqual(Array.from(t.data as ArrayLike<unknown>));
      expect(got.data.byteOffset % (got.data as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT, name).toBe(0);
    }
    // header padded to 8 bytes and tensors ordered by element size: every view is aligned
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
  });

  it('accepts a Map, writes atomically to disk and reads back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'st-'));
    const file = path.join(dir, 'w.safetensors');
    await writeSafetensors(file, new Map(Object.entries(all)), { a: 'b' });
    await writeSafetensors(file, new Map([['only', all.f64]])); // overwrite in place
    expect(readdirSync(dir)).toEqual(['w.safetensors']); // no temp file left behind
    const { tensors, metadata } = await readSafetensors(file);
    expect(metadata).toEqual({});
    expect([...tensors.keys()]).toEqual(['only']);
    expect(Array.from(tensors.get('only')!.data as Float64Array)).toEqual([Math.PI, -1e300]);
  });

  it('converts to float32 and rounds to half / bfloat16 to nearest even', () => {
    const t = decodeSafetensors(encodeSafetensors(all)).tensors;
    expect(Array.from(toFloat32(t.get('f16')!))).toEqual([1, -2, 65504]);
    expect(Array.from(toFloat32(t.get('bf16')!))).toEqual([1, -123.5]);
    expect(Array.from(toFloat32(t.get('i64')!))).toEqual([-(2 ** 62), 0, 2 ** 53]);
    expect(Array.from(toFloat32(t.get('bool')!))).toEqual([1, 0, 0, 1]);
    expect(floatToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(floatToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(floatToF16Bits(65520)).toBe(0x7c00); // overflow -> inf
    expect(floatToF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f16BitsToFloat(0x0001)).toBe(2 ** -24);
    expect(floatToBF16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(floatToBF16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(Array.from(toFloat32(fromFloat32([0.5, -3], [2], 'F16')))).toEqual([0.5, -3]);
  });

  it('refuses tensors whose data does not match dtype or shape', () => {
    expect(() => encodeSafetensors({ x: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(/shape \[3\] has 3 elements but data has 2/);
    expect(() => encodeSafetensors({ x: { dtype: 'F16', shape: [2], data: new Float32Array(2) } })).toThrow(/F16 needs a Uint16Array/);
  });
});

describe('safetensors malformed files', () => {
  const good = () => ({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });

  it('file shorter than 8 bytes', () => expectError(new Uint8Array(5), /5 bytes, shorter than the 8-byte header length/));
  it('header length larger than the file', () => {
    const b = handmade(good(), new Uint8Array(8));
    new DataView(b.buffer).setBigUint64(0, 10n ** 12n, true);
    expectError(b, /header length 1000000000000 is larger than the \d+ bytes/);
  });
  it('header not JSON', () => expectError(handmade(null, [], '{"a": [1, 2'), /not valid JSON/));
  it('header not an object', () => expectError(handmade(null, [], '[1, 2, 3]'), /must be a JSON object, got an array/));
  it('unknown dtype names it and the tensor', () => {
    expectError(handmade({ w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)), /'w'/, /unknown dtype 'F8_E4M3'/);
  });
  it('offsets outside the buffer', () => {
    expectError(handmade({ a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(8)), /'a'/, /\[4, 12\] are outside the 8-byte buffer/);
  });
  it('overlapping offsets', () => {
    const h = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
    expectError(handmade(h, new Uint8Array(12)), /'b' \[4, 12\] overlaps 'a'/);
  });
  it('offsets leaving a gap or trailing bytes', () => {
    const gap = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
    expectError(handmade(gap, new Uint8Array(12)), /bytes \[4, 8\) before tensor 'b' belong to no tensor/);
    expectError(handmade(good(), new Uint8Array(11)), /cover 8 of the 11 buffer bytes; 3 trailing/);
  });
  it('byte size that does not match shape × dtype states both numbers', () => {
    expectError(handmade({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /has 8 bytes/, /needs 12/);
  });
  it('bad metadata and bad shapes', () => {
    expectError(handmade({ ...good(), __metadata__: { n: 3 } }, new Uint8Array(8)), /__metadata__\['n'\] must be a string/);
    expectError(handmade({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, new Uint8Array(8)), /shape must be/);
  });
  it('a missing file names the file', async () => {
    await expect(readSafetensors('/nonexistent/x.safetensors')).rejects.toThrow(/\/nonexistent\/x.safetensors: cannot read/);
  });
});

describe('safetensors from independent writers', () => {
  it('reads a hand-laid file with a known byte layout (unaligned buffer start)', () => {
    // header (no padding) then: a = F32 [2] {1.0, -2.0} at [0,8), b = U8 [3] at [8,11), c = F16 [1] {0.5} at [11,13)
    const buf = [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 1, 2, 3, 0x00, 0x38];
    const h = '{"c":{"dtype":"F16","shape":[1],"data_offsets":[11,13]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]},"__metadata__":{"k":"v"}}';
    const { tensors, metadata } = decodeSafetensors(handmade(null, buf, h));
    expect(metadata).toEqual({ k: 'v' });
    expect(Array.from(tensors.get('a')!.data as Float32Array)).toEqual([1, -2]);
    expect(tensors.get('a')!.data.byteOffset % 4).toBe(0);
    expect(Array.from(tensors.get('b')!.data as Uint8Array)).toEqual([1, 2, 3]);
    expect(Array.from(toFloat32(tensors.get('c')!))).toEqual([0.5]);
  });

  it('reads the fixture written by scripts/fixtures/safetensors_reference.py (torch)', async () => {
    const { tensors: t, metadata } = await readSafetensors(FIXTURE);
    expect(metadata).toEqual({ format: 'pt', writer: 'safetensors_reference.py' });
    expect(t.size).toBe(14);
    const emb = t.get('model.embed.weight')!;
    expect(emb.shape).toEqual([2, 3, 4]);
    const f = toFloat32(emb);
    let maxdiff = 0;
    for (let i = 0; i < 24; i++) maxdiff = Math.max(maxdiff, Math.abs(f[i] - Math.fround(-3 + (6 * i) / 23)));
    expect(maxdiff).toBeLessThan(1e-6);
    // our float->half/bf16 rounding reproduces torch's bit patterns exactly
    const halfSrc = toFloat32(t.get('model.half_src')!);
    expect(vals(t.get('model.half')!)).toEqual(Array.from(halfSrc, floatToF16Bits));
    const bfSrc = toFloat32(t.get('model.bf16_src')!);
    expect(vals(t.get('model.bf16')!)).toEqual(Array.from(bfSrc, floatToBF16Bits));
    expect(Array.from(t.get('model.double')!.data as Float64Array)).toEqual([1 / 3, -2.5e-300, 6.02e23]);
    expect(t.get('model.ids')!.shape).toEqual([2, 2]);
    expect(Array.from(t.get('model.ids')!.data as BigInt64Array)).toEqual([-(2n ** 40n), 7n, 0n, 2n ** 53n]);
    expect(vals(t.get('model.i32')!)).toEqual([-2147483648, 2147483647, 5]);
    expect(vals(t.get('model.i16')!)).toEqual([-32768, 32767]);
    expect(vals(t.get('model.i8')!)).toEqual([-128, 127, 0]);
    expect(vals(t.get('model.u8')!)).toEqual([0, 255, 17]);
    expect(t.get('model.mask')!.dtype).toBe('BOOL');
    expect(vals(t.get('model.mask')!)).toEqual([1, 0, 1, 1]);
    expect(t.get('model.scalar')!.shape).toEqual([]);
    expect(vals(t.get('model.scalar')!)).toEqual([42.5]);
    expect(t.get('model.empty')!.shape).toEqual([0, 5]);
    // re-encoding what we read and decoding again is lossless
    const again = decodeSafetensors(encodeSafetensors(t, metadata));
    for (const [k, v] of t) expect(Array.from(again.tensors.get(k)!.data as ArrayLike<unknown>), k).toEqual(Array.from(v.data as ArrayLike<unknown>));
  });

  it('writes what a plain reader expects: u64 length, JSON header, offsets, little-endian bytes', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: Float32Array.from([0.25, 4]) } });
    const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
    expect(header).toEqual({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect(Buffer.from(bytes.subarray(8 + n)).readFloatLE(4)).toBe(4);
    expect(bytes.length).toBe(8 + n + 8);
  });
});
