// `tessera eval tokenizer`: reconstruction quality of an image tokenizer on an imagefolder split:
// PSNR, SSIM, codebook usage and perplexity over the set, bits and LM positions per image; --grid
// writes originals above their reconstructions.
import { writeFile } from 'node:fs/promises';
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadImageFolder } from '../../engine/data/imagefolder.ts';
import { encodePng } from '../../engine/io/image.ts';
import { tileImages } from '../../engine/models/image-grid.ts';
import { loadImageTokenizer } from '../../engine/models/image-tokenizer.ts';
import { evaluateReconstruction } from '../../engine/train/tokenizer.ts';
import { intFlag, parseFlags, UsageError, type Command } from '../command.ts';

/** A tokenizer folder, or a model folder holding one in image-tokenizer/. */
export async function tokenizerDir(dir: string): Promise<string> {
  for (const d of [dir, join(dir, 'image-tokenizer')]) {
    try {
      await access(join(d, 'encoder.onnx'));
      return d;
    } catch { /* try the next */ }
  }
  throw new UsageError(`${dir} holds no image tokenizer (expected encoder.onnx there or in image-tokenizer/)`);
}

export const evalTokenizer: Command = {
  name: 'eval tokenizer',
  summary: 'PSNR / SSIM / codebook usage of an image tokenizer on a dataset split',
  usage: 'eval tokenizer --model DIR --data DIR [--split test] [--style S] [--limit N] [--json] [--grid FILE.png] [--threads N]',
  async run(argv) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' }, data: { type: 'string' }, split: { type: 'string' }, style: { type: 'string' },
      limit: { type: 'string' }, json: { type: 'boolean' }, grid: { type: 'string' }, threads: { type: 'string' },
    });
    if (!values.model || !values.data) throw new UsageError('--model and --data are required');
    const threads = intFlag('threads', values.threads, 1, 2);
    const tok = await loadImageTokenizer(await tokenizerDir(resolve(values.model)), { threads });
    try {
      const set = await loadImageFolder(resolve(values.data), { split: values.split ?? 'test', style: values.style, size: tok.imageSize, limit: intFlag('limit', values.limit, 1) });
      const n = set.rows.length;
      const t0 = performance.now();
      const e = await evaluateReconstruction((px, m) => tok.encodeCodes(px, m), (c, m) => tok.decodeCodes(c, m), set.images, n, tok.imageSize, tok.codebookSize);
      const seconds = (performance.now() - t0) / 1000;
      const out = {
        psnr: e.psnr, ssim: e.ssim, usage: e.usage, perplexity: e.perplexity,
        bits_per_image: tok.positions * tok.depth * Math.log2(tok.codebookSize),
        positions_per_image: tok.positions, codes_per_position: tok.depth, images: n,
      };
      if (values.grid) {
        const k = Math.min(16, n);
        const per = 3 * tok.imageSize * tok.imageSize;
        const grid = tileImages([set.images.subarray(0, k * per), e.recon.subarray(0, k * per)], k, tok.imageSize);
        await writeFile(resolve(values.grid), await encodePng(grid, { Description: 'top: originals, bottom: reconstructions', Model: values.model }));
      }
      if (values.json) console.log(JSON.stringify(out));
      else {
        console.log(`${n} images (${values.split ?? 'test'}${values.style ? `, ${values.style}` : ''}) in ${seconds.toFixed(1)} s`);
        console.log(`  PSNR ${out.psnr.toFixed(2)} dB   SSIM ${out.ssim.toFixed(4)}   usage ${(out.usage * 100).toFixed(1)}%   perplexity ${out.perplexity.toFixed(1)} of ${tok.codebookSize}`);
        console.log(`  ${out.positions_per_image} LM positions × ${tok.depth} codes = ${out.bits_per_image.toFixed(0)} bits per image`);
        if (values.grid) console.log(`  grid: ${resolve(values.grid)}`);
      }
    } finally {
      await tok.release();
    }
  },
};
