// PNG text metadata: insert tEXt/iTXt chunks after IHDR (with CRC-32) and read tEXt/zTXt/iTXt back.
// Pure byte work on PNG chunk structure (length, type, data, CRC); no image decoding. sharp does not
// write text chunks, so image.ts uses this to stamp prompts, seeds and model names into outputs.
import { crc32 } from 'node:zlib';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function isLatin1Printable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || c === 0) return false;
  }
  return true;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** One chunk for a keyword/value: tEXt when the value is Latin-1, otherwise uncompressed iTXt (UTF-8). */
export function textChunk(keyword: string, value: string): Uint8Array {
  if (keyword.length < 1 || keyword.length > 79 || !/^[\x20-\x7e\xa1-\xff]+$/.test(keyword) || /^ | $| {2}/.test(keyword)) {
    throw new RangeError(`PNG text keyword must be 1-79 printable Latin-1 characters without leading, trailing or double spaces, got ${JSON.stringify(keyword)}`);
  }
  const key = Buffer.from(keyword, 'latin1');
  if (isLatin1Printable(value)) return chunk('tEXt', Buffer.concat([key, Buffer.from([0]), Buffer.from(value, 'latin1')]));
  if (value.includes('\0')) throw new RangeError(`PNG text value for '${keyword}' contains a NUL character`);
  // iTXt: keyword NUL, compression flag 0, method 0, language tag NUL, translated keyword NUL, UTF-8 text
  return chunk('iTXt', Buffer.concat([key, Buffer.from([0, 0, 0, 0, 0]), Buffer.from(value, 'utf8')]));
}

function checkSignature(png: Uint8Array): void {
  if (png.length < 8 || SIGNATURE.some((b, i) => png[i] !== b)) throw new Error('bad PNG signature: not a PNG file');
}

/** Return a copy of `png` with one text chunk per entry inserted right after IHDR. */
export function insertPngTextChunks(png: Uint8Array, text: Record<string, string>): Uint8Array {
  checkSignature(png);
  const ihdrLen = new DataView(png.buffer, png.byteOffset).getUint32(8);
  if (Buffer.from(png.subarray(12, 16)).toString('latin1') !== 'IHDR') throw new Error('PNG does not start with IHDR');
  const at = 8 + 12 + ihdrLen;
  const chunks = Object.entries(text).map(([k, v]) => textChunk(k, v));
  return Buffer.concat([png.subarray(0, at), ...chunks, png.subarray(at)]);
}

/** Parse the text chunks; `inflate` decompresses zTXt / compressed iTXt. Throws on structural damage. */
export function parsePngTextChunks(png: Uint8Array, inflate: (data: Uint8Array) => Uint8Array): Record<string, string> {
  checkSignature(png);
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Record<string, string> = {};
  let pos = 8;
  while (pos < png.length) {
    if (pos + 12 > png.length) throw new Error(`chunk header at byte ${pos} runs past the end of the file (${png.length} bytes)`);
    const len = dv.getUint32(pos);
    const type = Buffer.from(png.subarray(pos + 4, pos + 8)).toString('latin1');
    const end = pos + 12 + len;
    if (end > png.length) throw new Error(`chunk ${type} at byte ${pos} (${len} bytes) runs past the end of the file (${png.length} bytes)`);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'tEXt' || type === 'zTXt' || type === 'iTXt') {
      if (crc32(png.subarray(pos + 4, pos + 8 + len)) !== dv.getUint32(pos + 8 + len)) throw new Error(`chunk ${type} at byte ${pos} has a bad CRC (file damaged)`);
      const nul = data.indexOf(0);
      if (nul < 1) throw new Error(`chunk ${type} at byte ${pos} has no keyword`);
      const key = Buffer.from(data.subarray(0, nul)).toString('latin1');
      if (type === 'tEXt') out[key] = Buffer.from(data.subarray(nul + 1)).toString('latin1');
      else if (type === 'zTXt') out[key] = Buffer.from(inflate(data.subarray(nul + 2))).toString('latin1');
      else {
        const compressed = data[nul + 1] === 1;
        const lang = data.indexOf(0, nul + 3);
        const tkey = lang < 0 ? -1 : data.indexOf(0, lang + 1);
        if (tkey < 0) throw new Error(`chunk iTXt at byte ${pos} is malformed`);
        const body = data.subarray(tkey + 1);
        out[key] = Buffer.from(compressed ? inflate(body) : body).toString('utf8');
      }
    }
    pos = end;
    if (type === 'IEND') break;
  }
  return out;
}
