// Shared fixtures for the unified-model tests, all real and tiny: a BPE text tokenizer trained on
// the emoji labels, a small emoji imagefolder built from the npm packages, its images encoded by
// the deterministic PaletteCodec (16×16 pixels, 4×4 positions, depth 2), and a tiny model config.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEmojiDataset } from '../../src-main/engine/data/emoji.ts';
import { loadImageFolder, type MetadataRow } from '../../src-main/engine/data/imagefolder.ts';
import type { UnifiedConfig } from '../../src-main/engine/models/unicode.ts';
import { trainBpe } from '../../src-main/engine/text/bpe.ts';
import { writeTokenizerFiles } from '../../src-main/engine/text/files.ts';
import { TextTokenizer } from '../../src-main/engine/text/tokenizer.ts';
import { buildCorpus } from '../text/helpers.ts';
import { PaletteCodec } from './palette-codec.ts';

export const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `tessera-unified-${prefix}-`));

export async function tinyTokenizer(vocabSize = 400): Promise<{ dir: string; tok: TextTokenizer }> {
  const dir = tmp('tok');
  writeTokenizerFiles(dir, trainBpe(buildCorpus(), { vocabSize }));
  return { dir, tok: await TextTokenizer.load(dir) };
}

/** 16×16 images, 4×4 = 16 positions, depth 2, 2 levels per channel: 16 codes at ids 16..31. */
export const tinyCodec = () => new PaletteCodec(16, 4, 2, 2, 16);

/** The first `limit` emoji in all four styles, built from the npm packages. */
export async function tinyEmoji(limit = 12): Promise<string> {
  const dir = tmp('emoji');
  await buildEmojiDataset({ out: dir, limit });
  return dir;
}

export async function encodedSplit(dir: string, split: string, codec = tinyCodec()): Promise<{ rows: MetadataRow[]; codes: Int32Array; images: Float32Array }> {
  const f = await loadImageFolder(dir, { split, size: codec.imageSize });
  return { rows: f.rows, codes: await codec.encode(f.images, f.rows.length), images: f.images };
}

export const tinyModel = (vocab: number, over: Partial<UnifiedConfig> = {}): UnifiedConfig => ({
  model_type: 'tessera_unicode', vocab_size: vocab, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  intermediate_size: 64, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true, max_position_embeddings: 128,
  image_positions: 16, image_depth: 2, image_first_token_id: 16, image_codebook_size: 16, image_token_offset: 16,
  image_head: 'depth', codebook_mode: 'unified', depth_head_layers: 1, depth_head_heads: 2, depth_head_intermediate_size: 48, ...over,
});
