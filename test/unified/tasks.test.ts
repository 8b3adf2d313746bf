// Training sequences: the chat layout (image positions between <img> and </img>, answer-only loss
// in Stage II), collation (shifted labels, depth-head rows pointing at the position before each
// image position, right padding), balanced yes/no answers, caption dropout, and a stream that is a
// pure function of (seed, cursor) so a resumed run sees the same batches.
import { beforeAll, describe, expect, it } from 'vitest';
import { collate, layoutChat, makeExample, TaskStream, type Example } from '../../src-main/engine/data/tasks.ts';
import type { MetadataRow } from '../../src-main/engine/data/imagefolder.ts';
import type { TextTokenizer } from '../../src-main/engine/text/tokenizer.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';
import { encodedSplit, tinyEmoji, tinyModel, tinyTokenizer } from './helpers.ts';

let tok: TextTokenizer;
let rows: MetadataRow[];
let codes: Int32Array;
const P = 16, D = 2;
const codesOf = (i: number) => codes.subarray(i * P * D, (i + 1) * P * D);

beforeAll(async () => {
  tok = (await tinyTokenizer()).tok;
  ({ rows, codes } = await encodedSplit(await tinyEmoji(12), 'train'));
});

const stage2 = { stage: 'stage2' as const, cfgDropout: 0.1, outputForm: 'aggregate' as const };

describe('layout of a chat with images', () => {
  it('captioning: 16 image positions (2 codes each) between <img> and </img>; Stage II loss only on the answer', () => {
    const c = tinyModel(tok.vocabSize);
    const ex = makeExample('caption', 0, rows, codesOf, { ...stage2, stage: 'stage1' }, new Rng(1));
    const { ids, assistantMask } = tok.encodeChat(ex.messages);
    const lay = layoutChat(tok, c, ex, true);
    expect(lay.positions.length).toBe(ids.length + P);
    const s = lay.positions.findIndex((p) => p.ids[0] === tok.specials.imgStart);
    expect(lay.positions[s + P + 1].ids[0]).toBe(tok.specials.imgEnd);
    for (let p = 0; p < P; p++) expect(Array.from(lay.positions[s + 1 + p].ids)).toEqual([...codesOf(0).subarray(p * D, (p + 1) * D)]);
    // answer-only: the weighted text is exactly the assistant reply (label + <|end|>)
    const answer = lay.positions.filter((p) => p.loss > 0 && !p.depth).map((p) => p.ids[0]);
    expect(answer).toEqual(ids.filter((_, i) => assistantMask[i] === 1));
    expect(tok.decode(answer)).toBe(`${rows[0].text}<|end|>`);
    expect(lay.positions.some((p) => p.depth && p.loss > 0)).toBe(false); // the input image is not a target
    // Stage I: every position counts, the image too
    expect(layoutChat(tok, c, ex, false).positions.every((p) => p.loss === 1)).toBe(true);
  });

  it('collate: labels are the next token, depth rows read the hidden state before each image position, pads are ignored', () => {
    const c = tinyModel(tok.vocabSize);
    const t2i = makeExample('t2i', 3, rows, codesOf, { ...stage2, cfgDropout: 0 }, new Rng(2));
    const cap = makeExample('caption', 5, rows, codesOf, stage2, new Rng(3));
    const seqs = [layoutChat(tok, c, t2i, true), layoutChat(tok, c, cap, true)];
    const f = collate(c, seqs, tok.specials.pad);
    const T = f.labels.shape[1];
    expect(T % 16).toBe(0);
    expect(f.input_ids.shape).toEqual([2, T, D]);
    const labels = f.labels.data as BigInt64Array;
    const src = [...(f.depth_src.data as BigInt64Array)].map(Number);
    // t2i: the 16 positions after <img> are predicted by the depth head from positions s..s+15
    const s = seqs[0].positions.findIndex((p) => p.ids[0] === tok.specials.imgStart);
    expect(src).toEqual(Array.from({ length: P }, (_, p) => s + p));
    expect([...(f.depth_codes.data as BigInt64Array)].map(Number)).toEqual([...codesOf(3)]);
    expect(labels[s]).toBe(-100n); // the main head has no target where the depth head predicts
    expect(Number(labels[s + P])).toBe(tok.specials.imgEnd); // last image position → </img>
    // caption row: labels on the answer only; padding after the sequence has weight 0
    const L1 = seqs[1].positions.length;
    const w1 = [...(f.label_weights.data as Float32Array).subarray(T, 2 * T)];
    expect(w1.slice(L1 - 1).every((w) => w === 0)).toBe(true);
    const answerIds = seqs[1].positions.filter((p) => p.loss > 0).map((p) => BigInt(p.ids[0]));
    expect([...labels.subarray(T, 2 * T)].filter((x) => x !== -100n)).toEqual(answerIds);
  });
});

describe('tasks', () => {
  it('yes/no questions are balanced and true', () => {
    let yes = 0, no = 0;
    for (let k = 0; k < 400; k++) {
      const ex = makeExample('question', k % rows.length, rows, codesOf, stage2, new Rng(100 + k));
      const [q, a] = [ex.messages[0].content as { type: string; text?: string }[], ex.messages[1].content as string];
      if (a !== 'Yes.' && a !== 'No.') continue;
      if (a === 'Yes.') yes++;
      else no++;
      const text = q.find((p) => p.type === 'text')!.text!;
      const m = /^Is this an? (.*)\?$/.exec(text);
      if (m && rows.some((r) => r.text === m[1]) && !text.includes(' or ')) expect(a === 'Yes.').toBe(m[1] === rows[k % rows.length].text);
    }
    expect(yes + no).toBeGreaterThan(100);
    expect(Math.abs(yes - no) / (yes + no)).toBeLessThan(0.15);
  });

  it('jittered copies are only read: text-to-image draws the image itself, the other tasks show the copy', () => {
    const jittered = codes.map((x) => x + 1); // stands for a jittered encoding of every image
    const twoWay = (i: number, use: 'read' | 'draw') => (use === 'draw' ? codes : jittered).subarray(i * P * D, (i + 1) * P * D);
    const imagesOf = (kind: 'caption' | 'question' | 't2i' | 'decompress') => makeExample(kind, 2, rows, twoWay, stage2, new Rng(4)).images.map((im) => [...im.codes]);
    expect(imagesOf('t2i')).toEqual([[...codesOf(2)]]);
    expect(imagesOf('caption')).toEqual([[...twoWay(2, 'read')]]);
    expect(imagesOf('question')).toEqual([[...twoWay(2, 'read')]]);
    expect(imagesOf('decompress')).toEqual([[...twoWay(2, 'read')], [...twoWay(2, 'read')]]); // it copies what it is shown
  });

  it('caption dropout empties the text-to-image prompt with probability p', () => {
    let empty = 0;
    for (let k = 0; k < 500; k++) if (makeExample('t2i', 0, rows, codesOf, { ...stage2, cfgDropout: 0.2 }, new Rng(k)).messages[0].content === '') empty++;
    expect(empty / 500).toBeGreaterThan(0.15);
    expect(empty / 500).toBeLessThan(0.25);
  });

  it('semantic-only examples: the image shows its first position, the rest are blanks read as zero vectors', () => {
    const c = tinyModel(tok.vocabSize);
    let shown = 0, n = 0;
    for (let k = 0; k < 400; k++) {
      const kind = (['caption', 'question', 't2i'] as const)[k % 3];
      const ex = makeExample(kind, k % rows.length, rows, codesOf, { ...stage2, semanticOnly: 0.3 }, new Rng(k));
      if (kind === 't2i') {
        expect(ex.images[0].visible).toBeUndefined(); // what the model draws is always whole
        continue;
      }
      n++;
      if (ex.images[0].visible === 1) shown++;
    }
    expect(shown / n).toBeGreaterThan(0.22);
    expect(shown / n).toBeLessThan(0.38);
    // without it, the examples (and the random draws behind them) are as before
    for (let k = 0; k < 20; k++) expect(makeExample('caption', 0, rows, codesOf, { ...stage2, semanticOnly: 0 }, new Rng(k))).toEqual(makeExample('caption', 0, rows, codesOf, stage2, new Rng(k)));
    const ex = makeExample('caption', 0, rows, codesOf, stage2, new Rng(1));
    ex.images[0].visible = 1;
    const lay = layoutChat(tok, c, ex, true);
    const s = lay.positions.findIndex((p) => p.ids[0] === tok.specials.imgStart);
    expect(Array.from(lay.positions[s + 1].ids)).toEqual([...codesOf(0).subarray(0, D)]);
    for (let p = 1; p < P; p++) expect(lay.positions[s + 1 + p]).toMatchObject({ ids: [], loss: 0, depth: false });
    const f = collate(c, [lay], tok.specials.pad, 1);
    const w = f.input_weights.data as Float32Array;
    for (let t = 0; t < lay.positions.length; t++) {
      const blank = t > s + 1 && t <= s + P;
      for (let d = 0; d < D; d++) expect(w[t * D + d]).toBe(blank || (lay.positions[t].ids.length === 1 && d > 0) ? 0 : 1);
    }
    // blanks are never targets, even where every position counts (Stage I, prompts)
    const all = layoutChat(tok, c, ex, false);
    expect(all.positions.slice(s + 2, s + 1 + P).every((p) => p.loss === 0 && !p.depth)).toBe(true);
    expect(all.positions[s + 1].loss).toBe(1);
    expect(() => layoutChat(tok, c, { ...ex, images: [{ ...ex.images[0], visible: 0 }] }, true)).toThrow(/only aggregated images can hide positions, and not the first \(visible 0\)/);
    expect(() => layoutChat(tok, c, { ...ex, images: [{ ...ex.images[0], form: 'unfolded' }] }, true)).toThrow(/only aggregated images can hide positions/);
  });

  it('the stream is a pure function of (seed, cursor): a restored cursor replays the same batches', () => {
    const mk = () => new TaskStream(rows, codesOf, { ...stage2, seed: 5 });
    const key = (b: Example[]) => JSON.stringify(b.map((e) => [e.kind, e.messages, e.images.map((i) => [i.form, [...i.codes]])]));
    const a = mk();
    const first = [key(a.nextBatch(4)), key(a.nextBatch(4))];
    const saved = JSON.parse(JSON.stringify(a.cursor));
    const later = [key(a.nextBatch(4)), key(a.nextBatch(4))];
    const b = mk();
    expect([key(b.nextBatch(4)), key(b.nextBatch(4))]).toEqual(first);
    const c = mk();
    c.cursor = saved;
    expect([key(c.nextBatch(4)), key(c.nextBatch(4))]).toEqual(later);
    // it wraps into a new epoch with a different order, and kinds are mixed
    const kinds = new Set<string>();
    for (let k = 0; k < 30; k++) for (const e of c.nextBatch(4)) kinds.add(e.kind);
    expect(c.cursor.epoch).toBeGreaterThan(0);
    expect([...kinds].sort()).toEqual(['caption', 'decompress', 'question', 't2i']);
  });
});
