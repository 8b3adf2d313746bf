// Closed-set captioning: rank a list of labels by the probability the model gives to answering each
// one, as zero-shot classifiers do with class names. Each label's answer is tokenised exactly as
// training laid it out (the chat template's assistant turn, up to and including its stop token),
// the answers form a token trie, and a beam search walks the trie from the prompt's KV cache, so
// the cost grows with the beam, not with the number of labels.
import type { TextTokenizer } from '../text/tokenizer.ts';

export interface LabelNode {
  children: Map<number, LabelNode>;
  /** Index of the label whose answer ends here (after its stop token), else null. */
  label: number | null;
}

/** The token ids a model writes to answer `answer` to `question`: the assistant turn through its first stop token. */
export function answerIds(tok: TextTokenizer, question: string, answer: string): number[] {
  const user = { role: 'user' as const, content: [{ type: 'text' as const, text: question }] };
  const pre = tok.encodeChat([user], { addGenerationPrompt: true }).ids;
  const full = tok.encodeChat([user, { role: 'assistant', content: [{ type: 'text', text: answer }] }]).ids;
  if (full.length <= pre.length || pre.some((id, i) => full[i] !== id))
    throw new Error(`labels: the chat template does not render '${answer}' as a continuation of the generation prompt`);
  const rest = full.slice(pre.length);
  const stop = rest.findIndex((id) => tok.stopIds.includes(id));
  if (stop < 0) throw new Error(`labels: the answer '${answer}' has no stop token in the chat template's rendering`);
  return rest.slice(0, stop + 1);
}

export class LabelSet {
  private constructor(
    readonly labels: readonly string[],
    readonly answers: readonly number[][],
    readonly root: LabelNode,
    /** The question the answers reply to (the prompt's text after the image). */
    readonly question: string,
  ) {}

  /** Distinct, non-empty labels (trimmed; duplicates dropped, first spelling kept). */
  static build(tok: TextTokenizer, labels: Iterable<string>, question = 'What is this?'): LabelSet {
    const seen = new Set<string>();
    const list: string[] = [];
    for (const l of labels) {
      const t = l.trim();
      if (!t || seen.has(t)) continue;
      seen.add(t);
      list.push(t);
    }
    if (list.length === 0) throw new Error('labels: the label list is empty');
    const root: LabelNode = { children: new Map(), label: null };
    const answers = list.map((l, i) => {
      const ids = answerIds(tok, question, l);
      let node = root;
      for (const id of ids) {
        let next = node.children.get(id);
        if (!next) node.children.set(id, (next = { children: new Map(), label: null }));
        node = next;
      }
      node.label = i;
      return ids;
    });
    return new LabelSet(list, answers, root, question);
  }
}

export interface RankedLabel {
  label: string;
  /** log P(answer | image, question) under the model, summed over the answer's tokens. */
  logprob: number;
  /** Its probability renormalised over the answers the search completed: over the whole list when
   *  the beam is at least as wide as the list (exhaustive), else over those the beam reached. */
  share: number;
}

/** One beam hypothesis: its summed log-probability, where it is in the trie, its row in the decoder. */
export interface Hypothesis {
  score: number;
  node: LabelNode;
}

/**
 * One step of the trie beam search. Given the live hypotheses and each one's next-token
 * log-probabilities, returns the `beam` best continuations that are still inside an answer (with
 * the row each continues and the token it feeds) and every answer completed on the way.
 */
export function beamStep(live: readonly Hypothesis[], logp: (row: number) => ArrayLike<number>, beam: number): { next: (Hypothesis & { row: number; id: number })[]; done: { label: number; score: number }[] } {
  const cand: (Hypothesis & { row: number; id: number })[] = [];
  live.forEach((h, row) => {
    const lp = logp(row);
    for (const [id, child] of h.node.children) cand.push({ score: h.score + lp[id], node: child, row, id });
  });
  cand.sort((a, b) => b.score - a.score);
  const next: (Hypothesis & { row: number; id: number })[] = [];
  const done: { label: number; score: number }[] = [];
  for (const c of cand) {
    if (c.node.label !== null) done.push({ label: c.node.label, score: c.score });
    if (c.node.children.size > 0 && next.length < beam) next.push(c);
  }
  return { next, done };
}
