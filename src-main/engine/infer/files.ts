// Image files in and out for inference front ends (CLI, demo): read a file fitted to the model's
// square size the way the training data was made (alpha on white, letterboxed on white, area
// average), saying when it had to fit; write a generated image as a PNG whose tEXt chunk records
// the prompt, seed, settings and model.
import { writeFile } from 'node:fs/promises';
import { fsReason } from '../io/fs-errors.ts';
import { decodeImage, encodePng, ImageError, imageInfo } from '../io/image.ts';

/** Pixels (3, S, S) of an image file, and a note when it was not already S×S. */
export async function readImageFile(file: string, size: number): Promise<{ pixels: Float32Array; note: string | null }> {
  const info = await imageInfo(file).catch((err: unknown) => {
    throw err instanceof ImageError ? err : new Error(`${file}: ${fsReason(err)}`); // the file could not be read at all
  });
  const img = await decodeImage(file, { size, fit: 'contain', background: [255, 255, 255] });
  const note = info.width === size && info.height === size ? null : `${file}: ${info.width}×${info.height} fitted to ${size}×${size} (letterboxed on white, area average), as the training images were made`;
  return { pixels: img.data, note };
}

/** Write pixels (3, S, S) as a PNG with metadata in tEXt chunks. */
export async function writeImageFile(file: string, pixels: Float32Array, size: number, text: Record<string, string>): Promise<void> {
  await writeFile(file, await encodePng({ data: pixels, channels: 3, height: size, width: size }, text));
}

/** FILE.png → FILE-1.png … FILE-n.png when n > 1. */
export function numberedPath(file: string, i: number, n: number): string {
  if (n === 1) return file;
  const dot = file.toLowerCase().endsWith('.png') ? file.length - 4 : file.length;
  return `${file.slice(0, dot)}-${i + 1}${file.slice(dot)}`;
}
