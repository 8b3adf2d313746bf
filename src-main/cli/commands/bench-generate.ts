// `tessera bench generate`: batch-1 drawing and captioning time of a unified model (the default
// model, or --model DIR) for each intra-op thread count asked, the model loaded once per count and
// warmed by one drawing first. The figures behind the app's separate chat-and-drawing threads.
import { resolve } from 'node:path';
import { loadUnifiedModel } from '../../engine/infer/unified.ts';
import { DEFAULT_VIEWS } from '../../engine/infer/views.ts';
import { Rng } from '../../engine/util/rng.ts';
import { intFlag, parseFlags, UsageError, type Command } from '../command.ts';
import { DEFAULT_MODEL_DIR } from './demo.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export const benchGenerate: Command = {
  name: 'bench generate',
  summary: 'batch-1 drawing and captioning ms of a unified model, per thread count',
  usage: 'bench generate [--model DIR] [--threads 1,2] [--rounds 6] [--views 4] [--json]',
  async run(argv) {
    const { values } = parseFlags(argv, { model: { type: 'string' }, threads: { type: 'string' }, rounds: { type: 'string' }, views: { type: 'string' }, json: { type: 'boolean' } });
    const dir = resolve(values.model ?? DEFAULT_MODEL_DIR);
    const rounds = intFlag('rounds', values.rounds, 1, 6);
    const views = intFlag('views', values.views, 1, DEFAULT_VIEWS);
    const counts = (values.threads ?? '1,2').split(',').map((t) => {
      const n = Number(t.trim());
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--threads takes thread counts ≥ 1 separated by commas, got '${values.threads}'`);
      return n;
    });
    for (const threads of counts) {
      const m = await loadUnifiedModel(dir, { threads });
      try {
        const S = m.codec.imageSize;
        const px = new Rng(3).fillUniform(new Float32Array(3 * S * S));
        const time = async (fn: () => Promise<unknown>) => {
          const t0 = performance.now();
          await fn();
          return performance.now() - t0;
        };
        await m.generateImages('Draw a red apple.', 1, { seed: 0, cfg: 3, temperature: 1, topK: 100 }); // warm-up
        const draw: number[] = [];
        const caption: number[] = [];
        for (let i = 0; i < rounds; i++) {
          draw.push(await time(() => m.generateImages('Draw a red apple.', 1, { seed: i + 1, cfg: 3, temperature: 1, topK: 100 })));
          caption.push(await time(() => m.caption(px, S, { views })));
        }
        const r = {
          threads, rounds, views, draw_ms_median: Math.round(median(draw)), draw_ms_range: [Math.round(Math.min(...draw)), Math.round(Math.max(...draw))],
          caption_ms_median: Math.round(median(caption)), caption_ms_range: [Math.round(Math.min(...caption)), Math.round(Math.max(...caption))],
        };
        console.log(values.json ? JSON.stringify(r)
          : `${threads} thread${threads === 1 ? ' ' : 's'}: one 64×64 image (CFG 3) ${r.draw_ms_median} ms median (${r.draw_ms_range.join('–')}), one caption (${views} view${views === 1 ? '' : 's'}) ${r.caption_ms_median} ms (${r.caption_ms_range.join('–')}), ${rounds} rounds`);
      } finally {
        await m.release();
      }
    }
    return 0;
  },
};
