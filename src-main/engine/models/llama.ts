// LLaMA-style decoder (follows HF LlamaForCausalLM): token embedding, pre-RMSNorm blocks with RoPE
// causal attention (grouped KV heads) and SwiGLU MLP, final RMSNorm, tied or untied head.
// Config fields are HF config.json names; parameter names are the safetensors keys.
// Two graphs: `llamaForward` (training / prefill: ids (B, T)) and `llamaDecodeStep` (one token with a
// fixed-size KV cache fed as inputs; the new K/V come back as small outputs the caller writes in).
import { GraphError, type Graph, type Value } from '../graph/graph.ts';
import * as op from '../graph/ops/index.ts';
import { rmsNorm, silu } from '../nn/functional.ts';
import { embedding, linear } from '../nn/layers.ts';

export interface LlamaConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  intermediate_size: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  max_position_embeddings: number;
  head_dim?: number;
}

export const headDim = (c: LlamaConfig) => c.head_dim ?? c.hidden_size / c.num_attention_heads;

export function validateLlamaConfig(c: LlamaConfig, source = 'config.json'): void {
  const need = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'intermediate_size', 'max_position_embeddings'] as const;
  for (const k of need) if (!Number.isInteger(c[k]) || c[k] <= 0) throw new GraphError(`${source}: field '${k}' must be a positive integer, got ${JSON.stringify(c[k])}`);
  if (c.num_attention_heads % c.num_key_value_heads !== 0)
    throw new GraphError(`${source}: num_attention_heads (${c.num_attention_heads}) must be a multiple of num_key_value_heads (${c.num_key_value_heads})`);
  if (headDim(c) % 2 !== 0) throw new GraphError(`${source}: head_dim ${headDim(c)} must be even for RoPE`);
}

/** RoPE tables (maxPos, hd) in HF's layout: emb = cat(freqs, freqs). */
function ropeTables(g: Graph, c: LlamaConfig): { cos: Value; sin: Value } {
  const hd = headDim(c);
  const n = c.max_position_embeddings;
  const cos = new Float32Array(n * hd);
  const sin = new Float32Array(n * hd);
  for (let p = 0; p < n; p++)
    for (let i = 0; i < hd / 2; i++) {
      const a = p / c.rope_theta ** ((2 * i) / hd);
      cos[p * hd + i] = cos[p * hd + i + hd / 2] = Math.cos(a);
      sin[p * hd + i] = sin[p * hd + i + hd / 2] = Math.sin(a);
    }
  return { cos: g.constant({ dtype: 'float32', shape: [n, hd], data: cos }, 'rope_cos'), sin: g.constant({ dtype: 'float32', shape: [n, hd], data: sin }, 'rope_sin') };
}

/** x·cos + rotate_half(x)·sin.   x (B, H, T, hd), cos/sin (T, hd) */
function rope(x: Value, cos: Value, sin: Value, hd: number): Value {
  const [x1, x2] = op.split(x, [hd / 2, hd / 2], -1);
  const rot = op.concat([op.neg(x2), x1], -1);
  return op.add(op.mul(x, cos), op.mul(rot, sin));
}

/** (B, KVH, T, hd) → (B, H, T, hd), each KV head serving H/KVH query heads in turn. */
function repeatKv(x: Value, rep: number, heads: number, hd: number): Value {
  if (rep === 1) return x;
  const e = op.expand(op.unsqueeze(x, [2]), [1, 1, rep, 1, 1]); // (B, KVH, rep, T, hd)
  return op.reshape(e, [0, heads, -1, hd]);
}

interface AttnIO {
  /** Additive mask broadcastable to (B, H, Tq, Tk). */
  mask: Value;
  cos: Value;
  sin: Value;
  /** Cached keys/values (B, KVH, S, hd) to prepend (decode), or none (training/prefill). */
  past?: { k: Value; v: Value };
}

function attention(g: Graph, c: LlamaConfig, i: number, x: Value, io: AttnIO) {
  const hd = headDim(c);
  const [H, KVH] = [c.num_attention_heads, c.num_key_value_heads];
  const C = c.hidden_size;
  const p = `model.layers.${i}.self_attn`;
  const heads = (y: Value, n: number) => op.transpose(op.reshape(y, [0, 0, n, hd]), [0, 2, 1, 3]); // (B, n, T, hd)
  const q = rope(heads(linear(g, `${p}.q_proj`, x, C, H * hd), H), io.cos, io.sin, hd);
  const kNew = rope(heads(linear(g, `${p}.k_proj`, x, C, KVH * hd), KVH), io.cos, io.sin, hd);
  const vNew = heads(linear(g, `${p}.v_proj`, x, C, KVH * hd), KVH);
  const k = io.past ? op.concat([io.past.k, kNew], 2) : kNew;
  const v = io.past ? op.concat([io.past.v, vNew], 2) : vNew;
  const rep = H / KVH;
  const scores = op.add(op.div(op.matmul(q, op.transpose(repeatKv(k, rep, H, hd), [0, 1, 3, 2])), Math.sqrt(hd)), io.mask); // (B, H, Tq, Tk)
  const ctx = op.matmul(op.softmax(scores, -1), repeatKv(v, rep, H, hd)); // (B, H, Tq, hd)
  const merged = op.reshape(op.transpose(ctx, [0, 2, 1, 3]), [0, 0, H * hd]); // (B, Tq, C)
  return { out: linear(g, `${p}.o_proj`, merged, H * hd, C), kNew, vNew };
}

function block(g: Graph, c: LlamaConfig, i: number, h: Value, io: AttnIO) {
  const C = c.hidden_size;
  const p = `model.layers.${i}`;
  const a = attention(g, c, i, rmsNorm(h, g.param(`${p}.input_layernorm.weight`, [C]), c.rms_norm_eps), io);
  h = op.add(h, a.out);
  const x = rmsNorm(h, g.param(`${p}.post_attention_layernorm.weight`, [C]), c.rms_norm_eps);
  const I = c.intermediate_size;
  const mlp = linear(g, `${p}.mlp.down_proj`, op.mul(silu(linear(g, `${p}.mlp.gate_proj`, x, C, I)), linear(g, `${p}.mlp.up_proj`, x, C, I)), I, C);
  return { h: op.add(h, mlp), kNew: a.kNew, vNew: a.vNew };
}

function head(g: Graph, c: LlamaConfig, h: Value): Value {
  const C = c.hidden_size;
  const hn = rmsNorm(h, g.param('model.norm.weight', [C]), c.rms_norm_eps);
  const w = c.tie_word_embeddings ? 'model.embed_tokens' : 'lm_head';
  return linear(g, w, hn, C, c.vocab_size);
}

export interface LlamaOutputs {
  logits: Value; // (B, T, V)
  hidden: Value[]; // embedding output, then after each layer: (B, T, C)
}

/**
 * Full causal forward.   ids (B, T) int64, positions (T) int64 → logits (B, T, V).
 * `inputsEmbeds` (B, T, C) replaces the embedding lookup when given (images enter this way).
 */
export function llamaForward(g: Graph, c: LlamaConfig, ids: Value, positions: Value, inputsEmbeds?: Value): LlamaOutputs {
  validateLlamaConfig(c);
  const { cos: cosT, sin: sinT } = ropeTables(g, c);
  const cos = op.gather(cosT, positions, 0); // (T, hd)
  const sin = op.gather(sinT, positions, 0);
  // causal mask from positions: key j is hidden from query i when pos[j] > pos[i]
  const later = op.greater(op.unsqueeze(positions, [0]), op.unsqueeze(positions, [1])); // (T, T)
  const mask = op.where(later, -1e9, op.scalar(g, 0)); // (T, T)
  let h = inputsEmbeds ?? embedding(g, 'model.embed_tokens', ids, c.vocab_size, c.hidden_size); // (B, T, C)
  const hidden = [h];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    h = block(g, c, i, h, { mask, cos, sin }).h;
    hidden.push(h);
  }
  return { logits: head(g, c, h), hidden };
}

export interface DecodeIO {
  ids: Value; // (B, 1) int64
  position: Value; // (1) int64: the new token's position
  pastK: Value[]; // per layer (B, KVH, S, hd): slots ≥ position are ignored
  pastV: Value[];
  pastMask: Value; // (S) float: 0 for valid slots, −1e9 for empty ones
}

/** One decoding step against a fixed-size cache: logits (B, 1, V) plus each layer's new K and V (B, KVH, 1, hd). */
export function llamaDecodeStep(g: Graph, c: LlamaConfig, io: DecodeIO, inputsEmbeds?: Value) {
  const { cos: cosT, sin: sinT } = ropeTables(g, c);
  const cos = op.gather(cosT, io.position, 0); // (1, hd)
  const sin = op.gather(sinT, io.position, 0);
  const mask = op.concat([io.pastMask, g.constant({ dtype: 'float32', shape: [1], data: Float32Array.of(0) }, 'self_slot')], 0); // (S+1)
  let h = inputsEmbeds ?? embedding(g, 'model.embed_tokens', io.ids, c.vocab_size, c.hidden_size); // (B, 1, C)
  const newK: Value[] = [];
  const newV: Value[] = [];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const r = block(g, c, i, h, { mask, cos, sin, past: { k: io.pastK[i], v: io.pastV[i] } });
    h = r.h;
    newK.push(r.kNew);
    newV.push(r.vNew);
  }
  return { logits: head(g, c, h), newK, newV };
}
