// Shared fixtures for the unified-model tests, all real and tiny: a BPE text tokenizer trained on
// the emoji labels, a small emoji imagefolder built from the npm packages, its images encoded by
// the deterministic PaletteCodec (16×16 pixels, 4×4 positions, depth 2), and a tiny model config.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEmojiDataset } from '../../src-main/engine/data/emoji.ts';
import { loadImageFolder, type MetadataRow } from '../../src-main/engine/data/imagefolder.ts';
import type { UnifiedConfig } from '../../src-main/engine/models/unicode.ts';
import { semanticInit } from '../../src-main/engine/models/semantic.ts';
import type { Rng } from '../../src-main/engine/util/rng.ts';
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

/** The encoder weights' shapes of a semantic encoder with width 8 and embed_dim 16 (models/semantic.ts). */
export const TINY_SEMANTIC_SHAPES: Record<string, number[]> = {
  'encoder.conv_in.weight': [8, 3, 3, 3], 'encoder.conv_in.bias': [8],
  'encoder.down.0.weight': [16, 8, 3, 3], 'encoder.down.0.bias': [16], 'encoder.down.0.norm.weight': [16], 'encoder.down.0.norm.bias': [16],
  'encoder.mid.0.weight': [16, 16, 3, 3], 'encoder.mid.0.bias': [16], 'encoder.mid.0.norm.weight': [16], 'encoder.mid.0.norm.bias': [16],
  'encoder.down.1.weight': [32, 16, 3, 3], 'encoder.down.1.bias': [32], 'encoder.down.1.norm.weight': [32], 'encoder.down.1.norm.bias': [32],
  'encoder.mid.1.weight': [32, 32, 3, 3], 'encoder.mid.1.bias': [32], 'encoder.mid.1.norm.weight': [32], 'encoder.mid.1.norm.bias': [32],
  'encoder.down.2.weight': [64, 32, 3, 3], 'encoder.down.2.bias': [64], 'encoder.down.2.norm.weight': [64], 'encoder.down.2.norm.bias': [64],
  'encoder.proj.weight': [16, 64], 'encoder.proj.bias': [16],
};

/** Random encoder weights of that encoder (semanticInit). */
export const tinySemanticWeights = (rng: Rng): Map<string, Float32Array> => new Map(Object.entries(TINY_SEMANTIC_SHAPES).map(([n, s]) => [n, semanticInit(n, s, rng)]));
