// Answers read from several views of an image (TextSampling.views) on the shipped model: the views'
// log-probabilities are averaged row by row (meanLogSoftmax against a longhand mean); one view is
// plain greedy captioning; more views answer the same way every time; views are refused where
// they do not apply (an answer that may draw) and when they are not a whole number ≥ 1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src-main/engine/io/image.ts';
import { logSoftmax } from '../../src-main/engine/infer/sampling.ts';
import { loadUnifiedModel, type UnifiedModel } from '../../src-main/engine/infer/unified.ts';
import { meanLogSoftmax } from '../../src-main/engine/infer/views.ts';
import { Rng } from '../../src-main/engine/util/rng.ts';

const MODEL = new URL('../../models/tessera-emoji', import.meta.url).pathname;
const FB = (code: string) => new URL(`../../node_modules/emoji-datasource-facebook/img/facebook/64/${code}.png`, import.meta.url).pathname;

let m: UnifiedModel;
beforeAll(async () => { m = await loadUnifiedModel(MODEL, { threads: 1 }); });
afterAll(async () => { await m?.release(); });

describe('answers from several views', () => {
  it('meanLogSoftmax is the mean of the rows\' log-softmax', () => {
    const rng = new Rng(4);
    const [R, V] = [3, 50];
    const logits = rng.fillNormal(new Float32Array(R * V), 3);
    const got = meanLogSoftmax(logits, R, V);
    const rows = [0, 1, 2].map((r) => logSoftmax(logits.subarray(r * V, (r + 1) * V)));
    for (let i = 0; i < V; i++) expect(got[i]).toBeCloseTo((rows[0][i] + rows[1][i] + rows[2][i]) / 3, 5);
    // one row: its own log-softmax
    const one = meanLogSoftmax(logits.subarray(0, V), 1, V);
    for (let i = 0; i < V; i++) expect(one[i]).toBeCloseTo(rows[0][i], 5);
  });

  it('one view is plain captioning; more views answer the same way each time; misuse is refused', async () => {
    const px = (await decodeImage(FB('1f680'), { size: 64, fit: 'contain' })).data;
    expect(await m.caption(px, 64, { views: 1 })).toBe(await m.caption(px, 64));
    const four = await m.caption(px, 64, { views: 4 });
    expect(four.length).toBeGreaterThan(0);
    expect(await m.caption(px, 64, { views: 4 })).toBe(four);
    console.log(`rocket (facebook style): 1 view "${await m.caption(px, 64)}", 4 views "${four}"`);
    const turn = [{ role: 'user' as const, parts: [{ type: 'image' as const, pixels: px, size: 64 }, { type: 'text' as const, text: 'What is this?' }] }];
    await expect(m.chat(turn, { views: 2 }, () => {})).rejects.toThrow(/apply to text-only answers/);
    await expect(m.chat(turn, { views: 0, textOnly: true }, () => {})).rejects.toThrow(/whole number ≥ 1, got 0/);
  }, 60_000);
});
