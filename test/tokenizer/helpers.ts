// A small, real imagefolder for tokenizer tests: PNGs of coloured discs and squares on white
// (written through engine/io/image.ts), with a metadata.jsonl giving each a caption and a split.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePng } from '../../src-main/engine/io/image.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';

export async function writeShapesFolder(dir: string, count: number, size: number, seed = 1): Promise<void> {
  await mkdir(dir, { recursive: true });
  const rng = new Rng(seed);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const data = new Float32Array(3 * size * size).fill(1);
    const col = [rng.uniform(), rng.uniform(), rng.uniform()];
    const cx = size * (0.3 + 0.4 * rng.uniform()), cy = size * (0.3 + 0.4 * rng.uniform()), r = size * (0.15 + 0.2 * rng.uniform());
    const disc = rng.uniform() < 0.5;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const inside = disc ? (x - cx) ** 2 + (y - cy) ** 2 < r * r : Math.abs(x - cx) < r && Math.abs(y - cy) < r;
        if (inside) for (let c = 0; c < 3; c++) data[(c * size + y) * size + x] = col[c];
      }
    const file = `img-${String(i).padStart(4, '0')}.png`;
    await writeFile(join(dir, file), await encodePng({ data, channels: 3, height: size, width: size }));
    lines.push(JSON.stringify({ file_name: file, text: disc ? 'a disc' : 'a square', split: i % 8 === 7 ? 'validation' : i % 8 === 6 ? 'test' : 'train' }));
  }
  await writeFile(join(dir, 'metadata.jsonl'), lines.join('\n') + '\n');
}

/** The recipe config of a tiny tokenizer over `dataDir` (32×32, 4×4 positions × 4 codes). */
export function tinyTokenizerConfig(dataDir: string, steps: number) {
  return {
    model: { image_size: 32, channels: [8, 16], enc_blocks: [0, 1], dec_blocks: [0, 1], code_dim: 8, codebook_size: 48, first_token_id: 16, fold: 2, norm_groups: 4 },
    data: { dir: dataDir, eval_images: 8 },
    train: { steps, batch: 4, ae_warmup_steps: 3, checkpoint_every: 2, warmup_steps: 2, threads: 1 },
    codebook: { init_samples: 16, kmeans_iters: 3 },
  };
}

/** A tiny Stage I LM recipe for the pipeline tests (the pipeline fills in its data and tokenizers). */
export function tinyLmRecipe(train: Record<string, number>) {
  return {
    model: { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 64, max_position_embeddings: 160, depth_head_heads: 2, depth_head_intermediate_size: 32 },
    data: { dir: 'unused' }, image_tokenizer: 'unused', text_tokenizer: 'unused', stage: 'stage1',
    train: { batch: 2, warmup_steps: 1, checkpoint_every: 2, ...train },
  };
}
