// An image tokenizer folder and the ImageCodec that runs it:
//   DIR/config.json        VqTokConfig
//   DIR/model.safetensors  encoder.*, decoder.*, quantizer.codebook (the EMA codebook)
//   DIR/encoder.onnx       pixels (B,3,S,S) float32 → codes (B, G·G) int64, weights baked in
//   DIR/decoder.onnx       codes (B, G·G) int64 → pixels (B,3,S,S) float32 in [0,1]
//   DIR/semantic/          optional: a semantic encoder (models/semantic.ts, recipe 'semantic'); then
//                          every image is one more LM position, first, holding its D semantic codes
//                          (DualToken's semantic vocabulary beside the pixel one), which decoding skips
// The ONNX files run in any ONNX Runtime; the codec loads them rather than rebuilding the graphs, so
// what ships is what runs. Token ids (LM vocabulary) ⇄ raster codes is foldCodes / unfoldTokens.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Graph, GraphError } from '../graph/graph.ts';
import { exportOnnx } from '../graph/onnx.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readSafetensors, writeSafetensors } from '../io/safetensors.ts';
import { Session, type SessionOptions } from '../runtime/session.ts';
import type { ImageCodec } from './image-codec.ts';
import { validateSemanticConfig, type SemanticConfig } from './semantic.ts';
import { bakedWeights, foldCodes, unfoldTokens, validateVqTokConfig, vqtokDecoderGraph, vqtokEncoderGraph, vqtokGeometry, type VqTokConfig } from './vqtok.ts';

export class ImageTokenizerError extends Error {
  override name = 'ImageTokenizerError';
}

/** Export encoder and decoder with the given weights (including quantizer.codebook) as ONNX bytes. */
export function exportImageTokenizer(c: VqTokConfig, weights: Map<string, Float32Array>): { encoder: Uint8Array; decoder: Uint8Array } {
  const ge = new Graph('vqtok_encoder');
  const enc = vqtokEncoderGraph(ge, c, bakedWeights(ge, weights));
  const gd = new Graph('vqtok_decoder');
  const dec = vqtokDecoderGraph(gd, c, bakedWeights(gd, weights));
  const meta = { model_type: c.model_type, config: JSON.stringify(c) };
  return { encoder: exportOnnx(ge, enc, meta).bytes, decoder: exportOnnx(gd, dec, meta).bytes };
}

/** Write a complete tokenizer folder (atomic per file). */
export async function saveImageTokenizer(dir: string, c: VqTokConfig, weights: Map<string, Float32Array>, shapes: Map<string, number[]>): Promise<void> {
  validateVqTokConfig(c);
  if (!weights.has('quantizer.codebook')) throw new GraphError('saveImageTokenizer: weights need quantizer.codebook');
  await mkdir(dir, { recursive: true });
  const { encoder, decoder } = exportImageTokenizer(c, weights);
  await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(c, null, 2) + '\n');
  await writeSafetensors(join(dir, 'model.safetensors'), new Map([...weights].map(([n, d]) => [n, { dtype: 'F32' as const, shape: shapes.get(n)!, data: d }])), { format: 'pt' });
  await writeFileAtomic(join(dir, 'encoder.onnx'), encoder);
  await writeFileAtomic(join(dir, 'decoder.onnx'), decoder);
}

/**
 * sha256 over a tokenizer folder's configs and weights (config.json and model.safetensors, its own
 * and semantic/'s, where present): two folders with the same digest write the same codes. The ONNX
 * files are built from these, so they are left out.
 */
export async function imageTokenizerDigest(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const rel of ['config.json', 'model.safetensors', 'semantic/config.json', 'semantic/model.safetensors']) {
    const file = join(dir, rel);
    if (existsSync(file)) h.update(`${rel}\n`).update(await readFile(file));
  }
  return h.digest('hex');
}

/** DIR/config.json parsed and checked by `validate`; unreadable or invalid JSON is an error naming the file. */
async function readFolderConfig<C>(dir: string, what: string, validate: (c: C, file: string) => void): Promise<C> {
  const file = join(dir, 'config.json');
  let c: C;
  try {
    c = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ImageTokenizerError(`${file}: cannot read the ${what} config (${(err as Error).message})`);
  }
  validate(c, file);
  return c;
}

export const readImageTokenizerConfig = (dir: string): Promise<VqTokConfig> => readFolderConfig(dir, 'image tokenizer', validateVqTokConfig);
/** A semantic encoder folder's config.json, validated (errors name the file and the field). */
export const readSemanticEncoderConfig = (dir: string): Promise<SemanticConfig> => readFolderConfig(dir, 'semantic encoder', validateSemanticConfig);

/** The weights of a tokenizer folder, by name. */
export async function readImageTokenizerWeights(dir: string): Promise<Map<string, Float32Array>> {
  const f = await readSafetensors(join(dir, 'model.safetensors'));
  return new Map([...f.tensors].map(([n, t]) => [n, t.data as Float32Array]));
}

/** The semantic part of a tokenizer folder (DIR/semantic), checked against the pixel part. */
async function readSemanticConfig(dir: string, pixel: VqTokConfig): Promise<SemanticConfig> {
  const file = join(dir, 'config.json');
  const c = await readSemanticEncoderConfig(dir);
  const { depth } = vqtokGeometry(pixel);
  const want = { image_size: pixel.image_size, depth, codebook_size: pixel.codebook_size, first_token_id: pixel.first_token_id };
  for (const [k, v] of Object.entries(want))
    if (c[k as keyof typeof want] !== v) throw new ImageTokenizerError(`${file}: field '${k}' is ${c[k as keyof typeof want]}, but the pixel tokenizer beside it needs ${v}`);
  return c;
}

export class ImageTokenizer implements ImageCodec {
  readonly imageSize: number;
  readonly positions: number;
  readonly gridSide: number;
  readonly leadingPositions: number;
  readonly depth: number;
  readonly codebookSize: number;
  readonly firstTokenId: number;
  private readonly grid: number;

  private constructor(readonly config: VqTokConfig, private enc: Session, private dec: Session, private semantic: Session | null = null) {
    const geo = vqtokGeometry(config);
    this.imageSize = config.image_size;
    this.leadingPositions = semantic ? 1 : 0;
    this.positions = geo.positions + this.leadingPositions;
    this.gridSide = geo.gridSide;
    this.depth = geo.depth;
    this.grid = geo.grid;
    this.codebookSize = config.codebook_size;
    this.firstTokenId = config.first_token_id;
  }

  static async load(dir: string, opts: SessionOptions = {}): Promise<ImageTokenizer> {
    const c = await readImageTokenizerConfig(dir);
    const read = async (name: string) => {
      try {
        return new Uint8Array(await readFile(join(dir, name)));
      } catch (err) {
        throw new ImageTokenizerError(`${join(dir, name)}: cannot read (${(err as Error).message})`);
      }
    };
    const [e, d] = await Promise.all([read('encoder.onnx'), read('decoder.onnx')]);
    let semantic: Session | null = null;
    if (existsSync(join(dir, 'semantic'))) {
      await readSemanticConfig(join(dir, 'semantic'), c);
      semantic = await Session.create(await read('semantic/encoder.onnx'), opts);
    }
    return new ImageTokenizer(c, await Session.create(e, opts), await Session.create(d, opts), semantic);
  }

  /** True when the folder has a semantic part (one leading position of semantic codes). */
  get dual(): boolean {
    return this.semantic !== null;
  }

  /** Raw codes (N, G·G) in raster order. */
  async encodeCodes(pixels: Float32Array, n: number): Promise<BigInt64Array> {
    const S = this.imageSize;
    if (pixels.length !== n * 3 * S * S) throw new ImageTokenizerError(`encode: ${pixels.length} values for ${n} images of 3×${S}×${S}`);
    const r = await this.enc.run({ pixels: { dtype: 'float32', shape: [n, 3, S, S], data: pixels } });
    return r.codes.data as BigInt64Array;
  }

  async encode(pixels: Float32Array, n: number): Promise<Int32Array> {
    const grid = foldCodes(this.config, await this.encodeCodes(pixels, n), n);
    if (!this.semantic) return grid;
    const S = this.imageSize, D = this.depth, G = this.positions - 1;
    const sem = (await this.semantic.run({ pixels: { dtype: 'float32', shape: [n, 3, S, S], data: pixels } })).codes.data as BigInt64Array;
    const out = new Int32Array(n * this.positions * D);
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < D; d++) out[i * this.positions * D + d] = this.firstTokenId + Number(sem[i * D + d]);
      out.set(grid.subarray(i * G * D, (i + 1) * G * D), (i * this.positions + 1) * D);
    }
    return out;
  }

  async decodeCodes(codes: BigInt64Array, n: number): Promise<Float32Array> {
    const r = await this.dec.run({ codes: { dtype: 'int64', shape: [n, this.grid * this.grid], data: codes } });
    return r.pixels.data as Float32Array;
  }

  async decode(tokens: Int32Array, n: number): Promise<Float32Array> {
    if (tokens.length !== n * this.positions * this.depth) throw new ImageTokenizerError(`decode: ${tokens.length} ids for ${n} images of ${this.positions}×${this.depth}`);
    if (!this.semantic) return this.decodeCodes(unfoldTokens(this.config, tokens, n), n);
    const per = this.positions * this.depth, D = this.depth;
    const grid = new Int32Array(n * (per - D));
    for (let i = 0; i < n; i++) grid.set(tokens.subarray(i * per + D, (i + 1) * per), i * (per - D)); // the semantic position draws nothing
    return this.decodeCodes(unfoldTokens(this.config, grid, n), n);
  }

  async release(): Promise<void> {
    await Promise.all([this.enc.release(), this.dec.release(), this.semantic?.release()]);
  }
}

/** Load an image tokenizer folder as an ImageCodec. */
export const loadImageTokenizer = (dir: string, opts: SessionOptions = {}): Promise<ImageTokenizer> => ImageTokenizer.load(dir, opts);
