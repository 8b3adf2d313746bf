// `tessera eval lm --model DIR --data DIR --split test --json`: held-out metrics of a unified model
// (engine/infer/eval.ts): caption_exact, caption_f1, category_acc, yesno_acc, text_ppl,
// image_code_nll, and the text-to-image retrieval and speed figures over K drawn labels (--generate K,
// 100 by default; 0 skips drawing; --cfg/--temperature/--top-k/--top-p as `tessera generate`); --write-card
// records them in the model folder's tessera.json. --complete N adds image completion over N images
// of the split (complete_top5_rows<r>: drawings from the prompt and the image's first r rows). A model
// with an example memory also gets its caption and category figures with the memory (`*_memory`;
// --no-memory leaves them out); the headline figures are the LM's alone. --judge DIR (a semantic
// encoder or memory folder) also retrieves the drawings by that encoder's features (t2i_judge_*), a
// judge that knows emoji across styles, where the 16×16 pixel feature mostly matches the style.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { completionMetrics, evaluateModel } from '../../engine/infer/eval.ts';
import { writeFileAtomic } from '../../engine/io/atomic.ts';
import { loadUnifiedModel } from '../../engine/infer/unified.ts';
import { DEFAULT_VIEWS } from '../../engine/infer/views.ts';
import { intFlag, numFlag, parseFlags, UsageError, type Command } from '../command.ts';

export const evalLm: Command = {
  name: 'eval lm',
  summary: 'Evaluate a unified model on an imagefolder split (captions, questions, perplexity, code NLL, generation)',
  usage: 'eval lm --model DIR --data DIR [--split test] [--limit N] [--generate K] [--cfg G] [--temperature T] [--top-k K] [--top-p P] [--views V (4)] [--no-closed-set] [--semantic-only] [--no-memory] [--judge SEMANTIC_OR_MEMORY_DIR] [--complete N] [--json] [--write-card] [--threads N]',
  async run(argv) {
    const { values } = parseFlags(argv, {
      model: { type: 'string' }, data: { type: 'string' }, split: { type: 'string' }, limit: { type: 'string' }, generate: { type: 'string' }, cfg: { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' }, 'top-p': { type: 'string' }, json: { type: 'boolean' }, 'write-card': { type: 'boolean' }, threads: { type: 'string' },
      views: { type: 'string' }, 'no-closed-set': { type: 'boolean' }, 'semantic-only': { type: 'boolean' }, 'no-memory': { type: 'boolean' }, judge: { type: 'string' }, complete: { type: 'string' },
    });
    if (!values.model) throw new UsageError('--model is required');
    if (!values.data) throw new UsageError('--data is required');
    const m = await loadUnifiedModel(values.model, { threads: intFlag('threads', values.threads, 1) });
    try {
      const sampling = {
        cfg: numFlag('cfg', values.cfg, 3, (x) => x >= 0, 'a number ≥ 0'),
        temperature: numFlag('temperature', values.temperature, 1, (x) => x >= 0, 'a number ≥ 0'),
        topK: intFlag('top-k', values['top-k'], 0, 100),
        topP: values['top-p'] === undefined ? undefined : numFlag('top-p', values['top-p'], 1, (x) => x > 0 && x <= 1, 'a number in (0, 1]'),
      };
      const split = values.split ?? 'test';
      const onProgress = values.json ? undefined : (what: string, done: number, total: number) => process.stderr.write(`\r${what}: ${done}/${total}   `);
      const r = await evaluateModel(m, {
        dataDir: values.data, split, limit: intFlag('limit', values.limit, 1, 200), generate: intFlag('generate', values.generate, 0, 100),
        sampling, views: intFlag('views', values.views, 1, DEFAULT_VIEWS), closedSet: !values['no-closed-set'], semanticOnly: values['semantic-only'], memory: !values['no-memory'], judge: values.judge, judgeThreads: intFlag('threads', values.threads, 1), onProgress,
      });
      if (values.complete !== undefined) Object.assign(r, await completionMetrics(m, { dataDir: values.data, split, images: intFlag('complete', values.complete, 1, 40), sampling, onProgress }));
      if (!values.json) process.stderr.write('\n');
      if (values['write-card']) {
        // the card keeps its other fields; the measured numbers say where they were measured
        const cardFile = join(values.model, 'tessera.json');
        const card = JSON.parse(await readFile(cardFile, 'utf8')) as { metrics?: Record<string, unknown> };
        card.metrics = { ...card.metrics, ...r, measured_on: `${values.data} split '${values.split ?? 'test'}'`, measured_at: new Date().toISOString() };
        await writeFileAtomic(cardFile, JSON.stringify(card, null, 2) + '\n');
        if (!values.json) console.error(`metrics written to ${cardFile}`);
      }
      console.log(values.json ? JSON.stringify(r) : Object.entries(r).map(([k, v]) => `${k.padEnd(26)} ${Number.isInteger(v) ? v : v.toFixed(4)}`).join('\n'));
    } finally {
      await m.release();
    }
    return 0;
  },
};
