// UnifiedModelApi over a model folder (infer/model-folder.ts): chat with images in and out,
// text-to-image with classifier-free guidance, captioning. Everything decodes through one cached
// decoding graph (models/unicode.ts unifiedDecodeStep, weights baked) over a KV cache of up to
// max_position_embeddings slots (infer/kv-cache.ts); rows of a batch are left-padded (pad slots stay masked, and RoPE
// only sees relative positions), so a conditional and an unconditional prompt of different lengths
// decode side by side. Inside an image span only image-code ids can be drawn, exactly P·D codes,
// then </img> is forced: with the depth head, each position's D codes come from the depth graph.
// With an example memory that holds image codes, a drawing prompt naming one of its labels is drawn
// by example (infer/memory.ts): the LM reads an example and writes it out again, code by code.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../graph/graph.ts';
import { Graph } from '../graph/graph.ts';
import { exportOnnx } from '../graph/onnx.ts';
import type { ImageCodec } from '../models/image-codec.ts';
import { imageTokenizerDigest, loadImageTokenizer } from '../models/image-tokenizer.ts';
import { headDim } from '../models/llama.ts';
import { codecToLm, depthHead, imageIdRange, lmToCodec, unifiedDecodeStep, type UnifiedConfig } from '../models/unicode.ts';
import { Session } from '../runtime/session.ts';
import type { WorkerRuntime } from '../runtime/worker-session.ts';
import type { ChatMessage, ContentPart } from '../text/chat.ts';
import { TextTokenizer } from '../text/tokenizer.ts';
import { Rng } from '../util/rng.ts';
import { DECOMPRESS_PROMPT, layoutChat, type ImageSpec } from '../data/tasks.ts';
import { KvCache } from './kv-cache.ts';
import { fitSquare, jitteredView, meanLogSoftmax } from './views.ts';
import { ExampleMemory, MEMORY_DIR, memoryNextToken, mixMemory, type MemoryMix } from './memory.ts';
import { loadModelFolder, type LoadedModelFolder } from './model-folder.ts';
import { answerIds, beamStep, type Hypothesis, type LabelSet, type RankedLabel } from './labels.ts';
import { cfgCombine, distribution, draw, logSoftmax, sampleToken, type IdRange } from './sampling.ts';
import type { ChatTurn, GenerationEvent, ImageSampling, TextSampling, UnifiedModelApi } from './types.ts';

interface Runner {
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

export interface UnifiedLoadOptions {
  threads?: number;
  /** Run the sessions in this worker thread instead of the caller's. */
  runtime?: WorkerRuntime;
  /** Use this image codec instead of the folder's image-tokenizer/ (it must match config.json). */
  codec?: ImageCodec;
  /** Load the folder's example memory (memory/) when it has one; default true. */
  memory?: boolean;
  /** Called once when an input image is resized to the model's size. */
  onNotice?(message: string): void;
  /** Observer of every image-code choice (row 0 of each image): conditional and unconditional logits over the codes, and the pick. */
  onImageCode?(e: { image: number; cond: Float32Array; uncond: Float32Array | null; chosen: number }): void;
}

const f32 = (shape: number[], data: Float32Array): Tensor => ({ dtype: 'float32', shape, data });

/** The KV cache and masks of R rows decoding in lockstep. */
export class Rows {
  readonly cache: KvCache;
  pos = 0;
  logits: Float32Array = new Float32Array(0); // (R, V) of the last step
  hidden: Float32Array = new Float32Array(0); // (R, C)
  /** Per row: the last position fed was <img> (the next aggregated one is the semantic read's). */
  private afterImg: boolean[];
  constructor(private readonly m: UnifiedModel, readonly R: number, cache?: KvCache) {
    const c = m.config;
    this.cache = cache ?? new KvCache({ layers: c.num_hidden_layers, kvHeads: c.num_key_value_heads, headDim: headDim(c), maxSlots: c.max_position_embeddings }, R);
    this.afterImg = new Array<boolean>(R).fill(false);
  }

  /** New rows continuing from these: row r copies row src[r] (its past, last logits and hidden state). */
  fork(src: readonly number[]): Rows {
    const out = new Rows(this.m, src.length, KvCache.gathered(this.cache, src));
    out.pos = this.pos;
    out.afterImg = src.map((r) => this.afterImg[r]);
    const V = this.logits.length / this.R, C = this.hidden.length / this.R;
    out.logits = new Float32Array(src.length * V);
    out.hidden = new Float32Array(src.length * C);
    src.forEach((r, i) => {
      out.logits.set(this.logits.subarray(r * V, (r + 1) * V), i * V);
      out.hidden.set(this.hidden.subarray(r * C, (r + 1) * C), i * C);
    });
    return out;
  }

  /** Feed one position per row (1 id, D ids, or null = padding that stays masked). */
  async step(items: (ArrayLike<number> | null)[]): Promise<void> {
    const c = this.m.config;
    const [D, S, R] = [c.image_depth, c.max_position_embeddings, this.R];
    if (this.pos >= S) throw new Error(`the conversation reached the model's context of ${S} positions (max_position_embeddings); start a new one`);
    const ids = new BigInt64Array(R * D), w = new Float32Array(R * D);
    items.forEach((it, r) => {
      const xs = it ?? [this.m.tok.specials.pad];
      for (let d = 0; d < xs.length; d++) [ids[r * D + d], w[r * D + d]] = [BigInt(xs[d]), 1];
    });
    this.cache.reserve(this.pos); // the past: slots 0..pos-1
    const feeds: Record<string, Tensor> = {
      ...this.cache.feeds(),
      input_ids: { dtype: 'int64', shape: [R, 1, D], data: ids }, input_weights: f32([R, 1, D], w),
      position: { dtype: 'int64', shape: [1], data: BigInt64Array.of(BigInt(this.pos)) },
    };
    if ((c.semantic_read_dim ?? 0) > 0) feeds.semantic_mask = f32([R, 1], Float32Array.from(items, (it, r) => (it && it.length === D && this.afterImg[r] ? 1 : 0)));
    for (const [r, it] of items.entries()) if (it) this.afterImg[r] = it.length === 1 && it[0] === this.m.tok.specials.imgStart;
    const out = await this.m.decodeSession.run(feeds);
    this.cache.write(out.new_kv.data as Float32Array, this.pos, (r) => items[r] !== null);
    this.logits = out.logits.data as Float32Array;
    this.hidden = out.hidden.data as Float32Array;
    this.pos++;
  }

  /** Prefill prompts of different lengths, right-aligned so every row's next position is the same. */
  async prefill(prompts: ArrayLike<number>[][]): Promise<void> {
    const n = Math.max(...prompts.map((p) => p.length));
    if (this.pos + n >= this.m.config.max_position_embeddings)
      throw new Error(`the prompt needs ${n} positions; the model's context is ${this.m.config.max_position_embeddings} (max_position_embeddings): shorten it`);
    for (let t = 0; t < n; t++) await this.step(prompts.map((p) => (t >= n - p.length ? p[t - (n - p.length)] : null)));
  }
}

export class UnifiedModel implements UnifiedModelApi {
  private noticeShown = false;
  private constructor(
    readonly folder: LoadedModelFolder,
    readonly config: UnifiedConfig,
    readonly tok: TextTokenizer,
    readonly codec: ImageCodec,
    readonly decodeSession: Runner,
    private depthSession: Runner | null,
    private opts: UnifiedLoadOptions,
    /** The folder's example memory (infer/memory.ts), or null. */
    readonly memory: ExampleMemory | null = null,
  ) {}

  private byExample = false;
  /** Whether drawings may be drawn by example: the memory holds codes of this model's image tokenizer. */
  get drawsByExample(): boolean {
    return this.byExample;
  }

  static async load(dir: string, opts: UnifiedLoadOptions = {}): Promise<UnifiedModel> {
    const folder = await loadModelFolder(dir);
    const c = folder.config;
    const tok = await TextTokenizer.load(folder.textTokenizerDir);
    const textVocab = c.codebook_mode === 'separate' ? c.image_token_offset : c.vocab_size;
    if (tok.vocabSize !== textVocab) throw new Error(`${dir}/tokenizer.json: ${tok.vocabSize} tokens, config.json field 'vocab_size' implies ${textVocab}`);
    const codec = opts.codec ?? (await loadImageTokenizer(folder.imageTokenizerDir, { threads: opts.threads }));
    // the image tokenizer must give the LM what config.json says it reads
    const want = [
      ['positions', 'image_positions', c.image_positions], ['depth', 'image_depth', c.image_depth],
      ['firstTokenId', 'image_first_token_id', c.image_first_token_id], ['codebookSize', 'image_codebook_size', c.image_codebook_size],
    ] as const;
    for (const [k, field, v] of want) {
      if (codec[k] === v) continue;
      const hint = k === 'positions' && codec[k] < v ? ' (a semantic encoder adds a leading position: is image-tokenizer/semantic/ missing?)' : '';
      throw new Error(`${join(dir, 'config.json')}: field '${field}' is ${v}, but the image tokenizer in ${folder.imageTokenizerDir} gives ${codec[k]}${hint}`);
    }
    const weight = (name: string, shape: number[]): Tensor => {
      const d = folder.weights.get(name);
      if (!d) throw new Error(`${dir}/model.safetensors: '${name}' is missing`);
      return f32(shape, d);
    };
    const KVH = c.num_key_value_heads, hd = headDim(c);
    const g = new Graph('decode');
    const io = {
      ids: g.input('input_ids', 'int64', ['B', 1, c.image_depth]), idWeights: g.input('input_weights', 'float32', ['B', 1, c.image_depth]),
      position: g.input('position', 'int64', [1]), pastMask: g.input('past_mask', 'float32', ['B', 1, 1, 'S']),
      pastK: Array.from({ length: c.num_hidden_layers }, (_, i) => g.input(`past_k.${i}`, 'float32', ['B', KVH, 'S', hd])),
      pastV: Array.from({ length: c.num_hidden_layers }, (_, i) => g.input(`past_v.${i}`, 'float32', ['B', KVH, 'S', hd])),
      ...((c.semantic_read_dim ?? 0) > 0 ? { semanticMask: g.input('semantic_mask', 'float32', ['B', 1]) } : {}),
    };
    const r = unifiedDecodeStep(g, c, io, weight);
    const outs: Record<string, typeof r.logits> = { logits: r.logits, hidden: r.hidden, new_kv: r.newKV };
    const open = (bytes: Uint8Array): Promise<Runner> => (opts.runtime ? opts.runtime.createSession(bytes, { threads: opts.threads }) : Session.create(bytes, { threads: opts.threads }));
    const decodeSession = await open(exportOnnx(g, outs).bytes);
    let depthSession: Runner | null = null;
    if (c.image_head === 'depth') {
      const gd = new Graph('depth');
      const baked = new Map<string, ReturnType<typeof gd.constant>>();
      const w = (name: string, shape: number[]) => baked.get(name) ?? baked.set(name, gd.constant(weight(name, shape), name)).get(name)!;
      const logits = depthHead(w, c, gd.input('ctx', 'float32', ['B', c.hidden_size]), gd.input('codes', 'int64', ['B', c.image_depth]), gd.input('step', 'int64', [1]));
      depthSession = await open(exportOnnx(gd, { logits }).bytes);
    }
    const memDir = join(dir, MEMORY_DIR);
    const memory = opts.memory !== false && existsSync(memDir) ? await ExampleMemory.load(memDir, open) : null;
    const m = new UnifiedModel(folder, c, tok, codec, decodeSession, depthSession, opts, memory);
    if (memory?.file.drawing) {
      const why = await m.cannotDrawByExample();
      if (why) opts.onNotice?.(`${memDir}: ${why}; drawings come from the LM alone (rebuild the memory with this model: tessera memory build)`);
      m.byExample = !why;
    }
    return m;
  }

  /** Why the memory's image codes cannot be drawn from by this model, or null when they can. */
  private async cannotDrawByExample(): Promise<string | null> {
    const d = this.memory!.file.drawing!, c = this.config;
    // the decompression task writes the unfolded form only where images are otherwise written by the depth head (data/tasks.ts)
    if (c.image_head !== 'depth') return `drawing by example rewrites an example in the unfolded form the decompression task trains, which a model with image_head '${c.image_head}' does not`;
    if (d.positions !== c.image_positions || d.depth !== c.image_depth) return `its examples' codes are ${d.positions} positions of ${d.depth}, the model's images ${c.image_positions} of ${c.image_depth}`;
    if (d.image_tokenizer !== (await imageTokenizerDigest(this.folder.imageTokenizerDir))) return `its examples' codes were written by another image tokenizer than ${this.folder.imageTokenizerDir}`;
    const need = this.examplePrompt(new Int32Array(d.positions * d.depth).fill(this.imageRange.lo)).length + 2 + d.positions * d.depth;
    if (need > c.max_position_embeddings) return `redrawing an example takes ${need} positions, more than the model's context of ${c.max_position_embeddings}`;
    return null;
  }

  private get imageRange(): IdRange {
    const [lo, hi] = imageIdRange(this.config);
    return { lo, hi };
  }

  /** Codec ids (P, D) of an input image, fitted to the model's size. */
  private async encodeImage(pixels: Float32Array, size: number): Promise<Int32Array> {
    const S = this.codec.imageSize;
    if (size !== S && !this.noticeShown) {
      this.opts.onNotice?.(`input image ${size}×${size} resized to ${S}×${S} (area average), as in training`);
      this.noticeShown = true;
    }
    return codecToLm(this.config, await this.codec.encode(fitSquare(pixels, size, S), 1));
  }

  /** Prompt positions for a conversation (ending with the assistant header). */
  async promptOf(turns: ChatTurn[], o: { semanticOnly?: boolean } = {}): Promise<ArrayLike<number>[]> {
    if (o.semanticOnly && (this.codec.leadingPositions ?? 0) !== 1) throw new Error(`semanticOnly: the model's image tokenizer has no semantic part (${this.folder.dir})`);
    const images: ImageSpec[] = [];
    const messages: ChatMessage[] = [];
    for (const t of turns) {
      const parts: ContentPart[] = [];
      for (const p of t.parts) {
        if (p.type === 'text') parts.push(p);
        else {
          parts.push({ type: 'image' }); // images in and out (earlier drawings too) are read as aggregated positions
          images.push({ codes: await this.encodeImage(p.pixels, p.size), form: 'aggregate', ...(o.semanticOnly ? { visible: 1 } : {}) });
        }
      }
      messages.push({ role: t.role, content: parts });
    }
    return layoutChat(this.tok, this.config, { messages, images }, false, { generationPrompt: true }).positions.map((p) => p.ids);
  }

  /**
   * Draw one image span in every row group: rows [0, n) conditional, [n, 2n) unconditional when
   * guided. `<img>` has been fed. Returns LM ids (n, P, D) and feeds `</img>` at the end.
   */
  private async drawImages(rows: Rows, n: number, guided: boolean, s: ImageSampling, rngs: Rng[], index0: number, onEvent?: (e: GenerationEvent) => void, signal?: AbortSignal): Promise<Int32Array | null> {
    const c = this.config;
    const [P, D, K] = [c.image_positions, c.image_depth, c.image_codebook_size];
    const range = this.imageRange;
    const out = new Int32Array(n * P * D);
    const prefix = s.prefix ?? [];
    for (let i = 0; i < n; i++) onEvent?.({ type: 'image-start', index: index0 + i, positions: P });
    const pick = (i: number, cond: Float32Array, uncond: Float32Array | null, rng: Rng, r: IdRange) => this.pickCode(index0 + i, cond, uncond, s, rng, r);
    const R = rows.R;
    const progress = (done: number) => this.showProgress(out, n, done, index0, onEvent);
    if (c.image_head === 'depth') {
      for (let p = 0; p < P; p++) {
        if (signal?.aborted) return null;
        const codes = new BigInt64Array(R * D).fill(BigInt(range.lo));
        for (let d = 0; d < D; d++) {
          const lg = (await this.depthSession!.run({
            ctx: f32([R, c.hidden_size], rows.hidden), codes: { dtype: 'int64', shape: [R, D], data: codes }, step: { dtype: 'int64', shape: [1], data: BigInt64Array.of(BigInt(d)) },
          })).logits.data as Float32Array; // (R, K): step d only
          for (let i = 0; i < n; i++) {
            const row = (r: number) => lg.subarray(r * K, (r + 1) * K);
            const id = p * D + d < prefix.length ? prefix[p * D + d] : range.lo + pick(i, row(i), guided ? row(n + i) : null, rngs[i], { lo: 0, hi: K });
            out[(i * P + p) * D + d] = id;
            codes[i * D + d] = BigInt(id);
            if (guided) codes[(n + i) * D + d] = BigInt(id);
          }
        }
        await rows.step(Array.from({ length: R }, (_, r) => Array.from(codes.subarray(r * D, (r + 1) * D), Number)));
        if ((p + 1) % 8 === 0 && p + 1 < P) await progress(p + 1);
      }
    } else {
      const V = c.vocab_size;
      for (let q = 0; q < P * D; q++) {
        if (signal?.aborted) return null;
        const feed: number[][] = Array.from({ length: R }, () => [0]);
        for (let i = 0; i < n; i++) {
          const row = (r: number) => rows.logits.subarray(r * V, (r + 1) * V);
          const id = q < prefix.length ? prefix[q] : pick(i, row(i), guided ? row(n + i) : null, rngs[i], range);
          out[i * P * D + q] = id;
          feed[i] = [id];
          if (guided) feed[n + i] = [id];
        }
        await rows.step(feed);
        if ((q + 1) % (8 * D) === 0 && q + 1 < P * D) await progress((q + 1) / D);
      }
    }
    await rows.step(Array.from({ length: R }, () => [this.tok.specials.imgEnd]));
    return out;
  }

  /** One image code chosen from a row's logits over range `r` (guided by `uncond` when given), as `s` says. */
  private pickCode(image: number, cond: Float32Array, uncond: Float32Array | null, s: ImageSampling, rng: Rng, r: IdRange): number {
    const opts = { temperature: s.temperature ?? 1, topK: s.topK, topP: s.topP };
    const l = uncond ? cfgCombine(cond, uncond, s.cfg ?? 3, r) : Float64Array.from(cond);
    const p = distribution(l, opts, r);
    const chosen = opts.temperature === 0 ? p.indexOf(1) : draw(p, rng);
    this.opts.onImageCode?.({ image, cond: cond.slice(r.lo, r.hi), uncond: uncond?.slice(r.lo, r.hi) ?? null, chosen: chosen - r.lo });
    return chosen;
  }

  /** 'image-progress' for n images (LM ids `out`, (n, P, D)) of which the first `done` positions are drawn; the rest shows blank. */
  private async showProgress(out: Int32Array, n: number, done: number, index0: number, onEvent?: (e: GenerationEvent) => void): Promise<void> {
    if (!onEvent) return;
    const c = this.config, [P, D] = [c.image_positions, c.image_depth];
    const partial = Int32Array.from(out);
    for (let i = 0; i < n; i++) for (let q = done * D; q < P * D; q++) partial[i * P * D + q] = this.imageRange.lo; // not drawn yet
    const px = await this.codec.decode(lmToCodec(c, partial), n);
    const S = this.codec.imageSize, g = this.codec.gridSide, cell = S / g, lead = this.codec.leadingPositions ?? 0;
    for (let i = 0; i < n; i++) {
      const img = px.slice(i * 3 * S * S, (i + 1) * 3 * S * S);
      for (let q = Math.max(done - lead, 0); q < P - lead; q++) for (let ch = 0; ch < 3; ch++) for (let y = 0; y < cell; y++) img.fill(1, (ch * S + Math.floor(q / g) * cell + y) * S + (q % g) * cell, (ch * S + Math.floor(q / g) * cell + y) * S + (q % g + 1) * cell);
      onEvent({ type: 'image-progress', index: index0 + i, done, positions: P, pixels: img, size: S });
    }
  }

  /** The prompt that asks the LM to write out an image it reads (LM ids `codes`, P·D): the decompression task. */
  private examplePrompt(codes: Int32Array): ArrayLike<number>[] {
    const messages: ChatMessage[] = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: DECOMPRESS_PROMPT }] }];
    return layoutChat(this.tok, this.config, { messages, images: [{ codes, form: 'aggregate' }] }, false, { generationPrompt: true }).positions.map((p) => p.ids);
  }

  /** The examples a drawing names, when it is to be drawn by example (ImageSampling.examples). */
  private examplesFor(prompt: string, s: ImageSampling): { label: string; entries: number[] } | null {
    return this.drawsByExample && s.examples !== false && !s.prefix ? this.memory!.examplesNamed(prompt) : null;
  }

  /**
   * Draw by example: image i is the LM's rewriting of example (seed + i) mod count of `ex`. The LM
   * reads the example's codes as aggregated positions and writes them out one code at a time (the
   * unfolded form of the decompression task it trained on), constrained to image codes, exactly P·D,
   * sampled as `s` says without guidance. Returns LM ids (n, P, D).
   */
  private async redraw(ex: { label: string; entries: number[] }, n: number, s: ImageSampling, rngs: Rng[], index0: number, onEvent?: (e: GenerationEvent) => void, signal?: AbortSignal): Promise<Int32Array | null> {
    const c = this.config, [P, D, V] = [c.image_positions, c.image_depth, c.vocab_size], range = this.imageRange;
    const k0 = s.seed ?? 0;
    const picks = Array.from({ length: n }, (_, i) => ((k0 + i) % ex.entries.length));
    for (let i = 0; i < n; i++) {
      onEvent?.({ type: 'example', index: index0 + i, label: ex.label, entry: ex.entries[picks[i]], example: picks[i] + 1, of: ex.entries.length });
      onEvent?.({ type: 'image-start', index: index0 + i, positions: P });
    }
    const rows = new Rows(this, n);
    await rows.prefill(picks.map((k) => this.examplePrompt(this.memory!.exampleCodes(ex.entries[k]))));
    await rows.step(Array.from({ length: n }, () => [this.tok.specials.imgStart]));
    const out = new Int32Array(n * P * D);
    for (let q = 0; q < P * D; q++) {
      if (signal?.aborted) return null;
      for (let i = 0; i < n; i++) out[i * P * D + q] = this.pickCode(index0 + i, rows.logits.subarray(i * V, (i + 1) * V), null, s, rngs[i], range);
      await rows.step(Array.from({ length: n }, (_, i) => [out[i * P * D + q]]));
      if ((q + 1) % (8 * D) === 0 && q + 1 < P * D) await this.showProgress(out, n, (q + 1) / D, index0, onEvent);
    }
    return out;
  }

  private async finishImages(ids: Int32Array, n: number, index0: number, onEvent?: (e: GenerationEvent) => void) {
    const c = this.config;
    const tokens = lmToCodec(c, ids);
    const px = await this.codec.decode(tokens, n);
    const S = this.codec.imageSize, per = c.image_positions * c.image_depth;
    return Array.from({ length: n }, (_, i) => {
      const r = { pixels: px.slice(i * 3 * S * S, (i + 1) * 3 * S * S), size: S, tokens: tokens.slice(i * per, (i + 1) * per) };
      onEvent?.({ type: 'image-done', index: index0 + i, ...r });
      return r;
    });
  }

  /** LM ids (P·D) of an image, fitted to the model's size: what it reads for that image, and a prefix for completion (ImageSampling.prefix). */
  async imageCodes(pixels: Float32Array, size: number): Promise<Int32Array> {
    return this.encodeImage(pixels, size);
  }

  private checkPrefix(prefix: ArrayLike<number> | undefined): void {
    if (!prefix) return;
    const c = this.config, [P, D] = [c.image_positions, c.image_depth], { lo, hi } = this.imageRange;
    if (prefix.length % D !== 0 || prefix.length > P * D) throw new Error(`image prefix: ${prefix.length} codes is not a whole number of positions (${D} codes each) of at most ${P}`);
    for (let i = 0; i < prefix.length; i++)
      if (!(Number.isInteger(prefix[i]) && prefix[i] >= lo && prefix[i] < hi)) throw new Error(`image prefix: code ${i} is ${prefix[i]}, not an image id in [${lo}, ${hi})`);
  }

  /** The prompt of the unconditional stream: an empty user turn. */
  private async unconditional(): Promise<ArrayLike<number>[]> {
    return this.promptOf([{ role: 'user', parts: [] }]);
  }

  async generateImages(prompt: string, n: number, s: ImageSampling = {}, onEvent?: (e: GenerationEvent) => void, signal?: AbortSignal) {
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`generateImages: n must be an integer ≥ 1, got ${n}`);
    this.checkPrefix(s.prefix);
    const guided = (s.cfg ?? 3) !== 1;
    const cond = await this.promptOf([{ role: 'user', parts: [{ type: 'text', text: prompt }] }]);
    const uncond = guided ? await this.unconditional() : null;
    const c = this.config;
    const span = 2 + (c.image_head === 'depth' ? c.image_positions : c.image_positions * c.image_depth);
    if (cond.length + span > c.max_position_embeddings)
      throw new Error(`generateImages: the prompt takes ${cond.length} positions and the image ${span}; the model's context is ${c.max_position_embeddings} (max_position_embeddings): shorten the prompt`);
    const seed = s.seed ?? 0;
    const rngs = Array.from({ length: n }, (_, i) => new Rng(seed + i * 7919));
    const ex = this.examplesFor(prompt, s);
    const ids = ex ? await this.redraw(ex, n, s, rngs, 0, onEvent, signal) : await this.drawFromPrompt(cond, uncond, n, s, rngs, onEvent, signal);
    if (!ids) {
      onEvent?.({ type: 'done', reason: 'aborted' });
      return [];
    }
    const out = await this.finishImages(ids, n, 0, onEvent);
    onEvent?.({ type: 'done', reason: 'eos' });
    return out;
  }

  /** n images drawn from the prompt `cond` (guided against `uncond` when given): LM ids (n, P, D). */
  private async drawFromPrompt(cond: ArrayLike<number>[], uncond: ArrayLike<number>[] | null, n: number, s: ImageSampling, rngs: Rng[], onEvent?: (e: GenerationEvent) => void, signal?: AbortSignal): Promise<Int32Array | null> {
    const rows = new Rows(this, uncond ? 2 * n : n);
    await rows.prefill([...Array(n).fill(cond), ...(uncond ? Array(n).fill(uncond) : [])]);
    await rows.step(Array.from({ length: rows.R }, () => [this.tok.specials.imgStart]));
    return this.drawImages(rows, n, uncond !== null, s, rngs, 0, onEvent, signal);
  }

  /** The turns with every image replaced by view `v` of it (jitteredView). */
  private viewOf(turns: ChatTurn[], v: number): ChatTurn[] {
    const S = this.codec.imageSize;
    let k = 0;
    return turns.map((t) => ({ ...t, parts: t.parts.map((p) => (p.type === 'image' ? { type: 'image' as const, pixels: jitteredView(fitSquare(p.pixels, p.size, S), S, v, k++), size: S } : p)) }));
  }

  /** The prompts of `views` views of the turns: the turns themselves, then jittered copies. */
  private async viewPrompts(turns: ChatTurn[], views: number, semanticOnly = false): Promise<ArrayLike<number>[][]> {
    if (!Number.isInteger(views) || views < 1) throw new Error(`views must be a whole number ≥ 1, got ${views}`);
    return Promise.all(Array.from({ length: views }, (_, v) => this.promptOf(v === 0 ? turns : this.viewOf(turns, v), { semanticOnly })));
  }

  async chat(turns: ChatTurn[], s: TextSampling & { image?: ImageSampling; textOnly?: boolean }, onEvent: (e: GenerationEvent) => void, signal?: AbortSignal): Promise<void> {
    const img: ImageSampling = { ...s.image, prefix: undefined }; // completion is generateImages's
    const views = s.views ?? 1;
    if (views > 1 && !s.textOnly) throw new Error('views (answers read from several jittered views of the images) apply to text-only answers');
    const guided = !s.textOnly && (img.cfg ?? 3) !== 1;
    const prompts = await this.viewPrompts(turns, views, s.semanticOnly);
    const rows = new Rows(this, guided ? 2 : views);
    await rows.prefill(guided ? [prompts[0], await this.unconditional()] : prompts);
    const rng = new Rng(s.seed ?? 0);
    const irng = [new Rng((img.seed ?? s.seed ?? 0) + 1)];
    const V = this.config.vocab_size;
    const max = s.maxNewTokens ?? 128;
    const textIds: number[] = [];
    let shown = '';
    let images = 0;
    const textOpts = { temperature: s.temperature ?? 0, topK: s.topK, topP: s.topP, repetitionPenalty: s.repetitionPenalty };
    const recalled = await this.recall(turns, s.memory, onEvent);
    const last = turns.at(-1), asked = last?.role === 'user' ? last.parts.map((p) => (p.type === 'text' ? p.text : '')).join(' ') : '';
    const [lo, hi] = imageIdRange(this.config);
    for (let k = 0; k < max; k++) {
      if (signal?.aborted) return onEvent({ type: 'done', reason: 'aborted' });
      // text may not start with an image code in 'separate' mode; in unified mode codes are text ids too
      const logits = views > 1 ? meanLogSoftmax(rows.logits, views, V) : rows.logits.slice(0, V);
      if (this.config.codebook_mode === 'separate') logits.fill(-Infinity, lo, hi);
      if (s.textOnly) logits[this.tok.specials.imgStart] = -Infinity;
      const pMemory = recalled && memoryNextToken(recalled.answers, textIds);
      const id = sampleToken(pMemory ? Float32Array.from(mixMemory(logSoftmax(logits), pMemory, recalled.lambda)) : logits, textOpts, rng, textIds);
      // <|end|>/<|eos|> end the turn; so does any other role marker or <|bos|> (a new turn would start)
      const sp = this.tok.specials;
      if ([...this.tok.stopIds, sp.user, sp.system, sp.assistant, sp.bos, sp.pad].includes(id)) return onEvent({ type: 'done', reason: 'eos' });
      if (id === this.tok.specials.imgStart) {
        await rows.step(Array.from({ length: rows.R }, () => [id]));
        const ex = this.examplesFor(asked, img);
        const ids = ex ? await this.redraw(ex, 1, { ...img, seed: (img.seed ?? s.seed ?? 0) + images }, irng, images, onEvent, signal) : await this.drawImages(rows, 1, guided, img, irng, images, onEvent, signal);
        if (!ids) return onEvent({ type: 'done', reason: 'aborted' });
        if (ex) {
          // the conversation reads the drawing as it reads any image: aggregated positions, then </img>
          const D = this.config.image_depth;
          for (let p = 0; p < this.config.image_positions; p++) await rows.step(Array.from({ length: rows.R }, () => ids.subarray(p * D, (p + 1) * D)));
          await rows.step(Array.from({ length: rows.R }, () => [this.tok.specials.imgEnd]));
        }
        await this.finishImages(ids, 1, images++, onEvent);
        continue;
      }
      textIds.push(id);
      const text = this.tok.decode(textIds);
      if (!text.endsWith('\ufffd')) {
        onEvent({ type: 'text', delta: text.slice(shown.length) });
        shown = text;
      }
      await rows.step(guided ? [[id], null] : Array.from({ length: views }, () => [id]));
    }
    onEvent({ type: 'done', reason: 'length' });
  }

  /**
   * The memory's candidate answers when the conversation's last turn asks a question the memory knows
   * about exactly one image: its nearest examples' answer tokens (through the stop token) with their
   * weights, and λ. Null when the memory is off, absent, or does not apply.
   */
  private async recall(turns: ChatTurn[], want: TextSampling['memory'], onEvent: (e: GenerationEvent) => void): Promise<{ answers: { ids: number[]; weight: number }[]; lambda: number } | null> {
    const mem = this.memory, last = turns.at(-1);
    if (!mem || want === false || last?.role !== 'user') return null;
    const images = last.parts.filter((p) => p.type === 'image');
    const question = last.parts.map((p) => (p.type === 'text' ? p.text : '')).join(' ');
    const field = mem.fieldFor(question);
    if (images.length !== 1 || !field) return null;
    const mix: MemoryMix = { ...mem.mix, ...(typeof want === 'object' ? want : {}) };
    const img = images[0];
    const px = fitSquare(img.pixels, img.size, mem.imageSize);
    const f = await mem.embed(px, 1);
    const answers: { ids: number[]; weight: number }[] = [];
    const examples: { answer: string; similarity: number; weight: number }[] = [];
    const idsOf = new Map<string, number[]>(); // neighbours often share an answer (one emoji in several styles)
    for (const nb of mem.weigh(mem.neighbours(f, mix), field, px)) {
      const text = mem.answer(field, nb.entry);
      if (!text) continue;
      if (!idsOf.has(text)) idsOf.set(text, answerIds(this.tok, question.trim(), text));
      answers.push({ ids: idsOf.get(text)!, weight: nb.weight });
      examples.push({ answer: text, similarity: nb.similarity, weight: nb.weight });
    }
    if (answers.length === 0) return null;
    onEvent({ type: 'memory', examples, lambda: mix.lambda });
    return { answers, lambda: mix.lambda };
  }

  async caption(pixels: Float32Array, size: number, o: { views?: number; memory?: TextSampling['memory'] } = {}): Promise<string> {
    let text = '';
    await this.chat([{ role: 'user', parts: [{ type: 'image', pixels, size }, { type: 'text', text: 'What is this?' }] }], { temperature: 0, maxNewTokens: 48, image: { cfg: 1 }, textOnly: true, views: o.views, memory: o.memory }, (e) => {
      if (e.type === 'text') text += e.delta;
    });
    return text.trim();
  }

  /**
   * Closed-set captioning: the `top` labels of `set` the model most likely answers for this image,
   * with their log-probabilities, by a beam search (width `beam`, default 8, at least `top`) over the
   * labels' answer trie. Exact for every label the beam keeps; a label pruned early is not ranked;
   * a beam as wide as the list scores every label. With `views` > 1, the score of each answer token
   * is its log-probability averaged over the views (TextSampling.views).
   */
  async rankLabels(pixels: Float32Array, size: number, set: LabelSet, o: { top?: number; beam?: number; views?: number; semanticOnly?: boolean } = {}): Promise<RankedLabel[]> {
    const top = o.top ?? 5, beam = Math.max(o.beam ?? 8, top), views = o.views ?? 1;
    // each hypothesis h holds rows h·views … h·views + views − 1, one per view
    const prompts = await this.viewPrompts([{ role: 'user', parts: [{ type: 'image', pixels, size }, { type: 'text', text: set.question }] }], views, o.semanticOnly);
    let rows = new Rows(this, views);
    await rows.prefill(prompts);
    const V = this.config.vocab_size;
    let live: Hypothesis[] = [{ score: 0, node: set.root }];
    const done: { label: number; score: number }[] = [];
    for (;;) {
      const lps = live.map((_, h) => (views > 1 ? meanLogSoftmax(rows.logits.subarray(h * views * V, (h + 1) * views * V), views, V) : logSoftmax(rows.logits.subarray(h * V, (h + 1) * V))));
      const { next, done: ended } = beamStep(live, (r) => lps[r], beam);
      done.push(...ended);
      done.sort((a, b) => b.score - a.score);
      // scores only fall as answers grow: stop once `top` answers are complete and none alive can
      // pass them (an exhaustive search, beam ≥ labels, completes every answer instead)
      if (next.length === 0 || (beam < set.labels.length && done.length >= top && next[0].score <= done[top - 1].score)) break;
      rows = rows.fork(next.flatMap((h) => Array.from({ length: views }, (_, v) => h.row * views + v)));
      await rows.step(next.flatMap((h) => Array.from({ length: views }, () => [h.id])));
      live = next;
    }
    const total = done.reduce((a, d) => a + Math.exp(d.score - done[0].score), 0);
    return done.slice(0, top).map((d) => ({ label: set.labels[d.label], logprob: d.score, share: Math.exp(d.score - done[0].score) / total }));
  }

  async release(): Promise<void> {
    await Promise.all([this.decodeSession.release(), this.depthSession?.release(), this.opts.codec ? null : this.codec.release(), this.memory?.release()]);
  }
}

export const loadUnifiedModel = (dir: string, opts: UnifiedLoadOptions = {}) => UnifiedModel.load(dir, opts);
