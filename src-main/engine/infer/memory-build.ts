// Building an example memory folder (infer/memory.ts) from an imagefolder split: its feature
// encoder — one semantic encoder, or an ensemble of several whose unit features sit side by side over
// √n (a memory folder named as a member brings its encoder's members, their weights read back from its
// encoder.onnx, so an ensemble can grow without the folders it was built from) — every row's feature,
// label and category, the colour prior over the labels' variants (infer/variant-prior.ts), and, for
// drawing by example, every image's codes under the model's image tokenizer. The folder is written
// whole under a temporary name and renamed, so a reader never sees half of one.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { loadImageFolder, type MetadataRow } from '../data/imagefolder.ts';
import { CAPTION_PROMPTS, CATEGORY_PROMPT } from '../data/tasks.ts';
import { Graph } from '../graph/graph.ts';
import * as op from '../graph/ops/index.ts';
import { exportOnnx, readOnnxInitializers } from '../graph/onnx.ts';
import { halfArray } from '../io/half.ts';
import { writeSafetensors, type SafeTensor } from '../io/safetensors.ts';
import type { ImageCodec } from '../models/image-codec.ts';
import { imageTokenizerDigest, loadImageTokenizer, readImageTokenizerWeights, readSemanticEncoderConfig } from '../models/image-tokenizer.ts';
import { semanticFeatures, validateSemanticConfig, type SemanticConfig } from '../models/semantic.ts';
import { codecToLm } from '../models/unicode.ts';
import { bakedWeights } from '../models/vqtok.ts';
import { Session } from '../runtime/session.ts';
import { parseConfigWith } from '../train/recipe.ts';
import { embedImages, MEMORY_DEFAULTS, MixSchema, readEncoderOnnx, readMemoryFile, rowsFingerprint, VARIANT_ALPHA, type MemoryFile, type MemoryMix } from './memory.ts';
import { loadModelFolder } from './model-folder.ts';
import { VariantPrior } from './variant-prior.ts';

export interface BuildMemoryOptions {
  /** A semantic encoder folder (config.json + model.safetensors with encoder.* weights), or another
   *  memory folder, whose encoder is reused; or several semantic encoder folders, an ensemble. */
  encoderDir: string | readonly string[];
  dataDir: string;
  split: string;
  /** The memory folder to write (replaced whole; a reader never sees half of one). */
  out: string;
  mix?: Partial<MemoryMix>;
  /** The model folder the memory is for: its image tokenizer (or `codec`, the same one already
   *  loaded) writes each example's codes, so the model can draw by example. Absent: no codes. */
  model?: string;
  codec?: ImageCodec;
  /** α of the colour prior over the labels' variants (infer/variant-prior.ts); 0 builds none.
   *  Default VARIANT_ALPHA; labels with fewer than two variants get none either way. */
  variantAlpha?: number;
  threads?: number;
  onProgress?(done: number, total: number): void;
}

/** A memory's encoder option in a config: one folder, or several (an ensemble). */
export const MemoryEncoders = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** Features-only encoder ONNX of one semantic encoder, or of several (an ensemble, see the header):
 *  each member's weights baked under its own prefix. */
export function exportFeatureEncoder(members: readonly { config: SemanticConfig; weights: Map<string, Float32Array> }[]): Uint8Array {
  const c = ensembleConfig(members.map((m) => m.config));
  const g = new Graph('memory_encoder');
  const x = g.input('pixels', 'float32', ['B', 3, c.image_size, c.image_size]);
  const feats = members.map((m, i) => {
    if (members.length === 1) return semanticFeatures(m.config, x, bakedWeights(g, m.weights));
    const baked = bakedWeights(g, new Map([...m.weights].map(([k, v]) => [`member${i}.${k}`, v])));
    return semanticFeatures(m.config, x, (name, shape) => baked(`member${i}.${name}`, shape));
  });
  const f = feats.length === 1 ? feats[0] : op.mul(op.concat(feats, 1), 1 / Math.sqrt(feats.length));
  return exportOnnx(g, { features: f }, { model_type: c.model_type, config: JSON.stringify(c) }).bytes;
}

/** The memory.json encoder entry of one semantic encoder's config, or of an ensemble of several. */
function ensembleConfig(cs: readonly SemanticConfig[]): MemoryFile['encoder'] {
  if (cs.length === 1) return { ...cs[0] };
  return { model_type: 'tessera-semantic-ensemble', image_size: cs[0].image_size, embed_dim: cs.reduce((a, c) => a + c.embed_dim, 0), members: cs };
}

/** One member of a memory encoder: a semantic encoder's config and (at least) its feature weights. */
interface EncoderMember {
  config: SemanticConfig;
  weights: Map<string, Float32Array>;
  /** Where it came from, for messages: its folder, or a memory folder and its place there. */
  from: string;
  /** The file its config was read from (config.json, or a memory's memory.json). */
  configFile: string;
}

/** The weights a semantic encoder's features read (its codebooks and heads are not among them). */
function featureWeightNames(c: SemanticConfig): string[] {
  const g = new Graph('names'), names: string[] = [];
  semanticFeatures(c, g.input('pixels', 'float32', [1, 3, c.image_size, c.image_size]), (name, shape) => (names.push(name), g.input(name, 'float32', shape)));
  return names;
}

/** `weights`' feature weights (featureWeightNames), each looked up under `prefix`; a missing one is an error naming `file`. */
function featureWeights(c: SemanticConfig, lookup: (name: string) => Float32Array | undefined, file: string, prefix = ''): Map<string, Float32Array> {
  return new Map(featureWeightNames(c).map((n) => {
    const w = lookup(prefix + n);
    if (!w) throw new Error(`${file}: the encoder's weight '${prefix + n}' is missing`);
    return [n, w];
  }));
}

/** The members of a semantic encoder folder (one) or of a memory folder (its encoder's, read back from
 *  the weights baked into its encoder.onnx), each with its feature weights alone. */
async function encoderMembers(dir: string): Promise<EncoderMember[]> {
  if (!existsSync(join(dir, 'memory.json'))) {
    const config = await readSemanticEncoderConfig(dir), all = await readImageTokenizerWeights(dir);
    return [{ config, weights: featureWeights(config, (n) => all.get(n), join(dir, 'model.safetensors')), from: dir, configFile: join(dir, 'config.json') }];
  }
  const jsonFile = join(dir, 'memory.json'), onnxFile = join(dir, 'encoder.onnx');
  const c = (await readMemoryFile(dir)).encoder;
  const configs = (c.model_type === 'tessera-semantic-ensemble' ? c.members : [c]) as SemanticConfig[] | undefined;
  if (!Array.isArray(configs) || configs.length === 0) throw new Error(`${jsonFile}: field 'encoder.members' is missing or empty`);
  const baked = readOnnxInitializers(await readEncoderOnnx(dir), onnxFile);
  return configs.map((config, i) => {
    validateSemanticConfig(config, `${jsonFile} (encoder${configs.length > 1 ? `.members[${i}]` : ''})`);
    const weights = featureWeights(config, (n) => baked.get(n)?.data, onnxFile, configs.length > 1 ? `member${i}.` : '');
    return { config, weights, from: configs.length > 1 ? `${dir} (member ${i + 1} of ${configs.length})` : dir, configFile: jsonFile };
  });
}

/** A digest of a member's weights: two members with the same one are the same encoder. */
function weightsDigest(w: ReadonlyMap<string, Float32Array>): string {
  const h = createHash('sha256');
  for (const k of [...w.keys()].sort()) {
    const v = w.get(k)!;
    h.update(k).update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return h.digest('hex');
}

/** The feature encoder of a semantic encoder folder or of a memory folder, or an ensemble of several
 *  of them (a memory folder gives all of its encoder's members), with its config. */
export async function readFeatureEncoder(dirs: string | readonly string[]): Promise<{ onnx: Uint8Array; config: MemoryFile['encoder'] }> {
  const list = typeof dirs === 'string' ? [dirs] : [...dirs];
  if (list.length === 1 && existsSync(join(list[0], 'memory.json'))) {
    return { config: (await readMemoryFile(list[0])).encoder, onnx: await readEncoderOnnx(list[0]) };
  }
  const at = list.map((d) => resolve(d));
  const twice = list.find((_, i) => at.indexOf(at[i]) !== i);
  if (twice) throw new Error(`memory encoder: ${twice} is named twice (an ensemble's members are different encoders)`);
  const members: EncoderMember[] = [];
  const digests = new Map<string, string>();
  for (const dir of list) {
    for (const m of await encoderMembers(dir)) {
      const d = weightsDigest(m.weights), seen = digests.get(d);
      if (seen) throw new Error(`memory encoder: ${m.from} and ${seen} are the same encoder (an ensemble's members are different encoders)`);
      digests.set(d, m.from);
      if (members.length && m.config.image_size !== members[0].config.image_size)
        throw new Error(`${m.configFile}: field 'image_size' is ${m.config.image_size}, the ensemble's first member (${members[0].from}) reads ${members[0].config.image_size}`);
      members.push(m);
    }
  }
  return { onnx: exportFeatureEncoder(members), config: ensembleConfig(members.map((m) => m.config)) };
}

/** A memory's `split` option in a config: one split or several joined by commas, checked. */
export const MemorySplit = z.string().min(1).superRefine((s, ctx) => {
  try {
    memorySplits(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** The split names of a memory's `split` option: "train" or "train,validation". */
export function memorySplits(split: string): string[] {
  const names = split.split(',').map((x) => x.trim());
  if (names.some((x) => x === '')) throw new Error(`memory split '${split}': an empty split name (give names joined by commas, e.g. train,validation)`);
  const dup = names.find((x, i) => names.indexOf(x) !== i);
  if (dup) throw new Error(`memory split '${split}': '${dup}' is named twice`);
  return names;
}

/** Build a memory folder from every row of `split` (one split, or several joined by commas): their
 *  features, labels and categories. */
export async function buildMemory(o: BuildMemoryOptions): Promise<MemoryFile> {
  const mix = parseConfigWith(MixSchema, { ...MEMORY_DEFAULTS, ...o.mix }, 'memory options');
  const names = memorySplits(o.split);
  const { onnx: encoder, config: c } = await readFeatureEncoder(o.encoderDir);
  const E = c.embed_dim;
  const s = await Session.create(encoder, { threads: o.threads });
  const parts: { split: string; rows: MetadataRow[]; feats: Float32Array; images: Float32Array }[] = [];
  let drawn: Awaited<ReturnType<typeof exampleCodes>> | null = null;
  try {
    const folders = [];
    for (const split of names) folders.push({ split, folder: await loadImageFolder(o.dataDir, { split, size: c.image_size }) });
    // the codes first: a model whose image tokenizer cannot write them fails before the long part
    if (o.model) drawn = await exampleCodes(o.model, o.codec, folders.map(({ split, folder }) => ({ split, rows: folder.rows, images: folder.images })), c.image_size, o.dataDir, o.threads);
    const total = folders.reduce((a, f) => a + f.folder.rows.length, 0);
    let done = 0;
    for (const { split, folder } of folders) {
      const feats = await embedImages(s, c, folder.images, folder.rows.length, (k) => o.onProgress?.((done += k), total));
      parts.push({ split, rows: folder.rows, feats, images: folder.images });
    }
  } finally {
    await s.release();
  }
  const rows = parts.flatMap((p) => p.rows), n = rows.length;
  const feats = new Float32Array(n * E);
  parts.reduce((at, p) => (feats.set(p.feats, at), at + p.feats.length), 0);
  const label = rows.map((r) => r.text.trim());
  const category = rows.map((r) => r.category?.trim() ?? '');
  const alpha = o.variantAlpha ?? VARIANT_ALPHA;
  if (!(alpha >= 0 && alpha <= 10)) throw new Error(`memory options: variant alpha must be in 0..10, got ${alpha}`);
  let variants: VariantPrior | null = null;
  if (alpha > 0) {
    const per = 3 * c.image_size * c.image_size;
    const images = parts.flatMap((p) => p.rows.map((_, i) => p.images.subarray(i * per, (i + 1) * per))); // views, no copies
    variants = VariantPrior.fit(label, (i) => images[i], { field: 'label', size: c.image_size, alpha });
  }
  const questions: Record<string, string> = Object.fromEntries(CAPTION_PROMPTS.map((q) => [q, 'label']));
  const answers: Record<string, string[]> = { label };
  if (category.some((x) => x)) {
    questions[CATEGORY_PROMPT] = 'category';
    answers.category = category;
  }
  const file: MemoryFile = {
    format: 'tessera-memory/1', encoder: c, entries: n, ...mix, questions, answers,
    source: {
      data: o.dataDir, split: names.join(','), rows: n, fingerprint: rowsFingerprint(names.join(','), rows),
      ...(parts.length > 1 ? { parts: parts.map((p) => ({ split: p.split, rows: p.rows.length, fingerprint: rowsFingerprint(p.split, p.rows) })) } : {}),
    },
    ...(variants ? { variants: variants.config } : {}),
    ...(drawn ? { drawing: drawn.drawing } : {}),
    built_at: new Date().toISOString(),
  };
  const tmp = `${o.out}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, 'memory.json'), JSON.stringify(file) + '\n');
  const tensors = new Map<string, SafeTensor>([['features', { dtype: 'F16', shape: [n, E], data: halfArray(feats) }]]);
  if (variants) {
    tensors.set('variant_weight', { dtype: 'F32', shape: [variants.config.classes.length, variants.config.bins ** 3], data: variants.weight });
    tensors.set('variant_bias', { dtype: 'F32', shape: [variants.config.classes.length], data: variants.bias });
  }
  if (drawn) tensors.set('codes', { dtype: 'I16', shape: [n, drawn.drawing.positions * drawn.drawing.depth], data: drawn.codes });
  await writeSafetensors(join(tmp, 'features.safetensors'), tensors, { format: 'pt' });
  await writeFile(join(tmp, 'encoder.onnx'), encoder);
  await rm(o.out, { recursive: true, force: true });
  await rename(tmp, o.out);
  return file;
}

/** Each example's image as the LM ids of model folder `modelDir`'s image tokenizer (`codec`: that
 *  tokenizer, already loaded), for drawing by example; 256 images at a time. */
async function exampleCodes(modelDir: string, codec: ImageCodec | undefined, parts: readonly { split: string; rows: MetadataRow[]; images: Float32Array }[], size: number, dataDir: string, threads?: number): Promise<{ codes: Int16Array; drawing: NonNullable<MemoryFile['drawing']> }> {
  const folder = await loadModelFolder(modelDir);
  if (folder.config.vocab_size > 32768) throw new Error(`${join(modelDir, 'config.json')}: field 'vocab_size' is ${folder.config.vocab_size}; a memory stores image codes as 16-bit ids (at most 32768)`);
  const own = codec ?? (await loadImageTokenizer(folder.imageTokenizerDir, { threads }));
  try {
    const S = own.imageSize, per = own.positions * own.depth, total = parts.reduce((a, p) => a + p.rows.length, 0);
    const codes = new Int16Array(total * per);
    let at = 0;
    for (const p of parts) {
      const images = S === size ? p.images : (await loadImageFolder(dataDir, { split: p.split, size: S })).images;
      for (let i = 0; i < p.rows.length; i += 256) {
        const k = Math.min(256, p.rows.length - i);
        codes.set(codecToLm(folder.config, await own.encode(images.subarray(i * 3 * S * S, (i + k) * 3 * S * S), k)), at);
        at += k * per;
      }
    }
    return { codes, drawing: { positions: own.positions, depth: own.depth, image_tokenizer: await imageTokenizerDigest(folder.imageTokenizerDir) } };
  } finally {
    if (!codec) await own.release();
  }
}
