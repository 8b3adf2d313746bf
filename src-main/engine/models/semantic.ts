// The semantic half of a dual image tokenizer (DualToken, arXiv 2503.14324): beside the pixel
// codes of the VQ tokenizer (vqtok.ts), which are trained to reconstruct and so change with every
// stroke of a drawing style, one extra LM position of D codes that says *what* the image shows.
//
//   pixels (B,3,S,S) ─ area-average to input_size ─ conv net ─ mean pool ─ linear ─ l2 norm ─▶ f (B,E)
//   f ─ residual VQ: D codebooks of K rows (E), each code the nearest row to what is left ─▶ codes (B,D)
//
// The encoder is trained with a cosine classifier over the training labels (normalised-softmax proxy
// learning) on jittered images, so images of one emoji in different styles land close together; the
// codebooks are k-means (Lloyd) over the training images' features, level by level on the residuals.
// DualToken distils its semantic branch from a pretrained CLIP-style encoder; nothing pretrained can
// be fetched here, so the labels of the training styles stand in for the language supervision.
// Code k of level d is LM token id first_token_id + k at depth d of the image's first position, the
// ids the pixel codes use (UniCode: the vocabulary is shared, never extended).
import { GraphError, type Graph, type Value } from '../graph/graph.ts';
import * as op from '../graph/ops/index.ts';
import { crossEntropy, groupNorm, silu, softCrossEntropy } from '../nn/functional.ts';
import { l2Normalize } from '../quant/vq.ts';
import type { Rng } from '../util/rng.ts';
import type { Weights } from './vqtok.ts';

export interface SemanticConfig {
  model_type: 'tessera-semantic';
  /** Side of the pixels the codec is fed (the pixel tokenizer's image_size). */
  image_size: number;
  /** Side the encoder reads after area averaging (image_size divided by a power of two). */
  input_size: number;
  /** Channels of the first level; each of the three stride-2 levels doubles them. */
  width: number;
  embed_dim: number;
  /** Codes per image (residual levels) = the LM's stacked codes per position. */
  depth: number;
  codebook_size: number;
  first_token_id: number;
}

export const DEFAULT_SEMANTIC: Omit<SemanticConfig, 'image_size' | 'depth' | 'codebook_size' | 'first_token_id'> = {
  model_type: 'tessera-semantic',
  input_size: 32,
  width: 32,
  embed_dim: 256,
};

export function validateSemanticConfig(c: SemanticConfig, source = 'config.json'): void {
  const bad = (field: string, msg: string) => new GraphError(`${source}: field '${field}' ${msg}`);
  if (c.model_type !== 'tessera-semantic') throw bad('model_type', `must be 'tessera-semantic', got ${JSON.stringify(c.model_type)}`);
  for (const k of ['image_size', 'input_size', 'width', 'embed_dim', 'depth', 'codebook_size'] as const)
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw bad(k, `must be a positive integer, got ${JSON.stringify(c[k])}`);
  if (!Number.isInteger(c.first_token_id) || c.first_token_id < 0) throw bad('first_token_id', `must be an integer ≥ 0, got ${JSON.stringify(c.first_token_id)}`);
  const f = c.image_size / c.input_size;
  if (!Number.isInteger(f) || (f & (f - 1)) !== 0) throw bad('input_size', `${c.input_size} must be image_size (${c.image_size}) divided by a power of two`);
  if (c.input_size % 8 !== 0) throw bad('input_size', `${c.input_size} must be a multiple of 8 (three stride-2 levels)`);
  if (c.width % 8 !== 0) throw bad('width', `${c.width} must be a multiple of 8 (the group norm's groups)`);
}

/**
 * MixStyle (Zhou et al., ICLR 2021), for training only: each image's per-channel feature statistics
 * (mean and standard deviation over H×W, no gradient through them) replaced by a mix with another
 * image's of the batch: (h − μ)/σ · (λσ + (1 − λ)σ[perm]) + λμ + (1 − λ)μ[perm]. Styles are carried by
 * those statistics, so the encoder sees each emoji drawn with the colours and strokes of another
 * style. inputs perm (B) int64, lambda (B, 1, 1, 1); perm = identity or λ = 1 leaves h as it is.
 */
export function mixStyle(h: Value, perm: Value, lambda: Value, eps = 1e-6): Value {
  const mu = op.stopGradient(op.reduceMean(h, [2, 3], true));
  const centred = op.sub(h, mu);
  const sigma = op.stopGradient(op.sqrt(op.add(op.reduceMean(op.mul(centred, centred), [2, 3], true), eps)));
  const mix = (a: Value) => op.add(op.mul(lambda, a), op.mul(op.sub(1, lambda), op.gather(a, perm, 0)));
  return op.add(op.mul(op.div(centred, sigma), mix(sigma)), mix(mu));
}

/** Unit-length features.   pixels (B, 3, image_size, image_size) in [0, 1] → (B, embed_dim); `style`, in training, mixes the statistics of the early levels (mixStyle). */
export function semanticFeatures(c: SemanticConfig, x: Value, w: Weights, style?: (h: Value) => Value): Value {
  const f = c.image_size / c.input_size, n = c.input_size;
  let h = f === 1 ? x : op.reduceMean(op.reshape(x, [-1, 3, n, f, n, f]), [3, 5]); // area average
  const conv = (name: string, h: Value, inC: number, outC: number, stride: number) =>
    op.conv2d(h, w(`${name}.weight`, [outC, inC, 3, 3]), w(`${name}.bias`, [outC]), { stride, pad: 1 });
  const block = (name: string, h: Value, inC: number, outC: number, stride: number) =>
    silu(groupNorm(conv(name, h, inC, outC, stride), 8, w(`${name}.norm.weight`, [outC]), w(`${name}.norm.bias`, [outC])));
  const W = c.width;
  const styled = (v: Value) => (style ? style(v) : v);
  h = styled(silu(conv('encoder.conv_in', op.sub(h, 0.5), 3, W, 1)));
  h = block('encoder.down.0', h, W, 2 * W, 2);
  h = styled(block('encoder.mid.0', h, 2 * W, 2 * W, 1));
  h = block('encoder.down.1', h, 2 * W, 4 * W, 2);
  h = block('encoder.mid.1', h, 4 * W, 4 * W, 1);
  h = block('encoder.down.2', h, 4 * W, 8 * W, 2);
  const pooled = op.reduceMean(h, [2, 3]); // (B, 8W)
  const y = op.gemm(pooled, w('encoder.proj.weight', [c.embed_dim, 8 * W]), w('encoder.proj.bias', [c.embed_dim]), { transB: true });
  return l2Normalize(y);
}

/**
 * Training: a cosine classifier with scale s over `classes` labels.   inputs pixels (B,3,S,S), labels (B)
 * With `words`, a second cosine classifier over the words of the labels and tags, each image's
 * target spread evenly over its words (input word_targets (B, count), rows summing to 1 or 0): the
 * words an emoji shares with others ("face", "hand", "cat") pull images of different emoji apart
 * less than their labels do, which is the language supervision's role in DualToken.
 * loss = ce(labels) + weight · soft ce(words).
 */
export function semanticTrainGraph(g: Graph, c: SemanticConfig, classes: number, scale = 16, words?: { count: number; weight: number }, o: { mixStyle?: boolean } = {}) {
  const x = g.input('pixels', 'float32', ['B', 3, c.image_size, c.image_size]);
  const y = g.input('labels', 'int64', ['B']);
  const w: Weights = (name, shape) => g.param(name, shape);
  let style: ((h: Value) => Value) | undefined;
  if (o.mixStyle) {
    const [perm, lambda] = [g.input('mix_perm', 'int64', ['B']), g.input('mix_lambda', 'float32', ['B', 1, 1, 1])];
    style = (h) => mixStyle(h, perm, lambda);
  }
  const f = semanticFeatures(c, x, w, style);
  const cosine = (name: string, n: number) => op.mul(op.gemm(f, l2Normalize(g.param(name, [n, c.embed_dim])), null, { transB: true }), scale);
  let loss = crossEntropy(cosine('classifier.weight', classes), y);
  if (words && words.count > 0 && words.weight > 0)
    loss = op.add(loss, op.mul(softCrossEntropy(cosine('classifier.words', words.count), g.input('word_targets', 'float32', ['B', words.count])), words.weight));
  return { loss, features: f };
}

/**
 * The word vocabulary of a set of rows: lower-case words of each label (and its tags), kept when
 * at least `minLabels` distinct labels use them, so every word is shared. Each row's target is
 * spread evenly over its kept words (all zeros when it has none).
 */
export function wordTargets(rows: { text: string; tags?: string[] }[], o: { minLabels: number; tags: boolean }): { vocab: string[]; targets: Float32Array } {
  const wordsOf = (r: { text: string; tags?: string[] }) => new Set([r.text, ...(o.tags ? (r.tags ?? []) : [])].flatMap((s) => s.toLowerCase().split(/[^\p{L}\p{N}]+/u)).filter((x) => x.length > 1));
  const users = new Map<string, Set<string>>();
  for (const r of rows) for (const x of wordsOf(r)) users.set(x, (users.get(x) ?? new Set()).add(r.text));
  const vocab = [...users].filter(([, l]) => l.size >= o.minLabels).map(([x]) => x).sort();
  const index = new Map(vocab.map((x, i) => [x, i]));
  const targets = new Float32Array(rows.length * vocab.length);
  rows.forEach((r, i) => {
    const ids = [...wordsOf(r)].map((x) => index.get(x)).filter((j) => j !== undefined);
    for (const j of ids) targets[i * vocab.length + j] = 1 / ids.length;
  });
  return { vocab, targets };
}

/** Residual codes against baked codebooks (D, K, E): level d takes the nearest row to what is left.   → (B, D) int64 */
export function semanticCodes(c: SemanticConfig, f: Value, codebooks: Value): Value {
  let r = f;
  const codes: Value[] = [];
  for (let d = 0; d < c.depth; d++) {
    const C = op.reshape(op.slice(codebooks, [d], [d + 1], [0]), [c.codebook_size, c.embed_dim]); // (K, E)
    const halfNorm = op.mul(op.reduceSum(op.mul(C, C), [-1]), 0.5); // (K)
    const k = op.argMax(op.sub(op.gemm(r, C, null, { transB: true }), halfNorm), 1); // argmin ‖r − c‖²
    codes.push(op.unsqueeze(k, [1]));
    r = op.sub(r, op.gather(C, k, 0));
  }
  return op.concat(codes, 1);
}

/** He-style init for convs and linears, ones and zeros for the norms, zero biases. */
export function semanticInit(name: string, shape: number[], rng: Rng): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (name.endsWith('.bias')) return new Float32Array(n);
  if (name.endsWith('norm.weight')) return new Float32Array(n).fill(1);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  return rng.fillNormal(new Float32Array(n), Math.sqrt(1 / fanIn));
}

/** The index of each of n rows x (n, e)'s nearest of k rows C (k, e), the first on ties (the largest x·c − |c|²/2). */
export type NearestRows = (x: Float32Array, n: number, C: Float32Array, k: number, e: number) => Promise<Int32Array>;

/** NearestRows in plain loops. */
export const nearestRowsJs: NearestRows = async (x, n, C, k, e) => {
  const half = new Float32Array(k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let t = 0; t < e; t++) s += C[j * e + t] ** 2;
    half[j] = s / 2;
  }
  const at = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity, arg = 0;
    const off = i * e;
    for (let j = 0; j < k; j++) {
      let s = -half[j];
      const cj = j * e;
      for (let t = 0; t < e; t++) s += x[off + t] * C[cj + t];
      if (s > best) [best, arg] = [s, j];
    }
    at[i] = arg;
  }
  return at;
};

/**
 * NearestRows as one graph (inputs x (N, E), books (K, E) → (N) int64): the scores as one product,
 * so an onnxruntime session does in a fraction of a second what the loops do in seconds.
 */
export function nearestRowsGraph(g: Graph, e: number): Value {
  const x = g.input('x', 'float32', ['N', e]), C = g.input('books', 'float32', ['K', e]);
  const negHalf = op.mul(op.reduceSum(op.mul(C, C), [1], false), -0.5); // (K): −|c|²/2, Gemm's bias
  return op.argMax(op.gemm(x, C, negHalf, { transB: true }), 1);
}

/**
 * Residual k-means: D levels of K centroids over the rows of x (N, E), Lloyd's iterations from
 * k-means++ seeding; an empty centroid restarts at the row farthest from its own centroid.
 * Returns the codebooks (D, K, E) and each level's mean squared residual after it. `nearest` finds
 * each row's centroid (default: plain loops; recipes pass nearestRowsGraph's session).
 */
export async function residualKMeans(x: Float32Array, n: number, e: number, depth: number, k: number, iterations: number, rng: Rng, nearest: NearestRows = nearestRowsJs): Promise<{ codebooks: Float32Array; residual: number[] }> {
  const books = new Float32Array(depth * k * e);
  const r = Float32Array.from(x);
  const residual: number[] = [];
  const assign = new Int32Array(n), dist = new Float32Array(n);
  for (let d = 0; d < depth; d++) {
    const C = books.subarray(d * k * e, (d + 1) * k * e);
    // k-means++ seeding: each next centre drawn with probability ∝ squared distance to the nearest one so far
    const near = new Float64Array(n).fill(Infinity);
    let pickAt = rng.int(n);
    for (let j = 0; j < k; j++) {
      C.set(r.subarray(pickAt * e, (pickAt + 1) * e), j * e);
      let total = 0;
      for (let i = 0; i < n; i++) {
        let dd = 0;
        for (let t = 0; t < e; t++) dd += (r[i * e + t] - C[j * e + t]) ** 2;
        if (dd < near[i]) near[i] = dd;
        total += near[i];
      }
      let u = rng.uniform() * total;
      pickAt = n - 1;
      for (let i = 0; i < n; i++) if ((u -= near[i]) <= 0) {
        pickAt = i;
        break;
      }
    }
    for (let it = 0; it <= iterations; it++) {
      assign.set(await nearest(r, n, C, k, e));
      for (let i = 0; i < n; i++) {
        let dd = 0;
        for (let t = 0; t < e; t++) dd += (r[i * e + t] - C[assign[i] * e + t]) ** 2;
        dist[i] = dd;
      }
      if (it === iterations) break;
      const sum = new Float64Array(k * e), count = new Int32Array(k);
      for (let i = 0; i < n; i++) {
        count[assign[i]]++;
        for (let t = 0; t < e; t++) sum[assign[i] * e + t] += r[i * e + t];
      }
      for (let j = 0; j < k; j++) {
        if (count[j] > 0) {
          for (let t = 0; t < e; t++) C[j * e + t] = sum[j * e + t] / count[j];
          continue;
        }
        let far = 0;
        for (let i = 1; i < n; i++) if (dist[i] > dist[far]) far = i;
        C.set(r.subarray(far * e, (far + 1) * e), j * e);
        dist[far] = 0;
      }
    }
    let mse = 0;
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < e; t++) r[i * e + t] -= C[assign[i] * e + t];
      mse += dist[i];
    }
    residual.push(mse / n);
  }
  return { codebooks: books, residual };
}

/**
 * Renumbers a new encoder's codes to agree with an old encoder's. Code indices are arbitrary (any
 * permutation of a codebook's rows is the same quantiser), but an LM that read the old codes has
 * learned what each index means; renumbering the new codebooks so that each new code takes the index
 * of the old code it shares the most images with lets that LM read the new codes from the start.
 * Per level d: count co-assignments over the same n images, then match greedily, largest count
 * first, each old index used once; codes left over take the unused indices in order.
 * `next`, `prev`: (n, depth) codes in [0, k). Returns perm (depth, k): new code j → index perm[d·k + j].
 */
export function alignCodes(next: ArrayLike<number | bigint>, prev: ArrayLike<number | bigint>, n: number, depth: number, k: number): Int32Array {
  if (next.length !== n * depth || prev.length !== n * depth) throw new GraphError(`alignCodes: codes of ${next.length} and ${prev.length} values for ${n} images × ${depth} levels`);
  const perm = new Int32Array(depth * k);
  for (let d = 0; d < depth; d++) {
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const [a, b] = [Number(next[i * depth + d]), Number(prev[i * depth + d])];
      if (!(a >= 0 && a < k && b >= 0 && b < k)) throw new GraphError(`alignCodes: image ${i} level ${d}: code outside [0, ${k})`);
      counts.set(a * k + b, (counts.get(a * k + b) ?? 0) + 1);
    }
    // largest count first; ties by the pair's index, so the result does not depend on Map order
    const pairs = [...counts].sort((x, y) => y[1] - x[1] || x[0] - y[0]);
    const taken = new Uint8Array(k), given = new Uint8Array(k), p = perm.subarray(d * k, (d + 1) * k);
    for (const [ab] of pairs) {
      const [a, b] = [Math.floor(ab / k), ab % k];
      if (given[a] || taken[b]) continue;
      [p[a], given[a], taken[b]] = [b, 1, 1];
    }
    let free = 0;
    for (let a = 0; a < k; a++) {
      if (given[a]) continue;
      while (taken[free]) free++;
      [p[a], taken[free]] = [free, 1];
    }
  }
  return perm;
}

/** Codebooks (depth, k, e) with row j of level d moved to perm[d·k + j] (alignCodes). */
export function permuteCodebooks(books: Float32Array, perm: Int32Array, depth: number, k: number, e: number): Float32Array {
  const out = new Float32Array(books.length);
  for (let d = 0; d < depth; d++)
    for (let j = 0; j < k; j++) out.set(books.subarray((d * k + j) * e, (d * k + j + 1) * e), (d * k + perm[d * k + j]) * e);
  return out;
}
