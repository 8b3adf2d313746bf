// Tile equally sized CHW images into one image: rows of `cols` images with a 2-pixel white gutter.
// Used for "originals above reconstructions" grids and galleries of samples.
import type { ImageTensor } from '../io/image.ts';

export function tileImages(rows: Float32Array[], n: number, size: number, gutter = 2): ImageTensor {
  const per = 3 * size * size;
  const width = n * size + (n + 1) * gutter;
  const height = rows.length * size + (rows.length + 1) * gutter;
  const data = new Float32Array(3 * width * height).fill(1);
  rows.forEach((imgs, r) => {
    for (let i = 0; i < n && (i + 1) * per <= imgs.length; i++) {
      const ox = gutter + i * (size + gutter), oy = gutter + r * (size + gutter);
      for (let ch = 0; ch < 3; ch++)
        for (let y = 0; y < size; y++)
          for (let x = 0; x < size; x++) data[(ch * height + oy + y) * width + ox + x] = imgs[i * per + (ch * size + y) * size + x];
    }
  });
  return { data, channels: 3, height, width };
}
