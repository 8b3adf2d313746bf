// `tessera bench engine [--json] [--threads N] [--quick]`: engine throughput on this machine;
// `tessera bench products`: the decode step's weight products' streaming rates against the probe's, and their share of a token.
import { benchDecodeProducts, benchEngine } from '../../engine/bench/engine.ts';
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

export const benchProductsCommand: Command = {
  name: 'bench products',
  summary: "streaming GB/s of the decode step's one-row weight products per shape vs the bandwidth probe, the decode_bw_frac they allow, and their share of a token",
  usage: 'bench products [--json] [--threads N]',
  async run(argv) {
    const { values } = parseFlags(argv, { json: { type: 'boolean' }, threads: { type: 'string' } });
    const r = await benchDecodeProducts({ threads: intFlag('threads', values.threads, 1, 2) });
    if (values.json) return void console.log(JSON.stringify(r));
    for (const x of r.shapes) console.log(`  ${x.name.padEnd(8)} (${x.shape.join(', ')}) ×${x.per_token}/token  ${x.gbs_best} GB/s best, ${x.gbs_median} median`);
    console.log(`  probe    (16384, 8192)  ${r.probe_gbs_best} GB/s best, ${r.probe_gbs_median} median`);
    console.log(`  decode_bw_frac these products allow: ${r.decode_bw_frac_cap} (medians), ${r.decode_bw_frac_cap_best} (bests)`);
    console.log(`  a token: ${r.decode_token_ms} ms for the decode step, ${r.products_token_ms} ms for its weight products alone (${Math.round(r.products_share * 100)}%)`);
  },
};
