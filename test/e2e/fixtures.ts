// Real image data for the E2E flows: a small HF imagefolder of PNGs written with the engine's own
// encoder (distinct colours and shapes, so no two are duplicates), with captions in metadata.jsonl.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '../../src-main/engine/io/image.ts';

const COLOURS: [string, [number, number, number]][] = [
  ['red', [0.9, 0.1, 0.1]], ['green', [0.1, 0.75, 0.2]], ['blue', [0.15, 0.3, 0.95]],
  ['yellow', [0.95, 0.85, 0.1]], ['purple', [0.6, 0.2, 0.8]], ['orange', [0.95, 0.5, 0.1]],
];

/** A (3, S, S) float image: a coloured disc (or square) of index-dependent size on white. */
function shape(i: number, rgb: [number, number, number], size = 48): Float32Array {
  const px = new Float32Array(3 * size * size);
  const r = 8 + i * 2.5;
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = i % 2 === 0 ? (x - c) ** 2 + (y - c) ** 2 < r * r : Math.abs(x - c) < r && Math.abs(y - c) < r;
      for (let ch = 0; ch < 3; ch++) px[ch * size * size + y * size + x] = inside ? rgb[ch] : 1;
    }
  }
  return px;
}

export async function writeImageFolder(dir: string): Promise<{ files: string[]; captions: string[] }> {
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  const files: string[] = [];
  const captions: string[] = [];
  for (const [i, [name, rgb]] of COLOURS.entries()) {
    const file = `${String(i).padStart(2, '0')}-${name}.png`;
    const caption = `a ${name} ${i % 2 === 0 ? 'circle' : 'square'}`;
    const png = await encodePng({ data: shape(i, rgb), channels: 3, height: 48, width: 48 });
    writeFileSync(join(dir, file), png);
    lines.push(JSON.stringify({ file_name: file, text: caption }));
    files.push(file);
    captions.push(caption);
  }
  writeFileSync(join(dir, 'metadata.jsonl'), `${lines.join('\n')}\n`);
  return { files, captions };
}
