// The UniCode-style image tokenizer: a small VQ autoencoder for square RGB images.
//
//   pixels (B,3,S,S) ─ encoder ─▶ z (B,code_dim,G,G) ─ cosine VQ against the codebook ─▶ codes (B,G,G)
//   codes ─ fold f×f blocks ─▶ (B, (G/f)², f²) = LM positions × D stacked codes ─ + first_token_id ─▶ LM ids
//   codes ─ codebook rows ─ decoder ─▶ pixels
//
// Encoder: a stride-2 3×3 conv, then per level residual blocks (GroupNorm, SiLU, 3×3 conv) and a
// stride-2 conv to the next level, then GroupNorm, SiLU and a 1×1 conv to the code dimension. The
// decoder mirrors it with nearest upsampling + 3×3 convs. Codes are l2-normalised and looked up by
// cosine (LlamaGen); the codebook is trained by EMA with dead-code restart (quant/codebook.ts), not by
// gradient, so it is a graph input here. UniCode's stacking: the G×G code map is folded into
// (G/f)×(G/f) positions of D = f² codes each, the LM reads one position as the sum of its D code
// embeddings, and code k is LM token id first_token_id + k (the vocabulary is shared, not extended).
import { GraphError, type Graph, type Tensor, type Value } from '../graph/graph.ts';
import * as op from '../graph/ops/index.ts';
import { groupNorm, silu } from '../nn/functional.ts';
import { ssim } from '../nn/ssim.ts';
import { l2Normalize, nearestCode } from '../quant/vq.ts';
import type { Rng } from '../util/rng.ts';

export interface VqTokConfig {
  model_type: 'tessera-vqtok';
  image_size: number;
  /** Channels per level; level 0 is at image_size/2, each next level halves the side. */
  channels: number[];
  enc_blocks: number[];
  dec_blocks: number[];
  /** Channels of the decoder's full-resolution conv (default channels[0]). */
  dec_out_channels?: number;
  code_dim: number;
  codebook_size: number;
  /** LM token id of code 0. */
  first_token_id: number;
  /** f: f×f neighbouring codes stack into one LM position (D = f²). */
  fold: number;
  norm_groups: number;
}

export const DEFAULT_VQTOK: VqTokConfig = {
  model_type: 'tessera-vqtok',
  image_size: 64,
  channels: [32, 64],
  enc_blocks: [1, 2],
  dec_blocks: [1, 2],
  code_dim: 16,
  codebook_size: 2032,
  first_token_id: 16,
  fold: 2,
  norm_groups: 8,
};

/** Code map side G, LM grid side ĥ = G/f, positions ĥ², depth D = f². */
export function vqtokGeometry(c: VqTokConfig) {
  const grid = c.image_size / 2 ** c.channels.length;
  const gridSide = grid / c.fold;
  return { grid, gridSide, positions: gridSide * gridSide, depth: c.fold * c.fold };
}

export function validateVqTokConfig(c: VqTokConfig, source = 'config.json'): void {
  const bad = (field: string, msg: string) => new GraphError(`${source}: field '${field}' ${msg}`);
  if (c.model_type !== 'tessera-vqtok') throw bad('model_type', `must be 'tessera-vqtok', got ${JSON.stringify(c.model_type)}`);
  for (const k of ['image_size', 'code_dim', 'codebook_size', 'fold', 'norm_groups'] as const)
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw bad(k, `must be a positive integer, got ${JSON.stringify(c[k])}`);
  if (!Number.isInteger(c.first_token_id) || c.first_token_id < 0) throw bad('first_token_id', `must be an integer ≥ 0, got ${JSON.stringify(c.first_token_id)}`);
  const levels = c.channels?.length ?? 0;
  if (levels === 0 || !c.channels.every((n) => Number.isInteger(n) && n > 0 && n % c.norm_groups === 0))
    throw bad('channels', `must be a non-empty list of positive multiples of norm_groups (${c.norm_groups}), got ${JSON.stringify(c.channels)}`);
  for (const k of ['enc_blocks', 'dec_blocks'] as const)
    if (c[k]?.length !== levels || !c[k].every((n) => Number.isInteger(n) && n >= 0)) throw bad(k, `must list ${levels} block counts ≥ 0 (one per level), got ${JSON.stringify(c[k])}`);
  const { grid } = vqtokGeometry(c);
  if (!Number.isInteger(grid) || grid * 2 ** levels !== c.image_size) throw bad('image_size', `${c.image_size} is not divisible by 2^${levels} (one halving per level)`);
  if (grid % c.fold !== 0) throw bad('fold', `${c.fold} does not divide the code map side ${grid}`);
  const outC = c.dec_out_channels ?? c.channels[0];
  if (outC % c.norm_groups !== 0) throw bad('dec_out_channels', `${outC} is not a multiple of norm_groups (${c.norm_groups})`);
}

/** How a builder gets a weight: a trainable parameter, or a baked constant for export. */
export type Weights = (name: string, shape: number[]) => Value;

export const paramWeights = (g: Graph): Weights => (name, shape) => g.param(name, shape);

export function bakedWeights(g: Graph, tensors: Map<string, Float32Array>): Weights {
  const made = new Map<string, Value>();
  return (name, shape) => {
    let v = made.get(name);
    if (!v) {
      const data = tensors.get(name);
      const n = shape.reduce((a, b) => a * b, 1);
      if (!data) throw new GraphError(`image tokenizer weights: '${name}' is missing`);
      if (data.length !== n) throw new GraphError(`image tokenizer weights: '${name}' has ${data.length} values, needs [${shape}]`);
      v = g.constant({ dtype: 'float32', shape, data }, name);
      made.set(name, v);
    }
    return v;
  };
}

function conv(W: Weights, name: string, x: Value, inC: number, outC: number, k: number, stride = 1): Value {
  return op.conv2d(x, W(`${name}.weight`, [outC, inC, k, k]), W(`${name}.bias`, [outC]), { stride, pad: Math.floor(k / 2) });
}

function norm(W: Weights, name: string, x: Value, ch: number, groups: number): Value {
  return groupNorm(x, groups, W(`${name}.weight`, [ch]), W(`${name}.bias`, [ch]));
}

/** x + conv(silu(gn(conv(silu(gn(x)))))) at constant width. */
function resBlock(W: Weights, name: string, x: Value, ch: number, groups: number): Value {
  let h = conv(W, `${name}.conv1`, silu(norm(W, `${name}.norm1`, x, ch, groups)), ch, ch, 3);
  h = conv(W, `${name}.conv2`, silu(norm(W, `${name}.norm2`, h, ch, groups)), ch, ch, 3);
  return op.add(x, h);
}

/** pixels (B,3,S,S) in [0,1] → z (B, code_dim, G, G), not normalised. */
export function vqtokEncode(W: Weights, c: VqTokConfig, pixels: Value): Value {
  const ch = c.channels;
  let h = conv(W, 'encoder.conv_in', op.sub(op.mul(pixels, 2), 1), 3, ch[0], 3, 2); // (B, c0, S/2, S/2)
  for (let l = 0; l < ch.length; l++) {
    if (l > 0) h = conv(W, `encoder.down.${l}`, h, ch[l - 1], ch[l], 3, 2);
    for (let b = 0; b < c.enc_blocks[l]; b++) h = resBlock(W, `encoder.level.${l}.block.${b}`, h, ch[l], c.norm_groups);
  }
  const last = ch[ch.length - 1];
  return conv(W, 'encoder.conv_out', silu(norm(W, 'encoder.norm_out', h, last, c.norm_groups)), last, c.code_dim, 1); // (B, code_dim, G, G)
}

/** Quantized code vectors (B, code_dim, G, G) → pixels (B,3,S,S), roughly in [0,1] (not clamped). */
export function vqtokDecode(W: Weights, c: VqTokConfig, q: Value): Value {
  const ch = c.channels;
  const L = ch.length - 1;
  let h = conv(W, 'decoder.conv_in', q, c.code_dim, ch[L], 3); // (B, cL, G, G)
  for (let l = L; l >= 0; l--) {
    for (let b = 0; b < c.dec_blocks[l]; b++) h = resBlock(W, `decoder.level.${l}.block.${b}`, h, ch[l], c.norm_groups);
    if (l > 0) h = conv(W, `decoder.up.${l}`, op.upsampleNearest(h, 2), ch[l], ch[l - 1], 3);
  }
  const outC = c.dec_out_channels ?? ch[0];
  h = conv(W, 'decoder.up.0', op.upsampleNearest(h, 2), ch[0], outC, 3); // (B, outC, S, S)
  const y = conv(W, 'decoder.conv_out', silu(norm(W, 'decoder.norm_out', h, outC, c.norm_groups)), outC, 3, 3);
  return op.add(op.mul(y, 0.5), 0.5); // (B, 3, S, S)
}

/** (B, D, G, G) → (B·G·G, D) rows in raster order. */
function rows(z: Value, d: number): Value {
  return op.reshape(op.transpose(z, [0, 2, 3, 1]), [-1, d]);
}

/** (B·G·G, D) rows → (B, D, G, G). */
function unrows(r: Value, d: number, grid: number): Value {
  return op.transpose(op.reshape(r, [-1, grid, grid, d]), [0, 3, 1, 2]);
}

export interface VqTokTrainGraph {
  loss: Value;
  metrics: { mse: Value; commit: Value; ssim: Value };
  /** l2-normalised encoder outputs (B·G·G, code_dim) and their codes (B·G·G) int64: the EMA update's input. */
  z: Value;
  indices: Value;
}

export interface VqTokLossWeights {
  /** β: weight of the commitment loss. */
  beta: number;
  /** Weight of (1 − SSIM) of the reconstruction (0 = off). */
  ssim: number;
}

/**
 * The training graph. Inputs: `pixels` (B,3,S,S), `codebook` (K, code_dim) (EMA-trained, fed each
 * step), `vq_mix` () — 0 runs the autoencoder without quantization (warm-up), 1 with it.
 * loss = mean((x̂ − x)²)·4 (i.e. MSE on [−1,1]) + vq_mix·β·mean((z − sg(q))²) + w_ssim·(1 − SSIM(x̂, x)).
 */
export function vqtokTrainGraph(g: Graph, c: VqTokConfig, w: VqTokLossWeights = { beta: 0.25, ssim: 0 }): VqTokTrainGraph {
  const { grid } = vqtokGeometry(c);
  const pixels = g.input('pixels', 'float32', ['B', 3, c.image_size, c.image_size]);
  const codebook = g.input('codebook', 'float32', [c.codebook_size, c.code_dim]);
  const mix = g.input('vq_mix', 'float32', []);
  const W = paramWeights(g);
  const z = l2Normalize(rows(vqtokEncode(W, c, pixels), c.code_dim)); // (N, d)
  const cb = l2Normalize(codebook);
  const indices = nearestCode(op.stopGradient(z), cb, 'cosine'); // (N)
  const q = op.gather(cb, indices, 0); // (N, d)
  const st = op.add(z, op.mul(op.stopGradient(op.sub(q, z)), mix)); // z + mix·sg(q − z)
  const recon = vqtokDecode(W, c, unrows(st, c.code_dim, grid));
  const diff = op.sub(recon, pixels);
  const mse = op.reduceMean(op.mul(diff, diff), []);
  const dz = op.sub(z, op.stopGradient(q));
  const commit = op.reduceMean(op.mul(dz, dz), []);
  const s = ssim(recon, pixels, 3);
  let loss = op.add(op.mul(mse, 4), op.mul(op.mul(commit, mix), w.beta));
  if (w.ssim > 0) loss = op.add(loss, op.mul(op.sub(1, s), w.ssim));
  return { loss, metrics: { mse, commit, ssim: s }, z: op.stopGradient(z), indices };
}

/** l2-normalised encoder outputs (B·G·G, code_dim) for codebook initialisation. */
export function vqtokLatentGraph(g: Graph, c: VqTokConfig, W: Weights): { z: Value } {
  const pixels = g.input('pixels', 'float32', ['B', 3, c.image_size, c.image_size]);
  return { z: l2Normalize(rows(vqtokEncode(W, c, pixels), c.code_dim)) };
}

/** Encoder graph for inference/export: pixels (B,3,S,S) → codes (B, G·G) int64 (raster order). */
export function vqtokEncoderGraph(g: Graph, c: VqTokConfig, W: Weights): { codes: Value } {
  const pixels = g.input('pixels', 'float32', ['B', 3, c.image_size, c.image_size]);
  const { grid } = vqtokGeometry(c);
  const z = l2Normalize(rows(vqtokEncode(W, c, pixels), c.code_dim));
  const cb = l2Normalize(W('quantizer.codebook', [c.codebook_size, c.code_dim]));
  return { codes: op.reshape(nearestCode(z, cb, 'cosine'), [-1, grid * grid]) };
}

/** Decoder graph for inference/export: codes (B, G·G) int64 → pixels (B,3,S,S) clamped to [0,1]. */
export function vqtokDecoderGraph(g: Graph, c: VqTokConfig, W: Weights): { pixels: Value } {
  const { grid } = vqtokGeometry(c);
  const codes = g.input('codes', 'int64', ['B', grid * grid]);
  const cb = l2Normalize(W('quantizer.codebook', [c.codebook_size, c.code_dim]));
  const q = op.gather(cb, op.reshape(codes, [-1]), 0); // (B·G·G, d)
  const y = vqtokDecode(W, c, unrows(q, c.code_dim, grid));
  return { pixels: op.min2(op.max2(y, 0), 1) };
}

/** He-normal convs (the second conv of each residual block scaled down), unit norms, zero biases. */
export function vqtokInit(name: string, shape: number[], rng: Rng): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith('.bias')) return new Float32Array(n);
  if (/norm[^.]*\.weight$/.test(name)) return new Float32Array(n).fill(1);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const scale = name.includes('.conv2.') ? 0.2 : 1;
  return rng.fillNormal(new Float32Array(n), scale * Math.sqrt(2 / fanIn));
}

/**
 * Raster codes (N, G·G) → LM token ids (N, positions, D): position (i, j) stacks the f×f codes
 * (f·i + a, f·j + b) in order d = f·a + b, each offset by first_token_id.
 */
export function foldCodes(c: VqTokConfig, codes: ArrayLike<number | bigint>, n: number): Int32Array {
  const { grid, gridSide, positions, depth } = vqtokGeometry(c);
  const f = c.fold;
  if (codes.length !== n * grid * grid) throw new GraphError(`foldCodes: ${codes.length} codes for ${n} images of ${grid}×${grid}`);
  const out = new Int32Array(n * positions * depth);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < grid; y++)
      for (let x = 0; x < grid; x++) {
        const p = Math.floor(y / f) * gridSide + Math.floor(x / f);
        const d = (y % f) * f + (x % f);
        out[(b * positions + p) * depth + d] = Number(codes[(b * grid + y) * grid + x]) + c.first_token_id;
      }
  return out;
}

/** The inverse of foldCodes; every id must be an image token of this codebook. */
export function unfoldTokens(c: VqTokConfig, tokens: ArrayLike<number>, n: number): BigInt64Array {
  const { grid, gridSide, positions, depth } = vqtokGeometry(c);
  const f = c.fold;
  if (tokens.length !== n * positions * depth) throw new GraphError(`image tokens: got ${tokens.length} ids for ${n} images of ${positions} positions × ${depth} codes`);
  const out = new BigInt64Array(n * grid * grid);
  for (let b = 0; b < n; b++)
    for (let p = 0; p < positions; p++)
      for (let d = 0; d < depth; d++) {
        const id = tokens[(b * positions + p) * depth + d];
        const k = id - c.first_token_id;
        if (!(Number.isInteger(k) && k >= 0 && k < c.codebook_size))
          throw new GraphError(`image tokens: id ${id} (image ${b}, position ${p}, code ${d}) is not an image code (ids ${c.first_token_id}..${c.first_token_id + c.codebook_size - 1})`);
        const y = Math.floor(p / gridSide) * f + Math.floor(d / f);
        const x = (p % gridSide) * f + (d % f);
        out[(b * grid + y) * grid + x] = BigInt(k);
      }
  return out;
}

export type { Tensor };
