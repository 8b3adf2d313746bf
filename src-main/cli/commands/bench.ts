// `tessera bench engine [--json] [--threads N] [--quick]`: engine throughput on this machine.
import { benchEngine } from '../../engine/bench/engine.ts';
import { intFlag, parseFlags, type Command } from '../command.ts';

export const benchEngineCommand: Command = {
  name: 'bench engine',
  summary: 'matmul GFLOP/s, LM training tokens/s and MFU, batch-1 decoding tokens/s vs the bandwidth limit',
  usage: 'bench engine [--json] [--threads N] [--quick]',
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: 'boolean' }, threads: { type: 'string' }, quick: { type: 'boolean' } });
    const threads = intFlag('threads', values.threads, 1, 2);
    if (!values.json) console.log(`benchmarking the engine with ${threads} threads (LM d=384, 8 layers, vocab 4096, T=256, B=8)…`);
    const r = await benchEngine({ threads, quick: values.quick });
    console.log(values.json ? JSON.stringify(r) : Object.entries(r).map(([k, v]) => `  ${k.padEnd(24)} ${v}`).join('\n'));
  },
};
