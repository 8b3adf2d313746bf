// `bench engine`: throughput of the engine on this machine, for the reference LM configuration
// (d=384, 8 layers, 6 heads, SwiGLU 1024, vocab 4096, T=256, B=8): a 1024³ MatMul, training
// tokens/s with MFU, batch-1 decoding tokens/s with a KV cache, and decoding as a fraction of the
// memory-bandwidth limit (bandwidth probed between decode rounds: the best of a large ReduceSum and a
// large one-row product).
import { Graph, numel, type Tensor } from '../graph/graph.ts';
import * as op from '../graph/ops/index.ts';
import { exportOnnx } from '../graph/onnx.ts';
import { KvCache } from '../infer/kv-cache.ts';
import { headDim, llamaDecodeStep, llamaForward, type LlamaConfig } from '../models/llama.ts';
import { crossEntropy } from '../nn/functional.ts';
import { hugePagesMiB } from '../runtime/host-env.ts';
import { Session } from '../runtime/session.ts';
import { Trainer } from '../train/trainer.ts';
import { Rng } from '../util/rng.ts';

export const BENCH_LM: LlamaConfig = {
  vocab_size: 4096, hidden_size: 384, num_hidden_layers: 8, num_attention_heads: 6, num_key_value_heads: 6,
  intermediate_size: 1024, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true, max_position_embeddings: 256,
};

export interface EngineBench {
  matmul_gflops: number;
  train_tokens_per_s: number;
  train_mfu: number;
  decode_tokens_per_s: number;
  /** Median over the decode rounds of tokens/s ÷ (bandwidth probed around that round ÷ weight bytes per token). */
  decode_bw_frac: number;
  decode_bw_frac_range: [number, number];
  /** Median of the probes taken between the decode rounds. */
  read_bandwidth_gbs: number;
  weight_bytes_per_token: number;
  decode_rounds: number;
  threads: number;
  /** MiB of the process on transparent huge pages at the end (huge-page malloc, runtime/host-env.ts); null off Linux. */
  huge_pages_mib: number | null;
}

const f32 = (shape: number[], data: Float32Array = new Float32Array(numel(shape))): Tensor => ({ dtype: 'float32', shape, data });
const now = () => performance.now() / 1000;

async function timeRuns(fn: () => Promise<unknown>, minSeconds: number, minRuns = 3): Promise<number> {
  await fn(); // warm up
  const t0 = now();
  let n = 0;
  while (n < minRuns || now() - t0 < minSeconds) {
    await fn();
    n++;
  }
  return (now() - t0) / n;
}

async function matmulGflops(threads: number): Promise<number> {
  const g = new Graph('mm');
  const a = g.input('a', 'float32', [1024, 1024]);
  const b = g.input('b', 'float32', [1024, 1024]);
  const s = await Session.create(exportOnnx(g, { c: op.matmul(a, b) }).bytes, { threads });
  const rng = new Rng(1);
  const feeds = { a: f32([1024, 1024], rng.fillNormal(new Float32Array(1 << 20))), b: f32([1024, 1024], rng.fillNormal(new Float32Array(1 << 20))) };
  const t = await timeRuns(() => s.run(feeds), 2);
  await s.release();
  return (2 * 1024 ** 3) / t / 1e9;
}

/**
 * `copies` one-row products x (1, K) · Wᵀ against baked (N, K) weights in one graph: the decode
 * step's weight Gemms (transB; onnxruntime prepacks baked weights at load). `run()` streams
 * copies·N·K·4 bytes of weights.
 */
async function oneRowProducts(N: number, K: number, copies: number, threads: number) {
  const g = new Graph('gemv');
  const x = g.input('x', 'float32', [1, K]);
  const rng = new Rng(4);
  const outs: Record<string, ReturnType<typeof op.gemm>> = {};
  for (let i = 0; i < copies; i++) outs[`y${i}`] = op.reduceSum(op.gemm(x, g.constant(f32([N, K], rng.fillNormal(new Float32Array(N * K), 0.02)), `w${i}`), null, { transB: true }), []);
  const s = await Session.create(exportOnnx(g, outs).bytes, { threads });
  const feeds = { x: f32([1, K], new Float32Array(K).fill(0.1)) };
  return { bytes: copies * N * K * 4, run: () => s.run(feeds), release: () => s.release() };
}

/**
 * One token's weight products alone, in the decode step's order (per layer q/k/v, o, gate/up, down,
 * then the tied head), each fed a slice of the one before: the decode step without its small ops,
 * attention or cache. `msPerToken(n)` runs it n times and returns ms per run.
 */
async function decodeProductsChain(c: LlamaConfig, threads: number) {
  const [C, I, hd] = [c.hidden_size, c.intermediate_size, headDim(c)];
  const qkv = (c.num_attention_heads + 2 * c.num_key_value_heads) * hd;
  const g = new Graph('products');
  const rng = new Rng(3);
  let x = g.input('x', 'float32', [1, C]);
  let n = 0;
  const product = (N: number, K: number) => {
    if ((x.shape[1] as number) > K) x = op.slice(x, [0], [K], [1]);
    x = op.gemm(x, g.constant(f32([N, K], rng.fillNormal(new Float32Array(N * K), 0.02)), `w${n++}`), null, { transB: true });
  };
  for (let i = 0; i < c.num_hidden_layers; i++) for (const [N, K] of [[qkv, C], [C, C], [2 * I, C], [C, I]]) product(N, K);
  product(c.vocab_size, C);
  const s = await Session.create(exportOnnx(g, { y: x }).bytes, { threads });
  const feeds = { x: f32([1, C], new Float32Array(C).fill(0.01)) };
  await s.run(feeds);
  return {
    msPerToken: async (tokens: number) => {
      const t0 = now();
      for (let i = 0; i < tokens; i++) await s.run(feeds);
      return ((now() - t0) * 1000) / tokens;
    },
    release: () => s.release(),
  };
}

/**
 * Read bandwidth in GB/s, the best of two ways to stream 512 MiB once: a ReduceSum over it (the input
 * is fed without copying) and a one-row product against a baked (16384, 8192) weight, the access
 * pattern of batch-1 decoding. `probe()` measures both (3 runs each, best kept) and returns the
 * higher; decoding is measured between probes, since this machine's bandwidth drifts by ±30% within
 * minutes (other tenants of the host), so a figure taken once at the start would not be the limit
 * the decoding ran under.
 */
async function bandwidthProbe(threads: number): Promise<{ probe(): Promise<number>; release(): Promise<void> }> {
  const n = 128 * 1024 * 1024;
  const g = new Graph('bw');
  const x = g.input('x', 'float32', [n / 1024, 1024]);
  const s = await Session.create(exportOnnx(g, { y: op.reduceSum(x, []) }).bytes, { threads });
  const xs = { x: f32([n / 1024, 1024], new Float32Array(n).fill(1)) };
  const gemv = await oneRowProducts(n / 8192, 8192, 1, threads);
  await s.run(xs); // warm up both
  await gemv.run();
  const best = async (fn: () => Promise<unknown>) => {
    let t = Infinity;
    for (let i = 0; i < 3; i++) {
      const t0 = now();
      await fn();
      t = Math.min(t, now() - t0);
    }
    return t;
  };
  return {
    probe: async () => (n * 4) / Math.min(await best(() => s.run(xs)), await best(() => gemv.run())) / 1e9,
    release: async () => {
      await s.release();
      await gemv.release();
    },
  };
}

/** Parameters of the non-embedding part and the (tied) head; FLOPs per trained token ≈ 6N + 12·L·T·d. */
function lmCounts(c: LlamaConfig, T: number) {
  const C = c.hidden_size;
  const hd = headDim(c);
  const attn = C * c.num_attention_heads * hd * 2 + C * c.num_key_value_heads * hd * 2;
  const layer = attn + 3 * C * c.intermediate_size + 2 * C;
  const layers = c.num_hidden_layers * layer + C;
  const head = c.vocab_size * C;
  return { layers, head, trainFlopsPerToken: 6 * (layers + head) + 12 * c.num_hidden_layers * T * C };
}

async function trainTokensPerS(c: LlamaConfig, B: number, T: number, threads: number, seconds: number): Promise<number> {
  const trainer = await Trainer.create(
    {
      build(g) {
        const ids = g.input('input_ids', 'int64', [B, T]);
        const pos = g.input('position_ids', 'int64', [T]);
        const labels = g.input('labels', 'int64', [B, T]);
        return { loss: crossEntropy(llamaForward(g, c, ids, pos).logits, labels) };
      },
      init: (name, shape, rng) => (name.includes('norm') ? new Float32Array(numel(shape)).fill(1) : rng.fillNormal(new Float32Array(numel(shape)), 0.02)),
    },
    { optim: { weightDecay: 0.1, clipNorm: 1 }, schedule: { lr: 1e-3 }, session: { threads } },
  );
  const rng = new Rng(2);
  const ids = BigInt64Array.from({ length: B * T }, () => BigInt(rng.int(c.vocab_size)));
  const batch: Record<string, Tensor> = {
    input_ids: { dtype: 'int64', shape: [B, T], data: ids },
    labels: { dtype: 'int64', shape: [B, T], data: ids },
    position_ids: { dtype: 'int64', shape: [T], data: BigInt64Array.from({ length: T }, (_, i) => BigInt(i)) },
  };
  const t = await timeRuns(() => trainer.trainStep([batch]), seconds, 2);
  await trainer.release();
  return (B * T) / t;
}

/**
 * Batch-1 greedy decoding at positions 1..tokens against a cache of up to S slots (infer/kv-cache.ts:
 * fed as long as the past needs, in chunks of 32 slots, as the unified model feeds it), `rounds` times
 * from an empty cache, with `between()` (a bandwidth probe) before the first round and after each.
 * Returns tokens/s per round and what `between` returned around it.
 */
async function decodeRounds(c: LlamaConfig, S: number, threads: number, tokens: number, rounds: number, between: () => Promise<number>) {
  const g = new Graph('decode');
  const hd = headDim(c);
  const KVH = c.num_key_value_heads;
  const L = c.num_hidden_layers;
  const io = {
    ids: g.input('input_ids', 'int64', [1, 1]),
    position: g.input('position', 'int64', [1]),
    pastMask: g.input('past_mask', 'float32', [1, 1, 1, 'S']),
    pastK: Array.from({ length: L }, (_, i) => g.input(`past_k.${i}`, 'float32', [1, KVH, 'S', hd])),
    pastV: Array.from({ length: L }, (_, i) => g.input(`past_v.${i}`, 'float32', [1, KVH, 'S', hd])),
  };
  // weights baked in as initializers, as a deployed decoder has them: onnxruntime prepacks the M = 1
  // Gemm weights once at load; fed as inputs instead, the unpacked products run at about half speed
  const rng = new Rng(3);
  const r = llamaDecodeStep(g, c, io, { weights: (_name, shape) => f32(shape, rng.fillNormal(new Float32Array(numel(shape)), 0.02)) });
  const s = await Session.create(exportOnnx(g, { logits: r.logits, new_kv: r.newKV }).bytes, { threads });
  const run = async () => {
    const cache = new KvCache({ layers: L, kvHeads: KVH, headDim: hd, maxSlots: S }, 1);
    let token = 1;
    const step = async (pos: number) => {
      cache.reserve(pos); // the past: slots 0..pos-1
      const feeds: Record<string, Tensor> = {
        ...cache.feeds(),
        input_ids: { dtype: 'int64', shape: [1, 1], data: BigInt64Array.of(BigInt(token)) },
        position: { dtype: 'int64', shape: [1], data: BigInt64Array.of(BigInt(pos)) },
      };
      const out = await s.run(feeds);
      cache.write(out.new_kv.data as Float32Array, pos);
      const logits = out.logits.data as Float32Array;
      let best = 0;
      for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
      token = best;
    };
    await step(0);
    const t0 = now();
    for (let p = 1; p <= tokens; p++) await step(p);
    return tokens / (now() - t0);
  };
  await run(); // warm up
  const out: { tokensPerS: number; before: number; after: number }[] = [];
  let before = await between();
  for (let i = 0; i < rounds; i++) {
    const tokensPerS = await run();
    const after = await between();
    out.push({ tokensPerS, before, after });
    before = after;
  }
  await s.release();
  return out;
}

export async function benchEngine(opts: { threads?: number; quick?: boolean } = {}): Promise<EngineBench> {
  const threads = opts.threads ?? 2;
  const c = BENCH_LM;
  const [B, T] = [8, 256];
  const matmul = await matmulGflops(threads);
  const train = await trainTokensPerS(c, B, T, threads, opts.quick ? 3 : 10);
  const bw = await bandwidthProbe(threads);
  const rounds = await decodeRounds(c, T, threads, opts.quick ? 64 : 200, opts.quick ? 2 : 5, bw.probe);
  await bw.release();
  const { layers, head, trainFlopsPerToken } = lmCounts(c, T);
  const bytesPerToken = 4 * (layers + head);
  // each round against the bandwidth probed just before and just after it
  const fracs = rounds.map((r) => r.tokensPerS / ((((r.before + r.after) / 2) * 1e9) / bytesPerToken));
  return {
    matmul_gflops: round(matmul),
    train_tokens_per_s: round(train),
    train_mfu: round((train * trainFlopsPerToken) / (matmul * 1e9), 3),
    decode_tokens_per_s: round(median(rounds.map((r) => r.tokensPerS))),
    decode_bw_frac: round(median(fracs), 3),
    decode_bw_frac_range: [round(Math.min(...fracs), 3), round(Math.max(...fracs), 3)],
    read_bandwidth_gbs: round(median(betweenRounds(rounds))),
    weight_bytes_per_token: bytesPerToken,
    decode_rounds: rounds.length,
    threads,
    huge_pages_mib: hugePagesMiB(),
  };
}

/** What decodeRounds' `between` returned: before the first round and after each. */
const betweenRounds = (rounds: { before: number; after: number }[]) => rounds.flatMap((r, i) => (i === 0 ? [r.before, r.after] : [r.after]));

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) => {
  const a = [...xs].sort((p, q) => p - q);
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};

export interface DecodeProductsBench {
  /** Per weight shape of the decode step: GB/s streamed by one-row products of that shape (best and median of 7 runs over ≥ 128 MB of copies). */
  shapes: { name: string; shape: [number, number]; per_token: number; gbs_best: number; gbs_median: number }[];
  /** The same for the bandwidth probe's (16384, 8192) product. */
  probe_gbs_best: number;
  probe_gbs_median: number;
  /**
   * The highest decode_bw_frac these products allow with nothing else in a token: the time the
   * weights take at the probe's rate ÷ the time they take at their own shapes' rates (median runs).
   */
  decode_bw_frac_cap: number;
  decode_bw_frac_cap_best: number;
  /** ms per token of the whole decode step (bench engine's decoding: 200 tokens from an empty cache), median of 5 rounds. */
  decode_token_ms: number;
  /** ms per token of the same 33 weight products alone, chained in the step's order; median of 6 runs of 200, alternating with the rounds. */
  products_token_ms: number;
  /** products_token_ms ÷ decode_token_ms: the part of a token that is weight products; the rest is small ops, attention over the cache and the run's overhead. */
  products_share: number;
  threads: number;
}

/**
 * Where decoding's bandwidth goes: the streaming rate of the decode step's one-row weight products
 * at their own shapes (BENCH_LM: q/k/v, o, gate/up, down per layer and the tied head) against the
 * bandwidth probe's large product, measured side by side; then a token of the whole decode step
 * against the same products alone, alternating, for the part of a token the rest takes.
 */
export async function benchDecodeProducts(opts: { threads?: number } = {}): Promise<DecodeProductsBench> {
  const threads = opts.threads ?? 2;
  const c = BENCH_LM;
  const [C, I, L, hd] = [c.hidden_size, c.intermediate_size, c.num_hidden_layers, headDim(c)];
  const list: { name: string; shape: [number, number]; per_token: number }[] = [
    { name: 'q/k/v', shape: [(c.num_attention_heads + 2 * c.num_key_value_heads) * hd, C], per_token: L },
    { name: 'o', shape: [C, C], per_token: L },
    { name: 'gate/up', shape: [2 * I, C], per_token: L },
    { name: 'down', shape: [C, I], per_token: L },
    { name: 'head', shape: [c.vocab_size, C], per_token: 1 },
  ];
  const rate = async (N: number, K: number) => {
    const p = await oneRowProducts(N, K, Math.max(1, Math.ceil(128e6 / (N * K * 4))), threads);
    await p.run();
    const ts: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = now();
      await p.run();
      ts.push(now() - t0);
    }
    await p.release();
    return { best: p.bytes / Math.min(...ts) / 1e9, median: p.bytes / median(ts) / 1e9 };
  };
  const shapes: DecodeProductsBench['shapes'] = [];
  for (const x of list) {
    const r = await rate(...x.shape);
    shapes.push({ ...x, gbs_best: round(r.best), gbs_median: round(r.median) });
  }
  const probe = await rate(16384, 8192);
  const chain = await decodeProductsChain(c, threads);
  const rounds = await decodeRounds(c, c.max_position_embeddings, threads, 200, 5, () => chain.msPerToken(200));
  await chain.release();
  const tokenMs = median(rounds.map((r) => 1000 / r.tokensPerS));
  const chainMs = median(betweenRounds(rounds));
  const bytes = (x: (typeof list)[number]) => x.per_token * x.shape[0] * x.shape[1] * 4;
  const total = list.reduce((a, x) => a + bytes(x), 0);
  const cap = (probeGbs: number, key: 'gbs_best' | 'gbs_median') => total / probeGbs / shapes.reduce((a, x) => a + bytes(x) / x[key], 0);
  return {
    shapes, probe_gbs_best: round(probe.best), probe_gbs_median: round(probe.median),
    decode_bw_frac_cap: round(cap(probe.median, 'gbs_median'), 3), decode_bw_frac_cap_best: round(cap(probe.best, 'gbs_best'), 3),
    decode_token_ms: round(tokenMs, 3), products_token_ms: round(chainMs, 3), products_share: round(chainMs / tokenMs, 3), threads,
  };
}
