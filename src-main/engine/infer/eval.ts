// Held-out evaluation of a unified model folder on an imagefolder split (the facebook style = test):
//   caption_exact (generated label = true label after case/space normalisation) and caption_f1
//   (token F1), category_acc, yesno_acc (balanced "Is this a …?"), text_ppl (answer tokens) and
//   image_code_nll (nats per code, text-to-image) from the training graph's losses, and optionally
//   generation: t2i_top1/top5 (retrieval of the generated image among real images of every emoji in
//   every style with a fixed feature extractor: 16×16 area-averaged RGB, mean-removed, cosine),
//   image_tokens_per_s and ms_per_image; t2i_real_top1/top5: the same retrieval for a real image of
//   each drawn label from the evaluated split, itself left out of the gallery (what a drawing as good
//   as a real image in that style would score). For scale, baseline_nn_caption_exact/category_acc: the
//   label of each image's nearest training image under that same feature, no model involved.
//   With a memory that draws by example (infer/memory.ts): t2i_memory_top1/top5, the same labels
//   drawn by example, and t2i_memory_unseen_top1/top5, retrieved with the example's own image left
//   out of the gallery (a drawing that only copies its example scores there like a real image of
//   another style); ms_per_image_memory, and t2i_memory_drawn_by_example, the share of labels the
//   memory held examples of.
//   caption_exact_plain / _skin_tone (/ _skin_tone_base / _skin_tone_tones): the exact captions split
//   by whether the label names skin tones, the same for the reference.
//   caption_closed_top1/top5: the true label among the model's 1 or 5 most likely answers out of
//   every label of the data (all splits: the list of emoji names), by rankLabels' trie beam search.
import { loadImageFolder, readMetadata, type LoadedImageFolder, type MetadataRow } from '../data/imagefolder.ts';
import { CATEGORY_PROMPT, collate, layoutChat, TaskStream } from '../data/tasks.ts';
import { Graph, type Tensor } from '../graph/graph.ts';
import { exportOnnx } from '../graph/onnx.ts';
import { codecToLm, declareBatchInputs, unifiedLoss } from '../models/unicode.ts';
import { Session } from '../runtime/session.ts';
import { LabelSet } from './labels.ts';
import { builtFrom, embedImages, exampleShares } from './memory.ts';
import { readFeatureEncoder } from './memory-build.ts';
import type { ImageSampling } from './types.ts';
import { type UnifiedModel } from './unified.ts';
import { fitSquare } from './views.ts';

export const normalise = (s: string) => s.toLowerCase().replace(/[.!?]+$/, '').replace(/\s+/g, ' ').trim();
const words = (s: string) => normalise(s).split(/[^a-z0-9]+/).filter(Boolean);

export function tokenF1(pred: string, ref: string): number {
  const [p, r] = [words(pred), words(ref)];
  if (!p.length || !r.length) return p.length === r.length ? 1 : 0;
  const left = [...r];
  let common = 0;
  for (const w of p) {
    const i = left.indexOf(w);
    if (i >= 0) {
      common++;
      left.splice(i, 1);
    }
  }
  if (common === 0) return 0;
  const [prec, rec] = [common / p.length, common / r.length];
  return (2 * prec * rec) / (prec + rec);
}

const TONE = /,?\s*\b(medium-light|medium-dark|light|medium|dark) skin tone\b/g;

/** A label's skin tones in order ("" when it names none) and its name without them. */
export function splitSkinTones(label: string): { base: string; tones: string } {
  const n = normalise(label);
  return { base: n.replace(TONE, '').replace(/[:,]\s*$/, '').trim(), tones: [...n.matchAll(TONE)].map((m) => m[1]).join(',') };
}

/**
 * Exact captions split by whether the true label names skin tones (about half of the emoji set's
 * held-out rows are skin-tone variants of a base emoji): `<prefix>_plain` and `<prefix>_skin_tone`,
 * and for the skin-tone rows how often the base name and the tones alone were right. Nothing when
 * no true label names a skin tone (other datasets).
 */
export function skinToneBreakdown(prefix: string, pairs: { pred: string; truth: string }[]): Record<string, number> {
  const t = { plain: 0, plainN: 0, tone: 0, toneN: 0, base: 0, tones: 0 };
  for (const { pred, truth } of pairs) {
    const [p, r] = [splitSkinTones(pred), splitSkinTones(truth)];
    const exact = normalise(pred) === normalise(truth) ? 1 : 0;
    if (!r.tones) [t.plain, t.plainN] = [t.plain + exact, t.plainN + 1];
    else [t.tone, t.toneN, t.base, t.tones] = [t.tone + exact, t.toneN + 1, t.base + (p.base === r.base ? 1 : 0), t.tones + (p.tones === r.tones ? 1 : 0)];
  }
  if (t.toneN === 0) return {};
  return {
    [`${prefix}_plain`]: t.plainN ? t.plain / t.plainN : NaN,
    [`${prefix}_skin_tone`]: t.tone / t.toneN,
    [`${prefix}_skin_tone_base`]: t.base / t.toneN,
    [`${prefix}_skin_tone_tones`]: t.tones / t.toneN,
    skin_tone_share: t.toneN / pairs.length,
  };
}

/** The fixed retrieval feature: 16×16 area average, mean removed, unit length.   (3, S, S) → (768) */
export function retrievalFeature(px: Float32Array, size: number): Float32Array {
  const f = fitSquare(px, size, 16);
  const mean = f.reduce((a, b) => a + b, 0) / f.length;
  let n = 0;
  for (let i = 0; i < f.length; i++) n += (f[i] -= mean) ** 2;
  n = Math.sqrt(n) || 1;
  return f.map((x) => x / n);
}

export interface EvalOptions {
  dataDir: string;
  split: string;
  /** Rows used for the question metrics (evenly spaced over the split). */
  limit: number;
  /** Labels drawn for the generation metrics (0 = skip). */
  generate: number;
  batch?: number;
  /** Sampling of the drawn images (default cfg 3, temperature 1, top-k 100, as `tessera generate`). */
  sampling?: Pick<ImageSampling, 'cfg' | 'temperature' | 'topK' | 'topP'>;
  /** Answers read from this many views of each image (TextSampling.views; default 1). */
  views?: number;
  /** Read each image by its semantic position alone (TextSampling.semanticOnly) for the answers. */
  semanticOnly?: boolean;
  /** Also rank every label of the data for each image (closed-set captions, top-1 and top-5); default true. */
  closedSet?: boolean;
  /**
   * With a model folder's example memory (infer/memory.ts): also the caption and category figures
   * with the memory (`*_memory`) and the memory's own vote (`memory_nn_*`); default true. The
   * headline figures are always the LM's alone. Skipped (memory_skipped_leak 1) when the memory was
   * built from the evaluated split; `memory_seen` is the share of evaluated images that are one of
   * the memory's examples (feature cosine ≥ 0.999: a copy evaluated under another folder or split).
   */
  memory?: boolean;
  /** A semantic encoder folder or memory folder whose features also judge the drawings
   *  (t2i_judge_top1/top5, t2i_judge_real_top1/top5), beside the pixel feature's. */
  judge?: string;
  judgeThreads?: number;
  /** The split whose images the pixel nearest-neighbour reference matches against (default 'train'). */
  baselineSplit?: string;
  onProgress?(what: string, done: number, total: number): void;
}

/** Cosine similarity above which an evaluated image counts as one of the memory's own examples (the
 *  default model's memory: an example against its own stored F16 feature ≥ 0.99992, two different
 *  training images ≤ 0.9971, held-out facebook images ≤ 0.96). */
const SAME_IMAGE = 0.999;

export async function evaluateModel(m: UnifiedModel, o: EvalOptions): Promise<Record<string, number>> {
  const folder = await loadImageFolder(o.dataDir, { split: o.split, size: m.codec.imageSize });
  if (folder.rows.length === 0) throw new Error(`${o.dataDir}: split '${o.split}' has no rows`);
  // the judge is opened first: a folder that cannot judge fails before the long parts run
  const judge = o.generate > 0 && o.judge ? await semanticSpace(o.judge, o.judgeThreads) : null;
  try {
    return await evaluateWith(m, o, folder, judge);
  } finally {
    await judge?.release();
  }
}

async function evaluateWith(m: UnifiedModel, o: EvalOptions, folder: LoadedImageFolder, judge: FeatureSpace | null): Promise<Record<string, number>> {
  const c = m.config;
  const S = m.codec.imageSize;
  const rows = folder.rows, N = rows.length, per = 3 * S * S;
  const pick = Array.from({ length: Math.min(o.limit, N) }, (_, i) => Math.floor((i * N) / Math.min(o.limit, N)));
  const out: Record<string, number> = { images: pick.length, answer_views: o.views ?? 1, ...(o.semanticOnly ? { answers_semantic_only: 1 } : {}) };
  const imageAt = (i: number) => folder.images.subarray(i * per, (i + 1) * per);

  // answers by greedy generation
  let exact = 0, f1 = 0, cat = 0, catN = 0, yes = 0;
  const captions: { pred: string; truth: string }[] = [];
  const labels = [...new Set(rows.map((r) => r.text))];
  /** The answer, and with the memory the examples it leaned on (most similar first). */
  const answer = async (i: number, q: string, memory: boolean) => {
    let text = '';
    let examples: { answer: string; similarity: number; weight: number }[] = [];
    await m.chat([{ role: 'user', parts: [{ type: 'image', pixels: imageAt(i), size: S }, { type: 'text', text: q }] }], { temperature: 0, maxNewTokens: 40, image: { cfg: 1 }, textOnly: true, views: o.views, semanticOnly: o.semanticOnly, memory }, (e) => {
      if (e.type === 'text') text += e.delta;
      else if (e.type === 'memory') examples = e.examples;
    });
    return { text: text.trim(), examples };
  };
  const ask = async (i: number, q: string) => (await answer(i, q, false)).text;
  // the memory alone: the answer its neighbours' weights favour
  const vote = (examples: { answer: string; weight: number }[]) => exampleShares(examples.map((x) => ({ answer: normalise(x.answer), weight: x.weight })), 1)[0]?.answer ?? '';
  const mem = o.memory === false ? null : m.memory;
  const leaked = mem !== null && builtFrom(mem, o.split, rows);
  const withMemory = mem !== null && !leaked;
  let mExact = 0, mF1 = 0, mCat = 0, nnExact = 0, nnCat = 0, seen = 0;
  const mCaptions: { pred: string; truth: string }[] = [];
  for (const [k, i] of pick.entries()) {
    const r = rows[i];
    const cap = await ask(i, 'What is this?');
    exact += normalise(cap) === normalise(r.text) ? 1 : 0;
    captions.push({ pred: cap, truth: r.text });
    f1 += tokenF1(cap, r.text);
    if (r.category) {
      catN++;
      cat += normalise(await ask(i, CATEGORY_PROMPT)) === normalise(r.category) ? 1 : 0;
    }
    const other = labels[(i * 7 + 3) % labels.length];
    const truth = k % 2 === 0 || other === r.text;
    const asked = truth ? r.text : other;
    yes += normalise(await ask(i, `Is this ${/^[aeiou]/i.test(asked) ? 'an' : 'a'} ${asked}?`)) === (truth ? 'yes' : 'no') ? 1 : 0;
    if (withMemory) {
      const mc = await answer(i, 'What is this?', true);
      mExact += normalise(mc.text) === normalise(r.text) ? 1 : 0;
      mF1 += tokenF1(mc.text, r.text);
      mCaptions.push({ pred: mc.text, truth: r.text });
      nnExact += vote(mc.examples) === normalise(r.text) ? 1 : 0;
      seen += mc.examples[0]?.similarity >= SAME_IMAGE ? 1 : 0;
      if (r.category) {
        const mk = await answer(i, CATEGORY_PROMPT, true);
        mCat += normalise(mk.text) === normalise(r.category) ? 1 : 0;
        nnCat += vote(mk.examples) === normalise(r.category) ? 1 : 0;
      }
    }
    o.onProgress?.('questions', k + 1, pick.length);
  }
  Object.assign(out, { caption_exact: exact / pick.length, caption_f1: f1 / pick.length, category_acc: catN ? cat / catN : NaN, yesno_acc: yes / pick.length }, skinToneBreakdown('caption_exact', captions));
  if (leaked) out.memory_skipped_leak = 1;
  if (withMemory)
    Object.assign(out, {
      caption_exact_memory: mExact / pick.length, caption_f1_memory: mF1 / pick.length, category_acc_memory: catN ? mCat / catN : NaN,
      memory_nn_caption_exact: nnExact / pick.length, memory_nn_category_acc: catN ? nnCat / catN : NaN, memory_seen: seen / pick.length,
      memory_entries: mem.entries, memory_k: mem.mix.k, memory_tau: mem.mix.tau, memory_lambda: mem.mix.lambda,
      ...(mem.variants ? { memory_variant_classes: mem.variants.config.classes.length, memory_variant_alpha: mem.variants.config.alpha } : {}),
    }, skinToneBreakdown('caption_exact_memory', mCaptions));

  // closed-set captions: the model's most likely answers among every label of the data (all splits)
  if (o.closedSet ?? true) {
    const set = LabelSet.build(m.tok, (await readMetadata(o.dataDir)).map(({ row }) => row.text));
    let top1 = 0, top5 = 0;
    for (const [k, i] of pick.entries()) {
      const ranked = await m.rankLabels(imageAt(i), S, set, { top: 5, views: o.views, semanticOnly: o.semanticOnly });
      const truth = normalise(rows[i].text);
      top1 += ranked.length > 0 && normalise(ranked[0].label) === truth ? 1 : 0;
      top5 += ranked.some((r) => normalise(r.label) === truth) ? 1 : 0;
      o.onProgress?.('closed-set captions', k + 1, pick.length);
    }
    Object.assign(out, { caption_closed_top1: top1 / pick.length, caption_closed_top5: top5 / pick.length, closed_set_labels: set.labels.length });
  }

  Object.assign(out, await pixelBaseline(o, rows, pick, folder.images, S));

  // losses on held-out sequences of the evaluated rows: answer-token perplexity and image-code NLL
  // (text-to-image); only those rows' images are encoded, so a small --limit stays quick
  const picked = new Float32Array(pick.length * per);
  pick.forEach((i, k) => picked.set(imageAt(i), k * per));
  const codes = codecToLm(c, await encodeAll(m, picked, pick.length));
  const P = c.image_positions * c.image_depth;
  const lossOf = async (mix: Record<string, number>) => {
    const g = new Graph('eval');
    const r = unifiedLoss(g, c, declareBatchInputs(g, c));
    const s = await Session.create(exportOnnx(g, { text_loss: r.metrics.text_loss, image_loss: r.metrics.image_loss, text_count: r.metrics.text_count, image_count: r.metrics.image_count }).bytes, { threads: 2 });
    const ws: Record<string, Tensor> = {};
    for (const [n, d] of m.folder.weights) ws[n] = { dtype: 'float32', shape: g.params.get(n)!.value.shape as number[], data: d };
    const stream = new TaskStream(pick.map((i) => rows[i]), (k) => codes.subarray(k * P, (k + 1) * P), { stage: 'stage2', cfgDropout: 0, outputForm: c.image_head === 'depth' ? 'aggregate' : 'unfolded', seed: 777, mix });
    let [tl, tc, il, ic] = [0, 0, 0, 0];
    for (let b = 0; b < Math.ceil(pick.length / (o.batch ?? 16)); b++) {
      const feeds = collate(c, stream.nextBatch(o.batch ?? 16).map((e) => layoutChat(m.tok, c, e, true)), m.tok.specials.pad);
      const res = await s.run({ ...ws, ...feeds });
      const v = (k: string) => (res[k].data as Float32Array)[0];
      [tl, tc, il, ic] = [tl + v('text_loss') * v('text_count'), tc + v('text_count'), il + v('image_loss') * v('image_count'), ic + v('image_count')];
    }
    await s.release();
    return { text: tc ? tl / tc : NaN, image: ic ? il / ic : NaN };
  };
  out.text_ppl = Math.exp((await lossOf({ caption: 0.5, question: 0.5 })).text);
  out.image_code_nll = (await lossOf({ t2i: 1 })).image;

  if (o.generate > 0) Object.assign(out, await generationMetrics(m, o, rows, judge, withMemory));
  return out;
}

/**
 * A reference without any model: the label and category of each evaluated image's nearest
 * neighbour (the retrieval feature, cosine) among the reference split's images — how far plain
 * pixel matching across styles gets. Absent when the data has no such split.
 */
export async function pixelBaseline(o: Pick<EvalOptions, 'dataDir' | 'split' | 'baselineSplit'>, rows: MetadataRow[], pick: number[], images: Float32Array, S: number): Promise<Record<string, number>> {
  const split = o.baselineSplit ?? 'train';
  if (split === o.split) return {};
  const ref = await featuresOf(o.dataDir, split);
  if (!ref) return {};
  const G = ref.feats;
  let exact = 0, cat = 0, catN = 0;
  const pairs: { pred: string; truth: string }[] = [];
  for (const i of pick) {
    const q = retrievalFeature(images.subarray(i * 3 * S * S, (i + 1) * 3 * S * S), S);
    let best = -Infinity, at = 0;
    G.forEach((g, j) => {
      let d = 0;
      for (let k = 0; k < 768; k++) d += g[k] * q[k];
      if (d > best) [best, at] = [d, j];
    });
    exact += normalise(ref.rows[at].text) === normalise(rows[i].text) ? 1 : 0;
    pairs.push({ pred: ref.rows[at].text, truth: rows[i].text });
    if (rows[i].category) {
      catN++;
      cat += ref.rows[at].category === rows[i].category ? 1 : 0;
    }
  }
  return { baseline_nn_caption_exact: exact / pick.length, baseline_nn_category_acc: catN ? cat / catN : NaN, ...skinToneBreakdown('baseline_nn_caption_exact', pairs) };
}


async function encodeAll(m: UnifiedModel, images: Float32Array, n: number): Promise<Int32Array> {
  const S = m.codec.imageSize, per = 3 * S * S, P = m.config.image_positions * m.config.image_depth;
  const codes = new Int32Array(n * P);
  for (let s = 0; s < n; s += 64) {
    const k = Math.min(64, n - s);
    codes.set(await m.codec.encode(images.subarray(s * per, (s + k) * per), k), s * P);
  }
  return codes;
}

interface GalleryEntry {
  label: string;
  split: string;
  /** Its row in the split. */
  row: number;
  f: Float32Array;
}

/** A fixed feature extractor for retrieval: images of `size` px in, one feature each. */
interface FeatureSpace {
  size: number;
  embed(images: Float32Array, n: number): Promise<Float32Array[]>;
}

/** The 16×16 mean-removed RGB feature (retrievalFeature). */
const pixelSpace: FeatureSpace = {
  size: 16,
  embed: async (images, n) => Array.from({ length: n }, (_, i) => retrievalFeature(images.subarray(i * 768, (i + 1) * 768), 16)),
};

/** Unit features of a semantic encoder (a semantic encoder folder or a memory folder): a judge that
 *  knows emoji across styles, fixed for the evaluation. */
async function semanticSpace(dir: string, threads?: number): Promise<FeatureSpace & { release(): Promise<void> }> {
  const { onnx, config } = await readFeatureEncoder(dir);
  const s = await Session.create(onnx, { threads });
  const E = config.embed_dim;
  return {
    size: config.image_size,
    async embed(images, n) {
      const f = await embedImages(s, config, images, n);
      return Array.from({ length: n }, (_, j) => f.subarray(j * E, (j + 1) * E));
    },
    release: () => s.release(),
  };
}

/** A split's images as features of `space` (default the 16×16 pixel feature), or null when the data has no such split. */
async function featuresOf(dataDir: string, split: string, space: FeatureSpace = pixelSpace): Promise<{ rows: MetadataRow[]; feats: Float32Array[] } | null> {
  const f = await loadImageFolder(dataDir, { split, size: space.size }).catch(() => null);
  return f && { rows: f.rows, feats: await space.embed(f.images, f.rows.length) };
}

/** The retrieval gallery of text-to-image: every image of every split (every emoji in every style;
 *  `also`: a further split, the evaluated one), as features of `space`. */
async function retrievalGallery(dataDir: string, also?: string, space: FeatureSpace = pixelSpace): Promise<GalleryEntry[]> {
  const gallery: GalleryEntry[] = [];
  for (const split of new Set(['train', 'validation', 'test', ...(also ? [also] : [])])) {
    const f = await featuresOf(dataDir, split, space);
    f?.rows.forEach((r, i) => gallery.push({ label: r.text, split, row: i, f: f.feats[i] }));
  }
  return gallery;
}

/** Whether feature `q` retrieves `label` first and among the first five of the gallery (`skip`: an entry left out). */
function retrieves(gallery: GalleryEntry[], q: Float32Array, label: string, skip?: GalleryEntry): { top1: boolean; top5: boolean } {
  const ranked = gallery.filter((g) => g !== skip).map((g) => ({ label: g.label, s: g.f.reduce((a, x, j) => a + x * q[j], 0) })).sort((a, b) => b.s - a.s);
  return { top1: ranked[0].label === label, top5: ranked.slice(0, 5).some((r) => r.label === label) };
}

/** How `eval lm` draws unless told otherwise: as `tessera generate` does. */
const DRAW_SAMPLING = { cfg: 3, temperature: 1, topK: 100 };

const drawPrompt = (label: string) => `Draw ${/^[aeiou]/i.test(label) ? 'an' : 'a'} ${label}.`;

/** The gallery entry of memory entry `entry`'s image (its split, row and label), or undefined when the gallery does not hold it. */
function exampleInGallery(m: UnifiedModel, gallery: GalleryEntry[], entry: number): GalleryEntry | undefined {
  const src = m.memory!.file.source;
  let at = entry;
  for (const part of src.parts ?? [{ split: src.split, rows: src.rows }]) {
    if (at < part.rows) {
      const label = m.memory!.answer('label', entry).trim();
      return gallery.find((g) => g.split === part.split && g.row === at && g.label.trim() === label);
    }
    at -= part.rows;
  }
  return undefined;
}

/**
 * Text-to-image figures; `judge` (its owner releases it) also retrieves the drawings. The headline
 * figures are the LM's alone; with `byExample` (a memory that draws, not built from the evaluated
 * split) the same labels are drawn again by example (`*_memory_*`), and retrieved a second time
 * with the example's own image left out of the gallery (`*_memory_unseen_*`): whether the drawing
 * is the emoji, not only a copy of the example.
 */
async function generationMetrics(m: UnifiedModel, o: EvalOptions, testRows: MetadataRow[], judge: FeatureSpace | null, memory: boolean) {
  const spaces: { prefix: string; space: FeatureSpace }[] = [{ prefix: 't2i', space: pixelSpace }, ...(judge ? [{ prefix: 't2i_judge', space: judge }] : [])];
  const labels = [...new Set(testRows.map((r) => r.text))];
  const chosen = Array.from({ length: Math.min(o.generate, labels.length) }, (_, i) => labels[Math.floor((i * labels.length) / Math.min(o.generate, labels.length))]);
  const sampling = { ...DRAW_SAMPLING, ...o.sampling };
  const figures: Record<string, number> = {};
  const galleries = [];
  for (const { space } of spaces) galleries.push(await retrievalGallery(o.dataDir, o.split, space));
  const byExample = memory && m.drawsByExample;
  let ms = 0, msExample = 0, drawnByExample = 0;
  for (const pass of byExample ? ['', '_memory'] : ['']) {
    const hits = spaces.map(() => ({ top1: 0, top5: 0, real1: 0, real5: 0, realN: 0, unseen1: 0, unseen5: 0 }));
    for (const [k, label] of chosen.entries()) {
      const t0 = performance.now();
      let example: number | null = null;
      const [img] = await m.generateImages(drawPrompt(label), 1, { ...sampling, seed: k, examples: pass !== '' }, (e) => e.type === 'example' && (example = e.entry));
      if (pass) [msExample, drawnByExample] = [msExample + performance.now() - t0, drawnByExample + (example === null ? 0 : 1)];
      else ms += performance.now() - t0;
      for (const [j, { space }] of spaces.entries()) {
        const [q] = await space.embed(fitSquare(img.pixels, img.size, space.size), 1);
        const r = retrieves(galleries[j], q, label), h = hits[j];
        h.top1 += r.top1 ? 1 : 0;
        h.top5 += r.top5 ? 1 : 0;
        if (pass) {
          const u = example === null ? r : retrieves(galleries[j], q, label, exampleInGallery(m, galleries[j], example));
          h.unseen1 += u.top1 ? 1 : 0;
          h.unseen5 += u.top5 ? 1 : 0;
          continue;
        }
        // the ceiling: a real image of the label in the evaluated style, not in the gallery itself
        const real = galleries[j].find((g) => g.split === o.split && g.label === label);
        if (real) {
          const c = retrieves(galleries[j], real.f, label, real);
          h.realN++;
          h.real1 += c.top1 ? 1 : 0;
          h.real5 += c.top5 ? 1 : 0;
        }
      }
      o.onProgress?.(pass ? 'drawing by example' : 'generation', k + 1, chosen.length);
    }
    for (const [j, { prefix }] of spaces.entries()) {
      const h = hits[j], n = chosen.length, at = prefix + pass;
      Object.assign(figures, { [`${at}_top1`]: h.top1 / n, [`${at}_top5`]: h.top5 / n });
      if (pass) Object.assign(figures, { [`${at}_unseen_top1`]: h.unseen1 / n, [`${at}_unseen_top5`]: h.unseen5 / n });
      else if (h.realN) Object.assign(figures, { [`${prefix}_real_top1`]: h.real1 / h.realN, [`${prefix}_real_top5`]: h.real5 / h.realN });
    }
  }
  figures.gallery = galleries[0].length;
  const n = chosen.length;
  const tokens = m.config.image_positions * m.config.image_depth;
  if (byExample) Object.assign(figures, { t2i_memory_drawn_by_example: drawnByExample / n, ms_per_image_memory: msExample / n });
  return {
    ...figures, ms_per_image: ms / n, image_tokens_per_s: (tokens * n) / (ms / 1000), generated: n,
    t2i_cfg: sampling.cfg, t2i_temperature: sampling.temperature, t2i_top_k: sampling.topK, ...(sampling.topP !== undefined ? { t2i_top_p: sampling.topP } : {}),
  };
}

export interface CompletionOptions {
  dataDir: string;
  split: string;
  /** Images of the split (evenly spaced). */
  images: number;
  /** Pixel rows of each image given, one completion per entry (default 0, 1, 2 and half the grid). */
  rows?: number[];
  sampling?: Pick<ImageSampling, 'cfg' | 'temperature' | 'topK' | 'topP'>;
  onProgress?(what: string, done: number, total: number): void;
}

/**
 * Image completion, as iGPT evaluates it: each image's prompt ("Draw a <label>.") and its own first
 * positions (a dual tokenizer's semantic position, then `r` rows of pixel positions) are given, the
 * model draws the rest, and the drawing is retrieved as in text-to-image:
 * complete_top5_rows<r> (and top-1). How much of an image the model needs before its drawings are
 * recognisable: 0 rows is text-to-image on these images (with the semantic position if there is one).
 */
export async function completionMetrics(m: UnifiedModel, o: CompletionOptions): Promise<Record<string, number>> {
  const S = m.codec.imageSize, g = m.codec.gridSide, lead = m.codec.leadingPositions ?? 0, D = m.config.image_depth;
  const rowsGiven = o.rows ?? [...new Set([0, 1, 2, Math.floor(g / 2)])].filter((r) => r <= g);
  for (const r of rowsGiven) if (!(Number.isInteger(r) && r >= 0 && r <= g)) throw new Error(`completion: rows must be whole numbers in [0, ${g}], got ${r}`);
  const folder = await loadImageFolder(o.dataDir, { split: o.split, size: S });
  const N = folder.rows.length, n = Math.min(o.images, N);
  if (n === 0) throw new Error(`${o.dataDir}: split '${o.split}' has no rows`);
  const gallery = await retrievalGallery(o.dataDir);
  const sampling = { ...DRAW_SAMPLING, ...o.sampling };
  const hits = rowsGiven.map(() => ({ top1: 0, top5: 0 }));
  for (let k = 0; k < n; k++) {
    const i = Math.floor((k * N) / n), label = folder.rows[i].text;
    const codes = await m.imageCodes(folder.images.subarray(i * 3 * S * S, (i + 1) * 3 * S * S), S);
    for (const [j, r] of rowsGiven.entries()) {
      const [img] = await m.generateImages(drawPrompt(label), 1, { ...sampling, seed: k, prefix: codes.subarray(0, (lead + r * g) * D), examples: false });
      const got = retrieves(gallery, retrievalFeature(img.pixels, img.size), label);
      hits[j].top1 += got.top1 ? 1 : 0;
      hits[j].top5 += got.top5 ? 1 : 0;
    }
    o.onProgress?.('completion', k + 1, n);
  }
  const out: Record<string, number> = { complete_images: n };
  rowsGiven.forEach((r, j) => Object.assign(out, { [`complete_top1_rows${r}`]: hits[j].top1 / n, [`complete_top5_rows${r}`]: hits[j].top5 / n }));
  return out;
}
