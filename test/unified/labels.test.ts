// Closed-set captioning (engine/infer/labels.ts, UnifiedModel.rankLabels) on the shipped model:
// each label's answer tokens are the assistant turn training laid out (decoding back to the label
// and a stop token); the trie beam search's log-probabilities equal, label by label, the answer
// loss of the training graph on the same image and answer (teacher forcing, an independent path
// through the model: a full forward instead of the KV-cache decode steps and row gathering); a
// beam narrower than the label list still finds the best labels; with two views each score is the
// mean of the two views' teacher-forced scores; and bad label lists are refused.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Graph, type Tensor } from '../../src-main/engine/graph/graph.ts';
import { exportOnnx } from '../../src-main/engine/graph/onnx.ts';
import { collate, layoutChat } from '../../src-main/engine/data/tasks.ts';
import { decodeImage } from '../../src-main/engine/io/image.ts';
import { answerIds, beamStep, LabelSet } from '../../src-main/engine/infer/labels.ts';
import { loadUnifiedModel, type UnifiedModel } from '../../src-main/engine/infer/unified.ts';
import { jitteredView } from '../../src-main/engine/infer/views.ts';
import { codecToLm, declareBatchInputs, unifiedLoss } from '../../src-main/engine/models/unicode.ts';
import { Session } from '../../src-main/engine/runtime/session.ts';

const MODEL = new URL('../../models/tessera-emoji', import.meta.url).pathname;
const EMOJI = (code: string) => new URL(`../../node_modules/emoji-datasource-apple/img/apple/64/${code}.png`, import.meta.url).pathname;
const LABELS = ['red apple', 'green apple', 'tomato', 'dog face', 'rocket', 'pizza', 'cherries', 'red heart'];

let m: UnifiedModel;
beforeAll(async () => { m = await loadUnifiedModel(MODEL, { threads: 1 }); });
afterAll(async () => { await m?.release(); });

/** log P(answer | image, question) by teacher forcing through the training graph: −(text loss × count). */
async function teacherForced(px: Float32Array, labels: string[]): Promise<number[]> {
  const c = m.config;
  const g = new Graph('ref');
  const r = unifiedLoss(g, c, declareBatchInputs(g, c));
  const s = await Session.create(exportOnnx(g, { text_loss: r.metrics.text_loss, text_count: r.metrics.text_count }).bytes, { threads: 1 });
  const ws: Record<string, Tensor> = {};
  for (const [n, d] of m.folder.weights) ws[n] = { dtype: 'float32', shape: g.params.get(n)!.value.shape as number[], data: d };
  const codes = codecToLm(c, await m.codec.encode(px, 1));
  const out: number[] = [];
  for (const label of labels) {
    const ex = { messages: [{ role: 'user' as const, content: [{ type: 'image' as const }, { type: 'text' as const, text: 'What is this?' }] }, { role: 'assistant' as const, content: [{ type: 'text' as const, text: label }] }], images: [{ codes, form: 'aggregate' as const }] };
    const res = await s.run({ ...ws, ...collate(c, [layoutChat(m.tok, c, ex, true)], m.tok.specials.pad) });
    const v = (k: string) => (res[k].data as Float32Array)[0];
    expect(v('text_count')).toBe(answerIds(m.tok, 'What is this?', label).length); // the loss covers exactly the answer's tokens
    out.push(-v('text_loss') * v('text_count'));
  }
  await s.release();
  return out;
}

describe('closed-set captioning', () => {
  it('answers are the trained assistant turn: the label, then a stop token; duplicates and blanks dropped', () => {
    for (const l of LABELS) {
      const ids = answerIds(m.tok, 'What is this?', l);
      expect(m.tok.stopIds).toContain(ids.at(-1));
      expect(ids.slice(0, -1).some((id) => m.tok.stopIds.includes(id))).toBe(false);
      expect(m.tok.decode(ids.slice(0, -1))).toBe(l);
    }
    const set = LabelSet.build(m.tok, ['red apple', ' red apple ', '', 'tomato']);
    expect(set.labels).toEqual(['red apple', 'tomato']);
    expect(() => LabelSet.build(m.tok, ['', '  '])).toThrow(/label list is empty/);
  });

  it('the beam search scores every label as teacher forcing does, and a narrow beam keeps exact scores', async () => {
    const px = (await decodeImage(EMOJI('1f34e'), { size: 64, fit: 'contain' })).data;
    const set = LabelSet.build(m.tok, LABELS);
    const ranked = await m.rankLabels(px, 64, set, { top: LABELS.length, beam: LABELS.length });
    expect(ranked.map((r) => r.label).sort()).toEqual([...LABELS].sort());
    const ref = await teacherForced(px, ranked.map((r) => r.label));
    const diff = Math.max(...ranked.map((r, i) => Math.abs(r.logprob - ref[i])));
    console.log(`apple: ${ranked.map((r) => `${r.label} ${r.logprob.toFixed(3)}`).join(', ')}; max |beam − teacher forcing| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(2e-3);
    for (let i = 1; i < ranked.length; i++) expect(ranked[i].logprob).toBeLessThanOrEqual(ranked[i - 1].logprob);
    // every label scored: the shares are the model's distribution over the list
    expect(ranked.reduce((a, r) => a + r.share, 0)).toBeCloseTo(1, 9);
    expect(ranked[1].share / ranked[0].share).toBeCloseTo(Math.exp(ranked[1].logprob - ranked[0].logprob), 9);
    // a beam of 2 is approximate (it may prune a label by its prefix), but every label it returns
    // carries that label's exact score, in order
    const narrow = await m.rankLabels(px, 64, set, { top: 2, beam: 2 });
    expect(narrow.length).toBe(2);
    const exact = new Map(ranked.map((r) => [r.label, r.logprob]));
    narrow.forEach((r) => expect(r.logprob).toBeCloseTo(exact.get(r.label)!, 4));
    expect(narrow[1].logprob).toBeLessThanOrEqual(narrow[0].logprob);

    // two views: each answer's score is the mean of its teacher-forced log-probability on the image
    // and on its jittered view (the per-token average, summed over the answer)
    const two = await m.rankLabels(px, 64, set, { top: LABELS.length, beam: LABELS.length, views: 2 });
    const refView = await teacherForced(jitteredView(px, 64, 1), two.map((r) => r.label));
    const refOwn = await teacherForced(px, two.map((r) => r.label));
    const diff2 = Math.max(...two.map((r, i) => Math.abs(r.logprob - (refOwn[i] + refView[i]) / 2)));
    console.log(`apple, 2 views: max |beam − mean of teacher forcing| ${diff2.toExponential(2)}`);
    expect(diff2).toBeLessThan(2e-3);
  }, 60_000);

  it('beamStep keeps the best continuations inside the trie and reports answers completed on the way', () => {
    // two labels "a·$" and "a·b·$" ($ = stop 9) and one "c·$"
    const set = { children: new Map(), label: null } as ReturnType<typeof LabelSet.build>['root'];
    const add = (ids: number[], label: number) => {
      let n = set;
      for (const id of ids) {
        if (!n.children.has(id)) n.children.set(id, { children: new Map(), label: null });
        n = n.children.get(id)!;
      }
      n.label = label;
    };
    add([1, 9], 0);
    add([1, 2, 9], 1);
    add([3, 9], 2);
    const lp = [Math.log(0.1), Math.log(0.5), Math.log(0.1), Math.log(0.3)];
    const s1 = beamStep([{ score: 0, node: set }], () => lp, 1);
    expect(s1.next.map((h) => h.id)).toEqual([1]); // 0.5 beats 0.3, beam 1
    expect(s1.done).toEqual([]);
    const lp2 = new Array(10).fill(Math.log(0.01));
    lp2[9] = Math.log(0.6);
    lp2[2] = Math.log(0.3);
    const s2 = beamStep(s1.next, () => lp2, 4);
    expect(s2.done).toEqual([{ label: 0, score: Math.log(0.5) + Math.log(0.6) }]);
    expect(s2.next.map((h) => h.id)).toEqual([2]); // the stop ends label 0; only "b" continues
    expect(s2.next[0].score).toBeCloseTo(Math.log(0.5 * 0.3), 12);
  });
});


describe('tessera caption --labels', () => {
  const root = new URL('../..', import.meta.url).pathname;
  const cli = (...args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'src-main/cli/main.ts', 'caption', '--model', MODEL, ...args], { cwd: root }).then(
    (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
  );

  it('prints each image\'s most likely labels of the list with their shares; a missing or empty list is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-labels-'));
    try {
      writeFileSync(join(dir, 'labels.txt'), 'red apple\n\ntomato\r\nrocket\n');
      const ok = await cli('--labels', join(dir, 'labels.txt'), '--top', '3', EMOJI('1f34e'), EMOJI('1f680'));
      expect(ok.code, ok.err).toBe(0);
      const lines = ok.out.trim().split('\n');
      expect(lines).toHaveLength(2);
      for (const [i, line] of lines.entries()) {
        const m = /^(.+\.png): (.+) \(([\d.]+)%\), (.+) \(([\d.]+)%\), (.+) \(([\d.]+)%\)$/.exec(line);
        expect(m, line).toBeTruthy();
        expect(m![1]).toBe(EMOJI(i === 0 ? '1f34e' : '1f680'));
        expect([m![2], m![4], m![6]].sort()).toEqual(['red apple', 'rocket', 'tomato']);
        expect(Number(m![3]) + Number(m![5]) + Number(m![7])).toBeCloseTo(100, 0);
      }
      const missing = await cli('--labels', join(dir, 'nope.txt'), EMOJI('1f34e'));
      expect(missing.code).toBe(2);
      expect(missing.err).toContain(`cannot read ${join(dir, 'nope.txt')}`);
      writeFileSync(join(dir, 'empty.txt'), '\n  \n');
      const empty = await cli('--labels', join(dir, 'empty.txt'), EMOJI('1f34e'));
      expect(empty.code).toBe(2);
      expect(empty.err).toContain('the label list is empty (one label per line)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
