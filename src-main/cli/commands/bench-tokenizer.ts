// `tessera bench tokenizer`: encode and decode images/s of an image tokenizer at batch 64 (the
// default model's, or --model DIR; with no trained tokenizer, --config builds one with random
// weights of the same architecture, which costs the same).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Graph } from '../../engine/graph/graph.ts';
import { loadImageTokenizer, saveImageTokenizer } from '../../engine/models/image-tokenizer.ts';
import { DEFAULT_VQTOK, paramWeights, vqtokEncoderGraph, vqtokDecoderGraph, vqtokInit } from '../../engine/models/vqtok.ts';
import { Rng } from '../../engine/util/rng.ts';
import { intFlag, parseFlags, type Command } from '../command.ts';
import { tokenizerDir } from './eval-tokenizer.ts';

async function randomTokenizer(dir: string): Promise<void> {
  const c = DEFAULT_VQTOK;
  const g = new Graph('shapes');
  vqtokEncoderGraph(g, c, paramWeights(g));
  vqtokDecoderGraph(g, c, paramWeights(g));
  const rng = new Rng(1);
  const weights = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  for (const [name, p] of g.params) {
    const shape = p.value.shape as number[];
    shapes.set(name, shape);
    weights.set(name, name === 'quantizer.codebook' ? rng.fillNormal(new Float32Array(shape[0] * shape[1])) : vqtokInit(name, shape, rng));
  }
  await saveImageTokenizer(dir, c, weights, shapes);
}

export const benchTokenizer: Command = {
  name: 'bench tokenizer',
  summary: 'image tokenizer encode/decode images per second at batch 64',
  usage: 'bench tokenizer [--model DIR] [--json] [--threads N] [--batch 64] [--rounds 5]',
  async run(argv) {
    const { values } = parseFlags(argv, { model: { type: 'string' }, json: { type: 'boolean' }, threads: { type: 'string' }, batch: { type: 'string' }, rounds: { type: 'string' } });
    const threads = intFlag('threads', values.threads, 1, 2);
    const batch = intFlag('batch', values.batch, 1, 64);
    const rounds = intFlag('rounds', values.rounds, 1, 5);
    let dir: string;
    let tmp: string | null = null;
    if (values.model) dir = await tokenizerDir(resolve(values.model));
    else {
      tmp = await mkdtemp(join(tmpdir(), 'tessera-bench-tok-'));
      dir = tmp;
      await randomTokenizer(dir);
    }
    const tok = await loadImageTokenizer(dir, { threads });
    try {
      const px = new Rng(2).fillUniform(new Float32Array(batch * 3 * tok.imageSize * tok.imageSize));
      const time = async (fn: () => Promise<unknown>) => {
        await fn(); // warm-up
        const t0 = performance.now();
        for (let i = 0; i < rounds; i++) await fn();
        return (batch * rounds) / ((performance.now() - t0) / 1000);
      };
      const tokens = await tok.encode(px, batch);
      const encode = await time(() => tok.encode(px, batch));
      const decode = await time(() => tok.decode(tokens, batch));
      const r = { encode_images_per_s: Math.round(encode), decode_images_per_s: Math.round(decode), batch, threads, weights: values.model ? 'trained' : 'random (same architecture)' };
      console.log(values.json ? JSON.stringify(r) : `encode ${r.encode_images_per_s} images/s, decode ${r.decode_images_per_s} images/s (batch ${batch}, ${threads} threads, ${r.weights} weights)`);
    } finally {
      await tok.release();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    }
  },
};
