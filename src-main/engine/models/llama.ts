// LLaMA-style decoder (follows HF LlamaForCausalLM): token embedding, pre-RMSNorm blocks with RoPE
// causal attention (grouped KV heads) and SwiGLU MLP, final RMSNorm, tied or untied head.
// Config fields are HF config.json names; parameter names are the safetensors keys.
// Two graphs: `llamaForward` (training / prefill: ids (B, T)) and `llamaDecodeStep` (one token against
// a KV cache fed as inputs, never copied; new K/V come back for the caller to write in).
import { GraphError, type Graph, type Tensor, type Value } from '../graph/graph.ts';
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
  /** Additive mask broadcastable to (B, H, T, T). */
  mask: Value;
  cos: Value;
  sin: Value;
}

/** Causal self-attention over the whole sequence.   x (B, T, C) → (B, T, C) */
function attention(g: Graph, c: LlamaConfig, i: number, x: Value, io: AttnIO): Value {
  const hd = headDim(c);
  const [H, KVH] = [c.num_attention_heads, c.num_key_value_heads];
  const C = c.hidden_size;
  const p = `model.layers.${i}.self_attn`;
  const heads = (y: Value, n: number) => op.transpose(op.reshape(y, [0, 0, n, hd]), [0, 2, 1, 3]); // (B, n, T, hd)
  const q = rope(heads(linear(g, `${p}.q_proj`, x, C, H * hd), H), io.cos, io.sin, hd); // (B, H, T, hd)
  const k = rope(heads(linear(g, `${p}.k_proj`, x, C, KVH * hd), KVH), io.cos, io.sin, hd); // (B, KVH, T, hd)
  const v = heads(linear(g, `${p}.v_proj`, x, C, KVH * hd), KVH); // (B, KVH, T, hd)
  const rep = H / KVH;
  const scores = op.add(op.div(op.matmul(q, op.transpose(repeatKv(k, rep, H, hd), [0, 1, 3, 2])), Math.sqrt(hd)), io.mask); // (B, H, T, T)
  const ctx = op.matmul(op.softmax(scores, -1), repeatKv(v, rep, H, hd)); // (B, H, T, hd)
  const merged = op.reshape(op.transpose(ctx, [0, 2, 1, 3]), [0, 0, H * hd]); // (B, T, C)
  return linear(g, `${p}.o_proj`, merged, H * hd, C);
}

/** Pre-norm block: h + attn(norm(h)), then h + mlp(norm(h)).   h (B, T, C) */
function block(g: Graph, c: LlamaConfig, i: number, h: Value, io: AttnIO): Value {
  const C = c.hidden_size;
  const p = `model.layers.${i}`;
  h = op.add(h, attention(g, c, i, rmsNorm(h, g.param(`${p}.input_layernorm.weight`, [C]), c.rms_norm_eps), io));
  const x = rmsNorm(h, g.param(`${p}.post_attention_layernorm.weight`, [C]), c.rms_norm_eps);
  const I = c.intermediate_size;
  const mlp = linear(g, `${p}.mlp.down_proj`, op.mul(silu(linear(g, `${p}.mlp.gate_proj`, x, C, I)), linear(g, `${p}.mlp.up_proj`, x, C, I)), I, C);
  return op.add(h, mlp);
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
    h = block(g, c, i, h, { mask, cos, sin });
    hidden.push(h);
  }
  return { logits: head(g, c, h), hidden };
}

export interface DecodeIO {
  ids: Value; // (B, 1) int64
  position: Value; // (1) int64: the new token's position
  pastK: Value[]; // per layer (B, KVH, S, hd); S may be symbolic (infer/kv-cache.ts feeds only the slots in use)
  pastV: Value[];
  pastMask: Value; // broadcastable to (B, 1, 1, S) float: 0 for valid slots, −1e9 for empty ones
}

export interface DecodeOptions {
  /** (B, 1, C) replaces the embedding lookup. */
  inputsEmbeds?: Value;
  /**
   * Bake the weights into the graph as constants (ONNX initializers) instead of graph inputs.
   * Decoding reads every weight once per token with M = 1; onnxruntime prepacks constant Gemm
   * weights once at load, which roughly doubles the speed of these products (see bench/engine.ts).
   */
  weights?: (name: string, shape: number[]) => Tensor;
}

/** The decode graph's weight lookup: checkpoint-named parameters, or constants from `source`. */
function weightsOf(g: Graph, source?: DecodeOptions['weights']): (name: string, shape: number[]) => Value {
  if (!source) return (name, shape) => g.param(name, shape);
  const baked = new Map<string, Value>();
  return (name, shape) => {
    let v = baked.get(name);
    if (!v) {
      const t = source(name, shape);
      if (t.dtype !== 'float32' || t.shape.join(',') !== shape.join(','))
        throw new GraphError(`weight '${name}' is ${t.dtype}[${t.shape}], the model needs float32[${shape}]`);
      baked.set(name, (v = g.constant(t, name)));
    }
    return v;
  };
}

type Weight = (name: string, shape: number[]) => Value;

const INT_MAX = 2 ** 31 - 1;

/**
 * RoPE at one position as a matrix, so that rope(x) = x·M for rows x (…, hd):
 * M = diag(cos) + R·diag(sin), R the rotate_half permutation (R[j+hd/2, j] = −1, R[j−hd/2, j] = 1).
 * Built once per step and shared by every layer.   cos/sin (1, hd) → M (hd, hd)
 */
function ropeMatrix(g: Graph, hd: number, cos: Value, sin: Value): Value {
  const eye = new Float32Array(hd * hd);
  const rot = new Float32Array(hd * hd);
  for (let j = 0; j < hd; j++) {
    eye[j * hd + j] = 1;
    if (j < hd / 2) rot[(j + hd / 2) * hd + j] = -1;
    else rot[(j - hd / 2) * hd + j] = 1;
  }
  const t = (data: Float32Array, name: string) => g.constant({ dtype: 'float32', shape: [hd, hd], data }, name);
  return op.add(op.mul(t(eye, 'rope_eye'), cos), op.mul(t(rot, 'rope_rot'), sin)); // (hd, hd)
}

/** y = x·Wᵀ, W in checkpoint layout (out, in).   x (B, in) → (B, out) */
const proj = (w: Weight, name: string, x: Value, inF: number, outF: number) => op.gemm(x, w(`${name}.weight`, [outF, inF]), null, { transB: true });

/** RMSNorm as Pow → ReduceMean → Add → Sqrt → Div → Mul, the pattern onnxruntime fuses into one kernel.   x (B, C) */
const rmsNormFused = (x: Value, w: Value, eps: number) => op.mul(op.div(x, op.sqrt(op.add(op.reduceMean(op.pow(x, 2), [-1], true), eps))), w);

/**
 * The q, k and v projections as one weight whose rows are grouped by KV head: for each of the KVH
 * groups its rep = H/KVH query heads (scaled by 1/√hd, the score scale), then its key, then its value
 * head. Built from the checkpoint weights by graph ops on constants, which onnxruntime folds at load
 * when the weights are baked.   → ((H + 2·KVH)·hd, C)
 */
function qkvWeight(w: Weight, c: LlamaConfig, i: number): Value {
  const hd = headDim(c);
  const [H, KVH, C] = [c.num_attention_heads, c.num_key_value_heads, c.hidden_size];
  const p = `model.layers.${i}.self_attn`;
  const q = op.mul(op.reshape(w(`${p}.q_proj.weight`, [H * hd, C]), [KVH, H / KVH, hd, C]), 1 / Math.sqrt(hd)); // (KVH, rep, hd, C)
  const k = op.reshape(w(`${p}.k_proj.weight`, [KVH * hd, C]), [KVH, 1, hd, C]);
  const v = op.reshape(w(`${p}.v_proj.weight`, [KVH * hd, C]), [KVH, 1, hd, C]);
  return op.reshape(op.concat([q, k, v], 1), [(H + 2 * KVH) * hd, C]);
}

/**
 * Attention of one new token against the cache plus itself, without concatenating the cache: the
 * scores over the S cached slots and the one over the new key share one softmax (only the S+1
 * scores are joined), and the context is p_past·V_past + p_self·v_new. Each KV head serves its
 * rep = H/KVH query heads as the rows of one product, so the cache is never repeated either.
 * x (B, C) → out (B, C), kNew/vNew (B, KVH, 1, hd)
 */
function cachedAttention(w: Weight, c: LlamaConfig, i: number, x: Value, rope: Value, past: { k: Value; v: Value; mask: Value }) {
  const hd = headDim(c);
  const [H, KVH] = [c.num_attention_heads, c.num_key_value_heads];
  const [C, rep] = [c.hidden_size, H / KVH];
  const p = `model.layers.${i}.self_attn`;
  // one product for q, k and v; query head h = kv·rep + r as in HF repeat_kv
  const qkv = op.reshape(op.gemm(x, qkvWeight(w, c, i), null, { transB: true }), [0, KVH, rep + 2, hd]); // (B, KVH, rep+2, hd)
  const [qk, vNew] = op.split(qkv, [rep + 1, 1], 2); // (B, KVH, rep+1, hd), (B, KVH, 1, hd)
  const [q, kNew] = op.split(op.matmul(qk, rope), [rep, 1], 2); // roped: (B, KVH, rep, hd) scaled by 1/√hd, (B, KVH, 1, hd)
  const sPast = op.add(op.matmul(q, op.transpose(past.k, [0, 1, 3, 2])), past.mask); // (B, KVH, rep, S)
  const sSelf = op.matmul(q, op.transpose(kNew, [0, 1, 3, 2])); // (B, KVH, rep, 1)
  const probs = op.softmax(op.concat([sPast, sSelf], -1), -1); // (B, KVH, rep, S+1)
  const [pPast, pSelf] = [op.slice(probs, [0], [-1], [-1]), op.slice(probs, [-1], [INT_MAX], [-1])]; // (B, KVH, rep, S), (B, KVH, rep, 1)
  const ctx = op.add(op.matmul(pPast, past.v), op.mul(pSelf, vNew)); // (B, KVH, rep, hd)
  return { out: proj(w, `${p}.o_proj`, op.reshape(ctx, [0, H * hd]), H * hd, C), kNew, vNew }; // (B, C)
}

/**
 * One decoding step against a cache of S slots: logits (B, 1, V) plus each layer's new K and V
 * (B, KVH, 1, hd) for the caller to write into slot `position`, also joined as `newKV`
 * (B, KVH, 2L, hd): entry 2i is layer i's key, 2i+1 its value (one output instead of 2L).
 * Same math as `llamaForward`, arranged for one token: hidden state (B, C), the residual add and
 * RMSNorm as one onnxruntime kernel, q/k/v as one product and gate/up as another (a one-row
 * product streams its weight faster the larger it is), RoPE as one small matrix.
 */
export function llamaDecodeStep(g: Graph, c: LlamaConfig, io: DecodeIO, opts: DecodeOptions = {}) {
  validateLlamaConfig(c);
  const [C, I, V, hd, eps, L] = [c.hidden_size, c.intermediate_size, c.vocab_size, headDim(c), c.rms_norm_eps, c.num_hidden_layers];
  const w = weightsOf(g, opts.weights);
  const { cos: cosT, sin: sinT } = ropeTables(g, c);
  const rope = ropeMatrix(g, hd, op.gather(cosT, io.position, 0), op.gather(sinT, io.position, 0)); // (hd, hd)
  let h = op.reshape(opts.inputsEmbeds ?? op.gather(w('model.embed_tokens.weight', [V, C]), io.ids, 0), [-1, C]); // (B, C)
  let x = rmsNormFused(h, w('model.layers.0.input_layernorm.weight', [C]), eps); // (B, C)
  const newK: Value[] = [];
  const newV: Value[] = [];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`;
    const a = cachedAttention(w, c, i, x, rope, { k: io.pastK[i], v: io.pastV[i], mask: io.pastMask });
    const post = op.skipRmsNorm(a.out, h, w(`${p}.post_attention_layernorm.weight`, [C]), eps); // h + attn, and its norm: (B, C)
    const gateUp = op.concat([w(`${p}.mlp.gate_proj.weight`, [I, C]), w(`${p}.mlp.up_proj.weight`, [I, C])], 0); // (2I, C), folded at load when baked
    const [gate, up] = op.split(op.gemm(post.normed, gateUp, null, { transB: true }), [I, I], -1); // (B, I) each
    const mlp = proj(w, `${p}.mlp.down_proj`, op.mul(silu(gate), up), I, C); // (B, C)
    const next = op.skipRmsNorm(mlp, post.sum, w(i + 1 < L ? `model.layers.${i + 1}.input_layernorm.weight` : 'model.norm.weight', [C]), eps); // the next layer's input norm, or the final norm
    [h, x] = [next.sum, next.normed];
    newK.push(a.kNew);
    newV.push(a.vNew);
  }
  const logits = proj(w, c.tie_word_embeddings ? 'model.embed_tokens' : 'lm_head', x, C, V); // (B, V)
  const newKV = op.concat(newK.flatMap((k, i) => [k, newV[i]]), 2); // (B, KVH, 2L, hd)
  return { logits: op.unsqueeze(logits, [1]), hidden: h, newK, newV, newKV }; // (B, 1, V); hidden: last layer's output before the final norm (B, C)
}
