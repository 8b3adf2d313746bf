// The unified visual-token LM (UniCode, arXiv 2403.09072) on top of llama.ts: one vocabulary for text
// and image codes. An image is `image_positions` LM positions between <img> and </img>; each
// position's input embedding is the SUM of its D stacked code embeddings, read from the same
// embedding table as text (Gather, then ReduceSum over D). Images are written either by a small
// depth head (RQ-Transformer/DualToken style: from the hidden state before a position, a 1-layer
// causal transformer over D steps predicts that position's codes) or unfolded (the LM predicts the
// ĥ·ŵ·D codes as separate positions: UniCode's decompression task). Config fields: HF LlamaConfig
// names plus the `image_*`, `image_head`, `codebook_mode` and `depth_head_*` fields below.
import { Graph, GraphError, type Tensor, type Value } from '../graph/graph.ts';
import * as op from '../graph/ops/index.ts';
import { rmsNorm, silu } from '../nn/functional.ts';
import { llamaDecodeStep, llamaForward, validateLlamaConfig, type DecodeIO, type LlamaConfig } from './llama.ts';

export type ImageHead = 'depth' | 'unfolded';
/** unified: codes are shared vocab ids; separate: codes appended after the text vocab; frozen: the LM table is not trained; two-way: the tokenizer codebook is also pushed into the LM. */
export type CodebookMode = 'unified' | 'separate' | 'frozen' | 'two-way';

export interface UnifiedConfig extends LlamaConfig {
  model_type: 'tessera_unicode';
  /** LM positions per image (ĥ·ŵ) and stacked codes per position (D). */
  image_positions: number;
  image_depth: number;
  /** The image tokenizer's id of code 0 (its firstTokenId) and its codebook size K. */
  image_first_token_id: number;
  image_codebook_size: number;
  /** LM id of code 0: equals image_first_token_id when unified, the text vocab size when separate. */
  image_token_offset: number;
  image_head: ImageHead;
  codebook_mode: CodebookMode;
  depth_head_layers: number;
  depth_head_heads: number;
  depth_head_intermediate_size: number;
  /**
   * The semantic read (0 or absent: off): the first aggregated position after each <img> (a dual
   * tokenizer's semantic position) also reads its codes' vectors in the semantic encoder's own
   * space, Σ_d C_d[k_d] (the residual-quantised feature, semantic_read_dim wide), through a linear
   * map into the LM. Its ids' embeddings are shared with the pixel codes and text (UniCode), so
   * they carry no notion of which emoji look alike; the quantised feature does. The codebooks
   * (model.semantic_codebooks, D × K × semantic_read_dim) are frozen copies of the semantic
   * encoder's; the map (model.semantic_proj.weight) starts at zero, so turning the read on leaves
   * a trained model's function unchanged until it trains.
   */
  semantic_read_dim?: number;
}

const HEADS: ImageHead[] = ['depth', 'unfolded'];
const MODES: CodebookMode[] = ['unified', 'separate', 'frozen', 'two-way'];

export function validateUnifiedConfig(c: UnifiedConfig, source = 'config.json'): void {
  validateLlamaConfig(c, source);
  const ints = ['image_positions', 'image_depth', 'image_codebook_size', 'depth_head_layers', 'depth_head_heads', 'depth_head_intermediate_size'] as const;
  for (const k of ints) if (!Number.isInteger(c[k]) || c[k] <= 0) throw new GraphError(`${source}: field '${k}' must be a positive integer, got ${JSON.stringify(c[k])}`);
  for (const k of ['image_first_token_id', 'image_token_offset'] as const)
    if (!Number.isInteger(c[k]) || c[k] < 0) throw new GraphError(`${source}: field '${k}' must be an integer ≥ 0, got ${JSON.stringify(c[k])}`);
  if (!HEADS.includes(c.image_head)) throw new GraphError(`${source}: field 'image_head' must be one of ${HEADS.join('|')}, got ${JSON.stringify(c.image_head)}`);
  if (!MODES.includes(c.codebook_mode)) throw new GraphError(`${source}: field 'codebook_mode' must be one of ${MODES.join('|')}, got ${JSON.stringify(c.codebook_mode)}`);
  const [lo, hi] = imageIdRange(c);
  if (hi > c.vocab_size) throw new GraphError(`${source}: image ids [${lo}, ${hi}) exceed vocab_size ${c.vocab_size} (image_token_offset + image_codebook_size)`);
  if (c.codebook_mode === 'separate' && lo < c.image_first_token_id) throw new GraphError(`${source}: codebook_mode 'separate' needs image_token_offset ≥ the text vocab, got ${lo}`);
  if (c.codebook_mode !== 'separate' && lo !== c.image_first_token_id)
    throw new GraphError(`${source}: codebook_mode '${c.codebook_mode}' shares the vocabulary, so image_token_offset (${lo}) must equal image_first_token_id (${c.image_first_token_id})`);
  if (c.hidden_size % c.depth_head_heads !== 0) throw new GraphError(`${source}: hidden_size ${c.hidden_size} must be divisible by depth_head_heads ${c.depth_head_heads}`);
  if (c.semantic_read_dim !== undefined && !(Number.isInteger(c.semantic_read_dim) && c.semantic_read_dim >= 0))
    throw new GraphError(`${source}: field 'semantic_read_dim' must be an integer ≥ 0, got ${JSON.stringify(c.semantic_read_dim)}`);
  if ((c.semantic_read_dim ?? 0) > 0 && (c.image_head !== 'depth' || c.codebook_mode === 'separate'))
    throw new GraphError(`${source}: field 'semantic_read_dim' needs image_head 'depth' and a shared vocabulary (codebook_mode not 'separate')`);
}

/** Parse config.json text/object into a validated UnifiedConfig; errors name the file and field. */
export function parseUnifiedConfig(json: unknown, source = 'config.json'): UnifiedConfig {
  if (!json || typeof json !== 'object') throw new GraphError(`${source}: must be a JSON object`);
  const c = json as UnifiedConfig;
  if (c.model_type !== 'tessera_unicode') throw new GraphError(`${source}: model_type '${String(c.model_type)}' not supported (expected 'tessera_unicode')`);
  validateUnifiedConfig(c, source);
  return c;
}

/** The LM ids of image codes: [lo, hi). */
export const imageIdRange = (c: UnifiedConfig): [number, number] => [c.image_token_offset, c.image_token_offset + c.image_codebook_size];
/** Codec token ids (firstTokenId + k) → LM ids (offset + k), in place. */
export function codecToLm(c: UnifiedConfig, ids: Int32Array): Int32Array {
  const shift = c.image_token_offset - c.image_first_token_id;
  if (shift !== 0) for (let i = 0; i < ids.length; i++) ids[i] += shift;
  return ids;
}
export function lmToCodec(c: UnifiedConfig, ids: Int32Array): Int32Array {
  const shift = c.image_first_token_id - c.image_token_offset;
  const out = Int32Array.from(ids);
  if (shift !== 0) for (let i = 0; i < out.length; i++) out[i] += shift;
  return out;
}

/** A parameter lookup: checkpoint name and shape → graph value (a param, an input, or a constant). */
export type Weight = (name: string, shape: number[]) => Value;
export const paramsOf = (g: Graph): Weight => (name, shape) => g.param(name, shape);

/**
 * Aggregated input embeddings: Σ_d w[…, d] · E[ids[…, d]]. A text token uses slot 0 with weight 1
 * (other slots weight 0); an image position uses all D slots with weight 1.
 * E (V, C), ids (B, T, D) int64, w (B, T, D) float → (B, T, C)
 */
export function aggregateEmbed(E: Value, ids: Value, w: Value): Value {
  const e = op.gather(E, ids, 0); // (B, T, D, C)
  return op.reduceSum(op.mul(e, op.unsqueeze(w, [-1])), [2], false); // (B, T, C)
}

/**
 * The semantic read's addition to the input embeddings: mask · (Σ_d C_d[ids_d − offset]) · Pᵀ,
 * with C (D, K, Es) and P (C, Es); the mask marks the semantic positions.   → (B, T, C)
 */
export function semanticRead(g: Graph, c: UnifiedConfig, w: Weight, ids: Value, mask: Value): Value {
  const [D, K, Es] = [c.image_depth, c.image_codebook_size, c.semantic_read_dim!];
  const books = op.reshape(w('model.semantic_codebooks', [D, K, Es]), [D * K, Es]);
  const level = g.constant({ dtype: 'int64', shape: [D], data: BigInt64Array.from({ length: D }, (_, d) => BigInt(d * K)) }, 'semantic_level_offset');
  // ids outside the image range (text and padding, masked out anyway) are clamped into it
  const k = op.min2(op.max2(op.sub(ids, c.image_token_offset), 0), K - 1); // (B, T, D)
  const q = op.reduceSum(op.gather(books, op.add(k, level), 0), [2], false); // (B, T, Es)
  const proj = op.matmul(q, op.transpose(w('model.semantic_proj.weight', [c.hidden_size, Es]), [1, 0])); // (B, T, C)
  return op.mul(proj, op.unsqueeze(mask, [-1]));
}

/** Strictly lower-triangular (D, D): row d sums the codes before d. */
function prefixMatrix(g: Graph, D: number): Value {
  const m = new Float32Array(D * D);
  for (let d = 0; d < D; d++) for (let e = 0; e < d; e++) m[d * D + e] = 1;
  return g.constant({ dtype: 'float32', shape: [D, D], data: m }, 'depth_prefix');
}

/**
 * The depth head: for N image positions, from the LM's last hidden state before each position
 * (ctx) and the codes of that position (teacher-forced; step d sees codes < d only), logits over
 * the K image codes for each of the D steps. Inputs per step: u_1 = W_in·norm(ctx) + p_1,
 * u_d = Σ_{d'<d} E[c_d'] + p_d (the partial residual sum, as in RQ-Transformer), then
 * `depth_head_layers` causal pre-norm blocks over D, a final norm, and the tied image rows of E.
 * ctx (N, C), codes (N, D) int64 LM ids → logits (N, D, K), or (N, K) for one step `atStep`
 */
export function depthHead(w: Weight, c: UnifiedConfig, ctx: Value, codes: Value, atStep?: Value): Value {
  const g = ctx.graph;
  const [C, D, K] = [c.hidden_size, c.image_depth, c.image_codebook_size];
  const [H, I, eps] = [c.depth_head_heads, c.depth_head_intermediate_size, c.rms_norm_eps];
  const hd = C / H;
  const E = w('model.embed_tokens.weight', [c.vocab_size, C]);
  const lin = (name: string, x: Value, inF: number, outF: number) => {
    const y = op.gemm(op.reshape(x, [-1, inF]), w(`${name}.weight`, [outF, inF]), null, { transB: true }); // (N·D, out)
    return op.reshape(y, [-1, D, outF]); // (N, D, out)
  };
  const first = op.gemm(rmsNorm(ctx, w('depth_head.norm_in.weight', [C]), eps), w('depth_head.in_proj.weight', [C, C]), null, { transB: true }); // (N, C)
  const prefix = op.matmul(prefixMatrix(g, D), op.gather(E, codes, 0)); // (N, D, C): row 0 is zero
  const isFirst = new Float32Array(D).fill(0);
  isFirst[0] = 1;
  const sel = g.constant({ dtype: 'float32', shape: [D, 1], data: isFirst }, 'depth_first');
  let h = op.add(op.add(prefix, op.mul(op.unsqueeze(first, [1]), sel)), w('depth_head.pos_embed', [D, C])); // (N, D, C)
  const causal = new Float32Array(D * D);
  for (let i = 0; i < D; i++) for (let j = i + 1; j < D; j++) causal[i * D + j] = -1e9;
  const mask = g.constant({ dtype: 'float32', shape: [D, D], data: causal }, 'depth_mask');
  const heads = (y: Value) => op.transpose(op.reshape(y, [0, D, H, hd]), [0, 2, 1, 3]); // (N, H, D, hd)
  for (let l = 0; l < c.depth_head_layers; l++) {
    const p = `depth_head.layers.${l}`;
    const x = rmsNorm(h, w(`${p}.input_layernorm.weight`, [C]), eps);
    const [q, k, v] = ['q', 'k', 'v'].map((n) => heads(lin(`${p}.self_attn.${n}_proj`, x, C, C)));
    const s = op.add(op.div(op.matmul(q, op.transpose(k, [0, 1, 3, 2])), Math.sqrt(hd)), mask); // (N, H, D, D)
    const ctxv = op.reshape(op.transpose(op.matmul(op.softmax(s, -1), v), [0, 2, 1, 3]), [0, D, C]); // (N, D, C)
    h = op.add(h, lin(`${p}.self_attn.o_proj`, ctxv, C, C));
    const x2 = rmsNorm(h, w(`${p}.post_attention_layernorm.weight`, [C]), eps);
    h = op.add(h, lin(`${p}.mlp.down_proj`, op.mul(silu(lin(`${p}.mlp.gate_proj`, x2, C, I)), lin(`${p}.mlp.up_proj`, x2, C, I)), I, C)); // (N, D, C)
  }
  const [lo, hi] = imageIdRange(c);
  const Eimg = op.slice(E, [lo], [hi], [0]); // (K, C): the image codes' rows of the shared table
  if (atStep) {
    // decoding: only step d's logits are needed (atStep (1) int64) → (N, K)
    const hd1 = op.reshape(op.gather(h, atStep, 1), [-1, C]); // (N, C)
    return op.gemm(rmsNorm(hd1, w('depth_head.norm.weight', [C]), eps), Eimg, null, { transB: true }); // (N, K)
  }
  const hn = rmsNorm(h, w('depth_head.norm.weight', [C]), eps);
  const logits = op.gemm(op.reshape(hn, [-1, C]), Eimg, null, { transB: true }); // (N·D, K)
  return op.reshape(logits, [-1, D, K]); // (N, D, K)
}

/** Σ w·(−log p[target]) and Σ w over non-ignored targets, optionally split by a 0/1 `part` mask.   logits (…, V), targets (…) int64 (−100 = ignore), w (…) */
function nllSum(logits: Value, targets: Value, w: Value, part?: Value) {
  const ignored = op.equal(targets, -100);
  const safe = op.where(ignored, 0, targets);
  const picked = op.squeeze(op.gatherElements(op.logSoftmax(logits, -1), op.unsqueeze(safe, [-1]), -1), [-1]); // (…)
  const ww = op.mul(op.cast(op.not(ignored), 'float32'), w);
  const nll = op.neg(op.mul(picked, ww)); // (…)
  const sums = { sum: op.reduceSum(nll, []), count: op.reduceSum(ww, []) };
  if (!part) return { ...sums, partSum: null, partCount: null };
  return { ...sums, partSum: op.reduceSum(op.mul(nll, part), []), partCount: op.reduceSum(op.mul(ww, part), []) };
}

/** The training batch as graph inputs (names are the feed names; see data/tasks.ts `toFeeds`). */
export interface UnifiedBatchInputs {
  ids: Value; // input_ids (B, T, D) int64
  idWeights: Value; // input_weights (B, T, D) float: which slots of a position are summed
  positions: Value; // position_ids (T) int64
  labels: Value; // labels (B, T) int64: next LM token, −100 where the main head has no target
  labelWeights: Value; // label_weights (B, T) float
  labelIsCode: Value; // label_is_code (B, T) float: 1 where the main head's target is an (unfolded) image code
  labelSrc: Value; // label_src (M) int64: flat indices b·T + t of the positions with a main-head target (the head runs only there)
  depthSrc: Value; // depth_src (N) int64: flat index b·T + t of the hidden state before each depth-head position
  depthCodes: Value; // depth_codes (N, D) int64 LM ids of that position's codes (inputs and targets)
  depthWeights: Value; // depth_weights (N, D) float
  semanticMask: Value | null; // semantic_mask (B, T) float: 1 at the semantic positions (with semantic_read_dim only)
}

export function declareBatchInputs(g: Graph, c: UnifiedConfig): UnifiedBatchInputs {
  const D = c.image_depth;
  return {
    ids: g.input('input_ids', 'int64', ['B', 'T', D]),
    idWeights: g.input('input_weights', 'float32', ['B', 'T', D]),
    positions: g.input('position_ids', 'int64', ['T']),
    labels: g.input('labels', 'int64', ['B', 'T']),
    labelWeights: g.input('label_weights', 'float32', ['B', 'T']),
    labelIsCode: g.input('label_is_code', 'float32', ['B', 'T']),
    labelSrc: g.input('label_src', 'int64', ['M']),
    depthSrc: g.input('depth_src', 'int64', ['N']),
    depthCodes: g.input('depth_codes', 'int64', ['N', D]),
    depthWeights: g.input('depth_weights', 'float32', ['N', D]),
    semanticMask: (c.semantic_read_dim ?? 0) > 0 ? g.input('semantic_mask', 'float32', ['B', 'T']) : null,
  };
}

/**
 * Forward + loss: mean cross-entropy over every weighted target, text tokens (main head) and image
 * codes (depth head) counted alike: (Σ w·ce_text + Σ w·ce_code) / (Σ w_text + Σ w_code).
 * Metrics: text_loss and image_loss (means over their own targets: image codes from the depth head
 * and unfolded codes from the main head), and their weight totals.
 */
export function unifiedLoss(g: Graph, c: UnifiedConfig, x: UnifiedBatchInputs) {
  validateUnifiedConfig(c);
  const C = c.hidden_size;
  const E = g.param('model.embed_tokens.weight', [c.vocab_size, C]);
  let emb = aggregateEmbed(E, x.ids, x.idWeights); // (B, T, C)
  if (x.semanticMask) emb = op.add(emb, semanticRead(g, c, paramsOf(g), x.ids, x.semanticMask));
  const { hidden } = llamaForward(g, c, x.labels, x.positions, emb); // the full-vocabulary head is not built here
  const flat = op.reshape(hidden[hidden.length - 1], [-1, C]); // (B·T, C)
  // the head only where there is a target: in Stage II and at depth-head image positions most positions have none
  const pick = (v: Value) => op.gather(op.reshape(v, [-1]), x.labelSrc, 0); // (M)
  const hn = rmsNorm(op.gather(flat, x.labelSrc, 0), g.param('model.norm.weight', [C]), c.rms_norm_eps); // (M, C)
  const W = c.tie_word_embeddings ? E : g.param('lm_head.weight', [c.vocab_size, C]);
  const logits = op.gemm(hn, W, null, { transB: true }); // (M, V)
  const text = nllSum(logits, pick(x.labels), pick(x.labelWeights), pick(x.labelIsCode));
  const ctx = op.gather(flat, x.depthSrc, 0); // (N, C)
  const dl = depthHead(paramsOf(g), c, ctx, x.depthCodes); // (N, D, K)
  const codeTargets = op.sub(x.depthCodes, op.constTensor(g, { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(c.image_token_offset)) })); // (N, D)
  const img = nllSum(dl, codeTargets, x.depthWeights);
  const total = op.max2(op.add(text.count, img.count), 1e-12);
  const loss = op.div(op.add(text.sum, img.sum), total);
  return {
    loss,
    logits, // (M, V) at the label_src positions
    depthLogits: dl, // (N, D, K)
    metrics: {
      text_loss: op.div(op.sub(text.sum, text.partSum!), op.max2(op.sub(text.count, text.partCount!), 1e-12)),
      image_loss: op.div(op.add(img.sum, text.partSum!), op.max2(op.add(img.count, text.partCount!), 1e-12)),
      text_count: op.sub(text.count, text.partCount!),
      image_count: op.add(img.count, text.partCount!),
    },
  };
}

/** Decode-step inputs for the unified model: aggregated ids instead of single ids. */
export interface UnifiedDecodeIO extends Omit<DecodeIO, 'ids'> {
  ids: Value; // (B, 1, D) int64
  idWeights: Value; // (B, 1, D) float
  semanticMask?: Value; // (B, 1) float, with semantic_read_dim
}

/**
 * One cached decoding step: logits (B, 1, V), the hidden state for the depth head (B, C), and the
 * new K/V per layer. `pastMask` may be (S) or per row (B, 1, 1, S) (rows padded on the left).
 */
export function unifiedDecodeStep(g: Graph, c: UnifiedConfig, io: UnifiedDecodeIO, weights?: (name: string, shape: number[]) => Tensor) {
  const E = weights ? g.constant(weights('model.embed_tokens.weight', [c.vocab_size, c.hidden_size]), 'embed') : g.param('model.embed_tokens.weight', [c.vocab_size, c.hidden_size]);
  let emb = aggregateEmbed(E, io.ids, io.idWeights); // (B, 1, C)
  if ((c.semantic_read_dim ?? 0) > 0) {
    if (!io.semanticMask) throw new GraphError('unifiedDecodeStep: semantic_read_dim needs the semanticMask input');
    const w: Weight = weights ? (name, shape) => g.constant(weights(name, shape), name) : paramsOf(g);
    emb = op.add(emb, semanticRead(g, c, w, io.ids, io.semanticMask));
  }
  return llamaDecodeStep(g, c, { ...io, ids: io.ids }, { inputsEmbeds: emb, weights });
}

/** Names and shapes of every parameter of the unified model, in declaration order. */
export function unifiedParamShapes(c: UnifiedConfig): Map<string, number[]> {
  const g = new Graph('shapes');
  unifiedLoss(g, c, declareBatchInputs(g, c));
  return new Map([...g.params].map(([n, p]) => [n, p.value.shape as number[]]));
}

/**
 * Initial value of a parameter: norms 1, embeddings and projections N(0, 0.02), residual output
 * projections (o_proj, down_proj) scaled by 1/√(2·layers) as in GPT-2.
 */
export function initUnifiedParam(c: UnifiedConfig, name: string, shape: number[], rng: { fillNormal(out: Float32Array, std?: number): Float32Array }): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (/norm(_in)?\.weight$|layernorm\.weight$/.test(name)) return new Float32Array(n).fill(1);
  const residual = /(o_proj|down_proj)\.weight$/.test(name);
  const layers = name.startsWith('depth_head') ? c.depth_head_layers : c.num_hidden_layers;
  return rng.fillNormal(new Float32Array(n), residual ? 0.02 / Math.sqrt(2 * layers) : 0.02);
}
