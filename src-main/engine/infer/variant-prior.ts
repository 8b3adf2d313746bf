// A colour prior over label variants, for the example memory (infer/memory.ts).
//
// Many labels name a variant of a base after a colon: "waving hand: medium skin tone",
// "thumbs up: dark skin tone, facing right". The memory's semantic encoders learn to ignore shifts of
// tone (their training jitters gamma, ink and saturation), so an image's nearest examples often agree
// on the base and scatter over its variants. Where a variant is a colour, the colours of the image
// say which: this prior reads them.
//
//   variant of a label   the first comma part of its qualifier (the text after ': '), when at least
//                        `minBases` different bases share it ('light skin tone'); else none
//   feature              the square roots of a bins³ RGB histogram of the image's non-white pixels
//                        (every channel ≤ `white` counts; the emoji sets' background is white) at
//                        size × size, so its squares sum to 1
//   model                softmax regression over the variants, fitted on the memory's own rows that
//                        have one: full-batch gradient descent from zeros, deterministic
//   use                  each neighbour of a label question whose answer has variant c is weighted
//                        by (p(c | image) / prior(c))^α, the evidence of the colours against the
//                        variants' shares, and the weights normalised again; neighbours without one
//                        keep their weight
//
// Measured on the default model's memory (README "Example memory"): the three-encoder vote over the
// 3,645 held-out facebook images 49.0% → 49.7% exact at α 1.
import { z } from 'zod';
import { logSoftmax } from './sampling.ts';

/** Bases a qualifier part must be shared by to count as a variant. */
export const VARIANT_MIN_BASES = 20;

export const VariantPriorSchema = z.object({
  /** The answers field whose labels the variants qualify. */
  field: z.string().min(1),
  classes: z.array(z.string().min(1)).min(2),
  /** Each variant's share of the rows that have one. */
  prior: z.array(z.number().positive().max(1)),
  bins: z.int().min(2).max(32),
  size: z.int().min(4).max(256),
  white: z.number().min(0).max(1),
  alpha: z.number().min(0).max(10),
}).strict().refine((v) => v.prior.length === v.classes.length, { message: 'prior needs one share per class', path: ['prior'] });
export type VariantPriorConfig = z.infer<typeof VariantPriorSchema>;

/** The label's variant: the first comma part of its qualifier ('' when it has none). */
export function labelQualifier(label: string): { base: string; part: string } {
  const at = label.indexOf(': ');
  if (at < 0) return { base: label.trim(), part: '' };
  return { base: label.slice(0, at).trim(), part: label.slice(at + 2).split(',')[0].trim() };
}

/** The qualifier parts at least `minBases` different bases share, most frequent first. */
export function variantClasses(labels: readonly string[], minBases = VARIANT_MIN_BASES): string[] {
  const bases = new Map<string, Set<string>>(), rows = new Map<string, number>();
  for (const l of labels) {
    const { base, part } = labelQualifier(l);
    if (!part) continue;
    if (!bases.has(part)) bases.set(part, new Set());
    bases.get(part)!.add(base);
    rows.set(part, (rows.get(part) ?? 0) + 1);
  }
  return [...bases].filter(([, b]) => b.size >= minBases).map(([p]) => p).sort((a, b) => rows.get(b)! - rows.get(a)! || (a < b ? -1 : 1));
}

/** The feature of one image (3, size, size) in [0, 1]: √ of its non-white pixels' bins³ RGB histogram shares. */
export function colourHistogram(px: ArrayLike<number>, size: number, bins: number, white: number): Float32Array {
  const plane = size * size;
  if (px.length !== 3 * plane) throw new Error(`colour histogram: ${px.length} values is not 3×${size}×${size}`);
  const h = new Float32Array(bins * bins * bins);
  const bin = (v: number) => Math.min(bins - 1, Math.max(0, Math.floor(v * bins)));
  let n = 0;
  for (let p = 0; p < plane; p++) {
    const r = px[p], g = px[plane + p], b = px[2 * plane + p];
    if (Math.min(r, g, b) > white) continue;
    h[(bin(r) * bins + bin(g)) * bins + bin(b)]++;
    n++;
  }
  if (n > 0) for (let f = 0; f < h.length; f++) h[f] = Math.sqrt(h[f] / n);
  return h;
}

/** Softmax regression of `y` (class per row) on `x` (rows, F): weight (C, F) and bias (C). */
export function fitSoftmax(x: Float32Array, y: Int32Array, C: number, o: { epochs?: number; lr?: number; l2?: number } = {}): { weight: Float32Array; bias: Float32Array } {
  const n = y.length, F = x.length / n, epochs = o.epochs ?? 150, lr = o.lr ?? 0.5, l2 = o.l2 ?? 1e-4;
  if (!Number.isInteger(F) || n === 0) throw new Error(`fitSoftmax: ${x.length} values do not make ${n} rows`);
  const weight = new Float32Array(C * F), bias = new Float32Array(C);
  for (let ep = 0; ep < epochs; ep++) {
    const gW = new Float64Array(C * F), gb = new Float64Array(C);
    for (let i = 0; i < n; i++) {
      const xi = x.subarray(i * F, (i + 1) * F);
      const p = softmaxOf(weight, bias, xi);
      for (let c = 0; c < C; c++) {
        const d = p[c] - (c === y[i] ? 1 : 0);
        gb[c] += d;
        for (let f = 0; f < F; f++) if (xi[f] !== 0) gW[c * F + f] += d * xi[f];
      }
    }
    for (let j = 0; j < weight.length; j++) weight[j] -= lr * (gW[j] / n + l2 * weight[j]);
    for (let c = 0; c < C; c++) bias[c] -= (lr * gb[c]) / n;
  }
  return { weight, bias };
}

/** softmax(W·x + b). */
function softmaxOf(weight: Float32Array, bias: Float32Array, x: ArrayLike<number>): Float64Array {
  const F = x.length;
  const logits = Array.from(bias, (b, c) => {
    let s = b;
    for (let f = 0, o = c * F; f < F; f++) s += weight[o + f] * x[f];
    return s;
  });
  return logSoftmax(logits).map(Math.exp);
}

export class VariantPrior {
  private readonly index: Map<string, number>;

  constructor(readonly config: VariantPriorConfig, readonly weight: Float32Array, readonly bias: Float32Array) {
    const F = config.bins ** 3, C = config.classes.length;
    if (weight.length !== C * F || bias.length !== C) throw new Error(`variant prior: weight ${weight.length} and bias ${bias.length} values do not fit ${C} classes of ${F} bins`);
    this.index = new Map(config.classes.map((c, i) => [c, i]));
  }

  /** The class of a label, or −1 when it has no variant the prior knows. */
  classOf(label: string): number {
    return this.index.get(labelQualifier(label).part) ?? -1;
  }

  /** p(variant | image) of one image (3, size, size) at the prior's size. */
  probabilities(px: ArrayLike<number>): Float64Array {
    const c = this.config;
    return softmaxOf(this.weight, this.bias, colourHistogram(px, c.size, c.bins, c.white));
  }

  /** Each class's factor (p(c | image) / prior(c))^α. */
  factors(px: ArrayLike<number>): Float64Array {
    const p = this.probabilities(px), a = this.config.alpha;
    return p.map((v, c) => Math.pow(v / this.config.prior[c], a));
  }

  /** Fit the prior on labelled images, image i (3, size, size) given by `imageAt(i)`; null when the labels have fewer than two variants. */
  static fit(labels: readonly string[], imageAt: (i: number) => Float32Array, o: { field: string; size: number; alpha: number; bins?: number; white?: number; minBases?: number }): VariantPrior | null {
    const classes = variantClasses(labels, o.minBases);
    if (classes.length < 2) return null;
    const bins = o.bins ?? 8, white = o.white ?? 0.92, F = bins ** 3;
    const index = new Map(classes.map((c, i) => [c, i]));
    const rows = labels.map((l, i) => [index.get(labelQualifier(l).part) ?? -1, i]).filter(([c]) => c >= 0);
    const x = new Float32Array(rows.length * F), y = new Int32Array(rows.length);
    rows.forEach(([c, i], r) => {
      x.set(colourHistogram(imageAt(i), o.size, bins, white), r * F);
      y[r] = c;
    });
    const prior = classes.map((_, c) => rows.filter(([k]) => k === c).length / rows.length);
    const { weight, bias } = fitSoftmax(x, y, classes.length);
    return new VariantPrior({ field: o.field, classes, prior, bins, size: o.size, white, alpha: o.alpha }, weight, bias);
  }
}
